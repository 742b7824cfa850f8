"""Pub/sub over RESP2 and RESP3, as Redis 7.0 (reference/resp.md §3):
SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE
PUBLISH SPUBLISH and PUBSUB CHANNELS NUMSUB NUMPAT SHARDCHANNELS
SHARDNUMSUB; every reply and message shape byte for byte (arrays in RESP2,
pushes in RESP3); counts; the glob quirks; subscribed-mode rules per
protocol; ordering; fan-out across io threads; redis-py's PubSub (RESP2)
and redis-cli -3 in subscribe mode."""

import os
import re
import select
import subprocess
import threading
import time

import pytest

from resp.resp_client import Array, encode, parse

SUBSCRIBED_MODE_ERROR = (
    b"-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    b"are allowed in this context\r\n")


def agg(resp, n):
    """The header of a pub/sub frame: `*n` (RESP2) or `>n` (RESP3)."""
    return (b"*%d\r\n" if resp == 2 else b">%d\r\n") % n


def bulk(b):
    if isinstance(b, str):
        b = b.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def event(resp, kind, name, count):
    """[kind, name, count] byte for byte; name None = the null of the protocol."""
    if name is None:
        nm = b"$-1\r\n" if resp == 2 else b"_\r\n"
    else:
        nm = bulk(name)
    return agg(resp, 3) + bulk(kind) + nm + b":%d\r\n" % count


def message(resp, channel, payload):
    return agg(resp, 3) + bulk("message") + bulk(channel) + bulk(payload)


def pmessage(resp, pattern, channel, payload):
    return agg(resp, 4) + bulk("pmessage") + bulk(pattern) + bulk(channel) + bulk(payload)


def smessage(resp, channel, payload):
    return agg(resp, 3) + bulk("smessage") + bulk(channel) + bulk(payload)


def frames(c, n, timeout=10):
    return [c.read_raw(timeout=timeout) for _ in range(n)]


def wait_numsub(admin, channel, n, timeout=10, shard=False):
    deadline = time.monotonic() + timeout
    while True:
        r = admin.call("PUBSUB", "SHARDNUMSUB" if shard else "NUMSUB", channel)
        if r[1] == n:
            return
        assert time.monotonic() < deadline, f"NUMSUB {channel!r} stayed {r[1]}, want {n}"
        time.sleep(0.02)


# ---- subscribe / unsubscribe replies ---------------------------------------------

def test_subscribe_replies_one_frame_per_argument(server, resp):
    c = server.client(resp)
    c.send("SUBSCRIBE", "a", "b", "a")
    assert frames(c, 3) == [event(resp, "subscribe", "a", 1), event(resp, "subscribe", "b", 2),
                            event(resp, "subscribe", "a", 2)]
    c.send("PSUBSCRIBE", "p*", "q?")
    assert frames(c, 2) == [event(resp, "psubscribe", "p*", 3),
                            event(resp, "psubscribe", "q?", 4)]
    # Unsubscribing a channel not held: its own reply with the count unchanged.
    c.send("UNSUBSCRIBE", "zz", "a")
    assert frames(c, 2) == [event(resp, "unsubscribe", "zz", 4),
                            event(resp, "unsubscribe", "a", 3)]
    c.send("PUNSUBSCRIBE", "q?")
    assert c.read_raw() == event(resp, "punsubscribe", "q?", 2)


def test_unsubscribe_without_arguments(server, resp):
    c = server.client(resp)
    c.send("SUBSCRIBE", "c1", "c2")
    frames(c, 2)
    c.send("PSUBSCRIBE", "p1*")
    frames(c, 1)
    # All channels, in some order; the count goes down to the patterns held.
    c.send("UNSUBSCRIBE")
    got = frames(c, 2)
    first, second = parse(got[0]), parse(got[1])
    assert sorted([first[1], second[1]]) == [b"c1", b"c2"]
    assert got == [event(resp, "unsubscribe", first[1], 2),
                   event(resp, "unsubscribe", second[1], 1)]
    # Nothing left: exactly one frame with a null name and the pattern count.
    c.send("UNSUBSCRIBE")
    assert c.read_raw() == event(resp, "unsubscribe", None, 1)
    c.send("PUNSUBSCRIBE")
    assert c.read_raw() == event(resp, "punsubscribe", "p1*", 0)
    c.send("PUNSUBSCRIBE")
    assert c.read_raw() == event(resp, "punsubscribe", None, 0)
    c.send("SUNSUBSCRIBE")
    assert c.read_raw() == event(resp, "sunsubscribe", None, 0)
    # Out of subscribed mode: a plain PONG in both protocols.
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_subscription_names_are_binary_safe(server, resp):
    c = server.client(resp)
    pub = server.client()
    names = [b"", b"with space", b"\x00\xff\r\n", "ü-日本".encode()]
    c.send("SUBSCRIBE", *names)
    assert frames(c, 4) == [event(resp, "subscribe", n, i + 1) for i, n in enumerate(names)]
    for n in names:
        assert pub.call("PUBLISH", n, b"v" + n) == 1
        assert c.read_raw() == message(resp, n, b"v" + n)
    # Names are case-sensitive.
    assert pub.call("PUBLISH", "WITH SPACE", "x") == 0


def test_arity_errors(server, resp):
    c = server.client(resp)
    for cmd in ("subscribe", "psubscribe", "ssubscribe"):
        assert c.call_raw(cmd.upper()) == \
            b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.encode()
    assert c.call_raw("PUBLISH", "a") == b"-ERR wrong number of arguments for 'publish' command\r\n"
    assert c.call_raw("SPUBLISH", "a", "b", "c") == \
        b"-ERR wrong number of arguments for 'spublish' command\r\n"
    assert c.call_raw("PUBSUB") == b"-ERR wrong number of arguments for 'pubsub' command\r\n"
    assert c.call_raw("PUBSUB", "NUMPAT", "x") == \
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    assert c.call_raw("PUBSUB", "CHANNELS", "*", "x") == (
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. "
        b"Try PUBSUB HELP.\r\n")


# ---- delivery ----------------------------------------------------------------------

def test_publish_counts_deliveries_and_orders_message_before_pmessage(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "news.tech")
    sub.send("PSUBSCRIBE", "news.*", "*.tech", "nomatch*")
    frames(sub, 4)
    pub = server.client()
    # One client matching by channel and two patterns counts 3.
    assert pub.call_raw("PUBLISH", "news.tech", "hi") == b":3\r\n"
    got = frames(sub, 3)
    assert got[0] == message(resp, "news.tech", "hi")
    assert sorted(got[1:]) == sorted([pmessage(resp, "news.*", "news.tech", "hi"),
                                      pmessage(resp, "*.tech", "news.tech", "hi")])
    assert pub.call_raw("PUBLISH", "news.sport", "") == b":1\r\n"
    assert sub.read_raw() == pmessage(resp, "news.*", "news.sport", "")
    assert pub.call_raw("PUBLISH", "nobody", "x") == b":0\r\n"
    sub.expect_nothing(0.2)


def test_subscribing_twice_delivers_once(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "dup", "dup")
    sub.send("PSUBSCRIBE", "d*", "d*")
    frames(sub, 4)
    pub = server.client()
    assert pub.call("PUBLISH", "dup", "m") == 2
    assert frames(sub, 2) == [message(resp, "dup", "m"), pmessage(resp, "d*", "dup", "m")]
    sub.expect_nothing(0.2)


def test_every_subscriber_receives_across_io_threads(start_server, resp):
    server = start_server(threads=2)
    subs = [server.client(resp) for _ in range(8)]  # spread over both io threads
    for s in subs:
        s.send("SUBSCRIBE", "fan")
        s.read()
    pub = server.client()
    assert pub.call("PUBLISH", "fan", "all") == 8
    for s in subs:
        assert s.read_raw() == message(resp, "fan", "all")


def test_messages_arrive_in_publish_order(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "seq")
    sub.send("PSUBSCRIBE", "se?")
    frames(sub, 2)
    pub = server.client()
    n = 2000
    # Pipelined in a few big writes, replies read afterwards.
    pub.send_raw(b"".join(encode("PUBLISH", "seq", str(i)) for i in range(n)))
    assert pub.read_many(n, timeout=60) == [2] * n
    want = []
    for i in range(n):
        want += [message(resp, "seq", str(i)), pmessage(resp, "se?", "seq", str(i))]
    assert frames(sub, 2 * n, timeout=60) == want


def test_two_publishers_each_keep_their_order(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "two")
    sub.read()
    n = 500
    pubs = [server.client() for _ in range(2)]

    def run(p, tag):
        p.send_raw(b"".join(encode("PUBLISH", "two", f"{tag}{i}") for i in range(n)))
        p.read_many(n, timeout=60)

    ts = [threading.Thread(target=run, args=(p, t)) for p, t in zip(pubs, "AB")]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    got = [parse(f)[2].decode() for f in frames(sub, 2 * n, timeout=60)]
    for tag in "AB":
        assert [g for g in got if g[0] == tag] == [f"{tag}{i}" for i in range(n)]


def test_unsubscribed_channel_is_no_longer_delivered(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "x1", "x2")
    frames(sub, 2)
    sub.send("UNSUBSCRIBE", "x1")
    sub.read()
    pub = server.client()
    assert pub.call("PUBLISH", "x1", "gone") == 0
    assert pub.call("PUBLISH", "x2", "here") == 1
    assert sub.read_raw() == message(resp, "x2", "here")


def test_no_message_after_the_unsubscribe_reply_while_a_publisher_floods(start_server, resp):
    """Messages already on their way from another io thread when the client
    unsubscribes must not reach it after the unsubscribe confirmation, as in
    Redis (where delivery and unsubscribe are one thread)."""
    server = start_server(threads=2)
    for round_ in range(5):
        sub = server.client(resp)
        pub = server.client()  # the next connection: the other io thread
        sub.send("SUBSCRIBE", "flood", "keep")
        frames(sub, 2)
        stop = threading.Event()

        def flood():
            batch = b"".join(encode("PUBLISH", "flood", str(i)) for i in range(200))
            deadline = time.monotonic() + 10
            while not stop.is_set() and time.monotonic() < deadline:
                pub.send_raw(batch)
                pub.read_many(200, timeout=30)

        t = threading.Thread(target=flood)
        t.start()
        try:
            time.sleep(0.05)
            sub.send("UNSUBSCRIBE", "flood")
            # Messages before the confirmation are fine; none after it.
            while True:
                f = parse(sub.read_raw(timeout=30))
                if f[0] == b"unsubscribe":
                    assert f[1] == b"flood" and f[2] == 1
                    break
                assert f[0] == b"message" and f[1] == b"flood", f
            time.sleep(0.2)
            sub.send("PING")
            got = parse(sub.read_raw(timeout=30))
            assert got in (b"PONG", [b"pong", b""]), \
                f"round {round_}: a frame arrived after the unsubscribe reply: {got!r}"
        finally:
            stop.set()
            t.join(30)
        sub.close()
        pub.close()


def test_disconnected_subscriber_is_removed(server, resp):
    sub = server.client(resp)
    sub.send("SUBSCRIBE", "bye")
    sub.send("SSUBSCRIBE", "sbye")
    sub.send("PSUBSCRIBE", "by*")
    frames(sub, 3)
    admin = server.client()
    assert admin.call("PUBSUB", "NUMSUB", "bye") == [b"bye", 1]
    sub.close()
    wait_numsub(admin, "bye", 0)
    wait_numsub(admin, "sbye", 0, shard=True)
    assert admin.call("PUBSUB", "NUMPAT") == 0
    assert admin.call("PUBLISH", "bye", "x") == 0


# ---- glob patterns (reference §3.6) ---------------------------------------------------

@pytest.mark.parametrize("pattern,channel,match", [
    ("*", "", False),          # quirk: an empty channel matches only the empty pattern
    ("", "", True),
    ("*", "anything", True),
    ("h?llo", "hello", True),
    ("h?llo", "hllo", False),
    ("h[ae]llo", "hallo", True),
    ("h[ae]llo", "hxllo", False),
    ("h[^e]llo", "hallo", True),
    ("h[^e]llo", "hello", False),
    ("h[a-c]llo", "hbllo", True),
    ("h[c-a]llo", "hbllo", True),   # reversed range is swapped
    ("a[b", "ab", True),            # unclosed bracket runs to the end
    ("a[b", "a[b", False),
    ("[]", "x", False),
    ("[^]", "x", True),
    ("a\\", "a\\", True),
    ("a\\*", "a*", True),
    ("a\\*", "ab", False),
    ("[A-a]", "_", True),
    ("a]", "a]", True),
    ("a**b", "ab", True),
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 60, False),  # must not take exponential time
    ("Case*", "case", False),
])
def test_glob_patterns(server, pattern, channel, match):
    sub = server.client(3)
    sub.send("PSUBSCRIBE", pattern)
    sub.read()
    pub = server.client()
    assert pub.call("PUBLISH", channel, "m", timeout=10) == (1 if match else 0), \
        f"pattern {pattern!r} vs channel {channel!r}"
    if match:
        assert sub.read_raw() == pmessage(3, pattern, channel, "m")


