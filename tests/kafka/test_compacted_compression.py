"""Compaction of compressed batches, end to end: a compacted topic with small
segments gets keyed records compressed by a real client with gzip, snappy,
lz4 or zstd; after a steward pass (the offline `runnel steward --once`, or
the server's periodic one) the sealed segments hold only each key's newest
record, their batches are still in the producer's codec with its producer
id and sequences, `runnel verify` is clean, and confluent-kafka and kcat
read exactly that picture back (docs/protocols/kafka.md "Compressed
batches").

Which client compresses: both. librdkafka 2.0.2 (Debian 12's, under
confluent-kafka and kcat) compresses gzip, snappy and lz4 only with a
broker that serves Produce v0 (runnel does since it accepts legacy message
sets; before, it sent them uncompressed: "Broker does not support
compression type gzip: not compressing batch"), and zstd in any case; an
idempotent confluent-kafka producer writes every codec. kafka-python
writes gzip, snappy (xerial framing, as the Java client) and lz4 too. The
batches on disk are checked to be compressed before the steward runs."""

import os
import struct
import time

import pytest

ck = pytest.importorskip("confluent_kafka")

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
KEYS = 12
RECORDS = 600


def create_compacted(bootstrap, topic):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                              config={"cleanup.policy": "compact", "segment.bytes": "4096"})])[
        topic].result(10)


def record_of(i, codec):
    """Keys k0..k11 over and over (every 37th record a tombstone), and every
    5th record a key of its own (so the sealed segments keep something)."""
    key = f"u{i}" if i % 5 == 4 else f"k{i % KEYS}"
    value = None if i % 37 == 36 else f"{codec}-{i}-".encode() + b"v" * (i % 40)
    return key.encode(), value


def produce_keyed(bootstrap, topic, codec, client="confluent"):
    """Returns [(offset, key, value)] as delivered."""
    if client == "confluent":
        return produce_confluent(bootstrap, topic, codec)
    return produce_kafka_python(bootstrap, topic, codec)


# kafka-python 2.0.2 cannot write zstd.
CLIENT_CODECS = [(c, "confluent") for c in CODECS] + [
    (c, "kafka-python") for c in CODECS if c != "zstd"]


def produce_confluent(bootstrap, topic, codec):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5,
                  "batch.num.messages": 8, "enable.idempotence": True})
    written = []

    def delivered(err, msg):
        assert err is None, err
        written.append((msg.offset(), msg.key(), msg.value()))

    for i in range(RECORDS):
        key, value = record_of(i, codec)
        p.produce(topic, key=key, value=value, on_delivery=delivered)
        p.poll(0)
    assert p.flush(30) == 0
    assert len(written) == RECORDS
    return sorted(written)


def produce_kafka_python(bootstrap, topic, codec):
    if codec == "snappy":
        pytest.importorskip("snappy", reason="python3-snappy (scripts/setup test) missing")
    if codec == "lz4":
        pytest.importorskip("lz4.frame", reason="python3-lz4 (scripts/setup test) missing")
    from kafka import KafkaProducer
    # batch_size in bytes: a handful of records per batch, so there are many.
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=5,
                      batch_size=300)
    futures = []
    for i in range(RECORDS):
        key, value = record_of(i, codec)
        futures.append((key, value, p.send(topic, key=key, value=value)))
    p.flush(30)
    written = [(f.get(timeout=30).offset, key, value) for key, value, f in futures]
    p.close(10)
    assert len(written) == RECORDS
    return sorted(written)


def segments(data_dir, topic):
    d = os.path.join(data_dir, "topics", topic, "0")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))


def batch_headers(path):
    """(base_offset, attributes, last_offset_delta, producer_id, base_sequence, count)"""
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        (attributes, last_delta) = struct.unpack_from(">hi", data, pos + 21)
        producer_id, _epoch, base_seq, count = struct.unpack_from(">qhii", data, pos + 43)
        out.append((base, attributes, last_delta, producer_id, base_seq, count))
        pos += 12 + length
    assert pos == len(data), f"{path}: a batch runs past the end"
    return out


def expected_after_compaction(written, active_base):
    newest = {}
    for offset, key, _ in written:
        newest[key] = offset
    # Tombstones are younger than delete.retention.ms (a day): the newest stay.
    return [(o, k, v) for o, k, v in written if o >= active_base or newest[k] == o]


def all_batches(data_dir, topic):
    return {h[0]: h for path in segments(data_dir, topic) for h in batch_headers(path)}


def check_compressed(data_dir, topic, codec):
    """The client did compress: most batches (all but a few small ones that
    a client may send as they are) carry the codec."""
    batches = all_batches(data_dir, topic).values()
    compressed = sum(1 for h in batches if h[1] & 7 == CODECS[codec])
    assert compressed >= len(batches) * 3 // 4, (compressed, len(batches))


def check_sealed_batches(data_dir, topic, codec, before=None):
    """Sealed batches after the steward: each as it was written (`before`,
    when known) in codec, offset range and producer id and sequence, with no
    more records; one producer, and if idempotent base_sequence ==
    base_offset (a fresh producer on a fresh partition). Returns (records in
    sealed batches, batches that lost records and are still compressed)."""
    files = segments(data_dir, topic)
    assert len(files) >= 3, files
    producers = set()
    sealed_records = rewritten = 0
    for path in files[:-1]:
        for h in batch_headers(path):
            base, attributes, last_delta, producer_id, base_seq, count = h
            assert count >= 1  # the producer's newest batch is in the active segment
            # librdkafka sends a batch uncompressed when compression does not pay.
            assert attributes & 7 in (0, CODECS[codec]), (path, base)
            assert producer_id < 0 or base_seq == base, (path, base)
            assert count <= last_delta + 1
            if before is not None:
                was = before[base]
                assert (attributes, last_delta, producer_id, base_seq) == was[1:5], (path, h, was)
                assert count <= was[5]
                rewritten += count < was[5] and attributes & 7 == CODECS[codec]
            producers.add(producer_id)
            sealed_records += count
    assert len(producers) == 1, producers
    return sealed_records, rewritten


