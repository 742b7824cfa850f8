"""DeleteRecords (API key 21, v0-v1) over raw frames: the answer per
partition is the new low watermark or the error; ListOffsets EARLIEST (-2)
and Fetch's LogStartOffset then report it; a Fetch below it gets
OFFSET_OUT_OF_RANGE; after kill -9 and a restart it is still there."""

import struct

from kafka_raw import Raw, metadata_v1_body, produce_body, record_batch, request, string

N = 30


def delete_records_body(topic, parts, timeout_ms=5000):
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(parts))
    for index, offset in parts:
        body += struct.pack(">iq", index, offset)
    return body + struct.pack(">i", timeout_ms)


def parse_delete_records(body):
    """[(topic, [(partition, low_watermark, error)])]"""
    pos = 4  # throttle_time_ms
    (n,) = struct.unpack_from(">i", body, pos)
    pos += 4
    out = []
    for _ in range(n):
        (hl,) = struct.unpack_from(">h", body, pos)
        name = body[pos + 2:pos + 2 + hl].decode()
        pos += 2 + hl
        (m,) = struct.unpack_from(">i", body, pos)
        pos += 4
        parts = []
        for _ in range(m):
            parts.append(struct.unpack_from(">iqh", body, pos))
            pos += 14
        out.append((name, parts))
    assert pos == len(body), "trailing bytes in the DeleteRecords response"
    return out


def list_offsets_earliest(r, corr, topic):
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + \
        struct.pack(">iq", 0, -2)
    r.send(request(2, 1, corr, body))
    got, resp = r.response()
    assert got == corr
    # topics[1]{name, partitions[1]{index, error, timestamp, offset}}
    hl = struct.unpack_from(">h", resp, 4)[0]
    pos = 4 + 2 + hl + 4
    index, error, _ts, offset = struct.unpack_from(">ihqq", resp, pos)
    return error, offset


def fetch_v5(r, corr, topic, offset):
    body = (struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0) + struct.pack(">i", 1) + string(topic) +
            struct.pack(">i", 1) + struct.pack(">iqqi", 0, offset, -1, 1 << 20))
    r.send(request(1, 5, corr, body))
    got, resp = r.response()
    assert got == corr
    # throttle, responses[1]{topic, partitions[1]{index, error, hw, lso, log_start, aborted, records}}
    hl = struct.unpack_from(">h", resp, 8)[0]
    pos = 4 + 4 + 2 + hl + 4
    index, error, hw, _last_stable, log_start = struct.unpack_from(">ihqqq", resp, pos)
    pos += 4 + 2 + 8 + 8 + 8
    (n_aborted,) = struct.unpack_from(">i", resp, pos)
    pos += 4 + max(n_aborted, 0) * 16
    (rec_len,) = struct.unpack_from(">i", resp, pos)
    records = resp[pos + 4:pos + 4 + max(rec_len, 0)]
    first_base = struct.unpack_from(">q", records, 0)[0] if len(records) >= 8 else None
    return error, hw, log_start, first_base


def setup_topic(kafka, name="dr"):
    r = Raw(kafka.port, timeout=20)
    r.send(request(3, 1, 1, metadata_v1_body([name])))  # auto-creates it
    assert r.response()[0] == 1
    for i in range(N):
        r.send(request(0, 7, 100 + i, produce_body(name, record_batch([f"r{i}".encode()]))))
        assert r.response()[0] == 100 + i
    return r


def test_api_versions_advertises_delete_records_v0_v1(kafka):
    r = Raw(kafka.port)
    r.send(request(18, 0, 1, b""))
    _, body = r.response()
    (n,) = struct.unpack_from(">i", body, 2)
    apis = {struct.unpack_from(">h", body, 6 + 6 * i)[0]: struct.unpack_from(">hh", body, 8 + 6 * i)
            for i in range(n)}
    assert apis[21] == (0, 1)


def test_delete_records_then_list_offsets_and_fetch(kafka):
    r = setup_topic(kafka)
    r.send(request(21, 1, 2, delete_records_body("dr", [(0, 12)])))
    corr, body = r.response()
    assert corr == 2
    assert parse_delete_records(body) == [("dr", [(0, 12, 0)])]

    assert list_offsets_earliest(r, 3, "dr") == (0, 12)
    error, hw, log_start, _ = fetch_v5(r, 4, "dr", 5)
    assert (error, hw, log_start) == (1, N, 12)  # OFFSET_OUT_OF_RANGE below the start
    error, hw, log_start, first = fetch_v5(r, 5, "dr", 12)
    assert (error, hw, log_start, first) == (0, N, 12, 12)

    # Lower: no change (the current low watermark); v0 too.
    r.send(request(21, 0, 6, delete_records_body("dr", [(0, 3)])))
    assert parse_delete_records(r.response()[1]) == [("dr", [(0, 12, 0)])]
    # Past the high watermark, below -1, a missing partition, a missing topic.
    r.send(request(21, 1, 7, delete_records_body("dr", [(0, N + 1), (0, -7), (9, 1)])))
    assert parse_delete_records(r.response()[1]) == [("dr", [(0, -1, 1), (0, -1, 1), (9, -1, 3)])]
    r.send(request(21, 1, 8, delete_records_body("nope", [(0, 1)])))
    assert parse_delete_records(r.response()[1]) == [("nope", [(0, -1, 3)])]
    r.send(request(21, 1, 9, delete_records_body("__runnel.streams", [(0, 0)])))
    assert parse_delete_records(r.response()[1]) == [("__runnel.streams", [(0, -1, 3)])]
    assert list_offsets_earliest(r, 10, "dr") == (0, 12)

    # -1: up to the high watermark.
    r.send(request(21, 1, 11, delete_records_body("dr", [(0, -1)])))
    assert parse_delete_records(r.response()[1]) == [("dr", [(0, N, 0)])]
    assert list_offsets_earliest(r, 12, "dr") == (0, N)
    error, hw, log_start, first = fetch_v5(r, 13, "dr", N)
    assert (error, hw, log_start, first) == (0, N, N, None)


def test_low_watermark_survives_kill9(start_kafka):
    s = start_kafka()
    r = setup_topic(s)
    r.send(request(21, 1, 2, delete_records_body("dr", [(0, 17)])))
    assert parse_delete_records(r.response()[1]) == [("dr", [(0, 17, 0)])]
    r.close()
    s.proc.kill9()  # right after the answer
    s.proc.wait(10)
    s.stopped = True
    s2 = start_kafka(data_dir=s.data_dir)
    r2 = Raw(s2.port, timeout=20)
    assert list_offsets_earliest(r2, 1, "dr") == (0, 17)
    error, hw, log_start, first = fetch_v5(r2, 2, "dr", 17)
    assert (error, hw, log_start, first) == (0, N, 17, 17)