# ---- shard channels --------------------------------------------------------------------

def test_shard_channels(server, resp):
    sub = server.client(resp)
    sub.send("SSUBSCRIBE", "s1", "s2", "s1")
    assert frames(sub, 3) == [event(resp, "ssubscribe", "s1", 1),
                              event(resp, "ssubscribe", "s2", 2),
                              event(resp, "ssubscribe", "s1", 2)]
    # Shard counts and channel counts are separate.
    sub.send("SUBSCRIBE", "s1")
    assert sub.read_raw() == event(resp, "subscribe", "s1", 1)
    sub.send("PSUBSCRIBE", "s*")
    assert sub.read_raw() == event(resp, "psubscribe", "s*", 2)
    pub = server.client()
    # SPUBLISH reaches shard subscribers only (patterns are ignored) ...
    assert pub.call_raw("SPUBLISH", "s1", "sharded") == b":1\r\n"
    assert sub.read_raw() == smessage(resp, "s1", "sharded")
    # ... and PUBLISH never reaches them.
    assert pub.call_raw("PUBLISH", "s1", "plain") == b":2\r\n"
    assert frames(sub, 2) == [message(resp, "s1", "plain"), pmessage(resp, "s*", "s1", "plain")]
    assert pub.call_raw("SPUBLISH", "s3", "x") == b":0\r\n"
    sub.send("SUNSUBSCRIBE", "s1", "zz")
    assert frames(sub, 2) == [event(resp, "sunsubscribe", "s1", 1),
                              event(resp, "sunsubscribe", "zz", 1)]
    sub.send("SUNSUBSCRIBE")
    assert sub.read_raw() == event(resp, "sunsubscribe", "s2", 0)
    sub.send("SUNSUBSCRIBE")
    assert sub.read_raw() == event(resp, "sunsubscribe", None, 0)
    # Still subscribed to a channel and a pattern.
    sub.send("UNSUBSCRIBE")
    assert sub.read_raw() == event(resp, "unsubscribe", "s1", 1)
    sub.sock.sendall(encode("PUNSUBSCRIBE"))
    assert sub.read_raw() == event(resp, "punsubscribe", "s*", 0)
    assert sub.call_raw("PING") == b"+PONG\r\n"


