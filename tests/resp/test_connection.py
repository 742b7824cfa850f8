"""Connection commands over RESP2 and RESP3: PING, ECHO, HELLO, AUTH, QUIT,
RESET, SELECT; the command-level error texts (unknown command, arity,
unknown subcommand); inline and pipelined requests; requirepass with AUTH
and HELLO AUTH. Expected bytes are Redis 7.0.15's (reference/resp.md §1-2),
checked with the raw client so the reply type is part of the assertion;
redis-py (RESP2) and redis-cli -3 (RESP3) run the same commands as real
clients do."""

import pytest

from resp.resp_client import Array, Error, Map, encode

PASSWORD = "s3cret-pw"


def hello_bytes(proto, client_id):
    """Redis 7.0.15's HELLO reply, byte for byte."""
    head = b"%7\r\n" if proto == 3 else b"*14\r\n"
    return (head + b"$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
            b"$5\r\nproto\r\n:%d\r\n$2\r\nid\r\n:%d\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
            b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" % (proto, client_id))


# ---- PING / ECHO -----------------------------------------------------------------

def test_ping_replies_pong_or_its_argument(server, resp):
    c = server.client(resp)
    assert c.call_raw("PING") == b"+PONG\r\n"
    assert c.call_raw("PING", "hello") == b"$5\r\nhello\r\n"
    assert c.call_raw("PING", "") == b"$0\r\n\r\n"
    assert c.call_raw("ping") == b"+PONG\r\n"  # command names are case-insensitive
    assert c.call_raw("PING", "a", "b") == b"-ERR wrong number of arguments for 'ping' command\r\n"


def test_echo_is_binary_safe(server, resp):
    c = server.client(resp)
    payload = bytes(range(256)) + b"\r\n\x00end"
    assert c.call_raw("ECHO", payload) == b"$%d\r\n%s\r\n" % (len(payload), payload)
    assert c.call_raw("ECHO", "") == b"$0\r\n\r\n"
    assert c.call_raw("ECHO") == b"-ERR wrong number of arguments for 'echo' command\r\n"
    assert c.call_raw("ECHO", "a", "b") == b"-ERR wrong number of arguments for 'echo' command\r\n"


def test_redis_py_ping_echo(server):
    r = server.redis()
    assert r.ping() is True
    assert r.echo(b"\x00\xffbin") == b"\x00\xffbin"


def test_redis_cli_resp3_ping_echo(server):
    cp = server.cli("PING", protocol=3)
    assert cp.returncode == 0 and cp.stdout == b"PONG\n", cp
    cp = server.cli("ECHO", "hi there", protocol=3)
    assert cp.returncode == 0 and cp.stdout == b"hi there\n", cp


# ---- HELLO -----------------------------------------------------------------------

def test_hello_without_arguments_answers_in_the_current_protocol(server):
    c = server.client()
    cid = c.call("CLIENT", "ID")
    assert c.call_raw("HELLO") == hello_bytes(2, cid)
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_hello_switches_protocol_and_replies_a_map(server):
    c = server.client()
    cid = c.call("CLIENT", "ID")
    assert c.call_raw("HELLO", "3") == hello_bytes(3, cid)
    # Now RESP3: a null is `_`, HELLO with no argument stays on 3.
    assert c.call_raw("CLIENT", "GETNAME") == b"_\r\n"
    assert c.call_raw("HELLO") == hello_bytes(3, cid)
    assert c.call_raw("HELLO", "2") == hello_bytes(2, cid)
    assert c.call_raw("CLIENT", "GETNAME") == b"$-1\r\n"


def test_hello_errors(server, resp):
    c = server.client(resp)
    assert c.call_raw("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.call_raw("HELLO", "1") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.call_raw("HELLO", "x") == \
        b"-ERR Protocol version is not an integer or out of range\r\n"
    assert c.call_raw("HELLO", "3", "FOO") == b"-ERR Syntax error in HELLO option 'FOO'\r\n"
    # AUTH needs two values; a lone one is an unknown option.
    assert c.call_raw("HELLO", "3", "AUTH", "default") == \
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    # None of the failures switched the protocol.
    assert c.call_raw("CLIENT", "GETNAME") == (b"$-1\r\n" if resp == 2 else b"_\r\n")


def test_hello_setname(server, resp):
    c = server.client()
    r = c.call("HELLO", str(resp), "SETNAME", "worker-1")
    assert r.kind == ("map" if resp == 3 else "array")
    assert c.call("CLIENT", "GETNAME") == b"worker-1"
    assert c.call_raw("HELLO", str(resp), "SETNAME", "bad name") == \
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    assert c.call("CLIENT", "GETNAME") == b"worker-1"


def test_hello_without_auth_on_an_open_server_accepts_any_auth(server):
    # The default user is nopass: HELLO AUTH default <anything> succeeds.
    c = server.client()
    r = c.call("HELLO", "3", "AUTH", "default", "whatever")
    assert isinstance(r, Map) and r.dict()[b"proto"] == 3
    assert c.call_raw("HELLO", "3", "AUTH", "nosuchuser", "x") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


# ---- AUTH / requirepass -------------------------------------------------------------

def test_auth_on_a_server_without_password(server, resp):
    c = server.client(resp)
    assert c.call_raw("AUTH", "x") == (
        b"-ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?\r\n")
    assert c.call_raw("AUTH", "default", "anything") == b"+OK\r\n"
    assert c.call_raw("AUTH", "bob", "x") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.call_raw("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"
    assert c.call_raw("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"


@pytest.fixture
def locked(start_server):
    return start_server("--requirepass", PASSWORD)


def test_requirepass_refuses_commands_until_auth(locked, resp):
    c = locked.client()
    assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
    assert c.call_raw("ECHO", "x") == b"-NOAUTH Authentication required.\r\n"
    assert c.call_raw("SUBSCRIBE", "x") == b"-NOAUTH Authentication required.\r\n"
    assert c.call_raw("CLIENT", "ID") == b"-NOAUTH Authentication required.\r\n"
    # Lookup and arity come before the auth check (reference §1.4).
    assert c.call_raw("NOSUCH") == b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    assert c.call_raw("ECHO") == b"-ERR wrong number of arguments for 'echo' command\r\n"
    assert c.call_raw("HELLO", str(resp)) == (
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        b"HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
        b"RESP protocol version at the same time\r\n")
    assert c.call_raw("AUTH", "wrong") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.call_raw("AUTH", "default", "wrong") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.call_raw("AUTH", "other", PASSWORD) == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
    assert c.call_raw("AUTH", PASSWORD) == b"+OK\r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"
    c2 = locked.client()
    assert c2.call_raw("AUTH", "default", PASSWORD) == b"+OK\r\n"
    assert c2.call_raw("PING") == b"+PONG\r\n"


def test_hello_auth_authenticates_and_switches(locked, resp):
    c = locked.client()
    assert c.call_raw("HELLO", str(resp), "AUTH", "default", "nope") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
    r = c.call("HELLO", str(resp), "AUTH", "default", PASSWORD, "SETNAME", "authed")
    assert r.kind == ("map" if resp == 3 else "array"), r
    assert c.call_raw("PING") == b"+PONG\r\n"
    assert c.call("CLIENT", "GETNAME") == b"authed"


def test_quit_and_reset_work_before_auth(locked):
    c = locked.client()
    assert c.call_raw("RESET") == b"+RESET\r\n"
    assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
    c.send("QUIT")
    assert c.recv_until_closed() == b"+OK\r\n"


def test_reset_drops_authentication(locked):
    c = locked.client()
    assert c.call_raw("AUTH", PASSWORD) == b"+OK\r\n"
    assert c.call_raw("RESET") == b"+RESET\r\n"
    assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"


def test_unauthenticated_limits_are_tighter(locked):
    # More than 10 arguments before AUTH: protocol error, connection closed.
    c = locked.client()
    c.send_raw(b"*11\r\n")
    assert c.recv_until_closed() == \
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    # A value over 16 KiB before AUTH.
    c = locked.client()
    c.send_raw(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n")
    assert c.recv_until_closed() == b"-ERR Protocol error: unauthenticated bulk length\r\n"
    # After AUTH the normal limits apply, on the same connection.
    c = locked.client()
    assert c.call_raw("AUTH", PASSWORD) == b"+OK\r\n"
    big = b"x" * 100000
    assert c.call("ECHO", big) == big
    assert c.call("ECHO", *(["a"] * 1)) == b"a"
    args = [str(i) for i in range(20)]
    assert c.call("PUBSUB", "NUMSUB", *args)[:2] == [b"0", 0]


def test_auth_then_commands_in_one_pipeline(locked):
    # AUTH changes the parser's limits: the commands behind it in the same
    # write must run with the authenticated limits.
    c = locked.client()
    big = b"y" * 20000
    c.send_raw(encode("AUTH", PASSWORD) + encode("ECHO", big) + encode("PING"))
    assert c.read_many(3) == [b"OK", big, b"PONG"]


def test_redis_py_with_password(locked):
    import redis
    r = locked.redis(password=PASSWORD)
    assert r.ping() is True
    bad = locked.redis(password="wrong")
    with pytest.raises(redis.exceptions.ResponseError, match="^WRONGPASS invalid username"):
        bad.ping()
    anon = locked.redis()
    with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
        anon.ping()


def test_redis_cli_resp3_with_password(locked):
    cp = locked.cli("--no-auth-warning", "-a", PASSWORD, "PING", protocol=3)
    assert cp.returncode == 0 and cp.stdout == b"PONG\n", cp
    cp = locked.cli("PING", protocol=3)
    assert b"NOAUTH" in cp.stdout + cp.stderr, cp


def test_config_set_requirepass_applies_to_new_connections(server):
    c = server.client()
    assert c.call_raw("CONFIG", "SET", "requirepass", PASSWORD) == b"+OK\r\n"
    fresh = server.client()
    assert fresh.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
    assert fresh.call_raw("AUTH", PASSWORD) == b"+OK\r\n"
    assert fresh.call_raw("PING") == b"+PONG\r\n"
    assert c.call_raw("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
    assert server.client().call_raw("PING") == b"+PONG\r\n"


# ---- QUIT / RESET / SELECT -------------------------------------------------------

def test_quit_replies_ok_and_closes_dropping_later_commands(server, resp):
    c = server.client(resp)
    c.send_raw(encode("PING") + encode("QUIT") + encode("PING") + encode("ECHO", "late"))
    assert c.recv_until_closed() == b"+PONG\r\n+OK\r\n"


def test_quit_while_subscribed(server, resp):
    c = server.client(resp)
    c.send("SUBSCRIBE", "q")
    c.read()
    c.send("QUIT")
    assert c.recv_until_closed() == b"+OK\r\n"


def test_reset_undoes_connection_state_without_notifications(server):
    c = server.client(3)
    c.send("CLIENT", "SETNAME", "named")
    assert c.read() == b"OK"
    c.send("SUBSCRIBE", "r1", "r2")
    c.read_many(2)
    c.send("PSUBSCRIBE", "p*")
    c.read()
    c.send("SSUBSCRIBE", "s1")
    c.read()
    # No unsubscribe pushes: just +RESET.
    assert c.call_raw("RESET") == b"+RESET\r\n"
    # Back on RESP2 (null bulk), name cleared, not in subscribed mode.
    assert c.call_raw("CLIENT", "GETNAME") == b"$-1\r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"
    assert c.call_raw("ECHO", "x") == b"$1\r\nx\r\n"
    other = server.client()
    assert other.call("PUBSUB", "NUMSUB", "r1", "r2") == [b"r1", 0, b"r2", 0]
    assert other.call("PUBSUB", "NUMPAT") == 0
    assert other.call("PUBSUB", "SHARDNUMSUB", "s1") == [b"s1", 0]
    assert other.call("PUBLISH", "r1", "m") == 0
    c.expect_nothing(0.2)


def test_reset_turns_client_reply_back_on(server):
    c = server.client()
    c.send("CLIENT", "REPLY", "OFF")
    c.send("PING")
    assert c.call_raw("RESET") == b"+RESET\r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_select(server, resp):
    c = server.client(resp)
    assert c.call_raw("SELECT", "0") == b"+OK\r\n"
    # runnel has one database (docs/protocols/resp.md).
    assert c.call_raw("SELECT", "1") == b"-ERR DB index is out of range\r\n"
    assert c.call_raw("SELECT", "-1") == b"-ERR DB index is out of range\r\n"
    assert c.call_raw("SELECT", "x") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call_raw("SELECT") == b"-ERR wrong number of arguments for 'select' command\r\n"


def test_redis_py_select_zero(server):
    import redis
    r = server.redis(db=0)
    assert r.ping() is True
    with pytest.raises(redis.exceptions.ResponseError, match="DB index is out of range"):
        server.redis(db=1).ping()


# ---- command-level errors ----------------------------------------------------------

def test_unknown_command_text(server, resp):
    c = server.client(resp)
    assert c.call_raw("FOO", "a", "b") == \
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    assert c.call_raw("foo") == b"-ERR unknown command 'foo', with args beginning with: \r\n"
    # Arguments are cut at ~128 characters in all; CR/LF become spaces.
    r = c.call("NOPE", "x" * 200, "y")
    assert isinstance(r, Error)
    assert r.startswith(b"ERR unknown command 'NOPE', with args beginning with: 'xxx")
    assert len(r) < 128 + 80, r
    r = c.call("BAD\r\nCMD", "a\nb")
    assert b"\r" not in r and b"\n" not in r, r
    # The connection is fine afterwards.
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_unknown_subcommand_and_subcommand_arity(server, resp):
    c = server.client(resp)
    for container in ("CLIENT", "PUBSUB", "CONFIG", "COMMAND"):
        assert c.call_raw(container, "FOO") == \
            b"-ERR unknown subcommand 'FOO'. Try %s HELP.\r\n" % container.encode()
    assert c.call_raw("CLIENT", "SETNAME") == \
        b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    assert c.call_raw("CLIENT") == b"-ERR wrong number of arguments for 'client' command\r\n"
    assert c.call_raw("CONFIG", "GET") == \
        b"-ERR wrong number of arguments for 'config|get' command\r\n"


def test_help_subcommands_reply_arrays_of_simple_strings(server, resp):
    c = server.client(resp)
    for container in ("CLIENT", "PUBSUB", "CONFIG", "COMMAND"):
        r = c.call(container, "HELP")
        assert isinstance(r, Array) and len(r) > 2, r
        assert r[0].kind == "simple" and r[0].startswith(container.encode() + b" <subcommand>"), r


# ---- inline requests and pipelining --------------------------------------------------

def test_inline_commands(server):
    c = server.client()
    c.send_raw(b"PING\r\n")
    assert c.read_raw() == b"+PONG\r\n"
    c.send_raw(b"PING x\n")  # LF alone ends a line too
    assert c.read_raw() == b"$1\r\nx\r\n"
    c.send_raw(b'ECHO "a\\x41\\n b"\r\n')
    assert c.read_raw() == b"$5\r\naA\n b\r\n"
    c.send_raw(b"ECHO 'it''s'\r\n")  # ill-closed quote: protocol error
    assert c.recv_until_closed() == b"-ERR Protocol error: unbalanced quotes in request\r\n"


def test_empty_requests_get_no_reply(server):
    c = server.client()
    c.send_raw(b"\r\n" + b"*0\r\n" + b"*-1\r\n" + b"   \r\n" + encode("PING"))
    assert c.read_raw() == b"+PONG\r\n"
    c.expect_nothing(0.2)


def test_pipelined_commands_answered_in_order(server, resp):
    c = server.client(resp)
    n = 200
    c.send_raw(b"".join(encode("ECHO", str(i)) for i in range(n)))
    assert c.read_many(n) == [str(i).encode() for i in range(n)]


def test_commands_split_at_every_byte(server):
    # A request arriving one byte per write is still one request.
    c = server.client()
    data = encode("ECHO", "split") + encode("PING")
    for i in range(len(data)):
        c.send_raw(data[i:i + 1])
    assert c.read_many(2) == [b"split", b"PONG"]


def test_http_request_closes_connection_silently(server):
    c = server.client()
    c.send_raw(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.recv_until_closed() == b""
    assert server.client().call_raw("PING") == b"+PONG\r\n"
