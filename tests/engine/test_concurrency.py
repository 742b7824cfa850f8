"""Several processes on one directory (DESIGN §1, §8): two producers append at
once while two `consume --follow` processes, started first, tail the topic.

Both followers must see every record exactly once, in the same order, with
the same offsets, and that order must be the log's (a final `consume` from
earliest); each producer's records keep the order it wrote them in; offsets
are dense. With several partitions the same holds per partition.

Everything is bounded: producers and followers are given deadlines, and a
follower that has not seen every record in time fails the test.
"""

import json
import queue
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict

import pytest

from conftest import check_sane, field_bytes, parse_records, pick_seed, write_all

PER_PRODUCER = 2000
PRODUCERS = 2
FOLLOWERS = 2
DEADLINE = 120.0  # seconds for the producers to finish and the followers to catch up


def feed(proc, lines, rng, barrier):
    """Writes the first line and waits for its ack, so that both producers are
    up; then, once every producer is, the rest in random chunks with pauses
    (so the producers' batches interleave); then closes stdin."""
    fd = proc.popen.stdin
    try:
        write_all(fd, lines[0] + b"\n")
        proc.stdout.get_line(timeout=30)  # the first ack (its text is kept in stdout.data())
        barrier.wait(timeout=60)
        i = 1
        while i < len(lines):
            k = rng.randint(1, 40)
            write_all(fd, b"".join(line + b"\n" for line in lines[i:i + k]))
            i += k
            time.sleep(rng.random() * 0.02)
    except (OSError, queue.Empty, threading.BrokenBarrierError):
        pass  # the producer died: its exit status tells
    finally:
        fd.close()


def collect(proc, want, deadline, label):
    """Reads JSON records from a follower until `want` arrived or the deadline."""
    recs = []
    while len(recs) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            line = proc.stdout.get_line(timeout=left)
        except queue.Empty:
            break
        if line is None:
            res = proc.wait(10)
            raise AssertionError(f"{label} ended early after {len(recs)} records:\n{res.describe()}")
        try:
            recs.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{label} printed a line that is not JSON: {line[:200]!r}") from None
    return recs


def key(rec):
    return rec["partition"], rec["offset"], field_bytes(rec, "value")


@pytest.mark.parametrize("partitions", [1, 3])
def test_two_producers_two_followers(runnel, data_dir, partitions):
    seed = pick_seed()
    rng = random.Random(seed)
    ctx = f"seed {seed}, {partitions} partition(s)"
    total = PER_PRODUCER * PRODUCERS
    runnel.run("topic", "create", "--dir", data_dir, "conc", "--partitions", str(partitions))

    followers = [runnel.popen("consume", "--dir", data_dir, "--format", "json", "--follow",
                              "--from", "earliest", "--", "conc", stdin=subprocess.DEVNULL)
                 for _ in range(FOLLOWERS)]
    time.sleep(1.0)  # let them start and wait (they would catch up from earliest anyway)
    for f in followers:
        assert f.popen.poll() is None, f"a follower exited at once:\n{f.wait(5).describe()}"

    sent = {p: [f"p{p}-{n:05d}-{rng.getrandbits(24):06x}".encode() for n in range(PER_PRODUCER)]
            for p in range(PRODUCERS)}
    producers = {p: runnel.popen("produce", "--dir", data_dir, "--print-offsets", "--", "conc")
                 for p in range(PRODUCERS)}
    barrier = threading.Barrier(PRODUCERS)
    feeders = [threading.Thread(target=feed, daemon=True,
                                args=(producers[p], sent[p], random.Random(seed + p), barrier))
               for p in range(PRODUCERS)]
    for t in feeders:
        t.start()
    deadline = time.monotonic() + DEADLINE
    printed = {}
    for p, proc in producers.items():
        res = proc.wait(max(deadline - time.monotonic(), 1))
        assert res.returncode == 0, f"{ctx}: producer {p} failed:\n{res.describe()}"
        check_sane(res)
        printed[p] = [int(x) for x in res.out.split()]
        assert len(printed[p]) == PER_PRODUCER, f"{ctx}: producer {p} acknowledged " \
                                                 f"{len(printed[p])} of {PER_PRODUCER}"
    for t in feeders:
        t.join(10)

    seen = [collect(f, total, deadline, f"follower {i}") for i, f in enumerate(followers)]
    for i, recs in enumerate(seen):
        assert len(recs) == total, f"{ctx}: follower {i} saw {len(recs)} of {total} records " \
                                   f"within {DEADLINE}s"
    # Followers stop cleanly on SIGTERM (exit 0, no leaks).
    for f in followers:
        f.signal(signal.SIGTERM)
    for i, f in enumerate(followers):
        res = f.wait(30)
        assert res.returncode == 0 and res.stderr == b"", \
            f"{ctx}: follower {i} did not stop cleanly on SIGTERM:\n{res.describe()}"
        extra = res.stdout.count(b"\n") - total
        assert extra == 0, f"{ctx}: follower {i} printed {extra} records more than were written"

    res = runnel.run("consume", "--dir", data_dir, "--format", "json", "--", "conc")
    final = parse_records(res)
    assert len(final) == total, f"{ctx}: the log holds {len(final)} records, expected {total}"

    def per_partition(recs):
        out = defaultdict(list)
        for r in recs:
            out[r["partition"]].append(key(r))
        return dict(out)

    log = per_partition(final)
    for part, recs in log.items():
        assert [o for _, o, _ in recs] == list(range(len(recs))), \
            f"{ctx}: partition {part} offsets are not dense from 0"
    all_values = [v for recs in log.values() for _, _, v in recs]
    assert sorted(all_values) == sorted(sent[0] + sent[1]), \
        f"{ctx}: the log does not hold every record exactly once"
    # Each producer's records keep their order within a partition.
    for part, recs in log.items():
        for p in range(PRODUCERS):
            mine = [v for _, _, v in recs if v.startswith(f"p{p}-".encode())]
            assert mine == sorted(mine), f"{ctx}: producer {p}'s records reordered in " \
                                         f"partition {part}"
    # Each follower saw exactly the log, partition by partition.
    for i, recs in enumerate(seen):
        got = per_partition(recs)
        for part in log:
            if got.get(part) != log[part]:
                a, b = got.get(part, []), log[part]
                first = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                raise AssertionError(
                    f"{ctx}: follower {i} differs from the log in partition {part} at position "
                    f"{first}: saw {a[first:first + 3]}, log has {b[first:first + 3]}")
    if partitions == 1:
        switches = sum(1 for (_, _, a), (_, _, b) in zip(log[0], log[0][1:]) if a[:3] != b[:3])
        assert switches >= 10, f"{ctx}: the producers hardly overlapped ({switches} switches " \
                               f"between them in the log): the test proved little"
        assert [key(r) for r in seen[0]] == [key(r) for r in seen[1]] == \
            [key(r) for r in final], f"{ctx}: followers and log disagree on the order"
        # Printed offsets name the producer's own records.
        by_offset = {o: v for _, o, v in log[0]}
        for p in range(PRODUCERS):
            got = [by_offset.get(o) for o in printed[p]]
            assert got == sent[p], f"{ctx}: producer {p}'s printed offsets do not hold its records"
    runnel.verify(data_dir)