def test_shard_subscription_alone_is_subscribed_mode(server):
    c = server.client(2)
    c.send("SSUBSCRIBE", "only")
    c.read()
    assert c.call_raw("ECHO", "x") == SUBSCRIBED_MODE_ERROR % b"echo"
    assert c.call_raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


# ---- PUBSUB introspection --------------------------------------------------------------

def test_pubsub_introspection(server, resp):
    a = server.client(3)
    b = server.client(3)
    a.send("SUBSCRIBE", "chan.one", "chan.two", "other")
    frames(a, 3)
    b.send("SUBSCRIBE", "chan.one")
    b.send("PSUBSCRIBE", "chan.*", "x*")
    frames(b, 3)
    a.send("PSUBSCRIBE", "chan.*")  # same pattern from two clients counts once
    a.read()
    a.send("SSUBSCRIBE", "shard.a", "shard.b")
    b.send("SSUBSCRIBE", "shard.a")
    frames(a, 2)
    frames(b, 1)
    q = server.client(resp)
    assert sorted(q.call("PUBSUB", "CHANNELS")) == [b"chan.one", b"chan.two", b"other"]
    assert sorted(q.call("PUBSUB", "CHANNELS", "chan.*")) == [b"chan.one", b"chan.two"]
    assert q.call_raw("PUBSUB", "CHANNELS", "nothing*") == b"*0\r\n"
    # NUMSUB: a flat array channel, count... in both protocols (7.0); patterns
    # not counted; unknown channels 0; no arguments an empty array.
    assert q.call_raw("PUBSUB", "NUMSUB", "chan.one", "chan.two", "nope") == (
        b"*6\r\n" + bulk("chan.one") + b":2\r\n" + bulk("chan.two") + b":1\r\n" +
        bulk("nope") + b":0\r\n")
    assert q.call_raw("PUBSUB", "NUMSUB") == b"*0\r\n"
    assert q.call_raw("PUBSUB", "NUMPAT") == b":2\r\n"
    assert sorted(q.call("PUBSUB", "SHARDCHANNELS")) == [b"shard.a", b"shard.b"]
    assert q.call("PUBSUB", "SHARDCHANNELS", "*.b") == [b"shard.b"]
    assert q.call_raw("PUBSUB", "SHARDNUMSUB", "shard.a", "shard.b", "chan.one") == (
        b"*6\r\n" + bulk("shard.a") + b":2\r\n" + bulk("shard.b") + b":1\r\n" +
        bulk("chan.one") + b":0\r\n")
    assert q.call_raw("PUBSUB", "SHARDNUMSUB") == b"*0\r\n"
    # Shard channels are not ordinary channels and the other way round.
    assert b"shard.a" not in q.call("PUBSUB", "CHANNELS")
    a.send("UNSUBSCRIBE", "chan.two")
    a.read()
    assert sorted(q.call("PUBSUB", "CHANNELS", "chan.*")) == [b"chan.one"]
    b.send("PUNSUBSCRIBE", "chan.*")
    b.read()
    assert q.call("PUBSUB", "NUMPAT") == 2   # a still holds chan.*
    a.send("PUNSUBSCRIBE")
    a.read()
    assert q.call("PUBSUB", "NUMPAT") == 1   # only x*


