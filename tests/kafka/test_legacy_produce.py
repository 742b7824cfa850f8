"""Produce v0-v2 and client compression, end to end (docs/protocols/kafka.md
"Legacy message sets").

- librdkafka (confluent-kafka, kcat) compresses gzip, snappy and lz4 only
  with a broker that serves Produce v0; it still produces magic 2 with
  Produce v7. Each codec's batches are stored compressed with it, and
  confluent-kafka, kafka-python and kcat read every record back.
- Raw Produce v0, v1 and v2 requests with legacy message sets (magic 0 and
  1; uncompressed, gzip, lz4 with the KAFKA-3160 header checksum) get the
  response layout of their version, are stored as one RecordBatch v2 each,
  and read back with the right offsets, keys, values and timestamps.
- kafka-python pinned to api_version (0, 9) / (0, 10) produces magic 0 with
  Produce v1 / magic 1 with Produce v2, compressed.
- Bad legacy sets get CORRUPT_MESSAGE, INVALID_RECORD, INVALID_TIMESTAMP
  or UNSUPPORTED_COMPRESSION_TYPE and the server keeps serving; a magic-2
  batch in Produce v0-v2 is stored as it is.
"""

import gzip
import logging
import os
import struct
import time
import zlib

import pytest

from consume_helpers import ck_consume
from kafka_raw import Raw, metadata_v1_body, record_batch, request, string

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
COUNT = 300


# ---- on-disk batches --------------------------------------------------------

def stored_batches(data_dir, topic, partition=0):
    """[(base_offset, attributes, base_timestamp, max_timestamp, records_count)]"""
    d = os.path.join(data_dir, "topics", topic, str(partition))
    out = []
    for name in sorted(f for f in os.listdir(d) if f.endswith(".log")):
        data = open(os.path.join(d, name), "rb").read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            assert data[pos + 16] == 2
            attributes, = struct.unpack_from(">h", data, pos + 21)
            base_ts, max_ts = struct.unpack_from(">qq", data, pos + 27)
            count, = struct.unpack_from(">i", data, pos + 57)
            out.append((base, attributes, base_ts, max_ts, count))
            pos += 12 + length
        assert pos == len(data), f"{name}: a batch runs past the end"
    return out


def wait_stored(data_dir, topic, records, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        batches = stored_batches(data_dir, topic)
        if sum(b[4] for b in batches) >= records or time.monotonic() > deadline:
            return batches
        time.sleep(0.1)


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


# ---- librdkafka and the codecs ----------------------------------------------

def record(i, codec):
    # Compressible values, so librdkafka never finds compression useless.
    return (f"key-{i % 7}".encode(), f"{codec} value {i} ".encode() * 6,
            [("h", f"x{i}".encode()), ("codec", codec.encode())])


class LogLines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, r):
        self.lines.append(r.getMessage())


def ck_produce(bootstrap, topic, codec):
    """Produces COUNT records; returns librdkafka's protocol/msg debug log."""
    from confluent_kafka import Producer
    handler = LogLines()
    log = logging.getLogger(f"librdkafka-{topic}")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.propagate = False
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                  "linger.ms": 20, "batch.num.messages": 50, "debug": "protocol,msg"},
                 logger=log)
    errors = []
    for i in range(COUNT):
        key, value, headers = record(i, codec)
        p.produce(topic, key=key, value=value, headers=headers,
                  on_delivery=lambda err, _m: err and errors.append(err))
        p.poll(0)
    assert p.flush(30) == 0
    assert errors == []
    return handler.lines


def kafka_python_read(bootstrap, topic, count):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      consumer_timeout_ms=3000)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        for m in c.poll(timeout_ms=500).get(tp, []):
            got.append((m.offset, m.key, m.value, [(k, v) for k, v in m.headers]))
    c.close()
    return got


def kcat_read(kafka, topic):
    cp = kafka.kcat("-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o|%k|%h|%s\\n")
    out = []
    for line in cp.stdout.decode().splitlines():
        o, k, h, v = line.split("|", 3)
        headers = [tuple(kv.split("=", 1)) for kv in h.split(",")] if h else []
        out.append((int(o), k.encode(), v.encode(), [(a, b.encode()) for a, b in headers]))
    return out


