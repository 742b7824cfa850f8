"""`runnel steward --once`: retention and compaction (DESIGN §4 "Steward",
src/storage/steward.h).

- Retention by bytes deletes the oldest sealed segments while the partition
  without them still holds at least retention_bytes; by time, the sealed
  segments whose newest record is older than retention_ms. The active segment
  is never touched; offsets stay as they were; reads start at the new start.
- Compaction keeps, in sealed segments, only the newest record of each key in
  the partition (records without a key stay), each at its original offset.

Segments are kept small (--segment-bytes) so a few hundred records make many.
"""

import json
import queue
import random
import signal
import subprocess
import time
from pathlib import Path

from conftest import (LiveProducer, check_sane, field_bytes, offsets, pick_seed, produce_batches,
                      segment_files, values)


def pdir(data_dir, topic):
    return Path(data_dir) / "topics" / topic / "0"


def seg_sizes(data_dir, topic):
    return [(int(p.name[:20]), p.stat().st_size) for p in segment_files(pdir(data_dir, topic))]


def no_orphans(data_dir, topic, ctx=""):
    """Every .index/.timeindex has its .log (retention removes all three), and
    no temporary file of an interrupted rewrite outlives a complete pass."""
    d = pdir(data_dir, topic)
    logs = {p.name[:20] for p in segment_files(d)}
    for ext in (".index", ".timeindex"):
        extra = {p.name[:20] for p in segment_files(d, ext)} - logs
        assert not extra, f"{ctx}{ext} files left without their .log: {sorted(extra)}"
    leftovers = [p.name for p in d.iterdir() if p.name.endswith((".tmp", ".compacting"))]
    assert not leftovers, f"{ctx}temporary files left behind: {leftovers}"


def produce_segments(runnel, data_dir, topic, n_batches, per_batch=10, tag="r"):
    batches = [[f"{tag}{b:04d}-{i:02d}-{'p' * 60}".encode() for i in range(per_batch)]
               for b in range(n_batches)]
    offs = produce_batches(runnel, data_dir, topic, batches)
    lines = [x for b in batches for x in b]
    assert offs == list(range(len(lines)))
    return lines


def test_retention_by_bytes(runnel, data_dir):
    retention = 40000
    runnel.run("topic", "create", "--dir", data_dir, "rb", "--segment-bytes", "16384",
               "--retention-bytes", str(retention))
    lines = produce_segments(runnel, data_dir, "rb", 150)
    before = seg_sizes(data_dir, "rb")
    assert len(before) >= 6, f"expected many segments, got {before}"
    total_before = sum(s for _, s in before)

    res = runnel.run("steward", "--dir", data_dir, "--once")
    after = seg_sizes(data_dir, "rb")
    ctx = f"retention_bytes {retention}; segments before {before}, after {after}\n{res.describe()}"
    assert before[-len(after):] == after, f"only the oldest segments may go: {ctx}"
    assert len(after) < len(before), f"nothing was deleted: {ctx}"
    total = sum(s for _, s in after)
    assert total >= min(retention, total_before), f"deleted more than needed: {ctx}"
    if len(after) > 1:  # the oldest remaining sealed segment had to stay
        assert total - after[0][1] < retention, f"deleted too little: {ctx}"
    no_orphans(data_dir, "rb")

    start = after[0][0]
    info = runnel.describe(data_dir, "rb")["partitions"][0]
    assert (info["start_offset"], info["end_offset"]) == (start, len(lines)), info
    recs, res = runnel.consume(data_dir, "rb")
    assert res.stderr == b"", res.describe()
    assert offsets(recs) == list(range(start, len(lines))) and values(recs) == lines[start:], \
        f"reads after retention must start at {start} with the original offsets:\n{res.describe()}"
    # A reader asking for a deleted offset starts at the new start.
    recs, res = runnel.consume(data_dir, "rb", "--from", "0", "--count", "3")
    assert offsets(recs) == [start, start + 1, start + 2], res.describe()
    runnel.verify(data_dir)

    # Appends continue at the old end; a second pass changes nothing more.
    offs, _ = runnel.produce(data_dir, "rb", [b"after-retention"])
    assert offs == [len(lines)]
    runnel.run("steward", "--dir", data_dir, "--once")
    assert seg_sizes(data_dir, "rb")[0][0] >= start


