"""Redis stream consumer groups (reference/resp.md §4.6-4.7), RESP2 and RESP3,
against the real server: XGROUP, XREADGROUP (`>`, history, COUNT, NOACK,
BLOCK), XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS/STREAM
FULL, and group state across a restart."""

import time

from resp.resp_client import Error, Map, NULL, NULL_ARRAY, NULL_BULK

BAD_ID = b"ERR Invalid stream ID specified as stream command argument"
REQUIRES_KEY = (b"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you "
                b"may want to use the MKSTREAM option to create an empty stream automatically.")


def null_array(resp):
    return NULL if resp == 3 else NULL_ARRAY


def null_bulk(resp):
    return NULL if resp == 3 else NULL_BULK


def as_dict(v):
    if isinstance(v, Map):
        return v.dict()
    return dict(zip(v[::2], v[1::2]))


def streams_of(reply):
    """XREAD/XREADGROUP reply -> {key: entries} for both protocols."""
    if isinstance(reply, Map):
        return reply.dict()
    return {k: v for k, v in reply}


def ids(entries):
    return [e[0] for e in entries]


def test_xgroup_create_setid_destroy_and_errors(server, resp):
    c = server.client(resp)
    assert c.call("XGROUP", "CREATE", "s", "g", "$") == Error(REQUIRES_KEY)
    assert c.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == b"OK"
    assert c.call("TYPE", "s") == b"stream"
    assert c.call("XGROUP", "CREATE", "s", "g", "$") == Error(b"BUSYGROUP Consumer Group name already exists")
    assert c.call("XGROUP", "CREATE", "s", "g2", "-") == Error(BAD_ID)
    assert c.call("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-2") == Error(
        b"ERR value for ENTRIESREAD must be positive or -1")
    assert c.call("XGROUP", "CREATE", "s", "g2", "0", "FOO") == Error(
        b"ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")
    assert c.call("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "3") == b"OK"
    assert c.call("XGROUP", "SETID", "s", "nog", "0") == Error(
        b"NOGROUP No such consumer group 'nog' for key name 's'")
    assert c.call("XGROUP", "SETID", "s", "g2", "$") == b"OK"
    assert c.call("XGROUP", "SETID", "s", "g2", "0", "FOO", "1") == Error(
        b"ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.")
    assert c.call("XGROUP", "CREATECONSUMER", "s", "g", "alice") == 1
    assert c.call("XGROUP", "CREATECONSUMER", "s", "g", "alice") == 0
    assert c.call("XGROUP", "CREATECONSUMER", "s", "nog", "alice") == Error(
        b"NOGROUP No such consumer group 'nog' for key name 's'")
    assert c.call("XGROUP", "DELCONSUMER", "s", "g", "bob") == 0
    assert c.call("XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
    assert c.call("XGROUP", "DESTROY", "s", "g2") == 1
    assert c.call("XGROUP", "DESTROY", "s", "g2") == 0
    assert c.call("XGROUP", "DESTROY", "nokey", "g") == Error(REQUIRES_KEY)
    assert c.call("XGROUP", "CREATE", "s") == Error(
        b"ERR wrong number of arguments for 'xgroup|create' command")
    assert isinstance(c.call("XGROUP", "HELP"), list)


def test_xreadgroup_new_history_ack_and_pending(server, resp):
    c = server.client(resp)
    for i in range(1, 6):
        c.call("XADD", "s", f"{i}-0", "f", str(i))
    assert c.call("XGROUP", "CREATE", "s", "g", "0") == b"OK"
    r = streams_of(c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"))
    assert ids(r[b"s"]) == [b"1-0", b"2-0"] and r[b"s"][0][1] == [b"f", b"1"]
    r = streams_of(c.call("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"))
    assert ids(r[b"s"]) == [b"3-0", b"4-0", b"5-0"]
    assert c.call("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">") == null_array(resp)
    # History: the consumer's own pending entries, answered even if empty.
    r = streams_of(c.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"))
    assert ids(r[b"s"]) == [b"1-0", b"2-0"]
    assert streams_of(c.call("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0")) == {b"s": []}
    # Summary XPENDING.
    assert c.call("XPENDING", "s", "g") == [5, b"1-0", b"5-0", [[b"alice", b"2"], [b"bob", b"3"]]]
    # Extended XPENDING: [id, consumer, idle, count]; alice's entries were read twice.
    rows = c.call("XPENDING", "s", "g", "-", "+", "10")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (b"1-0", b"alice", 2), (b"2-0", b"alice", 2), (b"3-0", b"bob", 1), (b"4-0", b"bob", 1),
        (b"5-0", b"bob", 1)]
    assert [r[0] for r in c.call("XPENDING", "s", "g", "-", "+", "10", "bob")] == [b"3-0", b"4-0", b"5-0"]
    assert c.call("XPENDING", "s", "g", "-", "+", "10", "nobody") == []
    assert c.call("XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10") == []
    assert c.call("XPENDING", "s", "g", "(1-0", "3", "2") and \
        [r[0] for r in c.call("XPENDING", "s", "g", "(1-0", "3", "2")] == [b"2-0", b"3-0"]
    assert c.call("XPENDING", "s", "g", "-", "+") == Error(b"ERR syntax error")
    assert c.call("XPENDING", "s", "nog") == Error(b"NOGROUP No such key 's' or consumer group 'nog'")
    # XACK.
    assert c.call("XACK", "s", "g", "1-0", "3-0", "9-0") == 2
    assert c.call("XACK", "s", "g", "1-0") == 0
    assert c.call("XACK", "s", "g", "bad") == Error(BAD_ID)
    assert c.call("XACK", "s", "nog", "1-0") == 0
    assert c.call("XACK", "nokey", "g", "1-0") == 0
    assert c.call("XPENDING", "s", "g")[0] == 3
    # A pending entry deleted from the stream: [id, null] in history.
    c.call("XDEL", "s", "2-0")
    r = streams_of(c.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"))
    assert r[b"s"] == [[b"2-0", null_array(resp)]]
    # NOACK: delivered, not pending.
    c.call("XADD", "s", "6-0", "f", "6")
    r = streams_of(c.call("XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "s", ">"))
    assert ids(r[b"s"]) == [b"6-0"]
    assert b"6-0" not in [r[0] for r in c.call("XPENDING", "s", "g", "-", "+", "10")]
    # Empty summary.
    c.call("XGROUP", "CREATE", "s", "empty", "$")
    assert c.call("XPENDING", "s", "empty") == [0, null_bulk(resp), null_bulk(resp), null_array(resp)]


def test_xreadgroup_errors(server, resp):
    c = server.client(resp)
    c.call("XADD", "s", "1-0", "f", "v")
    c.call("XGROUP", "CREATE", "s", "g", "0")
    assert c.call("XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">") == Error(
        b"NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option")
    assert c.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">") == Error(
        b"NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option")
    assert c.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$")[:30] == \
        Error(b"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
              b"history of this consumer by specifying a proper ID, or use the > ID to get new "
              b"messages. The $ ID would just return an empty result set.")[:30]
    assert c.call("XREADGROUP", "COUNT", "1", "STREAMS", "s", ">", "x", "y") == Error(
        b"ERR Missing GROUP option for XREADGROUP")
    assert c.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "bad") == Error(BAD_ID)
    assert c.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">") == Error(
        b"ERR timeout is negative")


def test_xreadgroup_block_woken_by_xadd_from_another_connection(server, resp):
    c = server.client(resp)
    c.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    t0 = time.monotonic()
    assert c.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "200", "STREAMS", "s", ">") == null_array(resp)
    assert time.monotonic() - t0 >= 0.18
    readers = [server.client(resp) for _ in range(4)]
    for i, r in enumerate(readers):
        r.send("XREADGROUP", "GROUP", "g", f"c{i}", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")
    time.sleep(0.3)
    w = server.client(resp)
    for i in range(4):
        w.call("XADD", "s", "*", "n", str(i))
    got = []
    for r in readers:
        got += ids(streams_of(r.read(timeout=10))[b"s"])
    assert len(got) == 4 and len(set(got)) == 4  # each entry to one consumer
    assert c.call("XPENDING", "s", "g")[0] == 4
    # An entry deleted after the group's position does not keep a blocked
    # reader busy, and the next XADD still wakes it.
    e = w.call("XADD", "s", "*", "n", "gone")
    w.call("XDEL", "s", e)
    z = server.client(resp)
    z.send("XREADGROUP", "GROUP", "g", "z", "BLOCK", "0", "STREAMS", "s", ">")
    z.expect_nothing(0.3)
    e2 = w.call("XADD", "s", "*", "n", "late")
    assert ids(streams_of(z.read(timeout=10))[b"s"]) == [e2]
    # Group destroyed / key deleted while blocked.
    b = server.client(resp)
    b.send("XREADGROUP", "GROUP", "g", "x", "BLOCK", "0", "STREAMS", "s", ">")
    time.sleep(0.2)
    assert w.call("XGROUP", "DESTROY", "s", "g") == 1
    assert b.read(timeout=10) == Error(
        b"NOGROUP the consumer group this client was blocked on no longer exists")
    w.call("XGROUP", "CREATE", "s", "g", "$")
    b.send("XREADGROUP", "GROUP", "g", "x", "BLOCK", "0", "STREAMS", "s", ">")
    time.sleep(0.2)
    assert w.call("DEL", "s") == 1
    assert b.read(timeout=10) == Error(b"UNBLOCKED the stream key no longer exists")


def test_xclaim_and_xautoclaim(server, resp):
    c = server.client(resp)
    for i in range(1, 6):
        c.call("XADD", "s", f"{i}-0", "f", str(i))
    c.call("XGROUP", "CREATE", "s", "g", "0")
    c.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    assert c.call("XCLAIM", "s", "nog", "bob", "0", "1-0") == Error(
        b"NOGROUP No such key 's' or consumer group 'nog'")
    assert c.call("XCLAIM", "s", "g", "bob", "x", "1-0") == Error(
        b"ERR Invalid min-idle-time argument for XCLAIM")
    assert c.call("XCLAIM", "s", "g", "bob", "0", "1-0", "BOGUS") == Error(
        b"ERR Unrecognized XCLAIM option 'BOGUS'")
    # min-idle not reached: nothing claimed.
    assert c.call("XCLAIM", "s", "g", "bob", "100000", "1-0") == []
    r = c.call("XCLAIM", "s", "g", "bob", "0", "1-0", "2-0")
    assert ids(r) == [b"1-0", b"2-0"] and r[0][1] == [b"f", b"1"]
    rows = {x[0]: x for x in c.call("XPENDING", "s", "g", "-", "+", "10")}
    assert rows[b"1-0"][1] == b"bob" and rows[b"1-0"][3] == 2
    assert c.call("XCLAIM", "s", "g", "carol", "0", "3-0", "JUSTID") == [b"3-0"]
    rows = {x[0]: x for x in c.call("XPENDING", "s", "g", "-", "+", "10")}
    assert rows[b"3-0"][1] == b"carol" and rows[b"3-0"][3] == 1  # JUSTID: count unchanged
    c.call("XCLAIM", "s", "g", "carol", "0", "4-0", "RETRYCOUNT", "7", "IDLE", "5000")
    rows = {x[0]: x for x in c.call("XPENDING", "s", "g", "-", "+", "10")}
    assert rows[b"4-0"][3] == 7 and rows[b"4-0"][2] >= 5000
    # FORCE: a PEL entry for an entry in the stream that is not pending.
    c.call("XACK", "s", "g", "5-0")
    assert c.call("XCLAIM", "s", "g", "dave", "0", "5-0", "JUSTID") == []
    assert c.call("XCLAIM", "s", "g", "dave", "0", "5-0", "FORCE", "JUSTID") == [b"5-0"]
    # LASTID moves last-delivered-id forward only.
    c.call("XCLAIM", "s", "g", "dave", "0", "5-0", "LASTID", "9-0")
    groups = [as_dict(g) for g in c.call("XINFO", "GROUPS", "s")]
    assert groups[0][b"last-delivered-id"] == b"9-0"
    # A pending entry deleted from the stream is dropped, not returned.
    c.call("XDEL", "s", "2-0")
    assert c.call("XCLAIM", "s", "g", "bob", "0", "2-0") == []
    assert b"2-0" not in [x[0] for x in c.call("XPENDING", "s", "g", "-", "+", "10")]
    # XAUTOCLAIM.
    c.call("XDEL", "s", "3-0")
    r = c.call("XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "2")
    assert r[0] == b"4-0" and ids(r[1]) == [b"1-0"] and r[2] == [b"3-0"]
    r = c.call("XAUTOCLAIM", "s", "g", "erin", "0", "(1-0", "JUSTID")
    assert r == [b"0-0", [b"4-0", b"5-0"], []]
    assert c.call("XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "0") == Error(b"ERR COUNT must be > 0")
    assert c.call("XAUTOCLAIM", "s", "nog", "erin", "0", "0") == Error(
        b"NOGROUP No such key 's' or consumer group 'nog'")
    assert c.call("XAUTOCLAIM", "s", "g", "erin", "x", "0") == Error(
        b"ERR Invalid min-idle-time argument for XAUTOCLAIM")


def test_xinfo_groups_consumers_and_stream_full(server, resp):
    c = server.client(resp)
    for i in range(1, 4):
        c.call("XADD", "s", f"{i}-0", "f", str(i))
    c.call("XGROUP", "CREATE", "s", "g", "0")
    c.call("XGROUP", "CREATE", "s", "h", "$")
    c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    groups = [as_dict(g) for g in c.call("XINFO", "GROUPS", "s")]
    assert [g[b"name"] for g in groups] == [b"g", b"h"]
    g = groups[0]
    assert g[b"consumers"] == 1 and g[b"pending"] == 2 and g[b"last-delivered-id"] == b"2-0"
    assert g[b"entries-read"] == 2 and g[b"lag"] == 1
    assert groups[1][b"entries-read"] == null_bulk(resp) and groups[1][b"lag"] == 0
    cons = [as_dict(x) for x in c.call("XINFO", "CONSUMERS", "s", "g")]
    assert cons[0][b"name"] == b"alice" and cons[0][b"pending"] == 2 and cons[0][b"idle"] >= 0
    assert c.call("XINFO", "CONSUMERS", "s", "nog") == Error(
        b"NOGROUP No such consumer group 'nog' for key name 's'")
    assert c.call("XINFO", "GROUPS", "nokey") == Error(b"ERR no such key")
    assert as_dict(c.call("XINFO", "STREAM", "s"))[b"groups"] == 2
    full = as_dict(c.call("XINFO", "STREAM", "s", "FULL"))
    fg = as_dict(full[b"groups"][0])
    assert fg[b"name"] == b"g" and fg[b"pel-count"] == 2
    assert [p[0] for p in fg[b"pending"]] == [b"1-0", b"2-0"]
    fc = as_dict(fg[b"consumers"][0])
    assert fc[b"name"] == b"alice" and fc[b"pel-count"] == 2


def test_group_state_survives_restart(start_server):
    s = start_server("--fsync", "always")
    c = s.client()
    for i in range(1, 8):
        c.call("XADD", "s", f"{i}-0", "f", str(i))
    c.call("XGROUP", "CREATE", "s", "g", "0")
    c.call("XGROUP", "CREATE", "s", "gone", "0")
    c.call("XGROUP", "CREATECONSUMER", "s", "g", "idle one")
    c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
    c.call("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
    c.call("XACK", "s", "g", "2-0")
    c.call("XCLAIM", "s", "g", "bob", "0", "1-0")
    c.call("XGROUP", "DESTROY", "s", "gone")
    pending = c.call("XPENDING", "s", "g", "-", "+", "100")
    groups = c.call("XINFO", "GROUPS", "s")
    consumers = [x[:4] for x in c.call("XINFO", "CONSUMERS", "s", "g")]
    data = s.data_dir
    s.stop()
    s2 = start_server("--fsync", "always", data_dir=data)
    c2 = s2.client()
    again = c2.call("XPENDING", "s", "g", "-", "+", "100")
    assert [(r[0], r[1], r[3]) for r in again] == [(r[0], r[1], r[3]) for r in pending]
    assert c2.call("XINFO", "GROUPS", "s") == groups
    assert [x[:4] for x in c2.call("XINFO", "CONSUMERS", "s", "g")] == consumers
    r = streams_of(c2.call("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"))
    assert ids(r[b"s"]) == [b"6-0", b"7-0"]


def test_xreadgroup_unbalanced_and_redis_py(server):
    c = server.client()
    c.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    assert c.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">", "x") == Error(
        b"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
    r = server.redis()
    r.xadd("s", {"a": "1"}, id="1-0")
    got = r.xreadgroup("g", "c", {"s": ">"}, count=10)
    assert got[0][0] == b"s" and got[0][1][0][0] == b"1-0"
    assert r.xack("s", "g", "1-0") == 1
    assert r.xpending("s", "g")["pending"] == 0