# ---- subscribed mode -------------------------------------------------------------------

def test_resp2_subscribed_mode_allows_only_pubsub_commands(server):
    c = server.client(2)
    c.send("SUBSCRIBE", "m")
    c.read()
    for cmd, name in ((("ECHO", "x"), b"echo"), (("PUBLISH", "m", "x"), b"publish"),
                      (("HELLO", "3"), b"hello"), (("CLIENT", "REPLY", "OFF"), b"client|reply"),
                      (("PUBSUB", "NUMSUB", "m"), b"pubsub|numsub"), (("SELECT", "0"), b"select"),
                      (("CLIENT", "ID"), b"client|id"), (("INFO",), b"info")):
        assert c.call_raw(*cmd) == SUBSCRIBED_MODE_ERROR % name
    # Unknown commands and arity are still checked first.
    assert c.call_raw("NOPE") == b"-ERR unknown command 'NOPE', with args beginning with: \r\n"
    assert c.call_raw("ECHO") == b"-ERR wrong number of arguments for 'echo' command\r\n"
    # PING has the pub/sub shape.
    assert c.call_raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert c.call_raw("PING", "hey") == b"*2\r\n$4\r\npong\r\n$3\r\nhey\r\n"
    # The allowed ones work.
    c.send("PSUBSCRIBE", "p*")
    assert c.read_raw() == event(2, "psubscribe", "p*", 2)
    c.send("SSUBSCRIBE", "s")
    assert c.read_raw() == event(2, "ssubscribe", "s", 1)
    c.send("UNSUBSCRIBE", "m")
    assert c.read_raw() == event(2, "unsubscribe", "m", 1)
    c.send("PUNSUBSCRIBE", "p*")
    assert c.read_raw() == event(2, "punsubscribe", "p*", 0)
    # Still in the mode through the shard subscription.
    assert c.call_raw("ECHO", "x") == SUBSCRIBED_MODE_ERROR % b"echo"
    c.send("SUNSUBSCRIBE", "s")
    assert c.read_raw() == event(2, "sunsubscribe", "s", 0)
    # Count 0: back to normal.
    assert c.call_raw("PING") == b"+PONG\r\n"
    assert c.call_raw("ECHO", "x") == b"$1\r\nx\r\n"


