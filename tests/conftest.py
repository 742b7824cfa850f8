"""Shared fixtures for the end-to-end tests of the `runnel` binary.

Every test runs the real binary (RUNNEL_BIN, else build/debug/runnel) as real
processes on real files under pytest's tmp_path. Helpers here:

- `runnel` fixture: Runnel, which runs commands with a timeout, checks each
  result for a signal death or a sanitizer report (ASan/UBSan/LSan: leaks
  fail the test), and renders failures with the command, exit code, stdout
  and stderr.
- Every child process started through Runnel.popen() is SIGKILLed by PID in
  the fixture's teardown if it is still running.
- LiveProducer: a `produce --print-offsets` process fed through a pipe in
  lock-step (write a chunk, wait for its offsets), so each chunk is one batch.
- Log-file helpers: batch boundaries of a segment (Kafka RecordBatch v2).
"""

import base64
import json
import os
import queue
import random
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BATCH_HEADER_SIZE = 61

# Text a sanitizer prints when it finds something. UBSan is built with
# -fno-sanitize-recover, so "runtime error:" is always followed by an abort.
SANITIZER_MARKERS = (
    b"ERROR: AddressSanitizer",
    b"ERROR: LeakSanitizer",
    b"AddressSanitizer:DEADLYSIGNAL",
    b"UndefinedBehaviorSanitizer",
    b"runtime error:",
    b"SUMMARY: AddressSanitizer",
)
SANITIZER_EXIT = 86  # distinct from the CLI's own 1 and 2


def _binary():
    path = os.environ.get("RUNNEL_BIN")
    if not path:
        path = str(REPO / "build" / "debug" / "runnel")
    if not os.access(path, os.X_OK):
        pytest.exit(f"runnel binary not found or not executable: {path!r} (set RUNNEL_BIN)", 2)
    return path


def child_env():
    env = dict(os.environ)
    # Leaks must fail tests: detect_leaks=1, and a sanitizer exit code that
    # cannot be mistaken for a normal runtime error.
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (asan, "detect_leaks=1", f"exitcode={SANITIZER_EXIT}") if x)
    ubsan = env.get("UBSAN_OPTIONS", "")
    env["UBSAN_OPTIONS"] = ":".join(
        x for x in (ubsan, "print_stacktrace=1", "halt_on_error=1",
                    f"exitcode={SANITIZER_EXIT}") if x)
    env["LC_ALL"] = "C.UTF-8"
    return env


