"""CLIENT (ID SETNAME GETNAME LIST INFO KILL NO-EVICT REPLY), COMMAND
(COUNT INFO DOCS LIST), CONFIG GET/SET/RESETSTAT/REWRITE, INFO, DBSIZE,
FLUSHALL and TIME over RESP2 and RESP3: reply shapes (bulk vs verbatim,
flat array vs map, set vs array, null per protocol) and Redis 7.0's texts
(reference/resp.md §2.2; runnel's own differences: docs/protocols/resp.md)."""

import time

import pytest

from resp.resp_client import NULL, NULL_ARRAY, Array, Error, Map, Set, Verbatim

CLIENT_FIELDS = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
                 "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir "
                 "resp").split()


def text_reply(resp, r):
    """The text of a CLIENT LIST / INFO reply: bulk in RESP2, verbatim txt in RESP3."""
    if resp == 2:
        assert type(r) is bytes, f"RESP2 wants a bulk string, got {r!r}"
    else:
        assert isinstance(r, Verbatim) and r.fmt == b"txt", f"RESP3 wants =…txt:, got {r!r}"
    return bytes(r).decode()


def client_lines(resp, r):
    text = text_reply(resp, r)
    assert text == "" or text.endswith("\n"), text
    out = []
    for line in text.split("\n")[:-1]:
        pairs = [kv.split("=", 1) for kv in line.split(" ")]
        assert [k for k, _ in pairs] == CLIENT_FIELDS, line
        out.append(dict(pairs))
    return out


def flat_or_map(resp, r):
    """{key: value} from a RESP2 flat array or a RESP3 map, checking which it is."""
    if resp == 2:
        assert isinstance(r, Array) and len(r) % 2 == 0, r
        return dict(zip(r[0::2], r[1::2]))
    assert isinstance(r, Map), r
    return r.dict()