def test_resp3_subscribed_mode_allows_everything(server):
    c = server.client(3)
    c.send("SUBSCRIBE", "m")
    assert c.read_raw() == event(3, "subscribe", "m", 1)
    assert c.call_raw("PING") == b"+PONG\r\n"
    assert c.call_raw("PING", "x") == b"$1\r\nx\r\n"
    assert c.call_raw("ECHO", "e") == b"$1\r\ne\r\n"
    assert c.call_raw("PUBSUB", "NUMSUB", "m") == b"*2\r\n$1\r\nm\r\n:1\r\n"
    assert c.call("CLIENT", "ID") > 0
    # Its own PUBLISH: the message push comes before the reply.
    c.send("PUBLISH", "m", "self")
    assert c.read_raw() == message(3, "m", "self")
    assert c.read_raw() == b":1\r\n"
    # A message from elsewhere between commands is a push, then the reply.
    other = server.client()
    assert other.call("PUBLISH", "m", "other") == 1
    assert c.call_raw("ECHO", "after") == message(3, "m", "other")
    assert c.read_raw() == b"$5\r\nafter\r\n"


def test_publish_reply_means_message_is_ahead_of_later_commands(server):
    # Once PUBLISH has answered, the message is queued for every subscriber
    # ahead of whatever the subscriber is asked next, whichever io thread
    # each connection is on (the publisher's reply is written before the
    # subscribers are, so this checks the deliveries were handed out first).
    subscribers = [server.client(3) for _ in range(4)]
    for c in subscribers:
        c.send("SUBSCRIBE", "order")
        assert c.read_raw() == event(3, "subscribe", "order", 1)
    publishers = [server.client() for _ in range(3)]
    for i in range(150):
        p = publishers[i % len(publishers)]
        assert p.call("PUBLISH", "order", str(i)) == len(subscribers)
        c = subscribers[i % len(subscribers)]
        assert c.call_raw("ECHO", "after") == message(3, "order", str(i))
        assert c.read_raw() == b"$5\r\nafter\r\n"
        for other in subscribers:
            if other is not c:
                assert other.read_raw() == message(3, "order", str(i))


