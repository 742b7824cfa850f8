"""Bad data directories (DESIGN §8: a clear error, nothing else affected, never
a crash): a directory that is not runnel's, a regular file, a read-only file
system, a full disk.

The tests run as root, which ignores file permissions, so "read-only" and
"full" are real file systems: a small tmpfs, remounted read-only, or filled
up. Without permission to mount, those tests are skipped (with the reason).
Every mount is undone in the fixture's teardown.
"""

import random
import subprocess
import threading
import time

import pytest

from conftest import check_sane, offsets, snapshot_tree, values, write_all

VERBS = [
    ("topic create", ["topic", "create", "--dir", "{dir}", "t"]),
    ("topic list", ["topic", "list", "--dir", "{dir}"]),
    ("topic describe", ["topic", "describe", "--dir", "{dir}", "t"]),
    ("topic delete", ["topic", "delete", "--dir", "{dir}", "t"]),
    ("produce", ["produce", "--dir", "{dir}", "t"]),
    ("consume", ["consume", "--dir", "{dir}", "t"]),
    ("verify", ["verify", "--dir", "{dir}"]),
    ("steward", ["steward", "--dir", "{dir}", "--once"]),
]


def fill_with_junk(root, rng):
    (root / "sub" / "deeper").mkdir(parents=True)
    for i in range(6):
        where = [root, root / "sub", root / "sub" / "deeper"][i % 3]
        (where / f"junk-{i}.bin").write_bytes(rng.randbytes(rng.randint(0, 5000)))
    (root / "topics").mkdir()  # looks a little like a data directory, but is not one
    (root / "topics" / "notes.txt").write_text("not runnel's\n")
    (root / "meta").write_text("a file where runnel wants a directory\n")


@pytest.mark.parametrize("verb,argv", VERBS, ids=[v for v, _ in VERBS])
def test_directory_that_is_not_a_data_directory(runnel, tmp_path, verb, argv):
    junk = tmp_path / "junk"
    junk.mkdir()
    fill_with_junk(junk, random.Random(5))
    before = snapshot_tree(junk)
    args = [a.replace("{dir}", str(junk)) for a in argv]
    res = runnel.run(*args, input=b"x\n", expect=(1, 2))
    assert res.err.startswith(f"runnel {verb}: ") and str(junk) in res.err, \
        f"expected a clear error naming the directory:\n{res.describe()}"
    assert snapshot_tree(junk) == before, f"`runnel {verb}` changed files in a foreign directory"


@pytest.mark.parametrize("verb,argv", VERBS, ids=[v for v, _ in VERBS])
def test_regular_file_as_directory(runnel, tmp_path, verb, argv):
    box = tmp_path / "box"
    box.mkdir()
    f = box / "afile"
    f.write_bytes(b"precious contents\n")
    before = snapshot_tree(box)
    args = [a.replace("{dir}", str(f)) for a in argv]
    res = runnel.run(*args, input=b"x\n", expect=(1, 2))
    assert res.err.startswith(f"runnel {verb}: ") and str(f) in res.err, \
        f"expected a clear error naming the path:\n{res.describe()}"
    assert snapshot_tree(box) == before, f"`runnel {verb}` changed or created files"


# ---- mounted file systems ----------------------------------------------------

class Tmpfs:
    def __init__(self, path):
        self.path = path
        self.mounted = False

    def mount(self, size):
        self.path.mkdir(exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")
        self.mounted = True

    def remount(self, options):
        r = subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            pytest.skip(f"cannot remount {options}: {r.stderr.strip() or r.returncode}")

    def unmount(self):
        if not self.mounted:
            return
        for _ in range(20):
            r = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30)
            if r.returncode == 0:
                self.mounted = False
                return
            time.sleep(0.1)
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
        self.mounted = False


@pytest.fixture
def tmpfs(tmp_path, runnel):
    fs = Tmpfs(tmp_path / "mnt")
    try:
        yield fs
    finally:
        runnel.cleanup()  # no child may still hold files on it (idempotent)
        fs.unmount()