def test_producer_killed_while_another_appends(runnel, data_dir):
    """Producer A appends steadily while producers B1..Bn on the same
    partition are each SIGKILLed at a random moment. A never fails; every
    offset either printed is in the log with its line; offsets are dense; a
    follower sees exactly the log; verify is clean."""
    seed = pick_seed()
    rng = random.Random(seed)
    ctx = f"seed {seed}"
    runnel.run("topic", "create", "--dir", data_dir, "mixed", "--segment-bytes", "32768")
    follower = runnel.popen("consume", "--dir", data_dir, "--format", "json", "--follow", "--",
                            "mixed", stdin=subprocess.DEVNULL)
    a_lines = [f"A-{n:05d}".encode() for n in range(6000)]
    a = runnel.popen("produce", "--dir", data_dir, "--print-offsets", "--", "mixed")
    a_feeder = threading.Thread(target=feed, daemon=True,
                                args=(a, a_lines, random.Random(seed + 1), threading.Barrier(1)))
    a_feeder.start()
    acked = {}  # offset -> line
    rounds = 0
    deadline = time.monotonic() + 60
    while a.popen.poll() is None and rounds < 25 and time.monotonic() < deadline:
        rounds += 1
        b = runnel.popen("produce", "--dir", data_dir, "--print-offsets", "--", "mixed")
        b_lines = [f"B{rounds:02d}-{n:05d}".encode() for n in range(2000)]
        fd = b.popen.stdin.fileno()
        sent = 0
        stop_at = time.monotonic() + rng.uniform(0.1, 0.5)
        try:
            while time.monotonic() < stop_at and sent < len(b_lines):
                k = rng.randint(1, 30)
                write_all(fd, b"".join(x + b"\n" for x in b_lines[sent:sent + k]))
                sent += k
                time.sleep(rng.random() * 0.01)
        except OSError:
            pass
        b.kill9()
        res = b.wait(30)
        check_sane(res, killed_by_us=True)
        try:
            b.popen.stdin.close()
        except OSError:
            pass
        for i, x in enumerate(res.stdout.split(b"\n")[:-1]):
            acked[int(x)] = b_lines[i]
    a_feeder.join(60)
    res = a.wait(60)
    assert res.returncode == 0, f"{ctx}: producer A failed while others were killed:\n" \
                                f"{res.describe()}"
    a_offs = [int(x) for x in res.out.split()]
    assert len(a_offs) == len(a_lines), f"{ctx}: A acknowledged {len(a_offs)} of {len(a_lines)}"
    assert rounds >= 5, f"{ctx}: only {rounds} producers were killed while A ran"
    acked.update(zip(a_offs, a_lines))

    res = runnel.run("consume", "--dir", data_dir, "--format", "json", "--", "mixed")
    final = [(r["offset"], field_bytes(r, "value")) for r in parse_records(res)]
    assert [o for o, _ in final] == list(range(len(final))), f"{ctx}: offsets not dense"
    log = dict(final)
    wrong = [(o, line, log.get(o)) for o, line in sorted(acked.items()) if log.get(o) != line]
    assert not wrong, f"{ctx}: acknowledged records lost or changed: {wrong[:5]}"
    # Each producer's lines appear once each, in its own order.
    vals = [v for _, v in final]
    assert len(set(vals)) == len(vals), f"{ctx}: a line was appended twice"
    for prefix in [b"A-"] + [b"B%02d-" % r for r in range(1, rounds + 1)]:
        mine = [v for v in vals if v.startswith(prefix)]
        assert mine == sorted(mine), f"{ctx}: lines of {prefix!r} reordered"
    runnel.verify(data_dir)

    seen = collect(follower, len(final), time.monotonic() + 60, "follower")
    follower.signal(signal.SIGTERM)
    res = follower.wait(30)
    assert res.returncode == 0, f"{ctx}: follower did not end cleanly:\n{res.describe()}"
    got = [(r["offset"], field_bytes(r, "value")) for r in seen]
    assert got == final, f"{ctx}: the follower saw {len(got)} records, not exactly the log " \
                         f"({len(final)})"
