"""RESP over TLS (`--resp-tls`) and mutual TLS (`--tls-ca`): the connection,
pub/sub and CLIENT/CONFIG/INFO suites run again unchanged through TLS
clients (every test of those files that needs only `server` and `resp`),
then TLS-specific cases — redis-cli --tls, redis-py ssl=True, client
certificates required, refused and wrong, plaintext on the TLS port, large
values and pipelines through the TLS record layer, a slow TLS subscriber
cut off at the output limit. Certificates are made at test time with
`openssl req` (conftest.make_certs); no key is committed."""

import inspect
import json
import os
import signal
import socket
import ssl
import threading
import time

import pytest

from resp import test_client_config_info, test_connection, test_pubsub
from resp.resp_client import RespClient, encode


def client_context(certs, with_cert=None):
    ctx = ssl.create_default_context(cafile=certs["ca"])
    if with_cert == "good":
        ctx.load_cert_chain(certs["client_cert"], certs["client_key"])
    elif with_cert == "rogue":
        ctx.load_cert_chain(certs["rogue_cert"], certs["rogue_key"])
    return ctx


class TlsServer:
    """A RespServer seen through its TLS port: client(), redis() and cli()
    speak TLS (with a client certificate for mutual TLS); the rest is the
    server's own."""

    def __init__(self, server, certs, mutual):
        self._s = server
        self._certs = certs
        self._mutual = mutual
        self.port = server.tls_port
        self.plain_port = server.port

    def __getattr__(self, name):
        return getattr(self._s, name)

    def client(self, protocol=2, **kw):
        ctx = client_context(self._certs, "good" if self._mutual else None)
        return self._s.client(protocol, tls=ctx, port=self.port, **kw)

    def redis(self, **kw):
        kw.update(ssl=True, ssl_ca_certs=self._certs["ca"], ssl_cert_reqs="required")
        if self._mutual:
            kw.update(ssl_certfile=self._certs["client_cert"], ssl_keyfile=self._certs["client_key"])
        import redis
        kw.setdefault("socket_timeout", 10)
        r = redis.Redis(host="127.0.0.1", port=self.port, **kw)
        self._s._clients.append(r)
        return r

    def cli_tls_args(self):
        args = ["--tls", "--cacert", self._certs["ca"]]
        if self._mutual:
            args += ["--cert", self._certs["client_cert"], "--key", self._certs["client_key"]]
        return args

    def cli(self, *args, protocol=2, **kw):
        return self._s.cli(*args, protocol=protocol, tls_args=self.cli_tls_args(),
                           port=self.port, **kw)

    def cli_argv(self, *args, protocol=2):
        return self._s.cli_argv(*args, protocol=protocol, tls_args=self.cli_tls_args(),
                                port=self.port)


def _reusable(module):
    """The module's tests that need nothing but `server` and maybe `resp`."""
    out = []
    for name, fn in vars(module).items():
        if not name.startswith("test_") or not callable(fn):
            continue
        if hasattr(fn, "pytestmark"):
            continue  # parametrized by marks: run where they are
        params = set(inspect.signature(fn).parameters)
        if "server" in params and params <= {"server", "resp"}:
            out.append(fn)
    return out


REUSED = [fn for m in (test_connection, test_pubsub, test_client_config_info)
          for fn in _reusable(m)]
CASES = []
for fn in REUSED:
    takes_resp = "resp" in inspect.signature(fn).parameters
    for mode in ("tls", "mtls"):
        for resp in ((2, 3) if takes_resp else (None,)):
            if mode == "mtls" and resp == 2:
                continue  # mutual TLS once per test (RESP3), TLS in both protocols
            ident = f"{mode}-{fn.__module__.split('.')[-1][5:]}-{fn.__name__[5:]}" + \
                (f"-resp{resp}" if resp else "")
            CASES.append(pytest.param(fn, mode, resp, id=ident))


@pytest.fixture
def tls_server(start_server, certs, request):
    mode = request.param if hasattr(request, "param") else "tls"
    files = {"cert": certs["cert"], "key": certs["key"]}
    if mode == "mtls":
        files["ca"] = certs["ca"]
    return TlsServer(start_server(tls_files=files), certs, mode == "mtls")


@pytest.mark.parametrize("fn,mode,resp", CASES)
def test_suite_over_tls(start_server, certs, fn, mode, resp):
    files = {"cert": certs["cert"], "key": certs["key"]}
    if mode == "mtls":
        files["ca"] = certs["ca"]
    server = TlsServer(start_server(tls_files=files), certs, mode == "mtls")
    kwargs = {"server": server}
    if resp is not None:
        kwargs["resp"] = resp
    fn(**kwargs)


def test_the_reused_suite_is_not_empty():
    assert len(REUSED) >= 40, [f.__name__ for f in REUSED]


# ---- TLS-specific ----------------------------------------------------------------