def test_read_only_file_system(runnel, tmpfs):
    tmpfs.mount("16m")
    data = str(tmpfs.path / "data")
    runnel.run("topic", "create", "--dir", data, "ro", "--partitions", "2")
    lines = [f"ro-{i}".encode() for i in range(50)]
    runnel.produce(data, "ro", lines, "--partition", "1")
    tmpfs.remount("ro")
    before = snapshot_tree(data)

    res = runnel.run("produce", "--dir", data, "ro", input=b"more\n", expect=(1, 2))
    assert res.err.startswith("runnel produce: ") and "read-only" in res.err.lower(), \
        f"expected a clear 'read-only' error:\n{res.describe()}"
    res = runnel.run("topic", "create", "--dir", data, "other", expect=(1, 2))
    assert res.err.startswith("runnel topic create: ") and "read-only" in res.err.lower(), \
        res.describe()

    # Reading needs no writes.
    recs, res = runnel.consume(data, "ro")
    assert res.stderr == b"" and values(recs) == lines and offsets(recs) == list(range(50)), \
        f"consume on a read-only file system:\n{res.describe()}"
    recs, res = runnel.consume(data, "ro", "--partition", "1", "--from", "45")
    assert values(recs) == lines[45:], res.describe()
    res = runnel.run("topic", "list", "--dir", data)
    assert res.out.splitlines() == ["ro"], res.describe()
    assert runnel.describe(data, "ro")["partitions"][1]["end_offset"] == 50
    runnel.verify(data)
    res = runnel.run("steward", "--dir", data, "--once", expect=(0, 1, 2))
    assert res.returncode == 0 or res.err.startswith("runnel steward: "), res.describe()
    assert snapshot_tree(data) == before


def test_full_disk(runnel, tmpfs):
    tmpfs.mount("2m")
    data = str(tmpfs.path / "data")
    runnel.run("topic", "create", "--dir", data, "full")
    proc = runnel.popen("produce", "--dir", data, "--print-offsets", "--", "full")
    sent = []
    pad = b"z" * 150

    def feed():
        rng = random.Random(9)
        fd = proc.popen.stdin.fileno()
        try:
            while len(sent) < 40000:  # ~7 MB: far more than fits
                chunk = [b"full-%d-" % (len(sent) + i) + pad for i in range(rng.randint(1, 50))]
                sent.extend(chunk)
                write_all(fd, b"".join(c + b"\n" for c in chunk))
        except OSError:
            pass  # the producer stopped reading
        finally:
            try:
                proc.popen.stdin.close()
            except OSError:
                pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    res = proc.wait(120)
    feeder.join(30)
    check_sane(res)
    assert res.returncode == 1, f"the producer must fail when the disk is full:\n{res.describe()}"
    assert res.err.startswith("runnel produce: ") and "no space left" in res.err.lower(), \
        f"expected a 'No space left on device' error:\n{res.describe()}"
    printed = [int(x) for x in res.stdout.split(b"\n")[:-1]]
    assert printed == list(range(len(printed))) and len(printed) > 1000, \
        f"expected dense acknowledged offsets from 0 before the disk filled; got " \
        f"{len(printed)}:\n{res.describe()}"

    # Everything acknowledged is readable, on the full disk.
    recs, res = runnel.consume(data, "full")
    assert res.stderr == b"", res.describe()
    n = len(recs)
    assert offsets(recs) == list(range(n)) and n >= len(printed), \
        f"{n} records readable, {len(printed)} acknowledged:\n{res.describe()}"
    assert values(recs) == sent[:n], "the log holds something else than what was sent, in order"
    res = runnel.verify(data, expect=None)
    assert res.returncode == 0, f"verify after ENOSPC:\n{res.describe()}"

    # More space: appends continue densely.
    tmpfs.remount("size=16m")
    more = [b"after-%d" % i for i in range(20)]
    offs, res = runnel.produce(data, "full", more)
    assert offs[0] >= n and offs == list(range(offs[0], offs[0] + 20)), res.describe()
    recs, res = runnel.consume(data, "full")
    assert res.stderr == b"", res.describe()
    assert offsets(recs) == list(range(len(recs))), "offsets not dense after the disk filled"
    assert values(recs)[:len(printed)] == sent[:len(printed)] and values(recs)[-20:] == more
    runnel.verify(data)
