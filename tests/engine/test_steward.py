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

import time
from pathlib import Path

from conftest import field_bytes, offsets, produce_batches, segment_files, values


def pdir(data_dir, topic):
    return Path(data_dir) / "topics" / topic / "0"


def seg_sizes(data_dir, topic):
    return [(int(p.name[:20]), p.stat().st_size) for p in segment_files(pdir(data_dir, topic))]


def no_orphans(data_dir, topic):
    """Every .index/.timeindex has its .log (retention removes all three)."""
    d = pdir(data_dir, topic)
    logs = {p.name[:20] for p in segment_files(d)}
    for ext in (".index", ".timeindex"):
        extra = {p.name[:20] for p in segment_files(d, ext)} - logs
        assert not extra, f"{ext} files left without their .log: {sorted(extra)}"
    leftovers = [p.name for p in d.iterdir() if p.name.endswith((".tmp", ".compacting"))]
    assert not leftovers, f"temporary files left behind: {leftovers}"


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