@pytest.mark.parametrize("codec", list(CODECS))
def test_confluent_kafka_compresses_with_every_codec(start_kafka, codec):
    pytest.importorskip("confluent_kafka")
    kafka = start_kafka()
    topic = f"ck{codec}"
    log = ck_produce(kafka.bootstrap, topic, codec)
    assert any("Sent ProduceRequest (v7" in line for line in log)
    assert not any("not compressing" in line for line in log)
    batches = wait_stored(kafka.data_dir, topic, COUNT)
    assert sum(b[4] for b in batches) == COUNT
    assert len(batches) >= 3
    assert all(b[1] & 7 == CODECS[codec] for b in batches), batches

    want = [(i,) + record(i, codec) for i in range(COUNT)]
    got = [(m.offset(), m.key(), m.value(), m.headers())
           for m in ck_consume(kafka.bootstrap, topic, 0, COUNT)]
    assert got == want
    assert kcat_read(kafka, topic) == want
    # kafka-python decodes each codec with an optional module (zstandard is
    # not in Debian 12's python3 packages scripts/setup installs).
    if have({"gzip": "gzip", "snappy": "snappy", "lz4": "lz4.frame", "zstd": "zstandard"}[codec]):
        assert kafka_python_read(kafka.bootstrap, topic, COUNT) == want


@pytest.mark.parametrize("codec", list(CODECS))
def test_kcat_compresses_and_produces_magic_2_with_produce_v7(start_kafka, codec):
    kafka = start_kafka()
    topic = f"kc{codec}"
    lines = "".join(f"k{i}:{codec} line {i} {'pad ' * 8}\n" for i in range(COUNT)).encode()
    cp = kafka.kcat("-P", "-t", topic, "-K:", "-z", codec, "-d", "protocol,msg", input=lines)
    log = cp.stderr.decode()
    assert "Sent ProduceRequest (v7" in log
    assert "MsgVersion 2" in log
    assert "not compressing" not in log
    batches = wait_stored(kafka.data_dir, topic, COUNT)
    assert sum(b[4] for b in batches) == COUNT
    assert all(b[1] & 7 == CODECS[codec] for b in batches), batches
    got = kcat_read(kafka, topic)
    assert [(o, k, v) for o, k, v, _ in got] == [
        (i, f"k{i}".encode(), f"{codec} line {i} {'pad ' * 8}".encode()) for i in range(COUNT)]


# ---- legacy message sets over raw Produce v0-v2 -----------------------------

def nbytes(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def message(magic, value, key=None, ts=-1, attributes=0, offset=0, crc_xor=0):
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", ts)
    body += nbytes(key) + nbytes(value)
    return struct.pack(">qiI", offset, len(body) + 4, zlib.crc32(body) ^ crc_xor) + body


def xxh32(data, seed=0):
    """xxHash32, for the LZ4 frame header checksum."""
    p1, p2, p3, p4, p5 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1
    m = 0xFFFFFFFF

    def rotl(v, r):
        return ((v << r) | (v >> (32 - r))) & m

    i, n = 0, len(data)
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed, (seed - p1) & m]
        while i + 16 <= n:
            for lane in range(4):
                w, = struct.unpack_from("<I", data, i + 4 * lane)
                v[lane] = rotl((v[lane] + w * p2) & m, 13) * p1 & m
            i += 16
        acc = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        acc = (seed + p5) & m
    acc = (acc + n) & m
    while i + 4 <= n:
        w, = struct.unpack_from("<I", data, i)
        acc = rotl((acc + w * p3) & m, 17) * p4 & m
        i += 4
    while i < n:
        acc = rotl((acc + data[i] * p5) & m, 11) * p1 & m
        i += 1
    acc ^= acc >> 15
    acc = acc * p2 & m
    acc ^= acc >> 13
    acc = acc * p3 & m
    acc ^= acc >> 16
    return acc


def lz4_kafka_3160(payload):
    """An LZ4 frame as 0.8/0.9 clients wrote it for magic 0: the header
    checksum hashes the frame magic number too (KAFKA-3160)."""
    import lz4.frame
    frame = lz4.frame.compress(payload, content_checksum=False, store_size=False)
    assert frame[4] & 0x09 == 0  # no content size, no dictionary id: HC at byte 6
    right = (xxh32(frame[4:6]) >> 8) & 0xFF
    broken = (xxh32(frame[0:6]) >> 8) & 0xFF
    assert frame[6] == right and broken != right
    return frame[:6] + bytes([broken]) + frame[7:]


def produce_request(version, topic, message_set, corr, acks=-1):
    body = b"" if version < 3 else string(None)
    body += struct.pack(">hi", acks, 5000) + struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", 1) + struct.pack(">ii", 0, len(message_set)) + message_set
    return request(0, version, corr, body)


