"""The log start offset: `runnel topic delete-records` (Log::DeleteRecordsBefore,
docs/format/log-start.md).

- Records below the new start are gone for every reader at once; `topic
  describe` reports it; the next steward pass deletes the sealed segments
  wholly below it (and only those); verify accepts it.
- It never moves back, and an offset past the end fails.
- kill -9 of the command at any moment leaves the old start or the new one,
  never damage; a completed command's start survives kill -9 of the process
  that was appending meanwhile.
"""

import json
import random
import time

from conftest import LiveProducer, offsets, pick_seed, produce_batches, segment_files, values
from pathlib import Path


def pdir(data_dir, topic):
    return Path(data_dir) / "topics" / topic / "0"


def bases(data_dir, topic):
    return [int(p.name[:20]) for p in segment_files(pdir(data_dir, topic))]


def log_bytes(data_dir, topic):
    return sum(p.stat().st_size for p in segment_files(pdir(data_dir, topic)))


def make_topic(runnel, data_dir, topic, n_batches=60, per_batch=5):
    runnel.run("topic", "create", "--dir", data_dir, topic, "--segment-bytes", "4096")
    batches = [[f"{topic}{b:04d}-{i}-{'p' * 80}".encode() for i in range(per_batch)]
               for b in range(n_batches)]
    offs = produce_batches(runnel, data_dir, topic, batches)
    lines = [x for b in batches for x in b]
    assert offs == list(range(len(lines)))
    return lines


def delete_records(runnel, data_dir, topic, before, expect=0):
    return runnel.run("topic", "delete-records", "--dir", data_dir, topic, "--before",
                      str(before), "--json", expect=expect)


def start_of(runnel, data_dir, topic):
    return runnel.describe(data_dir, topic)["partitions"][0]["start_offset"]


def test_delete_records_hides_at_once_and_the_steward_frees_whole_segments(runnel, data_dir):
    lines = make_topic(runnel, data_dir, "t")
    segs = bases(data_dir, "t")
    assert len(segs) >= 6, segs
    cut = segs[3] + 2  # inside the fourth segment
    assert cut < segs[4]

    res = delete_records(runnel, data_dir, "t", cut)
    assert json.loads(res.stdout) == {"partition": 0, "start_offset": cut}
    assert start_of(runnel, data_dir, "t") == cut
    recs, _ = runnel.consume(data_dir, "t")
    assert offsets(recs) == list(range(cut, len(lines))) and values(recs) == lines[cut:]
    recs, _ = runnel.consume(data_dir, "t", "--from", "3")
    assert offsets(recs)[0] == cut
    assert bases(data_dir, "t") == segs, "nothing is freed before a steward pass"
    runnel.verify(data_dir)

    before_bytes = log_bytes(data_dir, "t")
    runnel.run("steward", "--dir", data_dir, "--once")
    assert bases(data_dir, "t") == segs[3:], "exactly the segments wholly below the start go"
    assert log_bytes(data_dir, "t") < before_bytes
    info = runnel.describe(data_dir, "t")["partitions"][0]
    assert (info["start_offset"], info["end_offset"]) == (cut, len(lines)), info
    recs, _ = runnel.consume(data_dir, "t")
    assert values(recs) == lines[cut:]
    runnel.verify(data_dir)

    # Lower: no change; past the end: an error; the end: everything.
    assert json.loads(delete_records(runnel, data_dir, "t", 1).stdout)["start_offset"] == cut
    res = delete_records(runnel, data_dir, "t", len(lines) + 1, expect=1)
    assert b"past the end" in res.stderr, res.describe()
    assert start_of(runnel, data_dir, "t") == cut
    delete_records(runnel, data_dir, "t", len(lines))
    recs, _ = runnel.consume(data_dir, "t")
    assert recs == []
    runnel.run("steward", "--dir", data_dir, "--once")
    assert len(bases(data_dir, "t")) == 1, "the active segment always stays"
    offs, _ = runnel.produce(data_dir, "t", [b"after"])
    assert offs == [len(lines)]
    recs, _ = runnel.consume(data_dir, "t")
    assert values(recs) == [b"after"]
    runnel.verify(data_dir)


def test_kill9_during_delete_records_leaves_old_or_new_start(runnel, data_dir):
    seed = pick_seed()
    rng = random.Random(seed)
    lines = make_topic(runnel, data_dir, "k", n_batches=40)
    producer = LiveProducer(runnel, data_dir, "k")  # appends in between, holding no lock
    start = 0
    total = len(lines)
    for round_ in range(12):
        ctx = f"seed {seed}, round {round_}"
        target = min(start + rng.randrange(1, 20), total)
        proc = runnel.popen("topic", "delete-records", "--dir", data_dir, "k", "--before",
                            str(target))
        time.sleep(rng.uniform(0, 0.25))
        proc.kill9()
        proc.wait(10)
        now = start_of(runnel, data_dir, "k")
        assert now in (start, target), f"{ctx}: start {now}, expected {start} or {target}"
        start = now
        runnel.verify(data_dir)
        total += len(producer.send([f"live{round_}".encode()]))
        recs, _ = runnel.consume(data_dir, "k")
        assert offsets(recs) == list(range(start, total)), ctx
    producer.close()
    # A completed call after all the kills moves it, and reopening keeps it.
    delete_records(runnel, data_dir, "k", start + 1)
    assert start_of(runnel, data_dir, "k") == start + 1
    runnel.run("steward", "--dir", data_dir, "--once")
    leftovers = [p.name for p in pdir(data_dir, "k").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], leftovers
    runnel.verify(data_dir)


def test_start_survives_kill9_of_the_appending_process(runnel, data_dir):
    lines = make_topic(runnel, data_dir, "s", n_batches=20)
    producer = LiveProducer(runnel, data_dir, "s")
    assert producer.send([b"one"]) == [len(lines)]
    delete_records(runnel, data_dir, "s", 37)
    assert producer.send([b"two"]) == [len(lines) + 1]
    producer.proc.kill9()
    producer.proc.wait(10)
    assert start_of(runnel, data_dir, "s") == 37
    recs, _ = runnel.consume(data_dir, "s")
    assert offsets(recs)[0] == 37 and values(recs)[-2:] == [b"one", b"two"]
    offs, _ = runnel.produce(data_dir, "s", [b"three"])
    assert offs == [len(lines) + 2]
    assert start_of(runnel, data_dir, "s") == 37
    runnel.verify(data_dir)