def _show(data, limit=4000):
    if data is None:
        return "<none>"
    text = data.decode("utf-8", "backslashreplace")
    if len(text) > limit:
        text = text[: limit // 2] + f"\n... [{len(text) - limit} chars cut] ...\n" + text[-limit // 2:]
    return text


def _arg_text(a):
    if isinstance(a, bytes):
        a = a.decode("utf-8", "backslashreplace")
    a = str(a)
    return a if len(a) <= 80 else a[:40] + f"...<{len(a)} chars>"


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def out(self):
        return self.stdout.decode("utf-8", "surrogateescape")

    @property
    def err(self):
        return self.stderr.decode("utf-8", "surrogateescape")

    def describe(self):
        cmd = " ".join(_arg_text(a) for a in self.args)
        return (f"command: {cmd}\nexit code: {self.returncode}\n"
                f"--- stdout ---\n{_show(self.stdout)}\n--- stderr ---\n{_show(self.stderr)}")


def check_sane(res, killed_by_us=False):
    """Fails on a sanitizer report or on a death by signal we did not send."""
    for marker in SANITIZER_MARKERS:
        assert marker not in res.stderr, f"sanitizer report ({marker.decode()}):\n{res.describe()}"
    assert res.returncode != SANITIZER_EXIT, f"sanitizer exit code:\n{res.describe()}"
    if not killed_by_us:
        assert res.returncode >= 0, (
            f"process died of signal {-res.returncode} "
            f"({signal.Signals(-res.returncode).name}):\n{res.describe()}")


class StreamReader:
    """Drains a pipe on a thread: whole lines into a queue, everything into a buffer."""

    def __init__(self, pipe):
        self._pipe = pipe
        self._lines = queue.Queue()
        self._chunks = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        pending = b""
        fd = self._pipe.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                self._chunks.append(data)
            pending += data
            *whole, pending = pending.split(b"\n")
            for line in whole:
                self._lines.put(line)
        self._lines.put(None)  # end of stream

    def get_line(self, timeout):
        """The next whole line (without newline), None at EOF; raises queue.Empty."""
        return self._lines.get(timeout=timeout)

    def data(self):
        with self._lock:
            return b"".join(self._chunks)

    def join(self, timeout):
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Proc:
    """A started child process with its stdout/stderr drained on threads."""

    def __init__(self, args, popen):
        self.args = args
        self.popen = popen
        self.pid = popen.pid
        self.stdout = StreamReader(popen.stdout) if popen.stdout else None
        self.stderr = StreamReader(popen.stderr)
        self.killed_by_us = False

    def kill9(self):
        if self.popen.poll() is None:
            self.killed_by_us = True
            os.kill(self.pid, signal.SIGKILL)

    def signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Waits for exit and for both pipes to reach EOF; returns a Result."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            self.popen.wait(timeout=10)
            raise AssertionError(
                f"process {self.pid} still running after {timeout}s; killed:\n"
                f"{self.result().describe()}")
        if self.stdout:
            self.stdout.join(10)
        self.stderr.join(10)
        return self.result()

    def result(self):
        out = self.stdout.data() if self.stdout else b""
        return Result(self.args, self.popen.returncode, out, self.stderr.data())


class Runnel:
    def __init__(self, binary):
        self.bin = binary
        self.env = child_env()
        self.procs = []

    # ---- one-shot commands -------------------------------------------------

    def run(self, *args, input=None, timeout=120, expect=0):
        """Runs `runnel args...`. expect: an exit code, a tuple of them, or None."""
        argv = [self.bin, *args]
        try:
            cp = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env, timeout=timeout)
        except subprocess.TimeoutExpired as e:  # run() kills the child
            res = Result(argv, None, e.stdout or b"", e.stderr or b"")
            raise AssertionError(f"timed out after {timeout}s:\n{res.describe()}") from None
        res = Result(argv, cp.returncode, cp.stdout, cp.stderr)
        check_sane(res)
        if expect is not None:
            allowed = expect if isinstance(expect, tuple) else (expect,)
            assert res.returncode in allowed, (
                f"expected exit code {' or '.join(map(str, allowed))}:\n{res.describe()}")
        return res

    # ---- long-running children ----------------------------------------------

    def popen(self, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE):
        argv = [self.bin, *args]
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                             env=self.env, bufsize=0)
        proc = Proc(argv, p)
        self.procs.append(proc)
        return proc

    def cleanup(self):
        for proc in self.procs:
            if proc.popen.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for pipe in (proc.popen.stdin, proc.popen.stdout, proc.popen.stderr):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass

    # ---- conveniences ------------------------------------------------------

    def produce(self, data_dir, topic, lines, *extra, expect=0, timeout=120):
        """Produces `lines` (bytes, no newlines) in one run; returns the printed offsets."""
        payload = b"".join(line + b"\n" for line in lines)
        res = self.run("produce", "--dir", data_dir, "--print-offsets", *extra, "--", topic,
                       input=payload, expect=expect, timeout=timeout)
        return parse_offsets(res), res

    def consume(self, data_dir, topic, *extra, expect=0, timeout=120):
        """consume --format json; returns (records, result)."""
        res = self.run("consume", "--dir", data_dir, "--format", "json", *extra, "--", topic,
                       expect=expect, timeout=timeout)
        return parse_records(res), res

    def describe(self, data_dir, topic):
        res = self.run("topic", "describe", "--dir", data_dir, "--json", "--", topic)
        try:
            return json.loads(res.stdout)
        except ValueError:
            raise AssertionError(f"describe --json printed no JSON:\n{res.describe()}") from None

    def verify(self, data_dir, expect=0):
        return self.run("verify", "--dir", data_dir, expect=expect)


