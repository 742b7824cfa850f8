"""Redis streams without consumer groups (reference/resp.md §4), RESP2 and
RESP3, against the real server; entries stored as documented in
docs/protocols/resp.md ("Streams")."""

import json
import threading
import time

import pytest

from resp.resp_client import Error, Map, NULL, NULL_ARRAY, NULL_BULK, encode

BAD_ID = b"ERR Invalid stream ID specified as stream command argument"
NOT_GREATER = b"ERR The ID specified in XADD is equal or smaller than the target stream top item"


def ids(entries):
    return [e[0] for e in entries]


def test_xadd_ids_and_errors(server, resp):
    c = server.client(resp)
    assert c.call("XADD", "s", "5-1", "f", "v") == b"5-1"
    assert c.call("XADD", "s", "5-*", "f", "v") == b"5-2"
    assert c.call("XADD", "s", "6", "f", "v") == b"6-0"
    assert c.call("XADD", "s", "6", "f", "v") == Error(NOT_GREATER)
    assert c.call("XADD", "s", "0-0", "f", "v") == Error(b"ERR The ID specified in XADD must be greater than 0-0")
    assert c.call("XADD", "s", "-", "f", "v") == Error(BAD_ID)
    assert c.call("XADD", "s", "*", "f") == Error(b"ERR wrong number of arguments for 'xadd' command")
    auto = c.call("XADD", "s", "*", "a", "1")
    assert int(auto.split(b"-")[0]) > 6
    assert c.call("XADD", "nokey", "NOMKSTREAM", "*", "f", "v") == (NULL if resp == 3 else NULL_BULK)
    assert c.call("EXISTS", "nokey") == 0
    assert c.call("XADD", "s", "MAXLEN", "-1", "*", "f", "v") == Error(b"ERR The MAXLEN argument must be >= 0.")
    assert c.call("XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v") == Error(
        b"ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
    assert c.call("XADD", "s", "MAXLEN", "1", "LIMIT", "1", "*", "f", "v") == Error(
        b"ERR syntax error, LIMIT cannot be used without the special ~ option")
    assert c.call("XLEN", "s") == 4
    assert c.call("TYPE", "s") == b"stream"
    assert c.call("TYPE", "nokey") == b"none"


def test_xrange_xrevrange_bounds_and_count(server, resp):
    c = server.client(resp)
    for i in range(1, 6):
        c.call("XADD", "s", f"{i}-1", "k", str(i), "k", "dup")
    r = c.call("XRANGE", "s", "-", "+")
    assert ids(r) == [b"1-1", b"2-1", b"3-1", b"4-1", b"5-1"]
    assert r[0][1] == [b"k", b"1", b"k", b"dup"]
    assert ids(c.call("XRANGE", "s", "(2-1", "4")) == [b"3-1", b"4-1"]
    assert ids(c.call("XREVRANGE", "s", "+", "-", "COUNT", "2")) == [b"5-1", b"4-1"]
    assert ids(c.call("XREVRANGE", "s", "(5-1", "(1-1")) == [b"4-1", b"3-1", b"2-1"]
    assert c.call("XRANGE", "s", "-", "+", "COUNT", "0") == (NULL if resp == 3 else NULL_ARRAY)
    assert c.call("XRANGE", "nokey", "-", "+") == []
    assert c.call("XRANGE", "s", "x", "+") == Error(BAD_ID)
    assert c.call("XRANGE", "s", "(-", "+") == Error(BAD_ID)
    assert c.call("XRANGE", "s", "-", "(0-0") == Error(b"ERR invalid end ID for the interval")
    assert c.call("XRANGE", "s", "-", "+", "FOO") == Error(b"ERR syntax error")


def test_xdel_xtrim_and_xinfo(server, resp):
    c = server.client(resp)
    for i in range(1, 11):
        c.call("XADD", "s", str(i), "f", "v")
    assert c.call("XDEL", "s", "3", "4", "99") == 2
    assert c.call("XDEL", "s", "bad") == Error(BAD_ID)
    assert c.call("XTRIM", "s", "MAXLEN", "5") == 3
    assert c.call("XTRIM", "s") == Error(b"ERR wrong number of arguments for 'xtrim' command")
    assert c.call("XTRIM", "s", "FOO", "1") == Error(b"ERR syntax error")
    assert ids(c.call("XRANGE", "s", "-", "+")) == [b"6-0", b"7-0", b"8-0", b"9-0", b"10-0"]
    assert c.call("XTRIM", "s", "MINID", "8") == 2
    info = c.call("XINFO", "STREAM", "s")
    d = info.dict() if isinstance(info, Map) else dict(zip(info[::2], info[1::2]))
    assert d[b"length"] == 3
    assert d[b"last-generated-id"] == b"10-0"
    assert d[b"max-deleted-entry-id"] == b"4-0"
    assert d[b"entries-added"] == 10
    assert d[b"recorded-first-entry-id"] == b"8-0"
    assert d[b"groups"] == 0
    assert c.call("XINFO", "STREAM", "nokey") == Error(b"ERR no such key")
    assert c.call("XSETID", "s", "9") == Error(
        b"ERR The ID specified in XSETID is smaller than the target stream top item")
    assert c.call("XSETID", "s", "20") == b"OK"
    assert c.call("XADD", "s", "15", "f", "v") == Error(NOT_GREATER)
    assert c.call("XSETID", "nokey", "1") == Error(b"ERR no such key")


def test_xread_and_block_wakeups_across_connections(server, resp):
    c = server.client(resp)
    c.call("XADD", "a", "1", "f", "v")
    r = c.call("XREAD", "STREAMS", "a", "b", "0", "0")
    if resp == 3:
        assert isinstance(r, Map) and r[0][0] == b"a"
    else:
        assert r[0][0] == b"a" and ids(r[0][1]) == [b"1-0"]
    assert c.call("XREAD", "STREAMS", "a", "$") == (NULL if resp == 3 else NULL_ARRAY)
    assert c.call("XREAD", "STREAMS", "a", "b", "0") == Error(
        b"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
    assert c.call("XREAD", "BLOCK", "-1", "STREAMS", "a", "$") == Error(b"ERR timeout is negative")
    # GROUP and NOACK belong to XREADGROUP; the error comes where they appear.
    assert c.call("XREAD", "GROUP", "g", "c", "BLOCK", "x", "STREAMS", "a", "0") == Error(
        b"ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
    assert c.call("XREAD", "NOACK", "STREAMS", "a", "0") == Error(
        b"ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
    assert c.call("XREAD", "COUNT", "x", "STREAMS", "a", "0") == Error(
        b"ERR value is not an integer or out of range")
    assert c.call("XREAD", "COUNT", "1", "x") == Error(b"ERR syntax error")
    assert c.call("XREAD", "STREAMS", "a", ">")[:20] == b"ERR The > ID can be "
    # Timeout.
    t0 = time.monotonic()
    assert c.call("XREAD", "BLOCK", "200", "STREAMS", "a", "$") == (NULL if resp == 3 else NULL_ARRAY)
    assert time.monotonic() - t0 >= 0.18
    # Many blocked readers on one stream, woken by another connection.
    readers = [server.client(resp) for _ in range(8)]
    for r in readers:
        r.send("XREAD", "BLOCK", "0", "STREAMS", "nope", "a", "$", "$")
    time.sleep(0.3)
    assert server.client(resp).call("XADD", "a", "*", "k", "v")
    for r in readers:
        got = r.read(timeout=10)
        assert got
    # A blocked reader runs nothing else until served.
    b = server.client(resp)
    b.send("XREAD", "BLOCK", "0", "STREAMS", "later", "$")
    b.send("PING")
    time.sleep(0.2)
    server.client(resp).call("XADD", "later", "1", "f", "v")
    first = b.read(timeout=10)
    assert b"later" in repr(first).encode()
    assert b.read(timeout=10) == b"PONG"


def test_pipelined_appends_reply_in_order_and_are_read_back(server, resp):
    c = server.client(resp)
    cmds = []
    for i in range(1, 201):
        cmds.append(("XADD", "p", f"{i}-0", "n", str(i)))
        if i % 50 == 0:
            cmds.append(("XLEN", "p"))
            cmds.append(("PING",))
    for cmd in cmds:
        c.send(*cmd)
    out = [c.read(timeout=30) for _ in cmds]
    n = 0
    for cmd, reply in zip(cmds, out):
        if cmd[0] == "XADD":
            n += 1
            assert reply == f"{n}-0".encode()
        elif cmd[0] == "XLEN":
            assert reply == n  # its own appends are seen
        else:
            assert reply == b"PONG"


def test_one_write_of_mixed_xadds_answers_each_as_redis_would(server, resp):
    """Pipelined XADDs to one key go to the log as one append (PendingAdds);
    each still gets its own ID or error, in order, interleaved with other
    keys, options, errors and commands that read the stream."""
    c = server.client(resp)
    cmds = [
        ("XADD", "m", "5-0", "f", "a"),
        ("XADD", "m", "6-0", "f", "b"),
        ("XADD", "m", "6-0", "f", "dup"),          # not greater: this one only fails
        ("XADD", "m", "7-*", "f", "c"),
        ("XADD", "other", "1-0", "f", "x"),       # another key between
        ("XADD", "m", "0-0", "f", "zero"),        # error
        ("XADD", "m", "NOMKSTREAM", "8-0", "f", "d"),  # other options: its own batch
        ("XADD", "nokey", "NOMKSTREAM", "*", "f", "e"),
        ("XADD", "m", "MAXLEN", "=", "3", "9-0", "f", "e"),
        ("XADD", "m", "MAXLEN", "=", "3", "10-0", "f", "f"),
        ("XLEN", "m"),                             # sees every append before it
        ("XADD", "m", "MAXLEN", "~", "2", "11-0", "f", "g"),  # `~`: trimmed per XADD
        ("XRANGE", "m", "-", "+"),
    ]
    c.send_raw(b"".join(encode(*cmd) for cmd in cmds))
    out = [c.read(timeout=30) for _ in cmds]
    assert out[0] == b"5-0" and out[1] == b"6-0"
    assert isinstance(out[2], Error) and out[2] == NOT_GREATER
    assert out[3] == b"7-0"
    assert out[4] == b"1-0"
    assert isinstance(out[5], Error) and b"greater than 0-0" in out[5]
    assert out[6] == b"8-0"
    assert out[7] == (NULL_BULK if resp == 2 else NULL)
    assert out[8] == b"9-0" and out[9] == b"10-0"
    assert out[10] == 3
    assert out[11] == b"11-0"
    assert ids(out[12]) == [b"10-0", b"11-0"]  # runnel trims `~` exactly (documented)
    assert c.call("EXISTS", "nokey") == 0


def test_keys_scan_del_and_dbsize_skip_internal_topics(server):
    c = server.client()
    c.call("XADD", "k1", "*", "f", "v")
    c.call("XADD", "k2", "*", "f", "v")
    assert sorted(c.call("KEYS", "*")) == [b"k1", b"k2"]
    assert c.call("KEYS", "k1") == [b"k1"]
    assert c.call("DBSIZE") == 2
    cur, keys = c.call("SCAN", "0", "MATCH", "k*", "COUNT", "1", "TYPE", "stream")
    assert cur == b"0" and sorted(keys) == [b"k1", b"k2"]
    assert c.call("SCAN", "0", "TYPE", "string") == [b"0", []]
    assert c.call("EXISTS", "k1", "k1", "no") == 2
    assert c.call("DEL", "k1", "no") == 1
    assert c.call("KEYS", "*") == [b"k2"]
    assert c.call("XGROUP", "CREATE", "k2", "g", "$") == b"OK"  # groups: test_stream_groups.py


def test_redis_py_and_restart_keep_streams_trims_and_deletions(start_server, runnel, tmp_path):
    s = start_server("--fsync", "always")
    r = s.redis()
    for i in range(1, 21):
        r.xadd("st", {"i": str(i)}, id=f"{i}-0")
    r.xdel("st", "5-0", "20-0")
    r.xtrim("st", maxlen=15, approximate=False)
    before = r.xrange("st")
    assert len(before) == 15 and r.xlen("st") == 15
    r.publish("st", "hello")  # a durable topic: appended, not an entry
    data = s.data_dir
    s.stop()
    s2 = start_server(data_dir=data)
    r2 = s2.redis()
    assert r2.xrange("st") == before
    assert r2.xlen("st") == 15
    assert r2.xinfo_stream("st")["last-generated-id"] == b"20-0"
    with pytest.raises(Exception):
        r2.xadd("st", {"a": "b"}, id="20-0")
    s2.stop()
    # Cross-face: the same records through the embedded CLI.
    res = runnel.run("consume", "--dir", data, "st", "--format", "json")
    lines = [json.loads(l) for l in res.stdout.decode().splitlines() if l.strip()]
    first = lines[0]
    # The trim deleted the records below the first live entry (the topic's
    # log start moved to 4-0's offset), so the log starts there too.
    assert first["key"] == "4-0"
    assert first["value"] == ""
    assert any(l.get("key") is None and l.get("value") == "hello" for l in lines)
