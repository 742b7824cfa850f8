"""Fetch of a large multi-segment topic (small segments via a [[topics]]
rule): on plain TCP the record sets go with sendfile(2) from the segment
files. Every record's content is checked with confluent-kafka (CRCs on),
kcat, and a raw Fetch v5 loop — also while DeleteRecords and the steward
remove old segments, and while a slow client is in the middle of a
response whose segments are deleted under it."""

import os
import socket
import struct
import threading
import time

from kafka_raw import Raw, metadata_v1_body, request, string
from test_kafka_delete_records import delete_records_body, parse_delete_records

N = 6000  # 1 KiB records: ~6 MiB, ~48 segments of 128 KiB
SEGMENT = 128 << 10
CONFIG = f"""
[[topics]]
pattern = "big*"
segment_bytes = {SEGMENT}
"""


def value(i):
    return b"%010d|" % i * 93  # 1023 bytes, a function of the offset


def produce(bootstrap, topic, n):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 256 << 10,
                  "compression.type": "none", "enable.idempotence": False})
    for i in range(n):
        while True:
            try:
                p.produce(topic, value(i), partition=0)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0


def segment_files(server, topic):
    d = os.path.join(server.data_dir, "topics", topic, "0")
    return sorted(f for f in os.listdir(d) if f.endswith(".log"))


def deleted_open_files(pid):
    """Names of the deleted files process `pid` holds open."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith(" (deleted)"):
            out.add(os.path.basename(target[:-len(" (deleted)")]))
    return out


def varint(buf, pos):
    shift = n = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (n >> 1) ^ -(n & 1), pos


def records_of(data):
    """[(offset, value)] of the uncompressed batches in a record set."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + length
        assert end <= len(data), "a partial batch in a response"
        (count,) = struct.unpack_from(">i", data, pos + 57)
        p = pos + 61
        for _ in range(count):
            _len, p = varint(data, p)
            p += 1  # attributes
            _ts, p = varint(data, p)
            delta, p = varint(data, p)
            klen, p = varint(data, p)
            p += max(klen, 0)
            vlen, p = varint(data, p)
            out.append((base + delta, bytes(data[p:p + vlen])))
            p += vlen
            nh, p = varint(data, p)
            assert nh == 0
        assert p == end
        pos = end
    assert pos == len(data)
    return out


def fetch_v5(r, corr, topic, offset, max_bytes):
    body = (struct.pack(">iiiib", -1, 500, 1, max_bytes, 0) + struct.pack(">i", 1) + string(topic) +
            struct.pack(">i", 1) + struct.pack(">iqqi", 0, offset, -1, max_bytes))
    r.send(request(1, 5, corr, body))
    got, resp = r.response()
    assert got == corr
    hl = struct.unpack_from(">h", resp, 8)[0]
    pos = 4 + 4 + 2 + hl + 4
    _index, error, hw, _lso, log_start = struct.unpack_from(">ihqqq", resp, pos)
    pos += 4 + 2 + 8 + 8 + 8 + 4  # aborted: null
    (rec_len,) = struct.unpack_from(">i", resp, pos)
    assert pos + 4 + max(rec_len, 0) == len(resp), "response size fields disagree"
    return error, hw, log_start, resp[pos + 4:]


def delete_records(r, corr, topic, offset):
    r.send(request(21, 1, corr, delete_records_body(topic, [(0, offset)])))
    got, body = r.response()
    assert got == corr
    [(_, [(_, low, err)])] = parse_delete_records(body)
    assert err == 0
    return low


def test_every_record_of_a_multi_segment_topic_with_confluent_and_kcat(start_kafka):
    s = start_kafka(config=CONFIG)
    produce(s.bootstrap, "big1", N)
    assert len(segment_files(s, "big1")) > 20

    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "check.crcs": True,
                  "fetch.max.bytes": 4 << 20, "max.partition.fetch.bytes": 4 << 20})
    c.assign([TopicPartition("big1", 0, 0)])
    got = 0
    deadline = time.monotonic() + 60
    while got < N and time.monotonic() < deadline:
        for m in c.consume(1000, 0.5):
            assert m.error() is None, m.error()
            assert m.offset() == got
            assert m.value() == value(got), f"record {got} differs"
            got += 1
    c.close()
    assert got == N

    cp = s.kcat("-C", "-t", "big1", "-p", "0", "-o", "beginning", "-e", "-q",
                "-X", "check.crcs=true", "-f", "%o %s\n", timeout=120)
    lines = cp.stdout.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) - 1 == N
    for i, line in enumerate(lines[:-1]):
        assert line == b"%d " % i + value(i), f"kcat record {i} differs"


