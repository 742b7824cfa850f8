"""The Kafka listener inside `runnel serve`: TOML settings, --kafka off, a
long-polling Fetch woken by an append made over another protocol (RESP), and
shutdown while clients keep connecting or while busy sessions outlast the
grace period."""

import socket
import struct
import threading
import time

from kafka_raw import Raw, metadata_v1_body, record_batch, produce_body, request, string


def fetch_v4_body(topic, offset, max_wait_ms, min_bytes=1):
    return (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, 1 << 20, 0) + struct.pack(">i", 1) +
            string(topic) + struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, 1 << 20))


def metadata_broker(r):
    r.send(request(3, 1, 1, metadata_v1_body([])))
    _, body = r.response()
    node, hlen = struct.unpack(">ih", body[4:10])
    host = body[10:10 + hlen].decode()
    port = struct.unpack(">i", body[10 + hlen:14 + hlen])[0]
    return node, host, port


def test_toml_sets_the_advertised_address(start_kafka):
    s = start_kafka(config='[kafka]\nadvertised_host = "kafka.example"\nadvertised_port = 1234\n')
    r = Raw(s.port)
    assert metadata_broker(r) == (0, "kafka.example", 1234)


def test_auto_create_off_answers_unknown_topic(start_kafka):
    s = start_kafka(config="[kafka]\nauto_create_topics = false\n")
    r = Raw(s.port)
    r.send(request(3, 1, 2, metadata_v1_body(["nope"])))
    _, body = r.response()
    assert b"nope" in body
    hlen = struct.unpack(">h", body[8:10])[0]
    topics_at = 4 + 4 + 2 + hlen + 4 + 2 + 4  # brokers[1]{node, host, port, rack=null}, controller
    assert struct.unpack(">i", body[topics_at:topics_at + 4])[0] == 1
    assert struct.unpack(">h", body[topics_at + 4:topics_at + 6])[0] == 3


def test_kafka_off_opens_no_kafka_port(runnel, tmp_path):
    proc = runnel.popen("serve", "--data", str(tmp_path / "d"), "--resp", "127.0.0.1:0",
                        "--kafka", "off")
    try:
        deadline = time.monotonic() + 60
        lines = b""
        while b"ready:" not in lines and time.monotonic() < deadline:
            line = proc.stderr.get_line(timeout=60)
            assert line is not None
            lines += line
        assert b"listening: kafka" not in lines
    finally:
        proc.signal(15)
        assert proc.wait(30).returncode == 0


def test_fetch_long_poll_is_woken_by_a_resp_append(kafka):
    import redis
    resp_port = None
    for line in kafka.stderr_text().splitlines():
        if "listening: resp on" in line:
            resp_port = int(line.rsplit(":", 1)[1])
    r = Raw(kafka.port, timeout=20)
    r.send(request(3, 1, 1, metadata_v1_body(["mixed"])))  # creates it
    assert r.response()[0] == 1
    r.send(request(0, 7, 2, produce_body("mixed", record_batch([b"from kafka"]))))
    assert r.response()[0] == 2
    started = time.monotonic()
    r.send(request(1, 4, 3, fetch_v4_body("mixed", 1, max_wait_ms=15000)))
    time.sleep(0.3)
    # Appends over RESP (PUBLISH to a durable topic; XADD would answer
    # WRONGTYPE: a topic Kafka wrote first is a record topic).
    redis.Redis(port=resp_port).publish("mixed", "from resp")
    corr, body = r.response()
    elapsed = time.monotonic() - started
    assert corr == 3
    assert struct.pack(">q", 2) in body  # high-water mark 2: the RESP record is there
    assert elapsed < 5, f"long poll not woken by the RESP append ({elapsed:.1f}s)"


def test_shutdown_while_clients_keep_connecting(start_kafka):
    """SIGTERM while clients connect as fast as they can (a Kafka client
    reconnects at once when its connection closes). A connection accepted as
    the listeners stop must not get a session the shutdown no longer closes:
    one did, and outlived the Kafka context (ASan: heap-use-after-free in
    ~KafkaSession, about one stop in five under this load)."""
    for i in range(10):
        kafka = start_kafka()
        stop = threading.Event()

        def hammer(port):
            for _ in range(20000):
                if stop.is_set():
                    return
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    pass

        threads = [threading.Thread(target=hammer, args=(p,))
                   for p in (kafka.port, kafka.resp_port) * 2]
        for t in threads:
            t.start()
        time.sleep(0.2 + 0.05 * (i % 4))
        try:
            kafka.stop()  # a clean exit, no sanitizer report
        finally:
            stop.set()
            for t in threads:
                t.join()


def test_shutdown_without_grace_drops_busy_sessions_first(start_kafka):
    """shutdown_timeout_ms = 0: the io threads stop while Kafka and RESP
    sessions are open and busy (producers mid-stream, a long-polling fetch, a
    flooding publisher, a subscriber that never reads), so they are still
    alive when the threads end. They must be destroyed while the broker, the
    Kafka context and the log they use exist (they were destroyed with the
    io contexts, after those: ASan heap-use-after-free at exit)."""
    import redis
    for i in range(4):
        kafka = start_kafka(config="shutdown_timeout_ms = 0\n")
        stop = threading.Event()

        def produce():
            try:
                r = Raw(kafka.port)
                r.send(request(3, 1, 1, metadata_v1_body(["busy"])))
                r.response()
                for n in range(100000):
                    if stop.is_set():
                        return
                    r.send(request(0, 7, n + 2, produce_body("busy", record_batch([b"x" * 512] * 8))))
                    r.response()
            except (OSError, ConnectionError):
                pass

        def publish():
            try:
                c = redis.Redis(port=kafka.resp_port, socket_timeout=10)
                for _ in range(100000):
                    if stop.is_set():
                        return
                    p = c.pipeline(transaction=False)
                    for _ in range(64):
                        p.publish("flood", b"y" * 1024)
                    p.execute()
            except (OSError, redis.RedisError):
                pass

        parked = Raw(kafka.port, timeout=20)
        parked.send(request(3, 1, 1, metadata_v1_body(["parked"])))
        parked.response()
        parked.send(request(1, 4, 2, fetch_v4_body("parked", 0, max_wait_ms=15000)))
        sleeper = socket.create_connection(("127.0.0.1", kafka.resp_port))
        sleeper.sendall(b"SUBSCRIBE flood\r\n")  # and never reads
        threads = [threading.Thread(target=f) for f in (produce, produce, publish, publish)]
        for t in threads:
            t.start()
        time.sleep(0.3 + 0.1 * i)
        try:
            kafka.stop()  # a clean exit, no sanitizer report
        finally:
            stop.set()
            for t in threads:
                t.join()
            parked.sock.close()
            sleeper.close()
