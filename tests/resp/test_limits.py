"""Resource limits of the RESP front-end: `client-output-buffer-limit pubsub`
(hard, and soft for N seconds; set small with CONFIG SET), a subscriber
that never reads while a publisher floods (cut off at the limit, server
memory bounded, publisher and other subscribers unaffected), a pipelining
client that never reads its replies, maxclients, and the idle timeout
(reference/resp.md §1.3, §3.5). Every flood is bounded in bytes and time."""

import json
import socket
import threading
import time

import pytest

from resp.resp_client import RespClient, encode

MIB = 1 << 20


def info(c, *sections):
    text = bytes(c.call("INFO", *sections)).decode()
    return dict(l.split(":", 1) for l in text.split("\r\n") if l and not l.startswith("#"))


def listed(admin, client_id):
    return bytes(admin.call("CLIENT", "LIST", "ID", str(client_id))) != b""


def slow_subscriber(server, channel, resp=2):
    """A subscriber with a tiny receive buffer that will stop reading."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", server.port))
    c = RespClient.__new__(RespClient)
    c.sock, c.timeout, c.buf, c.pos, c.eof = s, 10.0, bytearray(), 0, False
    server._clients.append(c)
    if resp == 3:
        c.call("HELLO", "3")
    cid = c.call("CLIENT", "ID")
    c.send("SUBSCRIBE", channel)
    c.read()
    return c, cid


class Reader(threading.Thread):
    """A well-behaved subscriber: reads and counts every message until
    stop() and then 1 s of silence."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.c, self.count, self.bad, self.error = client, 0, 0, None
        self.stopping = threading.Event()

    def run(self):
        quiet_since = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                m = self.c.read(timeout=0.2)
            except TimeoutError:
                if self.stopping.is_set():
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 1:
                        return
                continue
            except Exception as e:  # reported by the test
                self.error = e
                return
            quiet_since = None
            if m[0] not in (b"message", "message"):
                self.bad += 1
            self.count += 1

    def wait_for(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while self.count < n and self.error is None:
            assert time.monotonic() < deadline, f"reader stuck at {self.count}/{n}"
            time.sleep(0.005)
        assert self.error is None, self.error


def flood(pub, channel, payload, until, max_bytes, batch=32, timeout=60, reader=None):
    """PUBLISHes `payload` in pipelined batches until until() or max_bytes;
    returns (bytes published, messages, slowest batch round trip). With a
    reader, waits for it to catch up before each batch, so only the
    subscriber that does not read falls behind."""
    sent = msgs = 0
    slowest = 0.0
    frame = encode("PUBLISH", channel, payload)
    deadline = time.monotonic() + timeout
    while sent < max_bytes and not until():
        assert time.monotonic() < deadline, f"flood still going after {timeout}s ({sent} bytes)"
        if reader is not None:
            reader.wait_for(msgs)
        t = time.monotonic()
        pub.send_raw(frame * batch)
        replies = pub.read_many(batch, timeout=30)
        slowest = max(slowest, time.monotonic() - t)
        assert all(isinstance(r, int) for r in replies), replies
        sent += batch * len(payload)
        msgs += batch
    return sent, msgs, slowest


@pytest.mark.parametrize("resp", [2, 3], ids=["resp2", "resp3"])
def test_hard_limit_cuts_off_a_subscriber_that_never_reads(server, resp):
    admin = server.client()
    assert admin.call_raw("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0") == \
        b"+OK\r\n"
    slow, slow_id = slow_subscriber(server, "flood", resp)
    good = server.client(resp)
    good.send("SUBSCRIBE", "flood")
    good.read()
    rss_before = server.rss_bytes()
    pub = server.client()
    payload = b"p" * (16 << 10)
    reader = Reader(good)
    reader.start()
    sent, msgs, slowest = flood(pub, "flood", payload, lambda: not listed(admin, slow_id),
                                48 * MIB, reader=reader)
    assert not listed(admin, slow_id), (
        f"subscriber that never reads still connected after {sent >> 20} MiB published "
        f"with a 1 MiB hard limit")
    # Cut off well before the flood's end: kernel buffers plus the limit.
    assert sent < 40 * MIB, f"cut off only after {sent >> 20} MiB"
    assert slowest < 10, f"publisher blocked for {slowest:.1f}s by the slow subscriber"
    server.wait_log("scheduled to be closed ASAP for overcoming of output buffer limits")
    assert int(info(admin, "stats")["client_output_buffer_limit_disconnections"]) == 1
    grown = server.rss_bytes() - rss_before
    assert grown < 96 * MIB, f"server RSS grew by {grown >> 20} MiB"
    # The slow subscriber's socket ends (after what the kernel already held).
    assert slow.is_closed(timeout=30)
    # The good subscriber got every message, the publisher is fine.
    reader.wait_for(msgs)
    reader.stopping.set()
    reader.join(30)
    assert reader.error is None and reader.count == msgs and reader.bad == 0, \
        (reader.error, reader.count, msgs)
    assert pub.call_raw("PUBLISH", "flood", "after") == b":1\r\n"
    assert admin.call_raw("PING") == b"+PONG\r\n"


def test_soft_limit_cuts_off_after_its_seconds(server):
    admin = server.client()
    assert admin.call_raw("CONFIG", "SET", "client-output-buffer-limit",
                          "pubsub 0 256kb 2") == b"+OK\r\n"
    slow, slow_id = slow_subscriber(server, "soft")
    pub = server.client()
    payload = b"s" * (64 << 10)
    # Enough to fill the kernel's buffers and go over the soft limit.
    flood(pub, "soft", payload, lambda: False, 12 * MIB)
    over_at = time.monotonic()
    # Over the soft limit, but not for 2 seconds yet: still connected.
    assert listed(admin, slow_id), "closed at once by a soft limit"
    deadline = over_at + 15
    while listed(admin, slow_id):
        assert time.monotonic() < deadline, "soft limit never enforced"
        time.sleep(0.1)
    server.wait_log("soft limit")
    assert int(info(admin, "stats")["client_output_buffer_limit_disconnections"]) == 1
    assert pub.call_raw("PUBLISH", "soft", "x") == b":0\r\n"


def test_limits_apply_only_to_subscribers(server):
    # A normal client with replies queued past the pubsub limit is not cut off.
    admin = server.client()
    admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0")
    c = server.client()
    big = b"e" * (256 << 10)
    c.send_raw(encode("ECHO", big) * 8)
    time.sleep(0.5)
    assert c.read_many(8, timeout=30) == [big] * 8
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_subscribers_on_another_thread_keep_up_with_a_flooding_publisher(start_server, runnel):
    """A publisher flooding 1 KiB messages to subscribers on the other io
    thread, with the default output limits: the subscribers read all they
    are sent, so none may be cut off and nothing lost, and the server must
    not queue the flood in memory. (Before the router's backlog bound the
    publisher's thread outran the subscribers' one: hundreds of MB queued
    and the subscriber cut off at the 32 MB limit.)"""
    server = start_server(threads=2)
    admin = server.client()
    # Publishers stay on their own thread instead of following a subscriber.
    assert admin.call("CONFIG", "SET", "follow-subscribers", "no") == b"OK"
    rss_before = server.rss_bytes()
    res = runnel.run("bench", "pubsub", "--target", f"127.0.0.1:{server.port}", "-s", "2",
                     "--size", "1024", "--pipeline", "64", "--seconds", "2", "--json",
                     timeout=120)
    out = json.loads(res.stdout)
    assert out["published"] > 0
    assert out["delivered"] == out["expected"] == 2 * out["published"], out
    assert out["loss"] == 0 and out["order_violations"] == 0, out
    assert info(admin, "stats")["client_output_buffer_limit_disconnections"] == "0"
    with open(f"/proc/{server.pid}/status") as f:
        peak = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    # Under ASan freed memory waits in its quarantine (256 MiB by default)
    # before reuse; the flood frees GBs, so that much is resident anyway.
    # (Unbounded, the queue grew past 1 GB in a release build.)
    with open(f"/proc/{server.pid}/maps") as f:
        quarantine = 256 * MIB if "libasan" in f.read() else 0
    assert peak - rss_before < 128 * MIB + quarantine, \
        f"server peak RSS grew by {(peak - rss_before) >> 20} MiB"


def test_client_that_never_reads_replies_cannot_grow_server_memory(server):
    # The server stops reading a connection whose unsent replies pass 8 MiB;
    # the writer then blocks in the kernel instead of the server buffering.
    c = server.client()
    payload = b"r" * MIB
    n = 96  # 96 MiB of requests, 96 MiB of replies
    frame = encode("ECHO", payload)
    rss_before = server.rss_bytes()
    sent = [0]

    def writer():
        try:
            for _ in range(n):
                c.sock.sendall(frame)
                sent[0] += 1
        except OSError:
            pass

    c.sock.settimeout(60)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(2)
    grown = server.rss_bytes() - rss_before
    assert sent[0] < n, "server read 96 MiB of requests while none of the replies was read"
    assert grown < 64 * MIB, f"server RSS grew by {grown >> 20} MiB"
    assert server.client().call_raw("PING") == b"+PONG\r\n"
    # Reading resumes the pipeline; every reply is whole and in order.
    for i in range(n):
        r = c.read(timeout=60)
        assert r == payload, f"reply {i}"
    t.join(30)
    assert sent[0] == n


# ---- maxclients ---------------------------------------------------------------------

def test_maxclients(start_server):
    server = start_server("--maxclients", "3")
    kept = [server.client() for _ in range(3)]
    for c in kept:
        assert c.call_raw("PING") == b"+PONG\r\n"
    extra = server.client()
    assert extra.recv_until_closed() == b"-ERR max number of clients reached\r\n"
    assert int(info(kept[0], "stats")["rejected_connections"]) == 1
    # The clients inside are unaffected.
    for c in kept:
        assert c.call_raw("ECHO", "in") == b"$2\r\nin\r\n"
    # A free slot is usable again once a client leaves.
    kept.pop().close()
    deadline = time.monotonic() + 10
    while True:
        c = server.client()
        try:
            if c.call_raw("PING") == b"+PONG\r\n":
                kept.append(c)
                break
        except ConnectionError:
            pass
        assert time.monotonic() < deadline, "slot not freed"
        time.sleep(0.05)
    # CONFIG SET maxclients raises the limit for new clients.
    assert kept[0].call_raw("CONFIG", "SET", "maxclients", "5") == b"+OK\r\n"
    more = [server.client() for _ in range(2)]
    for c in more:
        assert c.call_raw("PING") == b"+PONG\r\n"
    assert server.client().recv_until_closed() == b"-ERR max number of clients reached\r\n"


def test_maxclients_with_redis_py(start_server):
    import redis
    server = start_server("--maxclients", "1")
    holder = server.client()
    assert holder.call("PING") == b"PONG"
    # redis-py reports the refusal as a ConnectionError; its text depends on
    # whether the server's error arrived before redis-py's first command
    # (the exact bytes are checked in test_maxclients).
    with pytest.raises(redis.exceptions.ConnectionError,
                       match="max number of clients reached|Connection has data|"
                             "Connection not ready|Connection closed by server"):
        server.redis().ping()


# ---- idle timeout ---------------------------------------------------------------------

def test_idle_timeout(start_server):
    server = start_server("--timeout", "1")
    idle = server.client()
    idle.call("PING")
    busy = server.client()
    sub = server.client()
    sub.send("SUBSCRIBE", "t")
    sub.read()
    start = time.monotonic()
    # The busy client sends a command every 0.3 s for 3.5 s.
    while time.monotonic() - start < 3.5:
        assert busy.call_raw("PING") == b"+PONG\r\n"
        time.sleep(0.3)
    assert idle.is_closed(timeout=1)
    # Pub/sub clients are never timed out (as Redis).
    sub.send("PING")
    assert sub.read_raw() == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert int(info(busy, "stats")["idle_timeout_disconnections"]) >= 1
    # CONFIG SET timeout 0 turns it off.
    assert busy.call_raw("CONFIG", "SET", "timeout", "0") == b"+OK\r\n"
    lazy = server.client()
    lazy.call("PING")
    time.sleep(2.5)
    assert lazy.call_raw("PING") == b"+PONG\r\n"


def test_no_idle_timeout_by_default(server):
    c = server.client()
    c.call("PING")
    c.expect_nothing(2.5)
    assert c.call_raw("PING") == b"+PONG\r\n"