def ck_read_all(bootstrap, topic, last_offset):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 30
    while (not got or got[-1][0] < last_offset) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append((m.offset(), m.key(), m.value()))
    c.close()
    return got


def kcat_read_all(kafka, topic):
    cp = kafka.kcat("-C", "-t", topic, "-o", "beginning", "-e", "-Z", "-f", "%o|%k|%s\\n")
    out = []
    for line in cp.stdout.decode().splitlines():
        o, k, v = line.split("|", 2)
        out.append((int(o), k.encode(), None if v == "NULL" else v.encode()))
    return out


@pytest.mark.parametrize("codec,client", CLIENT_CODECS)
def test_offline_steward_compacts_compressed_batches(runnel, start_kafka, codec, client):
    topic = f"cc{codec}{client[0]}"
    kafka = start_kafka("--steward-interval-ms", "0")
    create_compacted(kafka.bootstrap, topic)
    written = produce_keyed(kafka.bootstrap, topic, codec, client)
    kafka.stop()
    active_base = int(os.path.basename(segments(kafka.data_dir, topic)[-1])[:20])
    before = all_batches(kafka.data_dir, topic)
    check_compressed(kafka.data_dir, topic, codec)

    runnel.run("steward", "--dir", kafka.data_dir, "--once")
    runnel.run("verify", "--dir", kafka.data_dir)
    want = expected_after_compaction(written, active_base)
    assert len(want) < len(written) // 2
    sealed, rewritten = check_sealed_batches(kafka.data_dir, topic, codec, before)
    assert sealed == sum(1 for o, _, _ in want if o < active_base)
    assert rewritten >= 5  # batches that lost records, recompressed

    again = start_kafka(data_dir=kafka.data_dir)
    assert ck_read_all(again.bootstrap, topic, written[-1][0]) == want
    assert kcat_read_all(again, topic) == want


def test_server_steward_compacts_compressed_batches(start_kafka):
    topic = "ccserver"
    kafka = start_kafka("--steward-interval-ms", "300")
    create_compacted(kafka.bootstrap, topic)
    written = produce_keyed(kafka.bootstrap, topic, "zstd")
    check_compressed(kafka.data_dir, topic, "zstd")
    active_base = int(os.path.basename(segments(kafka.data_dir, topic)[-1])[:20])
    want = expected_after_compaction(written, active_base)
    deadline = time.monotonic() + 30
    got = kcat_read_all(kafka, topic)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.3)
        got = kcat_read_all(kafka, topic)
    assert got == want
    assert ck_read_all(kafka.bootstrap, topic, written[-1][0]) == want
    check_sealed_batches(kafka.data_dir, topic, "zstd")


def test_an_idempotent_producers_emptied_newest_batch_stays_as_a_header(runnel, start_kafka):
    """Producer A's only batch loses both its records to producer B's newer
    values: it stays as a record-less header with A's producer id and
    sequence (as Kafka's cleaner leaves it), and consumers read past it."""
    from confluent_kafka import Producer
    topic = "ccempty"
    kafka = start_kafka("--steward-interval-ms", "0")
    create_compacted(kafka.bootstrap, topic)
    a = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": "zstd",
                  "enable.idempotence": True, "linger.ms": 50})
    a.produce(topic, key=b"a0", value=b"old0")
    a.produce(topic, key=b"a1", value=b"old1")
    assert a.flush(20) == 0
    written = [(0, b"a0", b"old0"), (1, b"a1", b"old1")]
    written += produce_confluent(kafka.bootstrap, topic, "zstd")  # a second producer
    b = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": "zstd"})
    b.produce(topic, key=b"a0", value=b"new0")
    b.produce(topic, key=b"a1", value=b"new1")
    assert b.flush(20) == 0
    written += [(written[-1][0] + 1, b"a0", b"new0"), (written[-1][0] + 2, b"a1", b"new1")]
    kafka.stop()
    first = batch_headers(segments(kafka.data_dir, topic)[0])[0]
    assert first[0] == 0 and first[2] == 1 and first[5] == 2 and first[3] >= 0  # A's batch
    active_base = int(os.path.basename(segments(kafka.data_dir, topic)[-1])[:20])

    runnel.run("steward", "--dir", kafka.data_dir, "--once")
    runnel.run("verify", "--dir", kafka.data_dir)
    after = batch_headers(segments(kafka.data_dir, topic)[0])[0]
    # base offset, last offset delta, producer id and base sequence kept; no records.
    assert (after[0], after[2], after[3], after[4], after[5]) == (0, 1, first[3], first[4], 0)
    assert after[1] & 7 == 0  # an empty batch is written uncompressed

    want = expected_after_compaction(written, active_base)
    assert want[0][0] > 1
    again = start_kafka(data_dir=kafka.data_dir)
    assert ck_read_all(again.bootstrap, topic, written[-1][0]) == want
    assert kcat_read_all(again, topic) == want