def test_raw_fetches_stay_exact_while_delete_records_removes_segments(start_kafka):
    s = start_kafka("--steward-interval-ms", "50", config=CONFIG)
    produce(s.bootstrap, "big2", N)
    before = len(segment_files(s, "big2"))
    admin = Raw(s.port, timeout=30)
    stop = threading.Event()
    lows = []

    def delete_ahead():  # raises the log start in steps while the reader reads
        corr = 1000
        low = 0
        while not stop.is_set() and low < N - 500:
            low = delete_records(admin, corr, "big2", min(low + 400, N - 500))
            lows.append(low)
            corr += 1
            time.sleep(0.03)

    t = threading.Thread(target=delete_ahead)
    t.start()
    r = Raw(s.port, timeout=30)
    offset, corr, seen, jumps = 0, 1, 0, 0
    try:
        while offset < N:
            error, hw, log_start, data = fetch_v5(r, corr, "big2", offset, 96 << 10)
            corr += 1
            assert hw == N
            if error == 1:  # OFFSET_OUT_OF_RANGE: deleted under us, go to the start
                assert log_start > offset
                offset = log_start
                jumps += 1
                continue
            assert error == 0
            for o, v in records_of(data):
                if o < offset:
                    continue  # the head of a batch before the fetch offset
                assert o == offset, f"expected offset {offset}, got {o}"
                assert v == value(o), f"record {o} differs"
                offset += 1
                seen += 1
    finally:
        stop.set()
        t.join()
    assert offset == N
    assert lows and seen > 0
    time.sleep(0.3)  # a steward pass
    assert len(segment_files(s, "big2")) < before  # segments really went


def test_a_response_in_flight_keeps_its_deleted_segments(start_kafka):
    s = start_kafka("--steward-interval-ms", "50", config=CONFIG)
    n = 2 * N  # ~12 MiB: several times what the socket buffers hold
    produce(s.bootstrap, "big3", n)
    files = segment_files(s, "big3")
    mid = files[len(files) * 3 // 4]  # ~9 MiB in: past what the socket buffers can hold
    r = Raw.__new__(Raw)
    r.sock = socket.socket()
    r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    r.sock.settimeout(30)
    r.sock.connect(("127.0.0.1", s.port))
    # One response of the whole topic: far more than the socket buffers, so
    # the server is mid-send when the segments are deleted.
    body = (struct.pack(">iiiib", -1, 0, 1, 64 << 20, 0) + struct.pack(">i", 1) + string("big3") +
            struct.pack(">i", 1) + struct.pack(">iqqi", 0, 0, -1, 64 << 20))
    r.send(request(1, 5, 7, body))
    head = r.recv_exact(4)
    time.sleep(0.2)
    admin = Raw(s.port, timeout=30)
    assert delete_records(admin, 8, "big3", n - 10) == n - 10
    deadline = time.monotonic() + 20
    while mid in segment_files(s, "big3") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mid not in segment_files(s, "big3"), "the steward did not delete the segment"
    # Mid-send: the server still holds the deleted segment open for the response.
    assert mid in deleted_open_files(s.pid), "the response was not in flight"
    (size,) = struct.unpack(">i", head)
    frame = r.recv_exact(size)
    assert struct.unpack_from(">i", frame, 0)[0] == 7
    resp = frame[4:]
    hl = struct.unpack_from(">h", resp, 8)[0]
    pos = 4 + 4 + 2 + hl + 4 + 4 + 2 + 8 + 8 + 8 + 4
    (rec_len,) = struct.unpack_from(">i", resp, pos)
    recs = records_of(resp[pos + 4:pos + 4 + rec_len])
    assert [o for o, _ in recs] == list(range(n))
    for o, v in recs:
        assert v == value(o), f"record {o} differs"
    # Sent: the last handle on the deleted file is gone.
    deadline = time.monotonic() + 10
    while mid in deleted_open_files(s.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mid not in deleted_open_files(s.pid)