@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_both_listeners_share_one_broker(tls_server):
    sub = tls_server.client(3)
    sub.send("SUBSCRIBE", "both")
    sub.read()
    plain = tls_server._s.client()
    assert plain.call("PUBLISH", "both", "from-plain") == 1
    assert sub.read() == [b"message", b"both", b"from-plain"]
    psub = tls_server._s.client()
    psub.send("SUBSCRIBE", "back")
    psub.read()
    assert sub.call("PUBLISH", "back", "from-tls") == 1
    assert psub.read() == [b"message", b"back", b"from-tls"]
    f = dict(l.split(":", 1) for l in bytes(plain.call("INFO", "server")).decode().split("\r\n")
             if l and not l.startswith("#"))
    assert f["tls_port"] == str(tls_server.port)
    got = test_client_config_info.flat_or_map(2, plain.call("CONFIG", "GET", "tls-port"))
    assert got == {b"tls-port": str(tls_server.port).encode()}


@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_bench_pubsub_over_tls_delivers_every_message(tls_server, runnel):
    """`runnel bench pubsub --tls`: the tool seals each write's records
    together and sends them with one send(), keeping what the socket does not
    take; every pipelined PUBLISH must still arrive, in order, once."""
    for size in ("64", "1024", "20000"):  # 20000: a message spans records
        certs = tls_server._certs
        mutual = ["--tls-cert", certs["client_cert"], "--tls-key", certs["client_key"]] \
            if tls_server._mutual else []
        res = runnel.run("bench", "pubsub", "--target", f"127.0.0.1:{tls_server.port}", "--tls",
                         "--tls-ca", certs["ca"], *mutual, "-s", "2", "--size", size,
                         "--seconds", "0.5", "--json", timeout=120)
        out = json.loads(res.stdout)
        assert out["tls"] is True
        assert out["published"] > 0
        assert out["delivered"] == out["expected"] == 2 * out["published"]
        assert out["loss"] == 0 and out["order_violations"] == 0


def test_bench_pubsub_over_tls_waits_out_a_stalled_server(tls_server, runnel):
    """A server that stops reading (SIGSTOP for 1 s) fills the publishers'
    sockets: the records the tool sealed but the socket did not take wait
    for writability and go out in order, nothing lost, nothing twice."""
    tls_server._s.client().call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0")
    result = {}

    def bench():
        result["res"] = runnel.run(
            "bench", "pubsub", "--target", f"127.0.0.1:{tls_server.port}", "--tls", "--tls-ca",
            tls_server._certs["ca"], "-s", "2", "--size", "60000", "--pipeline", "512",
            "--seconds", "3", "--json", timeout=120)

    t = threading.Thread(target=bench)
    t.start()
    plain = tls_server._s.client()
    deadline = time.monotonic() + 30
    while plain.call("PUBSUB", "NUMSUB", "bench.0.x")[1] != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # publishing by now
    os.kill(tls_server.pid, signal.SIGSTOP)
    try:
        time.sleep(1)
    finally:
        os.kill(tls_server.pid, signal.SIGCONT)
    t.join()
    out = json.loads(result["res"].stdout)
    assert out["published"] > 0
    assert out["delivered"] == out["expected"] == 2 * out["published"]
    assert out["loss"] == 0 and out["order_violations"] == 0


