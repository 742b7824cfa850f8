"""Hostile and broken input on the RESP port: garbage bytes, a multibulk
length of 2^31, bulk lengths over the limit, over-long count and inline
lines, a half frame then silence, 10,000 commands pipelined in one write,
5,000 connections opened and dropped. Each: the protocol error Redis 7.0
sends where the protocol has one (then the connection closes), and the
server goes on serving everyone else. Every server is stopped with SIGTERM
at teardown and must exit cleanly with no sanitizer report."""

import random
import socket
import struct
import time

import pytest

from conftest import pick_seed
from resp.resp_client import RespClient, encode

PROTO = b"-ERR Protocol error: "


def still_serving(server):
    with RespClient(server.port) as c:
        assert c.call_raw("PING") == b"+PONG\r\n"
        assert c.call_raw("ECHO", "alive") == b"$5\r\nalive\r\n"


@pytest.mark.parametrize("data,reply", [
    (b"*2147483648\r\n", b"invalid multibulk length"),               # 2^31
    (b"*9223372036854775808\r\n", b"invalid multibulk length"),      # 2^63
    (b"*1048577\r\n", b"invalid multibulk length"),                  # runnel's max_multibulk_len + 1
    (b"*abc\r\n", b"invalid multibulk length"),
    (b"*1\r\n$536870913\r\n", b"invalid bulk length"),               # proto-max-bulk-len + 1
    (b"*1\r\n$2147483648\r\n", b"invalid bulk length"),
    (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\n$abc\r\n", b"invalid bulk length"),
    (b"*2\r\n$4\r\nECHO\r\n+abc\r\n", b"expected '$', got '+'"),
    (b"*1\r\n:1\r\n", b"expected '$', got ':'"),
    (b"*" + b"1" * 70000, b"too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, b"too big bulk count string"),
    (b"x" * 70000, b"too big inline request"),
    (b'ECHO "abc\r\n', b"unbalanced quotes in request"),
], ids=["2^31", "2^63", "over-max-multibulk", "multibulk-not-int", "bulk-over-limit",
        "bulk-2^31", "bulk-negative", "bulk-not-int", "expected-dollar", "expected-dollar-int",
        "long-mbulk-count", "long-bulk-count", "long-inline", "unbalanced-quotes"])
def test_protocol_errors_reply_then_close(server, data, reply):
    c = server.client()
    c.send_raw(data)
    assert c.recv_until_closed() == PROTO + reply + b"\r\n"
    still_serving(server)


def test_commands_before_a_protocol_error_are_answered(server):
    c = server.client()
    c.send_raw(encode("PING") + encode("ECHO", "x") + b"*1\r\n$-7\r\n" + encode("PING"))
    assert c.recv_until_closed() == b"+PONG\r\n$1\r\nx\r\n" + PROTO + b"invalid bulk length\r\n"


def test_bulk_limit_follows_config_set(server):
    admin = server.client()
    assert admin.call_raw("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
    c = server.client()  # the limit applies to connections opened afterwards
    ok = b"a" * (1 << 20)
    assert c.call("ECHO", ok) == ok
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % ((1 << 20) + 1))
    assert c.recv_until_closed() == PROTO + b"invalid bulk length\r\n"
    assert admin.call_raw("CONFIG", "SET", "proto-max-bulk-len", "1000") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument "
        b"must be between 1048576 and 9223372036854775807 inclusive\r\n")
    still_serving(server)


def test_big_declared_lengths_allocate_nothing_up_front(server):
    # A multibulk of a million arguments and a bulk of 512 MiB, declared
    # and never sent: the server must not reserve memory for them.
    # (This was a bug: the connection sized its buffer to the declared
    # length at once, and resize() zero-fills, so each such client cost
    # 512 MiB of resident memory for 20 bytes sent.)
    before = server.rss_bytes()
    conns = []
    for _ in range(4):
        a = server.client()
        a.send_raw(b"*1048576\r\n")
        b = server.client()
        b.send_raw(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc")
        conns += [a, b]
    time.sleep(0.5)
    still_serving(server)
    for c in conns:
        c.expect_nothing(0.05)
    grown = server.rss_bytes() - before
    assert grown < 64 << 20, f"RSS grew by {grown >> 20} MiB for 8 half-declared requests"


def test_large_values_still_work(server):
    c = server.client()
    big = bytes(range(256)) * (1 << 17)  # 32 MiB
    assert c.call("ECHO", big, timeout=60) == big
    # Sent in small pieces, the buffer grows as the bytes arrive.
    frame = encode("ECHO", big[: 3 << 20])
    for i in range(0, len(frame), 100000):
        c.send_raw(frame[i:i + 100000])
    assert c.read(timeout=60) == big[: 3 << 20]


def test_random_garbage_never_kills_the_server(server):
    seed = pick_seed()
    rnd = random.Random(seed)
    for i in range(60):
        n = rnd.choice([1, 7, 100, 4096, 70000])
        kind = rnd.randrange(4)
        if kind == 0:
            data = bytes(rnd.randrange(256) for _ in range(n))
        elif kind == 1:  # RESP-looking tokens in random order
            toks = [b"*", b"$", b"\r\n", b"-1", b"0", b"3", b"2147483648", b"abc", b"\r", b"\n",
                    b"+OK", b":", b"%", b">", b'"', b"'", b"\\x4", b" "]
            data = b"".join(rnd.choice(toks) for _ in range(max(1, n // 4)))
        elif kind == 2:  # a valid frame with bytes flipped
            data = bytearray(encode("ECHO", "x" * rnd.randrange(1, 200)) * 3)
            for _ in range(rnd.randrange(1, 4)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
            data = bytes(data)
        else:  # a valid frame cut short
            frame = encode("PUBLISH", "ch", "y" * 100)
            data = frame[:rnd.randrange(1, len(frame))]
        c = RespClient(server.port, timeout=5)
        try:
            # The server may close the connection (after a protocol error)
            # while we are still sending: that is fine.
            try:
                c.send_raw(data)
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            # Our half-close ends every partial request: the server must
            # then close too, not hang on to the connection.
            c.recv_until_closed(timeout=10)
        except TimeoutError as e:
            raise AssertionError(f"seed {seed} case {i}: server kept the connection: {e!r}") from None
        finally:
            c.close()
        assert server.alive(), f"seed {seed} case {i} killed the server:\n{server.stderr_text()}"
    still_serving(server)


def test_nul_and_high_bytes_are_ordinary(server):
    c = server.client()
    c.send_raw(b"\x00\xff\xfe garbage\r\n")
    assert c.read_raw() == \
        b"-ERR unknown command '\x00\xff\xfe', with args beginning with: 'garbage' \r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_half_frame_then_silence(server):
    c = server.client()
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
    c.expect_nothing(0.5)
    # Everyone else is served meanwhile, on every io thread.
    for _ in range(4):
        still_serving(server)
    c.send_raw(b"lo\r\n")
    assert c.read_raw() == b"$5\r\nhello\r\n"
    # A half count line too.
    c.send_raw(b"*1\r\n$")
    c.expect_nothing(0.3)
    c.send_raw(b"4\r\nPING\r\n")
    assert c.read_raw() == b"+PONG\r\n"


def test_half_frame_is_closed_by_the_idle_timeout(start_server):
    server = start_server("--timeout", "1")
    c = server.client()
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$100\r\nabc")
    start = time.monotonic()
    assert c.recv_until_closed(timeout=15) == b""
    assert time.monotonic() - start >= 0.9
    still_serving(server)


def test_ten_thousand_commands_in_one_write(server):
    c = server.client()
    n = 10000
    payload = b"".join(encode("ECHO", str(i)) if i % 2 else encode("PING") for i in range(n))
    c.send_raw(payload)
    replies = c.read_many(n, timeout=120)
    assert replies == [str(i).encode() if i % 2 else b"PONG" for i in range(n)]
    still_serving(server)


def test_ten_thousand_publishes_in_one_write(server):
    sub = server.client(3)
    sub.send("SUBSCRIBE", "flood")
    sub.read()
    pub = server.client()
    n = 10000
    pub.send_raw(b"".join(encode("PUBLISH", "flood", str(i)) for i in range(n)))
    assert pub.read_many(n, timeout=120) == [1] * n
    got = sub.read_many(n, timeout=120)
    assert [m[2] for m in got] == [str(i).encode() for i in range(n)]


def _rst(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_five_thousand_connections_opened_and_dropped(server):
    admin = server.client()
    f = _info(admin)
    baseline, received = int(f["connected_clients"]), int(f["total_connections_received"])
    total, batch = 5000, 250
    deadline = time.monotonic() + 120
    done = 0
    while done < total:
        assert time.monotonic() < deadline, f"only {done} connections in 120 s"
        socks = []
        for _ in range(batch):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            socks.append(s)
        for i, s in enumerate(socks):
            mode = (done + i) % 5
            if mode == 1:
                s.sendall(encode("PING"))
            elif mode == 2:
                s.sendall(b"*2\r\n$4\r\nECHO\r\n$10\r\nhalf")  # dropped mid-frame
            elif mode == 3:
                s.sendall(encode("SUBSCRIBE", f"c{i}"))
        for i, s in enumerate(socks):
            if (done + i) % 5 == 4:
                _rst(s)
            else:
                s.close()
        done += batch
        # The server keeps serving between batches.
        assert admin.call_raw("PING") == b"+PONG\r\n"
    # Every connection was accepted (some only after the client dropped it),
    # and every one is gone again from the registry and the router.
    end = time.monotonic() + 60
    while True:
        f = _info(admin)
        if (int(f["total_connections_received"]) >= received + total and
                int(f["connected_clients"]) == baseline and f["pubsub_channels"] == "0"):
            break
        assert time.monotonic() < end, f"connections not accepted or not cleaned up: {f}"
        time.sleep(0.1)
    still_serving(server)


def _info(c):
    text = bytes(c.call("INFO", "clients", "stats")).decode()
    return dict(l.split(":", 1) for l in text.split("\r\n") if l and not l.startswith("#"))