def test_retention_by_time(runnel, data_dir):
    retention_ms = 2500
    runnel.run("topic", "create", "--dir", data_dir, "rt", "--segment-bytes", "16384",
               "--retention-ms", str(retention_ms))
    t0 = time.time()
    lines = produce_segments(runnel, data_dir, "rt", 100)
    before = seg_sizes(data_dir, "rt")
    assert len(before) >= 4, before
    recs, _ = runnel.consume(data_dir, "rt")
    newest_ts = max(r["timestamp"] for r in recs)

    res = runnel.run("steward", "--dir", data_dir, "--once")
    if (time.time() - t0) * 1000 < retention_ms - 500:
        assert seg_sizes(data_dir, "rt") == before, \
            f"segments younger than retention_ms were deleted:\n{res.describe()}"

    # Wait (bounded) until every record is older than retention_ms.
    wait = newest_ts / 1000 + retention_ms / 1000 + 0.3 - time.time()
    assert wait < 10, f"clock trouble: would wait {wait:.1f}s"
    time.sleep(max(wait, 0))
    res = runnel.run("steward", "--dir", data_dir, "--once")
    after = seg_sizes(data_dir, "rt")
    assert after == before[-1:], \
        f"every sealed segment is past retention and must go; the active one stays: " \
        f"before {before}, after {after}\n{res.describe()}"
    no_orphans(data_dir, "rt")
    start = after[0][0]
    recs, res = runnel.consume(data_dir, "rt")
    assert offsets(recs) == list(range(start, len(lines))) and values(recs) == lines[start:], \
        res.describe()
    offs, _ = runnel.produce(data_dir, "rt", [b"after"])
    assert offs == [len(lines)], "appends must continue at the old end after retention"
    runnel.verify(data_dir)


def test_compaction_keeps_newest_per_key(runnel, data_dir):
    runnel.run("topic", "create", "--dir", data_dir, "cc", "--compact", "--segment-bytes", "4096")
    keys = [f"k{i:02d}" for i in range(20)]
    batches = []
    for rnd in range(25):
        batch = [f"{k}={k}-v{rnd:02d}-{'q' * 20}".encode() for k in keys]
        if rnd == 3:
            batch += [f"nokey-{i}".encode() for i in range(5)]   # no separator: no key
            batch += [b"solo=the only solo"]
        batches.append(batch)
    # Filler records of one key after them, so that the active segment holds
    # only filler and every keyed record above is in a sealed segment.
    batches += [[f"filler=f-{b:02d}-{i}-{'f' * 40}".encode() for i in range(10)] for b in range(20)]
    offs = produce_batches(runnel, data_dir, "cc", batches, "--key-separator", "=")
    produced, res = runnel.consume(data_dir, "cc")
    assert offsets(produced) == offs == list(range(len(offs))), res.describe()
    active_base = seg_sizes(data_dir, "cc")[-1][0]
    first_filler = next(r["offset"] for r in produced if field_bytes(r, "key") == b"filler")
    assert active_base > first_filler, \
        f"test setup: the keyed records must all be sealed (active segment at {active_base})"
    bytes_before = sum(s for _, s in seg_sizes(data_dir, "cc"))

    newest = {}
    for r in produced:
        k = field_bytes(r, "key")
        if k is not None:
            newest[k] = r["offset"]
    expected = [(r["offset"], field_bytes(r, "key"), field_bytes(r, "value")) for r in produced
                if field_bytes(r, "key") is None                 # no key: kept
                or newest[field_bytes(r, "key")] == r["offset"]  # newest of its key
                or r["offset"] >= active_base]                   # active segment: untouched

    res = runnel.run("steward", "--dir", data_dir, "--once")
    recs, res2 = runnel.consume(data_dir, "cc")
    assert res2.stderr == b"", res2.describe()
    got = [(r["offset"], field_bytes(r, "key"), field_bytes(r, "value")) for r in recs]
    if got != expected:
        gone = sorted(set(expected) - set(got))[:10]
        kept = sorted(set(got) - set(expected))[:10]
        raise AssertionError(f"after compaction: {len(got)} records, expected {len(expected)}; "
                             f"missing {gone}; should have gone {kept}\n{res.describe()}")
    last = {k: v for (_, k, v) in got if k is not None}
    for k in keys:
        assert last[k.encode()].startswith(f"{k}-v24".encode()), (k, last[k.encode()])
    assert sum(s for _, s in seg_sizes(data_dir, "cc")) < bytes_before / 2, \
        "compaction freed less than half of the bytes"
    info = runnel.describe(data_dir, "cc")["partitions"][0]
    assert info["end_offset"] == len(produced), info
    no_orphans(data_dir, "cc")
    runnel.verify(data_dir)

    # A reader asking for a compacted-away offset starts at the next kept one.
    gone = next(o for o in range(len(produced)) if o not in {e[0] for e in expected})
    nxt = min(e[0] for e in expected if e[0] > gone)
    recs, res = runnel.consume(data_dir, "cc", "--from", str(gone), "--count", "1")
    assert offsets(recs) == [nxt], f"--from {gone} (compacted away):\n{res.describe()}"

    # A second pass changes nothing; appends continue at the old end.
    runnel.run("steward", "--dir", data_dir, "--once")
    recs, _ = runnel.consume(data_dir, "cc")
    assert [(r["offset"], field_bytes(r, "key"), field_bytes(r, "value")) for r in recs] == got
    offs, _ = runnel.produce(data_dir, "cc", [b"k00=final"], "--key-separator", "=")
    assert offs == [len(produced)]
    runnel.verify(data_dir)