def wait_until(fn, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# ---- CLIENT ----------------------------------------------------------------------

def test_client_ids_are_unique_and_increasing(server, resp):
    ids = [server.client(resp).call("CLIENT", "ID") for _ in range(5)]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_client_setname_getname(server, resp):
    c = server.client(resp)
    assert c.call_raw("CLIENT", "GETNAME") == (b"$-1\r\n" if resp == 2 else b"_\r\n")
    assert c.call_raw("CLIENT", "SETNAME", "job-42") == b"+OK\r\n"
    assert c.call_raw("CLIENT", "GETNAME") == b"$6\r\njob-42\r\n"
    for bad in ("a b", "a\nb", "a\x01", "é", "tab\t"):
        assert c.call_raw("CLIENT", "SETNAME", bad) == \
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    assert c.call("CLIENT", "GETNAME") == b"job-42"
    assert c.call_raw("CLIENT", "SETNAME", "x" * 300) == b"+OK\r\n"
    assert c.call_raw("CLIENT", "SETNAME", "") == b"+OK\r\n"  # clears it
    assert c.call_raw("CLIENT", "GETNAME") == (b"$-1\r\n" if resp == 2 else b"_\r\n")


def test_client_list_and_info(server, resp):
    me = server.client(resp)
    me.call("CLIENT", "SETNAME", "lister")
    sub = server.client(3)
    sub.call("CLIENT", "SETNAME", "subber")
    sub.send("SUBSCRIBE", "a", "b")
    sub.send("PSUBSCRIBE", "p*")
    sub.send("SSUBSCRIBE", "s")
    sub.read_many(4)
    my_id = me.call("CLIENT", "ID")
    sub_id = sub.call("CLIENT", "ID")
    lines = client_lines(resp, me.call("CLIENT", "LIST"))
    by_id = {int(d["id"]): d for d in lines}
    assert {my_id, sub_id} <= set(by_id)
    mine, theirs = by_id[my_id], by_id[sub_id]
    assert mine["name"] == "lister" and mine["flags"] == "N" and mine["db"] == "0"
    assert mine["cmd"] == "client|list" and mine["user"] == "default"
    assert mine["resp"] == str(resp)
    assert mine["laddr"] == f"127.0.0.1:{server.port}"
    host, port = me.sock.getsockname()
    assert mine["addr"] == f"{host}:{port}"
    assert (theirs["name"], theirs["flags"], theirs["sub"], theirs["psub"], theirs["ssub"],
            theirs["resp"]) == ("subber", "P", "2", "1", "1", "3")
    # TYPE and ID filters.
    pubsub = client_lines(resp, me.call("CLIENT", "LIST", "TYPE", "pubsub"))
    assert [int(d["id"]) for d in pubsub] == [sub_id]
    normal = {int(d["id"]) for d in client_lines(resp, me.call("CLIENT", "LIST", "TYPE", "normal"))}
    assert my_id in normal and sub_id not in normal
    assert client_lines(resp, me.call("CLIENT", "LIST", "TYPE", "replica")) == []
    only = client_lines(resp, me.call("CLIENT", "LIST", "ID", str(sub_id), "999999"))
    assert [int(d["id"]) for d in only] == [sub_id]
    assert client_lines(resp, me.call("CLIENT", "LIST", "ID", "999999")) == []
    assert me.call_raw("CLIENT", "LIST", "TYPE", "bogus") == b"-ERR Unknown client type 'bogus'\r\n"
    assert me.call_raw("CLIENT", "LIST", "ID", "x") == b"-ERR Invalid client ID\r\n"
    assert me.call_raw("CLIENT", "LIST", "FOO") == b"-ERR syntax error\r\n"
    # CLIENT INFO: this client's line, as of this command.
    info = client_lines(resp, me.call("CLIENT", "INFO"))
    assert len(info) == 1 and int(info[0]["id"]) == my_id
    assert info[0]["cmd"] == "client|info" and info[0]["name"] == "lister"


def test_client_list_verbatim_bytes_in_resp3(server):
    c = server.client(3)
    raw = c.call_raw("CLIENT", "LIST", "ID", "999999")
    assert raw == b"=4\r\ntxt:\r\n"
    c2 = server.client(2)
    assert c2.call_raw("CLIENT", "LIST", "ID", "999999") == b"$0\r\n\r\n"


def test_client_kill_by_address_old_form(server, resp):
    admin = server.client(resp)
    victim = server.client()
    victim.call("PING")  # registered by now (accept is asynchronous)
    host, port = victim.sock.getsockname()
    assert admin.call_raw("CLIENT", "KILL", f"{host}:{port}") == b"+OK\r\n"
    assert victim.is_closed()
    assert admin.call_raw("CLIENT", "KILL", f"{host}:{port}") == b"-ERR No such client\r\n"
    assert admin.call_raw("CLIENT", "KILL", "1.2.3.4:5") == b"-ERR No such client\r\n"
    assert admin.call_raw("PING") == b"+PONG\r\n"


def test_client_kill_filters(server, resp):
    admin = server.client(resp)
    a = server.client()
    b = server.client()
    b.call("PING")
    s = server.client(3)
    s.send("SUBSCRIBE", "k")
    s.read()
    a_id = a.call("CLIENT", "ID")
    # ID
    assert admin.call_raw("CLIENT", "KILL", "ID", str(a_id)) == b":1\r\n"
    assert a.is_closed()
    assert admin.call_raw("CLIENT", "KILL", "ID", str(a_id)) == b":0\r\n"
    # TYPE pubsub takes only the subscriber; its subscription goes with it.
    assert admin.call_raw("CLIENT", "KILL", "TYPE", "pubsub") == b":1\r\n"
    assert s.is_closed()
    wait_until(lambda: admin.call("PUBSUB", "NUMSUB", "k")[1] == 0, what="NUMSUB k = 0")
    # ADDR, LADDR combined (ANDed) with a mismatch: nobody.
    host, port = b.sock.getsockname()
    assert admin.call_raw("CLIENT", "KILL", "ADDR", f"{host}:{port}", "LADDR", "1.1.1.1:1") == \
        b":0\r\n"
    assert admin.call_raw("CLIENT", "KILL", "ADDR", f"{host}:{port}",
                          "LADDR", f"127.0.0.1:{server.port}") == b":1\r\n"
    assert b.is_closed()
    # USER default, SKIPME yes (the default) spares the caller.
    others = [server.client() for _ in range(3)]
    for o in others:
        o.call("PING")
    assert admin.call("CLIENT", "KILL", "USER", "default") == 3
    for o in others:
        assert o.is_closed()
    assert admin.call_raw("PING") == b"+PONG\r\n"
    # Errors.
    assert admin.call_raw("CLIENT", "KILL", "ID", "0") == \
        b"-ERR client-id should be greater than 0\r\n"
    assert admin.call_raw("CLIENT", "KILL", "ID", "x") == \
        b"-ERR client-id should be greater than 0\r\n"
    assert admin.call_raw("CLIENT", "KILL", "TYPE", "foo") == b"-ERR Unknown client type 'foo'\r\n"
    assert admin.call_raw("CLIENT", "KILL", "FOO", "x") == b"-ERR syntax error\r\n"
    assert admin.call_raw("CLIENT", "KILL", "SKIPME", "maybe") == b"-ERR syntax error\r\n"
    assert admin.call_raw("CLIENT", "KILL", "ID", "1", "SKIPME") == b"-ERR syntax error\r\n"


def test_client_kill_unknown_user_is_an_error(server):
    admin = server.client()
    assert admin.call_raw("CLIENT", "KILL", "USER", "bob") == b"-ERR No such user 'bob'\r\n"


def test_client_kill_self_with_skipme_no(server, resp):
    c = server.client(resp)
    my_id = c.call("CLIENT", "ID")
    c.send("CLIENT", "KILL", "ID", str(my_id), "SKIPME", "no")
    # Redis replies to the killer before closing it.
    assert c.recv_until_closed() == b":1\r\n"
    assert server.client().call_raw("PING") == b"+PONG\r\n"


def test_client_kill_with_redis_py(server):
    r = server.redis()
    victim = server.client()
    vid = victim.call("CLIENT", "ID")
    assert r.client_kill_filter(_id=vid) == 1
    assert victim.is_closed()
    names = [c["id"] for c in r.client_list()]
    assert str(vid) not in names and vid not in names


def test_client_no_evict_and_setinfo(server, resp):
    c = server.client(resp)
    assert c.call_raw("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
    assert c.call_raw("CLIENT", "NO-EVICT", "OFF") == b"+OK\r\n"
    assert c.call_raw("CLIENT", "NO-EVICT", "maybe") == b"-ERR syntax error\r\n"
    assert c.call_raw("CLIENT", "NO-EVICT") == \
        b"-ERR wrong number of arguments for 'client|no-evict' command\r\n"
    assert c.call_raw("CLIENT", "SETINFO", "LIB-NAME", "test") == b"+OK\r\n"


def test_client_reply_on_off_skip(server, resp):
    c = server.client(resp)
    c.send("CLIENT", "REPLY", "OFF")
    c.send("PING")
    c.send("ECHO", "hidden")
    c.send("CLIENT", "REPLY", "SKIP")  # no reply to SKIP while OFF
    assert c.call_raw("CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"
    c.send("CLIENT", "REPLY", "SKIP")
    c.send("ECHO", "skipped")
    assert c.call_raw("ECHO", "seen") == b"$4\r\nseen\r\n"
    # Errors are suppressed as well while OFF.
    c.send("CLIENT", "REPLY", "OFF")
    c.send("NOSUCH")
    assert c.call_raw("CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert c.call_raw("CLIENT", "REPLY", "x") == b"-ERR syntax error\r\n"
    c.expect_nothing(0.2)


def test_quit_answers_even_with_reply_off(server):
    c = server.client()
    c.send("CLIENT", "REPLY", "OFF")
    c.send("QUIT")
    assert c.recv_until_closed() == b"+OK\r\n"


# ---- COMMAND ---------------------------------------------------------------------

def test_command_count_list_info(server, resp):
    c = server.client(resp)
    count = c.call("COMMAND", "COUNT")
    everything = c.call("COMMAND")
    names = c.call("COMMAND", "LIST")
    assert isinstance(everything, Array) and len(everything) == count == len(names)
    expected = {b"ping", b"echo", b"hello", b"auth", b"quit", b"reset", b"select", b"client",
                b"command", b"config", b"info", b"dbsize", b"flushall", b"time", b"subscribe",
                b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe", b"sunsubscribe",
                b"publish", b"spublish", b"pubsub"}
    assert expected <= set(names), expected - set(names)
    info = c.call("COMMAND", "INFO", "ping", "NoSuch", "CLIENT")
    assert isinstance(info, Array) and len(info) == 3
    ping, missing, client = info
    assert missing is (NULL_ARRAY if resp == 2 else NULL)
    assert len(ping) == 10 and ping[0] == b"ping" and ping[1] == -1
    settype = Array if resp == 2 else Set
    assert isinstance(ping[2], settype) and b"fast" in ping[2]
    assert (ping[3], ping[4], ping[5]) == (0, 0, 0)
    assert isinstance(ping[6], settype) and set(ping[6]) == {b"@fast", b"@connection"}
    assert client[0] == b"client" and client[1] == -2
    subs = {s[0] for s in client[9]}
    assert {b"client|id", b"client|kill", b"client|list", b"client|setname"} <= subs
    setname = next(s for s in client[9] if s[0] == b"client|setname")
    assert setname[1] == 3
    assert c.call_raw("COMMAND", "COUNT", "x") == \
        b"-ERR wrong number of arguments for 'command|count' command\r\n"


def test_command_docs(server, resp):
    c = server.client(resp)
    docs = flat_or_map(resp, c.call("COMMAND", "DOCS", "echo", "nosuch", "pubsub"))
    assert set(docs) == {b"echo", b"pubsub"}
    echo = flat_or_map(resp, docs[b"echo"])
    assert echo[b"summary"] == b"Echo the given string" and echo[b"group"] == b"connection"
    assert b"since" in echo
    pubsub = flat_or_map(resp, docs[b"pubsub"])
    subs = flat_or_map(resp, pubsub[b"subcommands"])
    assert {b"pubsub|numsub", b"pubsub|channels", b"pubsub|numpat"} <= set(subs)
    empty = c.call_raw("COMMAND", "DOCS", "nosuch")
    assert empty == (b"*0\r\n" if resp == 2 else b"%0\r\n")


def test_redis_cli_resp3_command_docs(server):
    cp = server.cli("--no-raw", "COMMAND", "DOCS", "echo", protocol=3)
    assert cp.returncode == 0 and b'"summary" => "Echo the given string"' in cp.stdout, cp


# ---- CONFIG ----------------------------------------------------------------------

def test_config_get(server, resp):
    c = server.client(resp)
    got = flat_or_map(resp, c.call("CONFIG", "GET", "maxclients"))
    assert got == {b"maxclients": b"10000"}
    got = flat_or_map(resp, c.call("CONFIG", "GET", "timeout", "MAXCLIENTS", "nosuch"))
    assert got == {b"timeout": b"0", b"maxclients": b"10000"}
    got = flat_or_map(resp, c.call("CONFIG", "GET", "*"))
    for key in (b"port", b"bind", b"timeout", b"maxclients", b"client-output-buffer-limit",
                b"proto-max-bulk-len", b"requirepass", b"databases", b"dir"):
        assert key in got, key
    assert got[b"port"] == str(server.plain_port).encode()
    assert got[b"databases"] == b"1"
    assert got[b"client-output-buffer-limit"] == \
        b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    assert c.call_raw("CONFIG", "GET", "nosuch*") == (b"*0\r\n" if resp == 2 else b"%0\r\n")
    raw = c.call_raw("CONFIG", "GET", "maxclients")
    assert raw == (b"*2\r\n" if resp == 2 else b"%1\r\n") + b"$10\r\nmaxclients\r\n$5\r\n10000\r\n"


def test_config_set(server, resp):
    c = server.client(resp)
    assert c.call_raw("CONFIG", "SET", "timeout", "5", "maxclients", "100") == b"+OK\r\n"
    assert flat_or_map(resp, c.call("CONFIG", "GET", "timeout", "maxclients")) == \
        {b"timeout": b"5", b"maxclients": b"100"}
    assert c.call_raw("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 5") == \
        b"+OK\r\n"
    assert flat_or_map(resp, c.call("CONFIG", "GET", "client-output-buffer-limit")) == \
        {b"client-output-buffer-limit":
         b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 5"}
    E = b"-ERR CONFIG SET failed (possibly related to argument '%s') - %s\r\n"
    assert c.call_raw("CONFIG", "SET", "foo", "1") == \
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    assert c.call_raw("CONFIG", "SET", "timeout") == \
        b"-ERR wrong number of arguments for 'config|set' command\r\n"
    assert c.call_raw("CONFIG", "SET", "timeout", "1", "maxclients") == \
        b"-ERR wrong number of arguments for 'config|set' command\r\n"
    assert c.call_raw("CONFIG", "SET", "port", "1") == \
        E % (b"port", b"can't set immutable config")
    assert c.call_raw("CONFIG", "SET", "maxclients", "x") == \
        E % (b"maxclients", b"argument couldn't be parsed into an integer")
    assert c.call_raw("CONFIG", "SET", "timeout", "-1") == \
        E % (b"timeout", b"argument must be between 0 and 2147483647 inclusive")
    assert c.call_raw("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2") == \
        E % (b"client-output-buffer-limit",
             b"Wrong number of arguments in buffer limit configuration.")
    assert c.call_raw("CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3") == \
        E % (b"client-output-buffer-limit",
             b"Invalid client class specified in buffer limit configuration.")
    assert c.call_raw("CONFIG", "SET", "client-output-buffer-limit", "pubsub x 1 1") == \
        E % (b"client-output-buffer-limit",
             b"Error in hard, soft or soft_seconds setting in buffer limit configuration.")
    # Nothing above changed the values.
    assert flat_or_map(resp, c.call("CONFIG", "GET", "timeout", "maxclients")) == \
        {b"timeout": b"5", b"maxclients": b"100"}


def test_config_resetstat_and_rewrite(server, resp):
    c = server.client(resp)
    for _ in range(5):
        c.call("PING")
    assert c.call_raw("CONFIG", "RESETSTAT") == b"+OK\r\n"
    stats = info_fields(resp, c.call("INFO", "stats"))
    assert int(stats["total_commands_processed"]) <= 2
    assert c.call_raw("CONFIG", "REWRITE") == b"-ERR The server is running without a config file\r\n"


def test_config_file_is_read(start_server):
    server = start_server(config='[limits]\nmax_clients = 77\ntimeout = 9\n'
                                 'pubsub_hard = 1000000\npubsub_soft = 0\npubsub_soft_seconds = 0\n')
    c = server.client()
    got = flat_or_map(2, c.call("CONFIG", "GET", "maxclients", "timeout",
                                "client-output-buffer-limit"))
    assert got[b"maxclients"] == b"77" and got[b"timeout"] == b"9"
    assert got[b"client-output-buffer-limit"].endswith(b"pubsub 1000000 0 0")
    assert c.call("CONFIG", "REWRITE").startswith(b"ERR ")


def test_idle_polling_setting(start_server, runnel, tmp_path):
    """idle-poll-us (net/io_pool.h): on by default, read-only at run time,
    off with 0 (and then nothing polls), out-of-range values refused."""
    on = start_server().client()
    assert flat_or_map(2, on.call("CONFIG", "GET", "idle-poll-us")) == {b"idle-poll-us": b"50"}
    assert on.call_raw("CONFIG", "SET", "idle-poll-us", "10") == \
        b"-ERR CONFIG SET failed (possibly related to argument 'idle-poll-us') - " \
        b"can't set immutable config\r\n"
    for _ in range(300):
        on.call("PING")
    f = info_fields(2, on.call("INFO", "stats"))
    assert 0 <= int(f["io_idle_poll_hits"]) <= int(f["io_idle_polls"])

    off = start_server("--idle-poll-us", "0").client()
    for _ in range(300):
        off.call("PING")
    f = info_fields(2, off.call("INFO", "stats"))
    assert f["io_idle_polls"] == "0" and f["io_idle_poll_hits"] == "0"

    from_file = start_server(config="idle_poll_us = 0\n").client()
    assert flat_or_map(2, from_file.call("CONFIG", "GET", "idle-poll-us")) == \
        {b"idle-poll-us": b"0"}

    bad = runnel.run("serve", "--data", str(tmp_path / "bad"), "--resp", "127.0.0.1:0",
                     "--kafka", "off", "--idle-poll-us", "20000", expect=None)
    assert bad.returncode != 0 and b"idle_poll_us must be 0..10000" in bad.stderr, bad.describe()



def test_shutdown_timeout_setting(start_server, runnel, tmp_path):
    """shutdown_timeout_ms (TOML only): 2000 by default, read-only at run
    time, out-of-range values refused. What it does at SIGTERM is tested in
    kafka/test_kafka_server.py (0: busy sessions dropped unserved)."""
    default = start_server().client()
    assert flat_or_map(2, default.call("CONFIG", "GET", "shutdown-timeout-ms")) == \
        {b"shutdown-timeout-ms": b"2000"}
    from_file = start_server(config="shutdown_timeout_ms = 0\n").client()
    assert flat_or_map(2, from_file.call("CONFIG", "GET", "shutdown-timeout-ms")) == \
        {b"shutdown-timeout-ms": b"0"}
    conf = tmp_path / "bad.toml"
    conf.write_text("shutdown_timeout_ms = -1\n")
    bad = runnel.run("serve", "--config", str(conf), "--data", str(tmp_path / "bad"),
                     "--resp", "127.0.0.1:0", "--kafka", "off", expect=None)
    assert bad.returncode != 0 and b"shutdown_timeout_ms must be 0..600000" in bad.stderr, \
        bad.describe()

# ---- INFO / DBSIZE / FLUSHALL / TIME ------------------------------------------------

def info_fields(resp, r):
    text = text_reply(resp, r)
    out = {}
    for line in text.split("\r\n"):
        if line and not line.startswith("#"):
            if line.startswith("topic:"):  # topic:<name>:partitions=...
                k, v = line.rsplit(":partitions=", 1)
                v = "partitions=" + v
            else:
                k, v = line.split(":", 1)
            out[k] = v
    return out


def test_info(server, resp):
    c = server.client(resp)
    r = c.call("INFO")
    text = text_reply(resp, r)
    sections = [l for l in text.split("\r\n") if l.startswith("# ")]
    assert sections == ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"]
    f = info_fields(resp, r)
    assert f["redis_version"] == "7.0.15" and f["redis_mode"] == "standalone"
    assert f["tcp_port"] == str(server.plain_port)
    assert f["process_id"] == str(server.pid)
    assert int(f["connected_clients"]) >= 1
    # used_memory is malloc's count, which ASan's allocator leaves at 0.
    assert int(f["used_memory"]) >= 0 and int(f["used_memory_rss"]) > 0
    only = text_reply(resp, c.call("INFO", "clients"))
    assert only.startswith("# Clients\r\n") and "# Server" not in only
    assert c.call_raw("INFO", "nosuchsection") == (b"$0\r\n\r\n" if resp == 2 else b"=4\r\ntxt:\r\n")
    both = text_reply(resp, c.call("INFO", "server", "CLIENTS"))
    assert "# Server" in both and "# Clients" in both and "# Stats" not in both
    everything = text_reply(resp, c.call("INFO", "all"))
    assert "# Topics" in everything


def test_info_counts_clients_and_pubsub(server, resp):
    c = server.client(resp)
    subs = [server.client(3) for _ in range(3)]
    for i, s in enumerate(subs):
        s.send("SUBSCRIBE", f"ch{i}")
        s.read()
    subs[0].send("PSUBSCRIBE", "ch*")
    subs[0].read()
    c.call("PUBLISH", "ch1", "x")
    f = info_fields(resp, c.call("INFO", "clients", "stats"))
    assert int(f["connected_clients"]) >= 4
    assert f["pubsub_clients"] == "3"
    assert f["pubsub_channels"] == "3" and f["pubsub_patterns"] == "1"
    assert int(f["pubsub_messages_published"]) >= 1
    assert int(f["pubsub_messages_delivered"]) >= 2


def test_dbsize_and_flushall_count_durable_topics(runnel, start_server, tmp_path):
    data = str(tmp_path / "preset")
    for name in ("alpha", "beta", "gamma"):
        runnel.run("topic", "create", "--dir", data, name)
    server = start_server(data_dir=data)
    c = server.client()
    assert c.call_raw("DBSIZE") == b":3\r\n"
    assert info_fields(2, c.call("INFO", "keyspace"))["db0"] == "keys=3,expires=0,avg_ttl=0"
    topics = info_fields(2, c.call("INFO", "topics"))
    assert topics["durable_topics"] == "3" and "topic:alpha" in topics
    sub = server.client(3)
    sub.send("SUBSCRIBE", "live")
    sub.read()
    assert c.call_raw("FLUSHALL", "x") == b"-ERR syntax error\r\n"
    assert c.call_raw("FLUSHALL", "SYNC", "x") == b"-ERR syntax error\r\n"
    assert c.call_raw("FLUSHALL") == b"+OK\r\n"
    assert c.call_raw("DBSIZE") == b":0\r\n"
    assert c.call_raw("FLUSHALL", "ASYNC") == b"+OK\r\n"
    # Live subscriptions are not keys: they stay.
    assert c.call("PUBLISH", "live", "still") == 1
    assert c.call_raw("DBSIZE", "x") == b"-ERR wrong number of arguments for 'dbsize' command\r\n"


def test_time(server, resp):
    c = server.client(resp)
    r = c.call("TIME")
    assert isinstance(r, Array) and len(r) == 2 and all(type(x) is bytes for x in r), r
    sec, usec = int(r[0]), int(r[1])
    assert abs(sec + usec / 1e6 - time.time()) < 5
    assert 0 <= usec < 1000000
    assert c.call_raw("TIME", "x") == b"-ERR wrong number of arguments for 'time' command\r\n"


def test_redis_py_server_commands(server):
    r = server.redis()
    assert r.dbsize() == 0
    assert r.info("server")["redis_version"] == "7.0.15"
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_set("timeout", 3) is True
    assert r.client_setname("pyname") is True
    assert r.client_getname() == "pyname" or r.client_getname() == b"pyname"
    assert r.client_id() > 0
    assert isinstance(r.time(), tuple)
    assert r.command_count() > 20