def test_resp3_hello_2_while_subscribed(server):
    # Redis allows switching down to RESP2 while subscribed (RESP3 allows
    # every command); then the RESP2 rules apply.
    c = server.client(3)
    c.send("SUBSCRIBE", "m")
    c.read()
    r = c.call("HELLO", "2")
    assert isinstance(r, Array) and r[5] == 2
    assert c.call_raw("ECHO", "x") == SUBSCRIBED_MODE_ERROR % b"echo"
    other = server.client()
    other.call("PUBLISH", "m", "now resp2")
    assert c.read_raw() == message(2, "m", "now resp2")


def test_client_reply_off_still_delivers_pubsub(server):
    c = server.client(3)
    c.send("CLIENT", "REPLY", "OFF")
    c.send("SUBSCRIBE", "quiet")
    assert c.read_raw() == event(3, "subscribe", "quiet", 1)
    c.send("PING")
    c.send("PUBLISH", "quiet", "m")  # reply suppressed, own message delivered
    assert c.read_raw() == message(3, "quiet", "m")
    assert c.call_raw("CLIENT", "REPLY", "ON") == b"+OK\r\n"


# ---- real clients ----------------------------------------------------------------------

def test_redis_py_pubsub(server):
    r = server.redis()
    p = r.pubsub()
    p.subscribe("py.chan")
    p.psubscribe("py.*")
    got = [p.get_message(timeout=5) for _ in range(2)]
    assert [m["type"] for m in got] == ["subscribe", "psubscribe"]
    assert r.publish("py.chan", b"hello") == 2
    m1 = p.get_message(timeout=5)
    m2 = p.get_message(timeout=5)
    assert (m1["type"], m1["channel"], m1["data"]) == ("message", b"py.chan", b"hello")
    assert (m2["type"], m2["pattern"], m2["channel"], m2["data"]) == \
        ("pmessage", b"py.*", b"py.chan", b"hello")
    assert r.pubsub_numsub("py.chan") == [(b"py.chan", 1)]
    assert r.pubsub_numpat() == 1
    assert r.pubsub_channels() == [b"py.chan"]
    p.ping()  # RESP2 subscribed-mode PING
    assert p.get_message(timeout=5)["type"] == "pong"
    p.unsubscribe()
    p.punsubscribe()
    types = [p.get_message(timeout=5)["type"] for _ in range(2)]
    assert sorted(types) == ["punsubscribe", "unsubscribe"]
    p.close()


