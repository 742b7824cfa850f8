"""Bad input on the Kafka port: wrong sizes, unknown API keys and versions,
a batch with a bad CRC, a frame over the limit, a client that disconnects
mid-request. Each ends in the documented error or a closed connection, and
the server keeps serving other clients."""

import struct

from kafka_raw import Raw, metadata_v1_body, produce_body, record_batch, request


def still_serves(kafka):
    r = Raw(kafka.port)
    r.send(request(18, 0, 99, b""))
    corr, body = r.response()
    assert corr == 99 and body[:2] == b"\x00\x00"
    r.close()


def test_api_versions_v0_and_v3(kafka):
    r = Raw(kafka.port)
    r.send(request(18, 0, 1, b""))
    corr, body = r.response()
    assert corr == 1
    err, n = struct.unpack(">hi", body[:6])
    assert err == 0
    apis = {struct.unpack(">h", body[6 + 6 * i:8 + 6 * i])[0] for i in range(n)}
    assert apis == {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 32, 36, 37,
                    42, 47}
    # v3: flexible body (compact array), response header still v0.
    v3 = struct.pack(">hhi", 18, 3, 2) + b"\x00\x03raw" + b"\x00" + b"\x04raw\x021\x00"
    r.send(struct.pack(">i", len(v3)) + v3)
    corr, body = r.response()
    assert corr == 2 and body[:2] == b"\x00\x00" and body[2] == n + 1


def test_unsupported_api_versions_version_gets_unsupported_version(kafka):
    r = Raw(kafka.port)
    r.send(request(18, 9, 5, b""))
    corr, body = r.response()
    assert corr == 5
    err, n = struct.unpack(">hi", body[:6])
    assert err == 35 and n == 1
    assert struct.unpack(">hhh", body[6:12]) == (18, 0, 3)
    still_serves(kafka)


def test_unknown_api_key_or_version_closes_the_connection(kafka):
    for key, version in [(11, 6), (9, 6), (99, 0), (0, 8), (1, 12), (3, 9)]:
        r = Raw(kafka.port)
        r.send(request(key, version, 7, b"\x00" * 16))
        assert r.closed(), (key, version)
    still_serves(kafka)


def test_bad_sizes_close_the_connection(kafka):
    for frame in [struct.pack(">i", -1), struct.pack(">i", 3) + b"abc",
                  struct.pack(">i", 200 << 20)]:  # over socket.request.max.bytes
        r = Raw(kafka.port)
        r.send(frame)
        assert r.closed()
    still_serves(kafka)


def test_truncated_body_closes_the_connection(kafka):
    r = Raw(kafka.port)
    r.send(request(3, 1, 1, struct.pack(">i", 5) + b"\x00\x01a"))  # 5 topics, 1 present
    assert r.closed()
    still_serves(kafka)


def test_disconnect_mid_request_leaves_the_server_serving(kafka):
    r = Raw(kafka.port)
    full = request(0, 7, 1, produce_body("mid", record_batch([b"x" * 1000])))
    r.send(full[: len(full) // 2])
    r.close()
    r = Raw(kafka.port)
    r.send(struct.pack(">i", 1 << 20) + b"\x00" * 100)  # declares 1 MiB, sends 100 bytes
    r.close()
    still_serves(kafka)


def produce_error(kafka, batch, topic="crc"):
    r = Raw(kafka.port)
    r.send(request(3, 1, 1, metadata_v1_body([topic])))  # auto-creates the topic
    r.response()
    r.send(request(0, 7, 2, produce_body(topic, batch)))
    corr, body = r.response()
    assert corr == 2
    # responses[1]{name, partitions[1]{index, error, base_offset, ...}}
    name_len = struct.unpack(">h", body[4:6])[0]
    p = 6 + name_len + 4
    index, err, base = struct.unpack(">ihq", body[p:p + 14])
    r.close()
    return err, base


def test_good_batch_is_stored_and_a_bad_crc_is_corrupt_message(kafka):
    assert produce_error(kafka, record_batch([b"a", b"b"])) == (0, 0)
    bad = bytearray(record_batch([b"c"]))
    bad[-1] ^= 0xFF
    assert produce_error(kafka, bytes(bad)) == (2, -1)  # CORRUPT_MESSAGE
    magic1 = bytearray(record_batch([b"d"]))
    magic1[16] = 1
    assert produce_error(kafka, bytes(magic1)) == (87, -1)  # INVALID_RECORD
    assert produce_error(kafka, record_batch([b"e"]) + record_batch([b"f"]))[0] == 87
    assert produce_error(kafka, record_batch([b"g"])) == (0, 2)
    still_serves(kafka)


def test_produce_to_an_unknown_topic_is_unknown_topic_or_partition(kafka):
    r = Raw(kafka.port)
    r.send(request(0, 7, 3, produce_body("never-made", record_batch([b"a"]))))
    corr, body = r.response()
    name_len = struct.unpack(">h", body[4:6])[0]
    p = 6 + name_len + 4
    assert struct.unpack(">h", body[p + 4:p + 6])[0] == 3


def test_pipelined_requests_are_answered_in_order(kafka):
    r = Raw(kafka.port)
    batch = record_batch([b"p"])
    data = b""
    for i in range(20):
        data += request(0, 7, 100 + 2 * i, produce_body("pipe", batch)) if i else request(
            3, 1, 100, metadata_v1_body(["pipe"]))
        data += request(18, 0, 101 + 2 * i, b"")
    r.send(data)
    assert [r.response()[0] for _ in range(40)] == list(range(100, 140))


def test_disconnect_with_a_produce_in_flight_or_a_fetch_parked(kafka):
    r = Raw(kafka.port)
    r.send(request(3, 1, 1, metadata_v1_body(["gone"])))
    r.response()
    for i in range(20):
        r.send(request(0, 7, 10 + i, produce_body("gone", record_batch([b"v%d" % i]))))
    r.close()  # before the answers: their completions find the connection closed
    r = Raw(kafka.port)
    fetch = (struct.pack(">iiiib", -1, 10000, 1 << 20, 1 << 20, 0) + struct.pack(">i", 1) +
             b"\x00\x04gone" + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20))
    r.send(request(1, 4, 2, fetch))  # parks: min_bytes not reached
    r.close()
    still_serves(kafka)
