"""Durability under kill -9 (DESIGN §8: an acknowledged record survives kill -9
of any process, under every fsync policy).

Each round starts a fresh `produce --print-offsets` on the same topic, feeds it
unique lines through a pipe in random chunks, and SIGKILLs it at a random
moment: either 20-300 ms after it started (so some kills land in open and
recovery) or 20-300 ms after its first acknowledgement (mid-stream); half of
the kills come right after a burst of lines, so that some catch lines in
flight however fast the producer acknowledges the trickle. Small
segments make kills during a roll likely. After every kill the whole topic is
read back and checked against a model of what was sent and acknowledged:

- every printed offset holds exactly the line it acknowledged;
- offsets are dense from 0, with no gaps and no duplicates;
- the log is, round by round, a prefix of what each round sent, in order
  (unacknowledged lines may be missing, never reordered, never invented);
- what a reader saw once never disappears later;
- `runnel verify` is clean;
- a `consume --follow` started before the first round saw exactly the final
  log: every published record once, in order, nothing that later vanished.

RUNNEL_TEST_SEED replays a run; RUNNEL_CRASH_ROUNDS changes the round count.
"""

import json
import os
import queue
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import check_sane, offsets, pick_seed, values, write_all

ROUNDS = int(os.environ.get("RUNNEL_CRASH_ROUNDS", "30"))
MAX_LINES_PER_ROUND = 2500
FULL_CHECK_EVERY = 5  # rounds; in between only the tail is read back (see check_log)
TAIL_OVERLAP = 200    # records before the previous end that an incremental check re-reads
BURST_LINES = 1000    # written at once just before a "burst" kill (~30 KB, within a pipe's buffer)
FIRST_ACK_TIMEOUT = 30.0
LINE_RE = re.compile(rb"^rec-(\d+)-(\d+)-[0-9a-f]{8}$")


class Feeder:
    """Writes unique lines to a producer's stdin on a thread until stopped,
    the pipe breaks or MAX_LINES_PER_ROUND were written."""

    def __init__(self, proc, round_no, seed):
        self.sent = []  # every line handed to write(), in order
        self._fd = proc.popen.stdin.fileno()
        self._round = round_no
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._burst = threading.Event()       # asked: write a burst now
        self._burst_done = threading.Event()  # the burst is in the pipe (or feeding ended)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        rng = self._rng
        try:
            while not self._stop.is_set() and len(self.sent) < MAX_LINES_PER_ROUND:
                n = len(self.sent)
                burst = self._burst.is_set()
                count = min(BURST_LINES, MAX_LINES_PER_ROUND - n) if burst else rng.randint(1, 50)
                chunk = [f"rec-{self._round}-{n + i}-{rng.getrandbits(32):08x}".encode()
                         for i in range(count)]
                self.sent.extend(chunk)  # before the write: a written line is always known
                write_all(self._fd, b"".join(line + b"\n" for line in chunk))
                if burst:
                    self._burst.clear()
                    self._burst_done.set()
                    continue
                # ~2.5 lines/ms: still feeding at the kill. A burst request cuts the wait short.
                self._burst.wait(rng.random() * 0.020)
        except OSError:  # EPIPE once the producer is dead
            pass
        finally:
            self._burst_done.set()  # nothing more will be written: burst() must not wait

    def burst(self):
        """Has the feeding thread write BURST_LINES at once and returns when they
        are in the pipe: a kill right after lands while the producer still has
        them to read, append and acknowledge, however fast this build is."""
        self._burst.set()
        assert self._burst_done.wait(30), "feeder did not write its burst"

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "feeder thread stuck"