def test_redis_cli_resp3_subscribe(server):
    proc = subprocess.Popen(server.cli_argv("SUBSCRIBE", "cli.chan", protocol=3),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        admin = server.client()
        wait_numsub(admin, "cli.chan", 1)
        assert admin.call("PUBLISH", "cli.chan", "from-test") == 1
        out = b""
        deadline = time.monotonic() + 10
        while b"from-test" not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        assert b"subscribe" in out and b"cli.chan" in out and b"from-test" in out, out
        assert b"message" in out, out
    finally:
        proc.kill()
        proc.wait(10)


# ---- publishers follow their subscribers (resp_session.h, "Moving") --------------

def connections_moved(admin):
    info = admin.call("INFO", "stats").decode()
    return int(re.search(r"connections_moved:(\d+)", info).group(1))


def publish_in_rounds(pub, channel, first, rounds, per_round):
    """`rounds` pipelined writes of `per_round` PUBLISHes, each answered
    before the next: every round is a wake-up of its own on the server."""
    for r in range(rounds):
        base = first + r * per_round
        pub.send_raw(b"".join(encode("PUBLISH", channel, str(base + i)) for i in range(per_round)))
        assert pub.read_many(per_round, timeout=30) == [1] * per_round


def test_publisher_moves_to_its_subscribers_thread_and_keeps_its_state(server, resp):
    # Accepted one after the other, the two land on different io threads.
    sub = server.client(resp)
    pub = server.client(resp)
    admin = server.client()
    assert pub.call("CLIENT", "SETNAME", "mover") == b"OK"
    pub_id = pub.call("CLIENT", "ID")
    sub.send("SUBSCRIBE", "follow")
    sub.read()
    before = connections_moved(admin)
    publish_in_rounds(pub, "follow", 0, rounds=60, per_round=20)
    assert connections_moved(admin) == before + 1
    # Everything arrived once, in order, across the move.
    assert frames(sub, 1200, timeout=30) == [message(resp, "follow", str(i)) for i in range(1200)]
    # The moved connection is the same client: id, name, protocol.
    assert pub.call("CLIENT", "ID") == pub_id
    assert pub.call("CLIENT", "GETNAME") == b"mover"
    config = pub.call("CONFIG", "GET", "timeout")
    assert (config.dict() if resp == 3 else list(config)) == (
        {b"timeout": b"0"} if resp == 3 else [b"timeout", b"0"])
    listing = admin.call("CLIENT", "LIST").decode()
    assert len([ln for ln in listing.splitlines() if " name=mover " in ln]) == 1
    # It settled: more publishing does not move it again.
    publish_in_rounds(pub, "follow", 1200, rounds=40, per_round=20)
    assert frames(sub, 800, timeout=30) == [
        message(resp, "follow", str(i)) for i in range(1200, 2000)]
    assert connections_moved(admin) == before + 1
    # CLIENT KILL finds it where it is now.
    assert admin.call("CLIENT", "KILL", "ID", str(pub_id)) == 1
    deadline = time.monotonic() + 10
    while " name=mover " in admin.call("CLIENT", "LIST").decode():
        assert time.monotonic() < deadline, "the killed publisher is still listed"
        time.sleep(0.02)


def test_publisher_to_subscribers_on_every_thread_stays(server, resp):
    subs = [server.client(resp) for _ in range(4)]  # both io threads
    for s in subs:
        s.send("SUBSCRIBE", "everywhere")
        s.read()
    pub = server.client(resp)
    admin = server.client()
    before = connections_moved(admin)
    for r in range(40):
        pub.send_raw(b"".join(encode("PUBLISH", "everywhere", str(r * 10 + i)) for i in range(10)))
        assert pub.read_many(10, timeout=30) == [4] * 10
    assert connections_moved(admin) == before
    for s in subs:
        assert frames(s, 400, timeout=30) == [
            message(resp, "everywhere", str(i)) for i in range(400)]


def test_follow_subscribers_can_be_turned_off(server, resp):
    sub = server.client(resp)
    pub = server.client(resp)
    admin = server.client()
    assert admin.call("CONFIG", "GET", "follow-subscribers") == [b"follow-subscribers", b"yes"]
    assert admin.call("CONFIG", "SET", "follow-subscribers", "no") == b"OK"
    sub.send("SUBSCRIBE", "stay")
    sub.read()
    before = connections_moved(admin)
    publish_in_rounds(pub, "stay", 0, rounds=60, per_round=20)
    assert connections_moved(admin) == before
    assert frames(sub, 1200, timeout=30) == [message(resp, "stay", str(i)) for i in range(1200)]
    assert admin.call_raw("CONFIG", "SET", "follow-subscribers", "maybe") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'follow-subscribers') - "
        b"argument must be 'yes' or 'no'\r\n")