def test_retention_while_producing_and_following(runnel, data_dir):
    """Steward passes between a live producer's batches, with a follower
    tailing: appends never fail or skip an offset, the follower's records
    are the originals in order, and it reaches the end."""
    runnel.run("topic", "create", "--dir", data_dir, "live", "--segment-bytes", "8192",
               "--retention-bytes", "20000")
    follower = runnel.popen("consume", "--dir", data_dir, "--format", "json", "--follow", "--",
                            "live", stdin=subprocess.DEVNULL)
    producer = LiveProducer(runnel, data_dir, "live")
    lines = []
    for b in range(200):
        batch = [f"live-{b:03d}-{i}-{'z' * 50}".encode() for i in range(8)]
        offs = producer.send(batch)
        assert offs == list(range(len(lines), len(lines) + len(batch))), \
            f"batch {b}: offsets {offs[:3]}..., expected from {len(lines)}"
        lines += batch
        if b % 20 == 10:
            runnel.run("steward", "--dir", data_dir, "--once")
    producer.close()
    runnel.run("steward", "--dir", data_dir, "--once")
    no_orphans(data_dir, "live")
    info = runnel.describe(data_dir, "live")["partitions"][0]
    start = info["start_offset"]
    assert start > 0 and info["end_offset"] == len(lines), info
    recs, res = runnel.consume(data_dir, "live")
    assert offsets(recs) == list(range(start, len(lines))) and values(recs) == lines[start:], \
        res.describe()
    runnel.verify(data_dir)

    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not seen or seen[-1][0] < len(lines) - 1):
        try:
            line = follower.stdout.get_line(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if line is None:
            break
        r = json.loads(line)
        seen.append((r["offset"], field_bytes(r, "value")))
    follower.signal(signal.SIGTERM)
    res = follower.wait(30)
    assert res.returncode == 0, f"follower did not end cleanly:\n{res.describe()}"
    assert seen and seen[-1][0] == len(lines) - 1, \
        f"the follower stopped at {seen[-1:]} of {len(lines)} records:\n{res.describe()}"
    offs = [o for o, _ in seen]
    assert offs == sorted(set(offs)), "the follower saw offsets out of order or twice"
    wrong = [(o, v) for o, v in seen if v != lines[o]]
    assert not wrong, f"the follower saw records that were never written there: {wrong[:5]}"


def test_kill9_during_compaction(runnel, data_dir):
    """A steward killed at random moments of a compaction leaves, each time,
    a log whose records are originals at their offsets, with every key's
    newest record; what a crash may leave (a missing index) is repaired by
    the next writer (steward.h)."""
    seed = pick_seed()
    rng = random.Random(seed)
    ctx = f"seed {seed} (RUNNEL_TEST_SEED)"
    runnel.run("topic", "create", "--dir", data_dir, "kc", "--compact", "--segment-bytes", "32768")
    model = {}   # offset -> (key, value)
    newest = {}  # key -> offset
    killed_live = 0
    startup = full_pass = 0.0
    for rnd in range(10):
        lines = [f"k{rng.randrange(300):03d}=r{rnd}-{i:05d}-{'v' * 30}".encode()
                 for i in range(30000)]
        offs, _ = runnel.produce(data_dir, "kc", lines, "--key-separator", "=")
        for o, line in zip(offs, lines):
            k, v = line.split(b"=", 1)
            model[o] = (k, v)
            newest[k] = o
        t0 = time.monotonic()
        proc = runnel.popen("steward", "--dir", data_dir, "--once", stdin=subprocess.DEVNULL)
        if rnd == 0:
            # The first pass runs to the end: its length tells when later
            # passes are busy (startup is about a `topic list`).
            res = proc.wait(120)
            full_pass = time.monotonic() - t0
            assert res.returncode == 0, f"{ctx}: steward failed:\n{res.describe()}"
            t0 = time.monotonic()
            runnel.run("topic", "list", "--dir", data_dir)
            startup = time.monotonic() - t0
        else:
            # Aim inside the pass; a process that had already finished
            # (another test loading the machine made the first pass slow)
            # halves the aim, so later rounds land while it runs.
            time.sleep(rng.uniform(0.5 * startup, 0.9 * max(full_pass, startup)))
            alive = proc.popen.poll() is None
            proc.kill9()
            res = proc.wait(30)
            check_sane(res, killed_by_us=alive)
            if alive:
                killed_live += 1
            else:
                assert res.returncode == 0, f"{ctx}: steward failed:\n{res.describe()}"
                full_pass *= 0.5  # passes got quicker (less load): aim earlier

        recs, res = runnel.consume(data_dir, "kc")
        assert res.stderr == b"", f"{ctx}, round {rnd}:\n{res.describe()}"
        got = [(r["offset"], field_bytes(r, "key"), field_bytes(r, "value")) for r in recs]
        bad = [g for g in got if model.get(g[0]) != g[1:]]
        assert not bad, f"{ctx}, round {rnd}: records not as written at their offsets: {bad[:5]}"
        offs_seen = [g[0] for g in got]
        assert offs_seen == sorted(set(offs_seen)), f"{ctx}, round {rnd}: offsets out of order"
        missing = sorted(set(newest.values()) - set(offs_seen))
        assert not missing, f"{ctx}, round {rnd}: newest records of their keys lost: {missing[:10]}"
        res = runnel.verify(data_dir, expect=(0, 1))
        for line in res.out.splitlines():
            if line.startswith("DAMAGED"):
                assert "index file missing" in line, \
                    f"{ctx}, round {rnd}: a killed steward left damage:\n{res.describe()}"
    assert killed_live >= 3, f"{ctx}: only {killed_live} kills hit a running steward " \
                             f"(startup {startup:.2f}s, a full pass {full_pass:.2f}s)"

    # A complete pass and the next writer leave everything clean.
    runnel.run("steward", "--dir", data_dir, "--once")
    offs, _ = runnel.produce(data_dir, "kc", [b"k000=final"], "--key-separator", "=")
    no_orphans(data_dir, "kc", f"{ctx}: after a complete steward pass and a writer open, ")
    runnel.verify(data_dir)
