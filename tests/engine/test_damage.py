"""Damaged files on disk (DESIGN §4 "Recovery"; src/cli/README.md "consume").

A template topic with many small batches over ~8 segments (segment_bytes
16384) is built once and copied for each case; then a file is damaged by hand:

(a) bytes flipped inside one batch of a sealed segment: `verify` exits 1 and
    names the file and a byte range covering the flip; `consume` reports the
    damage on stderr, skips it, prints every record of every other batch with
    its offset, and exits 1; appends go on.
(b) the last segment cut mid-batch (or grown by garbage): the next writer
    truncates the torn tail, earlier records stay, offsets continue densely,
    `verify` is clean afterwards.
(c) index files deleted: reads work from any offset or timestamp; `verify`
    reports a missing offset index; the next writer rebuilds it.
(d) an index overwritten with garbage: reads work from any offset; `verify`
    names the index.
(e) the hwm file damaged or missing: reads fall back to a scan; appends go on.

No command may crash, die of a signal or trip a sanitizer (the `runnel`
fixture checks every run).
"""

import os
import random
import re
import shutil
import struct
import time
from pathlib import Path

import pytest

from conftest import (LiveProducer, Runnel, _binary, field_bytes, offsets, scan_batches,
                      segment_files, snapshot_tree, values)

TOPIC = "dmg"
BATCHES = 200
PER_BATCH = 10
DAMAGED_RE = re.compile(r"^DAMAGED (.+) bytes (\d+)-(\d+): (.+)$")


class Template:
    def __init__(self, root, lines, records):
        self.root = root
        self.lines = lines        # every value, by offset
        self.records = records    # consume --format json of the template


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    data = str(root / "data")
    r = Runnel(_binary())
    try:
        r.run("topic", "create", "--dir", data, TOPIC, "--segment-bytes", "16384")
        batches = [[f"b{b:04d}-r{i:02d}-{'x' * 30}".encode() for i in range(PER_BATCH)]
                   for b in range(BATCHES)]
        lines = [line for batch in batches for line in batch]
        p_offs = []
        # Lock-step, one batch per chunk; a pause now and then spreads the
        # timestamps so --from @TS has something to find.
        producer = LiveProducer(r, data, TOPIC)
        for i, batch in enumerate(batches):
            p_offs += producer.send(batch)
            if i % 10 == 9:
                time.sleep(0.003)
        producer.close()
        assert p_offs == list(range(len(lines)))
        recs, res = r.consume(data, TOPIC)
        assert values(recs) == lines, res.describe()
        r.verify(data)
    finally:
        r.cleanup()
    return Template(data, lines, recs)


@pytest.fixture
def case(template, tmp_path):
    """A fresh copy of the template data directory."""
    data = tmp_path / "data"
    shutil.copytree(template.root, data)
    return Case(str(data), template)