class Model:
    def __init__(self, ctx):
        self.ctx = ctx
        self.sent = {}      # round -> lines sent, in order
        self.acked = {}     # offset -> line
        self.seen = []      # the values a reader saw after the previous round
        self.end = 0        # end offset after the previous round

    def fail(self, round_no, msg):
        raise AssertionError(f"{self.ctx}, after round {round_no}: {msg}")

    def check_round_acks(self, round_no, printed, sent):
        if not printed:
            return
        want = list(range(printed[0], printed[0] + len(printed)))
        if printed != want:
            self.fail(round_no, f"acknowledged offsets of one producer are not consecutive: "
                                f"{printed[:10]}... (expected {want[:10]}...)")
        if printed[0] < self.end:
            self.fail(round_no, f"first acknowledged offset {printed[0]} is below the end "
                                f"{self.end} a reader saw before this round: offsets reused")
        if len(printed) > len(sent):
            self.fail(round_no, f"{len(printed)} offsets printed for {len(sent)} lines sent")
        for i, off in enumerate(printed):
            self.acked[off] = sent[i]

    def check_log(self, round_no, recs, start=0):
        """Checks the log, given its records from offset `start` on; below
        `start` the log is taken to be what the previous check saw (which the
        re-read overlap and the density check guard)."""
        offs = offsets(recs)
        if offs != list(range(start, start + len(recs))):
            bad = next((i for i, o in enumerate(offs) if o != start + i), len(offs))
            self.fail(round_no, f"offsets not dense from {start}: position {bad} holds offset "
                                f"{offs[bad] if bad < len(offs) else None} "
                                f"(neighbours {offs[max(0, bad - 3):bad + 3]})")
        if start > len(self.seen):
            self.fail(round_no, f"incremental read from {start} past the known end {len(self.seen)}")
        vals = self.seen[:start] + values(recs)
        for off, line in self.acked.items():
            if off >= len(vals):
                self.fail(round_no, f"acknowledged offset {off} ({line!r}) is gone: the log "
                                    f"ends at {len(vals)}")
            if vals[off] != line:
                self.fail(round_no, f"acknowledged offset {off} holds {vals[off]!r}, "
                                    f"expected {line!r}")
        if vals[:len(self.seen)] != self.seen:
            first = next(i for i, (a, b) in enumerate(zip(vals, self.seen)) if a != b) \
                if len(vals) >= len(self.seen) else len(vals)
            self.fail(round_no, f"records a reader saw earlier changed or vanished, from offset "
                                f"{first} (log now has {len(vals)}, earlier {len(self.seen)})")
        # Round by round, a prefix of what was sent, in order.
        last_round, next_n = -1, 0
        for off, v in enumerate(vals):
            m = LINE_RE.match(v or b"")
            if not m:
                self.fail(round_no, f"offset {off} holds {v!r}, which no producer sent")
            r, n = int(m.group(1)), int(m.group(2))
            if r != last_round:
                if r < last_round:
                    self.fail(round_no, f"offset {off}: round {r} after round {last_round}")
                last_round, next_n = r, 0
            if n != next_n:
                self.fail(round_no, f"offset {off}: line {n} of round {r}, expected line {next_n} "
                                    f"(lost or duplicated lines in the middle of a round)")
            sent = self.sent.get(r, [])
            if n >= len(sent) or sent[n] != v:
                self.fail(round_no, f"offset {off} holds {v!r}, not what round {r} sent as line {n}")
            next_n = n + 1
        self.seen = vals
        self.end = len(vals)


def run_round(runnel, data_dir, rng, round_no, model):
    """One producer life; returns (kill mode, lines acknowledged, lines sent)."""
    proc = runnel.popen("produce", "--dir", data_dir, "--print-offsets", "--", "crash")
    feeder = Feeder(proc, round_no, rng.getrandbits(32))
    mode = rng.choice(["after-start", "after-first-ack"])
    delay = rng.uniform(0.020, 0.300)
    # Half the kills follow a burst, so that some kill catches the producer
    # with lines in flight even when it acknowledges a trickle at once (a
    # release build does); the rest land wherever the trickle is.
    burst = rng.random() < 0.5
    try:
        if mode == "after-first-ack":
            first = proc.stdout.get_line(timeout=FIRST_ACK_TIMEOUT)
            if first is None:
                res = proc.wait(10)
                model.fail(round_no, f"producer ended before acknowledging:\n{res.describe()}")
        time.sleep(delay)
        if burst:
            feeder.burst()
        alive = proc.popen.poll() is None
        proc.kill9()
        res = proc.wait(30)
    finally:
        feeder.stop()
        try:
            proc.popen.stdin.close()
        except OSError:
            pass
    check_sane(res, killed_by_us=True)
    if not alive or res.returncode != -9:
        model.fail(round_no, f"producer exited by itself before the kill:\n{res.describe()}")
    # Only whole lines count: a number cut short by the kill says nothing.
    printed = [int(x) for x in res.stdout.split(b"\n")[:-1]]
    model.sent[round_no] = list(feeder.sent)
    model.check_round_acks(round_no, printed, feeder.sent)
    return mode, len(printed), len(feeder.sent)