def parse_offsets(res):
    text = res.stdout.decode("ascii", "replace")
    try:
        return [int(x) for x in text.split("\n") if x != ""]
    except ValueError:
        raise AssertionError(f"--print-offsets printed something else:\n{res.describe()}") from None


def parse_records(res):
    records = []
    for i, line in enumerate(res.stdout.split(b"\n")):
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"consume --format json line {i + 1} is not JSON: {line[:200]!r}\n"
                                 f"{res.describe()}") from None
    return records


def field_bytes(rec, name):
    """A record's key/value as bytes (None for null), whichever JSON form it has."""
    if name + "_b64" in rec:
        return base64.b64decode(rec[name + "_b64"])
    v = rec[name]
    return None if v is None else v.encode("utf-8")


def values(records):
    return [field_bytes(r, "value") for r in records]


def offsets(records):
    return [r["offset"] for r in records]


def write_all(pipe, data):
    """Writes all of `data` to a pipe (file object or fd), however many write()s it takes."""
    fd = pipe if isinstance(pipe, int) else pipe.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LiveProducer:
    """`runnel produce --print-offsets` fed one chunk at a time: send() writes a
    chunk and waits for its offsets, so each chunk becomes one batch."""

    def __init__(self, runnel, data_dir, topic, *extra):
        self.proc = runnel.popen("produce", "--dir", data_dir, "--print-offsets", *extra, "--",
                                 topic)

    def send(self, lines, timeout=60):
        write_all(self.proc.popen.stdin, b"".join(line + b"\n" for line in lines))
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < len(lines):
            left = deadline - time.monotonic()
            try:
                line = self.proc.stdout.get_line(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"no offsets for {len(lines) - len(got)} records after "
                                     f"{timeout}s:\n{self.proc.result().describe()}") from None
            if line is None:
                res = self.proc.wait(10)
                raise AssertionError(f"producer exited before acknowledging:\n{res.describe()}")
            got.append(int(line))
        return got

    def close(self, timeout=60, expect=0):
        self.proc.popen.stdin.close()
        res = self.proc.wait(timeout)
        check_sane(res)
        if expect is not None:
            assert res.returncode == expect, f"producer exit code:\n{res.describe()}"
        return res


def produce_batches(runnel, data_dir, topic, batches, *extra):
    """Produces each list of lines in `batches` as its own batch; returns all offsets."""
    p = LiveProducer(runnel, data_dir, topic, *extra)
    out = []
    for batch in batches:
        out.extend(p.send(batch))
    p.close()
    return out


# ---- on-disk helpers ---------------------------------------------------------

def partition_dir(data_dir, escaped_topic, partition=0):
    return Path(data_dir) / "topics" / escaped_topic / str(partition)


def segment_files(pdir, ext=".log"):
    """The partition's segment files of one kind, by base offset."""
    return sorted(p for p in Path(pdir).iterdir() if p.name.endswith(ext) and
                  len(p.name) == 20 + len(ext) and p.name[:20].isdigit())


def scan_batches(path):
    """(position, base_offset, record_count, total_size) of each whole batch."""
    data = Path(path).read_bytes()
    out = []
    pos = 0
    while pos + BATCH_HEADER_SIZE <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        total = 12 + length
        if length < BATCH_HEADER_SIZE - 12 or pos + total > len(data):
            break
        count = struct.unpack_from(">i", data, pos + 57)[0]
        out.append((pos, base, count, total))
        pos += total
    return out


def snapshot_tree(root):
    """{relative path: (kind, bytes or None)} for everything under root."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath) / d
            out[str(p.relative_to(root))] = ("dir", None)
        for f in filenames:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = ("file", p.read_bytes())
    return out


def pick_seed():
    """Seed for the randomised tests: RUNNEL_TEST_SEED or a fresh one (printed on failure)."""
    s = os.environ.get("RUNNEL_TEST_SEED")
    return int(s) if s else random.SystemRandom().randrange(1 << 30)


@pytest.fixture
def runnel():
    r = Runnel(_binary())
    try:
        yield r
    finally:
        r.cleanup()


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")
