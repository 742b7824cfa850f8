"""Stream trims free disk (docs/protocols/resp.md "Streams", "Trimming frees
disk"): XTRIM, XADD MAXLEN/MINID and XDEL of the first entries raise the
stream topic's log start offset to the first live entry once their meta
event is durable, and the next steward pass deletes the segments wholly
below it. XLEN/XRANGE stay right, also after a restart and after kill -9.

The stream topic gets small segments from `runnel topic create
--segment-bytes` before the server starts, or from a `[[topics]]` rule;
the server runs its steward every 200 ms (--steward-interval-ms).
"""

import json
import time
from pathlib import Path

N = 1500
VALUE = "v" * 100


def seg_dir(data_dir, name):
    return Path(data_dir) / "topics" / name / "0"


def log_bytes(data_dir, name):
    total = 0
    for p in seg_dir(data_dir, name).glob("*.log"):
        try:
            total += p.stat().st_size
        except FileNotFoundError:  # the steward deleted it between glob and stat
            pass
    return total


def start_offset(runnel, data_dir, name):
    res = runnel.run("topic", "describe", "--dir", data_dir, "--json", "--", name)
    return json.loads(res.stdout)["partitions"][0]["start_offset"]


def wait_for(what, pred, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sid(i):
    return f"{i + 1}-1".encode()


def fill(r, name, n=N, per_pipeline=50):
    # Pipelined XADDs reach the log as one batch per read, and a batch never
    # spans segments: small pipelines keep the segments near segment_bytes.
    for start in range(0, n, per_pipeline):
        p = r.pipeline(transaction=False)
        ids = [sid(i) for i in range(start, min(n, start + per_pipeline))]
        for i in ids:
            p.xadd(name, {"f": VALUE}, id=i)
        assert p.execute() == ids


def start(start_server, runnel, data_dir, name="big"):
    if not Path(data_dir).exists():
        runnel.run("topic", "create", "--dir", data_dir, name, "--segment-bytes", "16384")
    return start_server("--steward-interval-ms", "200", data_dir=data_dir)


def check_stream(r, name, first, last):
    assert r.xlen(name) == last - first
    got = [e[0] for e in r.xrange(name)]
    assert got == [sid(i) for i in range(first, last)]


def test_xtrim_frees_disk_and_survives_restart(start_server, runnel, tmp_path):
    data_dir = str(tmp_path / "d")
    s = start(start_server, runnel, data_dir)
    r = s.redis()
    fill(r, "big")
    before = log_bytes(data_dir, "big")
    assert len(list(seg_dir(data_dir, "big").glob("*.log"))) > 10
    assert r.xtrim("big", maxlen=100, approximate=False) == N - 100
    check_stream(r, "big", N - 100, N)
    # Offsets are the entries' positions: the first live one is at N - 100.
    wait_for("log start raised", lambda: start_offset(runnel, data_dir, "big") == N - 100)
    wait_for("segments freed", lambda: log_bytes(data_dir, "big") < before // 5)
    check_stream(r, "big", N - 100, N)

    # XDEL of the first entries moves the first live entry too.
    assert r.xdel("big", *[sid(i) for i in range(N - 100, N - 90)]) == 10
    wait_for("log start after XDEL", lambda: start_offset(runnel, data_dir, "big") == N - 90)
    # XDEL in the middle does not.
    assert r.xdel("big", sid(N - 50)) == 1
    assert r.xlen("big") == 89

    # XADD with MAXLEN, then with MINID.
    for i in range(N, N + 20):
        r.xadd("big", {"f": VALUE}, id=sid(i), maxlen=60, approximate=False)
    assert r.xlen("big") == 60
    first = [e[0] for e in r.xrange("big", count=1)][0]
    first_i = int(first.split(b"-")[0]) - 1
    wait_for("log start after XADD MAXLEN",
             lambda: start_offset(runnel, data_dir, "big") == first_i)
    r.xadd("big", {"f": VALUE}, id=sid(N + 20), minid=sid(N + 10).decode())
    assert [e[0] for e in r.xrange("big")] == [sid(i) for i in range(N + 10, N + 21)]
    wait_for("log start after XADD MINID",
             lambda: start_offset(runnel, data_dir, "big") == N + 10)
    info = r.xinfo_stream("big")
    assert info["entries-added"] == N + 21 and info["length"] == 11

    s.stop()
    s2 = start(start_server, runnel, data_dir)
    r2 = s2.redis()
    assert [e[0] for e in r2.xrange("big")] == [sid(i) for i in range(N + 10, N + 21)]
    assert r2.xlen("big") == 11
    info = r2.xinfo_stream("big")
    assert info["entries-added"] == N + 21, info
    assert info["last-generated-id"] == sid(N + 20)
    assert r2.xadd("big", {"f": "after"}, id=sid(N + 21)) == sid(N + 21)
    assert start_offset(runnel, data_dir, "big") == N + 10
    s2.stop()
    runnel.verify(data_dir)


def test_trim_then_kill9_keeps_the_stream_and_the_freed_disk(start_server, runnel, tmp_path):
    data_dir = str(tmp_path / "d")
    s = start(start_server, runnel, data_dir)
    r = s.redis()
    fill(r, "big", 800)
    before = log_bytes(data_dir, "big")
    assert r.xtrim("big", minid=sid(700).decode()) == 700
    wait_for("log start raised", lambda: start_offset(runnel, data_dir, "big") == 700)
    wait_for("segments freed", lambda: log_bytes(data_dir, "big") < before // 3)
    freed = log_bytes(data_dir, "big")
    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True
    runnel.verify(data_dir)
    assert start_offset(runnel, data_dir, "big") == 700
    s2 = start(start_server, runnel, data_dir)
    r2 = s2.redis()
    check_stream(r2, "big", 700, 800)
    assert r2.xinfo_stream("big")["entries-added"] == 800
    assert log_bytes(data_dir, "big") <= freed + 16384


def test_del_of_a_trimmed_stream_then_a_new_one_of_that_name(start_server, runnel, tmp_path):
    data_dir = str(tmp_path / "d")
    s = start(start_server, runnel, data_dir)
    r = s.redis()
    fill(r, "big", 300)
    assert r.xtrim("big", maxlen=10, approximate=False) == 290
    assert r.delete("big") == 1
    # The new stream of that name starts from nothing; no old raise reaches it.
    for i in range(5):
        r.xadd("big", {"f": "new"}, id=sid(i))
    time.sleep(0.5)  # longer than the mover's gap and two steward passes
    assert r.xlen("big") == 5
    assert [e[0] for e in r.xrange("big")] == [sid(i) for i in range(5)]
    assert start_offset(runnel, data_dir, "big") == 0


def test_a_topic_rule_gives_xadd_streams_small_segments_that_trims_free(start_server, runnel,
                                                                        tmp_path):
    data_dir = str(tmp_path / "d")
    s = start_server("--steward-interval-ms", "200", data_dir=data_dir,
                     config='[[topics]]\npattern = "small.*"\nsegment_bytes = 16384\n')
    r = s.redis()
    fill(r, "small.s", 800)  # made by XADD under the rule
    before = log_bytes(data_dir, "small.s")
    assert len(list(seg_dir(data_dir, "small.s").glob("*.log"))) > 5
    assert r.xtrim("small.s", maxlen=50, approximate=False) == 750
    wait_for("segments freed", lambda: log_bytes(data_dir, "small.s") < before // 4)
    check_stream(r, "small.s", 750, 800)
    assert start_offset(runnel, data_dir, "small.s") == 750


def raw_keys(runnel, data_dir, name):
    """The keys of the records the log still holds (entries are keyed by ID)."""
    res = runnel.run("consume", "--dir", data_dir, name, "--format", "json")
    return {json.loads(l)["key"] for l in res.stdout.decode().splitlines() if l.strip()}


def test_xdel_in_the_middle_frees_disk_and_survives_restart(start_server, runnel, tmp_path):
    """XDEL of entries that are not the first: their records are purged from
    the sealed segments (Log::PurgeRecords, rewritten like compaction);
    entries in the active segment once it has rolled."""
    data_dir = str(tmp_path / "d")
    s = start(start_server, runnel, data_dir)
    r = s.redis()
    fill(r, "big")
    before = log_bytes(data_dir, "big")
    gone = [sid(i) for i in range(100, N - 100)]
    assert r.xdel("big", *gone) == len(gone)
    kept = [sid(i) for i in range(100)] + [sid(i) for i in range(N - 100, N)]
    assert [e[0] for e in r.xrange("big")] == kept
    wait_for("deleted entries purged", lambda: log_bytes(data_dir, "big") < before // 3)
    assert start_offset(runnel, data_dir, "big") == 0  # the first entries stay
    keys = raw_keys(runnel, data_dir, "big")
    assert not {g.decode() for g in gone[:-50]} & keys  # sealed: purged
    assert {k.decode() for k in kept} <= keys

    # The last entry is in the active segment: purged once it rolls.
    last = sid(N - 1)
    assert r.xdel("big", last) == 1
    for i in range(N, N + 300):  # a few segments more
        r.xadd("big", {"f": VALUE}, id=sid(i))
    wait_for("active-segment entry purged after the roll",
             lambda: last.decode() not in raw_keys(runnel, data_dir, "big"), timeout=30)
    expect = kept[:-1] + [sid(i) for i in range(N, N + 300)]
    assert [e[0] for e in r.xrange("big")] == expect
    assert r.xlen("big") == len(expect)
    s.stop()
    runnel.verify(data_dir)
    s2 = start(start_server, runnel, data_dir)
    r2 = s2.redis()
    assert [e[0] for e in r2.xrange("big")] == expect
    assert r2.xlen("big") == len(expect)
    assert r2.xinfo_stream("big")["max-deleted-entry-id"] == last