class Case:
    def __init__(self, data_dir, template):
        self.data = data_dir
        self.lines = template.lines
        self.records = template.records
        self.pdir = Path(data_dir) / "topics" / TOPIC / "0"

    def segments(self, ext=".log"):
        return segment_files(self.pdir, ext)

    def sealed_target(self):
        segs = self.segments()
        assert len(segs) >= 5, f"template has only {len(segs)} segments"
        return segs[len(segs) // 2]

    def batch_records(self, seg):
        """{base_offset: [offsets of its records]} for the batches of a segment."""
        return {base: list(range(base, base + count)) for _, base, count, _ in scan_batches(seg)}


def damaged_lines(res):
    out = []
    for line in res.out.splitlines():
        m = DAMAGED_RE.match(line)
        if m:
            out.append((Path(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def same_file(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def expect_records(res, recs, want_offsets, lines, what):
    got = [(r["offset"], field_bytes(r, "value")) for r in recs]
    want = [(o, lines[o]) for o in want_offsets]
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        raise AssertionError(
            f"{what}: expected {len(want)} records, got {len(got)}; missing offsets "
            f"{[o for o, _ in missing][:20]}, unexpected {[(o, v[:20] if v else v) for o, v in extra][:10]}"
            f"\n{res.describe()}")


def xor_bytes(path, pos, pattern):
    with open(path, "r+b") as f:
        f.seek(pos)
        old = f.read(len(pattern))
        f.seek(pos)
        f.write(bytes(a ^ b for a, b in zip(old, pattern)))


# ---- (a) damage inside a sealed segment -----------------------------------------

# name -> (offset within the batch, bytes to XOR in)
FLIPS = {
    "record_bytes": (None, b"\xff\xff\xff\xff"),   # middle of the records
    "crc": (17, b"\x5a"),
    "length_small": (11, b"\x04"),   # batch_length off by 4: CRC covers a different range
    "length_huge": (9, b"\x7f"),     # batch_length far past the segment
    "magic": (16, b"\x07"),
    "base_offset_high": (0, b"\x10"),  # not covered by the CRC (Kafka's layout)
}


@pytest.mark.parametrize("flip", sorted(FLIPS))
def test_flipped_bytes_in_sealed_segment(runnel, case, flip):
    seg = case.sealed_target()
    batches = scan_batches(seg)
    pos, base, count, total = batches[len(batches) // 2]
    at, pattern = FLIPS[flip]
    flip_pos = pos + (BATCH_HEADER + (total - BATCH_HEADER) // 2 if at is None else at)
    xor_bytes(seg, flip_pos, pattern)
    lost = set(range(base, base + count))
    kept = [o for o in range(len(case.lines)) if o not in lost]
    ctx = f"{flip} at byte {flip_pos} of {seg.name} (batch at {pos}, offsets {base}-{base + count - 1})"

    # Every problem is collected, so one failure describes all of them.
    problems = []
    before = snapshot_tree(case.data)
    res = runnel.verify(case.data, expect=(0, 1))
    dmg = damaged_lines(res)
    if res.returncode != 1 or not dmg:
        problems.append(f"verify must exit 1 with DAMAGED lines:\n{res.describe()}")
    elif not [d for d in dmg if same_file(d[0], seg) and d[1] <= flip_pos < d[2]]:
        problems.append(f"no DAMAGED line names {seg.name} with a range covering byte "
                        f"{flip_pos}:\n{res.out}")
    others = [f"{d[0].name} {d[1]}-{d[2]}: {d[3]}" for d in dmg if not same_file(d[0], seg)]
    if others:
        problems.append(f"damage reported in files that were not touched: {others}")
    wide = [f"{begin}-{end}" for f, begin, end, _ in dmg
            if same_file(f, seg) and (begin < pos or end > pos + total)]
    if wide:
        problems.append(f"damaged ranges {wide} reach beyond the damaged batch {pos}-{pos + total}"
                        f" (the good batches after it are given up)")
    if snapshot_tree(case.data) != before:
        problems.append("verify modified the data directory")

    # Every record of every other batch, in order, with its offset; the
    # damage on stderr; exit 1 (src/cli/README.md).
    recs, res = runnel.consume(case.data, TOPIC, expect=None)
    if res.returncode != 1 or not res.err.startswith("runnel consume: ") or seg.name not in res.err:
        problems.append(f"consume over damage must report it on stderr, naming the file, and "
                        f"exit 1; got exit {res.returncode}, stderr {res.err[:500]!r}")
    try:
        expect_records(res, recs, kept, case.lines, "consume from earliest")
    except AssertionError as e:
        problems.append(str(e).split("\ncommand:")[0])
    if snapshot_tree(case.data) != before:
        problems.append("consume modified the data directory")

    # Reading from just past the damage meets none of it.
    recs, res = runnel.consume(case.data, TOPIC, "--from", str(base + count), expect=None)
    try:
        assert res.returncode == 0, f"consume --from {base + count}: exit {res.returncode}"
        expect_records(res, recs, range(base + count, len(case.lines)), case.lines,
                       f"consume --from {base + count}")
    except AssertionError as e:
        problems.append(str(e).split("\ncommand:")[0])

    # Appends go on after the end; the old damage is still reported, never
    # hidden and never spread.
    offs, res = runnel.produce(case.data, TOPIC, [b"after-damage"], expect=None)
    if offs != [len(case.lines)]:
        problems.append(f"append after the damage: expected offset {len(case.lines)}:\n"
                        f"{res.describe()}")
    res = runnel.verify(case.data, expect=(0, 1))
    if res.returncode != 1:
        problems.append(f"after an append, verify no longer reports the damage:\n{res.describe()}")
    recs, res = runnel.consume(case.data, TOPIC, "--from", str(len(case.lines)), expect=None)
    if values(recs) != [b"after-damage"]:
        problems.append(f"the appended record is not readable:\n{res.describe()}")
    assert not problems, f"{ctx}:\n- " + "\n- ".join(problems)


BATCH_HEADER = 61


# ---- (b) torn or overgrown tail of the active segment ------------------------------

CUTS = ["one_byte", "mid_records", "mid_header", "whole_batch_header_only", "zeros_appended",
        "garbage_appended"]


@pytest.mark.parametrize("cut", CUTS)
def test_torn_tail_is_truncated_by_next_writer(runnel, case, cut):
    last = case.segments()[-1]
    batches = scan_batches(last)
    assert len(batches) >= 2, f"last segment has {len(batches)} batches"
    pos, base, count, total = batches[-1]
    size = last.stat().st_size
    assert pos + total == size
    n = len(case.lines)
    if cut == "one_byte":
        os.truncate(last, size - 1)
    elif cut == "mid_records":
        os.truncate(last, pos + BATCH_HEADER + (total - BATCH_HEADER) // 2)
    elif cut == "mid_header":
        os.truncate(last, pos + 30)
    elif cut == "whole_batch_header_only":
        os.truncate(last, pos + BATCH_HEADER)
    elif cut == "zeros_appended":
        with open(last, "ab") as f:
            f.write(b"\0" * 5000)
    else:
        with open(last, "ab") as f:
            f.write(random.Random(7).randbytes(5000))
    appended = cut.endswith("_appended")
    survivors = n if appended else base  # the torn batch's records are gone
    ctx = f"{cut} of {last.name} (last batch at {pos}, offsets {base}-{base + count - 1})"

    # Before any writer: no crash; everything before the torn batch readable.
    recs, res = runnel.consume(case.data, TOPIC, expect=(0, 1))
    expect_records(res, recs, range(survivors), case.lines, ctx + ", before recovery")
    runnel.verify(case.data, expect=(0, 1))

    # The next writer cuts the torn tail and continues densely.
    offs, res = runnel.produce(case.data, TOPIC, [b"after-cut-1", b"after-cut-2"])
    assert offs == [survivors, survivors + 1], \
        f"{ctx}: appends after recovery must continue at {survivors}:\n{res.describe()}"
    recs, res = runnel.consume(case.data, TOPIC)
    assert res.stderr == b"", res.describe()
    assert offsets(recs) == list(range(survivors + 2)), f"{ctx}:\n{res.describe()}"
    assert values(recs) == case.lines[:survivors] + [b"after-cut-1", b"after-cut-2"], ctx
    res = runnel.verify(case.data, expect=None)
    assert res.returncode == 0, f"{ctx}: verify not clean after recovery:\n{res.describe()}"
    info = runnel.describe(case.data, TOPIC)
    assert info["partitions"][0]["end_offset"] == survivors + 2, info


# ---- (b2) damage inside published data of the active segment ---------------------

@pytest.mark.parametrize("which", ["last_batch", "second_to_last_batch"])
def test_damage_in_published_active_segment_is_kept_not_truncated(runnel, case, which):
    """A batch of the active segment below the published end (past its last
    index entry) is damaged: the next writer must keep it and everything up to
    the published end, and give out new offsets after it; reusing offsets of
    acknowledged records would lose them for good."""
    last = case.segments()[-1]
    batches = scan_batches(last)
    assert len(batches) >= 3, f"last segment has {len(batches)} batches"
    pos, base, count, total = batches[-1 if which == "last_batch" else -2]
    flip_pos = pos + BATCH_HEADER + (total - BATCH_HEADER) // 2
    xor_bytes(last, flip_pos, b"\xff\xff")
    n = len(case.lines)
    lost = set(range(base, base + count))
    ctx = f"{which}: flip at byte {flip_pos} of {last.name} (offsets {base}-{base + count - 1})"

    offs, res = runnel.produce(case.data, TOPIC, [b"after-damage"])
    assert offs == [n], f"{ctx}: the append must get offset {n}, after the published end:\n" \
                        f"{res.describe()}"
    recs, res = runnel.consume(case.data, TOPIC, expect=None)
    assert res.returncode == 1 and last.name in res.err, \
        f"{ctx}: consume must report the damage:\n{res.describe()}"
    expect_records(res, recs, [o for o in range(n) if o not in lost] + [n],
                   case.lines + [b"after-damage"], ctx)
    res = runnel.verify(case.data, expect=(0, 1))
    dmg = damaged_lines(res)
    assert res.returncode == 1 and [d for d in dmg if same_file(d[0], last)
                                    and d[1] <= flip_pos < d[2]], \
        f"{ctx}: verify must name the damaged range:\n{res.describe()}"


# ---- (c) missing index files ---------------------------------------------------

def probe_offsets(case, seg):
    batches = scan_batches(seg)
    first = batches[0][1]
    last_batch = batches[-1]
    mid = batches[len(batches) // 2]
    return sorted({first, first + 3, mid[1], mid[1] + PER_BATCH // 2,
                   last_batch[1] + last_batch[2] - 1, len(case.lines) - 1})


def check_reads_everywhere(runnel, case, seg, ctx):
    recs, res = runnel.consume(case.data, TOPIC)
    assert res.stderr == b"", f"{ctx}:\n{res.describe()}"
    expect_records(res, recs, range(len(case.lines)), case.lines, ctx + ", from earliest")
    for start in probe_offsets(case, seg):
        recs, res = runnel.consume(case.data, TOPIC, "--from", str(start), "--count", "25")
        assert res.stderr == b"", f"{ctx}:\n{res.describe()}"
        expect_records(res, recs, range(start, min(start + 25, len(case.lines))), case.lines,
                       f"{ctx}, --from {start}")
    # --from @TS: the first record whose timestamp is >= TS.
    ts_all = [r["timestamp"] for r in case.records]
    first_in_seg = scan_batches(seg)[0][1]
    for ts in sorted({ts_all[first_in_seg + PER_BATCH * 2], ts_all[first_in_seg] + 1,
                      ts_all[-1]}):
        want = next(i for i, t in enumerate(ts_all) if t >= ts)
        recs, res = runnel.consume(case.data, TOPIC, "--from", f"@{ts}", "--count", "5")
        assert res.stderr == b"", f"{ctx}:\n{res.describe()}"
        assert offsets(recs)[:1] == [want], \
            f"{ctx}: --from @{ts} must start at offset {want}:\n{res.describe()}"


@pytest.mark.parametrize("which", ["sealed_index", "active_index", "all_indexes", "timeindexes"])
def test_missing_index_files(runnel, case, which):
    seg = case.sealed_target()
    removed = []
    if which == "sealed_index":
        removed = [seg.with_suffix(".index")]
    elif which == "active_index":
        removed = [case.segments()[-1].with_suffix(".index")]
    elif which == "all_indexes":
        removed = case.segments(".index") + case.segments(".timeindex")
    else:
        removed = case.segments(".timeindex")
    for f in removed:
        f.unlink()
    ctx = f"{which} deleted ({len(removed)} files)"

    res = runnel.verify(case.data, expect=(0, 1))
    dmg = damaged_lines(res)
    removed_index = [f for f in removed if f.suffix == ".index" and
                     (Path(str(f)[:-len(".index")] + ".log").stat().st_size > 0)]
    if removed_index:
        # verify reports a missing offset index (storage/verify.cc).
        assert res.returncode == 1, f"{ctx}: verify must report the missing index:\n{res.describe()}"
        for f in removed_index:
            assert any(same_file(d[0], f) for d in dmg), f"{ctx}: {f.name} not named:\n{res.describe()}"
    assert all(d[0].suffix in (".index", ".timeindex") and any(same_file(d[0], f) for f in removed)
               for d in dmg), f"{ctx}: damage reported in files that were not touched:\n{res.describe()}"

    check_reads_everywhere(runnel, case, seg, ctx)

    # The next writer rebuilds what is missing; verify is clean again.
    offs, res = runnel.produce(case.data, TOPIC, [b"after-index-loss"])
    assert offs == [len(case.lines)], res.describe()
    res = runnel.verify(case.data, expect=None)
    assert res.returncode == 0, f"{ctx}: verify not clean after the next writer opened:\n" \
                                f"{res.describe()}"
    for f in removed:
        if f.suffix == ".index":
            assert f.exists(), f"{ctx}: {f.name} was not rebuilt"
    case.lines = case.lines + [b"after-index-loss"]
    recs, res = runnel.consume(case.data, TOPIC)
    expect_records(res, recs, range(len(case.lines)), case.lines, ctx + ", after rebuild")


# ---- (d) garbage in an index ---------------------------------------------------

def garbage_index(kind, seg_log, index_path):
    rng = random.Random(11)
    old = index_path.read_bytes()
    if kind == "random":
        return rng.randbytes(max(len(old), 64))
    if kind == "odd_size":
        return old + b"\x01\x02\x03"
    # "plausible": increasing entries inside the log, each pointing into the
    # middle of a batch and naming an offset it does not hold.
    out = b""
    for i, (pos, base, count, total) in enumerate(scan_batches(seg_log)[1::3]):
        rel = base - scan_batches(seg_log)[0][1] + 1
        out += struct.pack(">II", rel + i, pos + 7)
    return out


@pytest.mark.parametrize("where", ["sealed", "active"])
@pytest.mark.parametrize("kind", ["random", "odd_size", "plausible"])
def test_garbage_index(runnel, case, kind, where):
    seg = case.sealed_target() if where == "sealed" else case.segments()[-1]
    index = seg.with_suffix(".index")
    index.write_bytes(garbage_index(kind, seg, index))
    ctx = f"{kind} garbage in the {where} index {index.name}"

    res = runnel.verify(case.data, expect=1)
    dmg = damaged_lines(res)
    assert any(same_file(d[0], index) for d in dmg), \
        f"{ctx}: verify must name the index:\n{res.describe()}"
    assert all(same_file(d[0], index) for d in dmg), \
        f"{ctx}: damage reported in files that were not touched:\n{res.describe()}"

    check_reads_everywhere(runnel, case, seg, ctx)

    offs, res = runnel.produce(case.data, TOPIC, [b"after-garbage"])
    assert offs == [len(case.lines)], res.describe()
    case.lines = case.lines + [b"after-garbage"]
    recs, res = runnel.consume(case.data, TOPIC)
    assert res.stderr == b"", res.describe()
    expect_records(res, recs, range(len(case.lines)), case.lines, ctx + ", after a writer opened")
    res = runnel.verify(case.data, expect=(0, 1))
    assert all(same_file(d[0], index) for d in damaged_lines(res)), res.describe()
    if where == "active":
        # Recovery of the active segment keeps only the index entries that
        # point at real batches (DESIGN §4).
        assert res.returncode == 0, f"{ctx}: active index not repaired by the writer:\n" \
                                    f"{res.describe()}"


# ---- (e) the hwm file ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "garbage", "empty"])
def test_damaged_hwm(runnel, case, kind):
    hwm = case.pdir / "hwm"
    assert hwm.exists()
    if kind == "missing":
        hwm.unlink()
    elif kind == "garbage":
        hwm.write_bytes(random.Random(3).randbytes(hwm.stat().st_size or 32))
    else:
        hwm.write_bytes(b"")
    ctx = f"hwm {kind}"
    recs, res = runnel.consume(case.data, TOPIC)
    assert res.stderr == b"", f"{ctx}:\n{res.describe()}"
    expect_records(res, recs, range(len(case.lines)), case.lines, ctx)
    offs, res = runnel.produce(case.data, TOPIC, [b"after-hwm"])
    assert offs == [len(case.lines)], f"{ctx}:\n{res.describe()}"
    recs, res = runnel.consume(case.data, TOPIC)
    assert values(recs) == case.lines + [b"after-hwm"], f"{ctx}:\n{res.describe()}"
    runnel.verify(case.data)