@pytest.mark.parametrize("policy", ["always", "interval:50", "never"])
def test_kill9_loses_no_acknowledged_record(runnel, data_dir, policy):
    seed = pick_seed()
    rng = random.Random(seed)
    model = Model(f"seed {seed} (RUNNEL_TEST_SEED), fsync {policy}")
    runnel.run("topic", "create", "--dir", data_dir, "crash", "--fsync", policy,
               "--segment-bytes", "65536")
    follower = runnel.popen("consume", "--dir", data_dir, "--format", "json", "--follow", "--",
                            "crash", stdin=subprocess.DEVNULL)
    acked_rounds = 0
    busy_kills = 0  # kills with acknowledged lines and more lines still on the way
    for round_no in range(ROUNDS):
        mode, n_acked, n_sent = run_round(runnel, data_dir, rng, round_no, model)
        acked_rounds += n_acked > 0
        busy_kills += 0 < n_acked < n_sent
        full = round_no % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1
        start = 0 if full else max(0, model.end - TAIL_OVERLAP)
        recs, res = runnel.consume(data_dir, "crash", "--from", str(start))
        assert res.stderr == b"", f"{model.ctx}, round {round_no} ({mode}): reader reported " \
                                  f"problems:\n{res.describe()}"
        model.check_log(round_no, recs, start)
        res = runnel.verify(data_dir, expect=None)
        assert res.returncode == 0, f"{model.ctx}, round {round_no} ({mode}): verify not clean " \
                                    f"after kill -9:\n{res.describe()}"

    # The test means nothing if the producers never got to acknowledge.
    assert acked_rounds >= ROUNDS // 3, \
        f"{model.ctx}: only {acked_rounds} of {ROUNDS} rounds acknowledged anything"
    assert busy_kills >= ROUNDS // 4, \
        f"{model.ctx}: only {busy_kills} of {ROUNDS} kills hit a producer with work pending"

    # A clean run afterwards continues densely where the log ends (after any
    # unacknowledged records of the last killed producer that its recovery
    # finds whole and publishes).
    lines = [f"rec-{ROUNDS}-{i}-{i:08x}".encode() for i in range(100)]
    model.sent[ROUNDS] = lines
    offs, res = runnel.produce(data_dir, "crash", lines)
    assert offs[0] >= model.end and offs == list(range(offs[0], offs[0] + 100)), res.describe()
    recs, res = runnel.consume(data_dir, "crash")
    model.acked.update(zip(offs, lines))
    model.check_log(ROUNDS, recs)
    info = runnel.describe(data_dir, "crash")
    assert info["partitions"][0]["end_offset"] == len(recs), info
    runnel.verify(data_dir)

    # The follower lived through every crash and saw exactly the log.
    final = [(r["offset"], r["value"]) for r in recs]
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < len(final) and time.monotonic() < deadline:
        try:
            line = follower.stdout.get_line(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if line is None:
            break
        r = json.loads(line)
        seen.append((r["offset"], r.get("value")))
    follower.signal(signal.SIGTERM)
    res = follower.wait(30)
    assert res.returncode == 0 and res.stderr == b"", \
        f"{model.ctx}: follower did not end cleanly:\n{res.describe()}"
    if seen != final:
        first = next((i for i, (a, b) in enumerate(zip(seen, final)) if a != b),
                     min(len(seen), len(final)))
        raise AssertionError(
            f"{model.ctx}: the follower saw {len(seen)} records, the log has {len(final)}; "
            f"first difference at position {first}: follower {seen[first:first + 3]}, "
            f"log {final[first:first + 3]}")