def parse_produce_response(version, body):
    """(error, base_offset, log_append_time or None); checks the layout's
    length exactly."""
    n, = struct.unpack_from(">i", body, 0)
    assert n == 1
    name_len, = struct.unpack_from(">h", body, 4)
    p = 6 + name_len
    parts, index, err, base = struct.unpack_from(">iihq", body, p)
    assert parts == 1 and index == 0
    p += 18
    append_time = None
    if version >= 2:
        append_time, = struct.unpack_from(">q", body, p)
        p += 8
    if version >= 1:
        throttle, = struct.unpack_from(">i", body, p)
        assert throttle == 0
        p += 4
    assert p == len(body), (version, len(body), p)
    return err, base, append_time


def create_topic(kafka, topic):
    r = Raw(kafka.port)
    r.send(request(3, 1, 1, metadata_v1_body([topic])))  # auto-creates the topic
    r.response()
    r.close()


def raw_produce(kafka, version, topic, message_set):
    r = Raw(kafka.port)
    r.send(produce_request(version, topic, message_set, 41))
    corr, body = r.response()
    assert corr == 41
    r.close()
    return parse_produce_response(version, body)


def still_serves(kafka):
    r = Raw(kafka.port)
    r.send(request(18, 0, 99, b""))
    corr, body = r.response()
    assert corr == 99 and body[:2] == b"\x00\x00"
    r.close()


def test_raw_produce_v0_v1_v2_with_legacy_message_sets(start_kafka):
    pytest.importorskip("confluent_kafka")
    kafka = start_kafka()
    topic = "legacy"
    create_topic(kafka, topic)

    def inner(magic, n, tag, first_ts=None):
        # Magic 1 inner offsets are relative (0..n-1); magic 0 absolute.
        return b"".join(
            message(magic, f"{tag}-{i}".encode(), key=None if i == 0 else f"k{i}".encode(),
                    ts=-1 if first_ts is None else first_ts + i, offset=i)
            for i in range(n))

    sent = []  # (version, magic, codec, records, timestamps or None, tag)
    cases = [
        (0, 0, 0, inner(0, 3, "v0plain"), 3, None, "v0plain"),
        (0, 0, 1, message(0, gzip.compress(inner(0, 4, "v0gzip")), attributes=1, offset=3),
         4, None, "v0gzip"),
        (1, 0, 0, inner(0, 2, "v1plain"), 2, None, "v1plain"),
        (1, 0, 1, message(0, gzip.compress(inner(0, 5, "v1gzip")), attributes=1, offset=4),
         5, None, "v1gzip"),
        (2, 1, 0, inner(1, 3, "v2plain", 1_600_000_000_000), 3, 1_600_000_000_000, "v2plain"),
        (2, 1, 1, message(1, gzip.compress(inner(1, 6, "v2gzip", 1_700_000_000_000)),
                          ts=1_700_000_000_005, attributes=1, offset=5),
         6, 1_700_000_000_000, "v2gzip"),
    ]
    try:
        import lz4.frame  # noqa: F401
        cases.append((1, 0, 3, message(0, lz4_kafka_3160(inner(0, 3, "v1lz4")), attributes=3,
                                       offset=2), 3, None, "v1lz4"))
        cases.append((2, 1, 3, message(1, lz4.frame.compress(inner(1, 2, "v2lz4", 5000)),
                                       ts=5001, attributes=3, offset=1), 2, 5000, "v2lz4"))
    except ImportError:
        pass

    before_ms = int(time.time() * 1000)
    offset = 0
    for version, magic, codec, mset, n, first_ts, tag in cases:
        err, base, append_time = raw_produce(kafka, version, topic, mset)
        assert (err, base) == (0, offset), tag
        if version >= 2:
            assert append_time == -1
        sent.append((offset, n, codec, first_ts, tag))
        offset += n
    after_ms = int(time.time() * 1000)

    batches = stored_batches(kafka.data_dir, topic)
    assert [(b[0], b[1] & 7, b[4]) for b in batches] == [(o, c, n) for o, n, c, _, _ in sent]

    got = ck_consume(kafka.bootstrap, topic, 0, offset)
    assert [m.offset() for m in got] == list(range(offset))
    for base, n, _codec, first_ts, tag in sent:
        for i in range(n):
            m = got[base + i]
            assert m.value() == f"{tag}-{i}".encode()
            assert m.key() == (None if i == 0 else f"k{i}".encode())
            ts_type, ts = m.timestamp()
            assert ts_type == 1  # CreateTime
            if first_ts is None:  # magic 0: no timestamp, the broker's append time
                assert before_ms <= ts <= after_ms + 1000, (tag, ts)
            else:
                assert ts == first_ts + i, tag
    # kcat (librdkafka's Fetch v11) reads the same records.
    assert [v for _, _, v, _ in kcat_read(kafka, topic)] == [m.value() for m in got]