@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_large_values_and_pipelines_through_tls(tls_server):
    c = tls_server.client()
    big = bytes(range(256)) * (1 << 16)  # 16 MiB
    assert c.call("ECHO", big, timeout=60) == big
    n = 10000
    c.send_raw(b"".join(encode("ECHO", str(i)) for i in range(n)))
    assert c.read_many(n, timeout=120) == [str(i).encode() for i in range(n)]
    # A half frame over TLS, then the rest.
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
    c.expect_nothing(0.3)
    c.send_raw(b"lo\r\n")
    assert c.read_raw() == b"$5\r\nhello\r\n"
    # A protocol error over TLS: the reply, then the close.
    c.send_raw(b"*1\r\n$-3\r\n")
    assert c.recv_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"
    assert tls_server.client().call_raw("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_redis_cli_tls_resp3(tls_server):
    cp = tls_server.cli("PING", protocol=3)
    assert cp.returncode == 0 and cp.stdout == b"PONG\n", cp
    cp = tls_server.cli("--no-raw", "HELLO", "3", protocol=3)
    assert cp.returncode == 0 and b'"proto" => (integer) 3' in cp.stdout, cp
    cp = tls_server.cli("--no-raw", "CLIENT", "INFO", protocol=3)
    assert cp.returncode == 0 and b"resp=3" in cp.stdout, cp


@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_redis_py_ssl(tls_server):
    r = tls_server.redis()
    assert r.ping() is True
    assert r.echo(b"\x00tls") == b"\x00tls"
    p = r.pubsub()
    p.subscribe("pyssl")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert r.publish("pyssl", "m") == 1
    m = p.get_message(timeout=5)
    assert (m["type"], m["data"]) == ("message", b"m")
    p.close()


def _refused(port, ctx):
    """True if the server refuses the TLS session: the handshake fails, or
    (TLS 1.3: the client finishes first) the first read hits the alert or EOF."""
    try:
        c = RespClient(port, tls=ctx, timeout=10)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    try:
        c.send("PING")
        r = c.read(timeout=10)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    finally:
        c.close()
    return False  # served: not refused (whatever r was)


@pytest.mark.parametrize("tls_server", ["mtls"], indirect=True)
def test_mutual_tls_requires_a_certificate_from_the_ca(tls_server, certs):
    assert _refused(tls_server.port, client_context(certs, None)), "no client certificate accepted"
    assert _refused(tls_server.port, client_context(certs, "rogue")), \
        "certificate of another CA accepted"
    cp = tls_server._s.cli("PING", tls_args=["--tls", "--cacert", certs["ca"]],
                           port=tls_server.port)
    assert b"PONG" not in cp.stdout, cp
    # The right certificate still works, and so does everyone else.
    assert tls_server.client().call_raw("PING") == b"+PONG\r\n"
    assert tls_server._s.client().call_raw("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("tls_server", ["tls"], indirect=True)
def test_plain_tls_needs_no_client_certificate(tls_server, certs):
    c = RespClient(tls_server.port, tls=client_context(certs, None))
    assert c.call_raw("PING") == b"+PONG\r\n"
    c.close()


@pytest.mark.parametrize("tls_server", ["tls", "mtls"], indirect=True)
def test_garbage_and_plaintext_on_the_tls_port(tls_server, certs):
    for data in (encode("PING"), b"\x16\x03\x01\x00\x05hello", b"\x00" * 1000,
                 b"GET / HTTP/1.1\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
        s.sendall(data)
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionError):
            pass
        s.close()
        assert b"+PONG" not in got
    # A TLS client on the plain port fails; nothing breaks.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        RespClient(tls_server.plain_port, tls=client_context(certs, "good"), timeout=5)
    # A TLS client that connects and never handshakes does not block others.
    idle = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
    try:
        assert tls_server.client().call_raw("PING") == b"+PONG\r\n"
    finally:
        idle.close()
    assert tls_server.client().call_raw("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("tls_server", ["tls"], indirect=True)
def test_commands_sent_with_the_clients_finished_are_answered(tls_server, certs):
    # A client may send its first commands in the same segment as its
    # handshake Finished. The server reads ahead, so those records arrive
    # with the handshake's last read and sit in OpenSSL, not in the socket:
    # they must be answered without waiting for more input.
    ctx = client_context(certs)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    s = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    s.sendall(outgoing.read())
                data = s.recv(65536)
                assert data, "the server closed during the handshake"
                incoming.write(data)
        # Done on the client's side; its Finished is still in `outgoing`.
        tls.write(encode("PING") + encode("ECHO", "early"))
        s.sendall(outgoing.read())  # Finished and both commands in one send
        got = b""
        while b"$5\r\nearly\r\n" not in got:
            data = s.recv(65536)  # times out (fails) if the server waits
            assert data, f"closed; got {got!r}"
            incoming.write(data)
            while True:
                try:
                    got += tls.read(65536)
                except ssl.SSLWantReadError:
                    break
        assert got == b"+PONG\r\n$5\r\nearly\r\n"
    finally:
        s.close()


@pytest.mark.parametrize("tls_server", ["tls"], indirect=True)
def test_slow_tls_subscriber_is_cut_off(tls_server, certs):
    admin = tls_server._s.client()
    admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", tls_server.port))
    raw = client_context(certs).wrap_socket(raw, server_hostname="127.0.0.1")
    slow = RespClient.__new__(RespClient)
    slow.sock, slow.timeout, slow.buf, slow.pos, slow.eof = raw, 10.0, bytearray(), 0, False
    slow_id = slow.call("CLIENT", "ID")
    slow.send("SUBSCRIBE", "tlsflood")
    slow.read()
    pub = tls_server._s.client()
    frame = encode("PUBLISH", "tlsflood", b"t" * (16 << 10))
    sent = 0
    deadline = time.monotonic() + 60
    while bytes(admin.call("CLIENT", "LIST", "ID", str(slow_id))) != b"":
        assert sent < 40 << 20, f"slow TLS subscriber not cut off after {sent >> 20} MiB"
        assert time.monotonic() < deadline
        pub.send_raw(frame * 32)
        pub.read_many(32, timeout=30)
        sent += 32 * (16 << 10)
    tls_server._s.wait_log("overcoming of output buffer limits")
    raw.close()
    assert tls_server.client().call_raw("PING") == b"+PONG\r\n"


def test_a_client_that_never_handshakes_is_closed_after_the_timeout(start_server, certs):
    server = start_server(tls_files={"cert": certs["cert"], "key": certs["key"]},
                          config="[limits]\ntls_handshake_timeout_ms = 500\n")
    port = TlsServer(server, certs, False).port
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    try:
        assert idle.recv(1) == b"", "the server must close a connection that never handshakes"
    except ConnectionResetError:
        pass
    finally:
        idle.close()
    waited = time.monotonic() - started
    assert 0.3 < waited < 5, f"closed after {waited:.2f}s; the timeout is 0.5 s"
    # Others are unaffected.
    assert TlsServer(server, certs, False).client().call_raw("PING") == b"+PONG\r\n"