def test_raw_acks_0_legacy_produce_gets_no_answer(start_kafka):
    kafka = start_kafka()
    create_topic(kafka, "acks0")
    r = Raw(kafka.port)
    r.send(produce_request(0, "acks0", message(0, b"silent"), 7, acks=0))
    r.send(request(18, 0, 8, b""))
    corr, _ = r.response()
    assert corr == 8  # the first answer is the ApiVersions one
    r.close()
    assert [b[4] for b in wait_stored(kafka.data_dir, "acks0", 1)] == [1]


@pytest.mark.parametrize("api_version,codec", [((0, 9), "gzip"), ((0, 9), "snappy"),
                                               ((0, 10), "gzip"), ((0, 10), "snappy"),
                                               ((0, 10), "lz4")])
def test_kafka_python_produces_legacy_message_sets(start_kafka, api_version, codec):
    """kafka-python at (0, 9) writes magic 0 with Produce v1, at (0, 10)
    magic 1 with Produce v2. (Its magic-0 lz4 needs the xxhash module.)"""
    pytest.importorskip("kafka")
    pytest.importorskip("confluent_kafka")
    if codec == "snappy":
        pytest.importorskip("snappy")
    if codec == "lz4":
        pytest.importorskip("lz4.frame")
    from kafka import KafkaProducer
    kafka = start_kafka()
    topic = f"kp{api_version[1]}{codec}"
    create_topic(kafka, topic)
    p = KafkaProducer(bootstrap_servers=kafka.bootstrap, api_version=api_version,
                      compression_type=codec, linger_ms=20, batch_size=2000)
    futures = [p.send(topic, key=f"k{i}".encode(), value=f"value {i} ".encode() * 5,
                      timestamp_ms=1_650_000_000_000 + i) for i in range(COUNT)]
    p.flush(30)
    offsets = [f.get(timeout=30).offset for f in futures]
    p.close(10)
    assert offsets == list(range(COUNT))
    batches = wait_stored(kafka.data_dir, topic, COUNT)
    assert len(batches) >= 2
    assert all(b[1] & 7 == CODECS[codec] for b in batches), batches
    got = ck_consume(kafka.bootstrap, topic, 0, COUNT)
    assert [(m.offset(), m.key(), m.value()) for m in got] == [
        (i, f"k{i}".encode(), f"value {i} ".encode() * 5) for i in range(COUNT)]
    if api_version == (0, 10):  # magic 1 carries the producer's timestamps
        assert [m.timestamp() for m in got] == [(1, 1_650_000_000_000 + i) for i in range(COUNT)]


def test_bad_legacy_message_sets_get_the_documented_errors(start_kafka):
    kafka = start_kafka()
    topic = "badlegacy"
    create_topic(kafka, topic)
    good = message(1, b"fine", ts=5)
    nested = message(1, gzip.compress(message(1, gzip.compress(good), attributes=1)), attributes=1)
    cases = [
        (b"", 87),                                       # INVALID_RECORD: empty
        (message(1, b"x", crc_xor=1), 2),                # CORRUPT_MESSAGE: CRC
        (good[:-3], 2),                                  # truncated
        (good + good[:10], 2),                           # trailing partial header
        (message(1, b"x", ts=5, crc_xor=0) + message(0, b"y"), 87),  # magic 0 and 1 mixed
        (message(1, gzip.compress(good), attributes=1) + good, 87),  # a wrapper not alone
        (message(1, b"x", ts=-1, attributes=0x08), 32),  # INVALID_TIMESTAMP: LogAppendTime, no ts
        (nested, 87),                                    # two levels of wrapper
        (message(0, gzip.compress(good), attributes=1), 87),  # inner magic 1 in magic 0
        (message(1, b"not gzip", attributes=1), 2),     # codec rejects the data
        (message(1, b"\x28\xb5\x2f\xfd", attributes=4), 76),  # zstd: magic 2 only
        (message(1, b"x", attributes=6), 2),             # unknown codec
    ]
    for version in (0, 1, 2):
        for mset, want in cases:
            err, base, _ = raw_produce(kafka, version, topic, mset)
            assert (err, base) == (want, -1), (version, mset[:24], err)
    still_serves(kafka)
    # Nothing was stored; a good set still is, at offset 0, and a magic-2
    # batch in Produce v0-v2 is taken as it is (as Kafka does).
    assert raw_produce(kafka, 2, topic, good)[:2] == (0, 0)
    assert raw_produce(kafka, 1, topic, record_batch([b"m2a", b"m2b"]))[:2] == (0, 1)
    assert [b[4] for b in stored_batches(kafka.data_dir, topic)] == [1, 2]
