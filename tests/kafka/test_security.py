"""Kafka security: SASL (PLAIN, SCRAM-SHA-256) on the plain listener
(SASL_PLAINTEXT) and on the TLS listener (SASL_SSL), the TLS listener alone
(SSL) and mutual TLS, with librdkafka (python3-confluent-kafka, kcat) and
kafka-python — which use different SASL framings (SaslAuthenticate vs raw
tokens after SaslHandshake v0) — plus raw frames for the state machine.
Certificates are made at test time (tests/resp/conftest.make_certs)."""

import base64
import hashlib
import hmac
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest

from kafka_raw import Raw, metadata_v1_body, request, string
from resp.conftest import make_certs

ck = pytest.importorskip("confluent_kafka")
kp = pytest.importorskip("kafka")

USERS = {"alice": "alice-secret", "bob": "b0b,=pw"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("kafka-certs"))


def config(certs=None, sasl=False, tls_sasl=False, mechanisms=("PLAIN", "SCRAM-SHA-256")):
    text = "[kafka]\n"
    if certs:
        text += 'tls_listen = "127.0.0.1:0"\n'
    text += f"sasl = {str(sasl).lower()}\ntls_sasl = {str(tls_sasl).lower()}\n"
    text += "sasl_mechanisms = [" + ", ".join(f'"{m}"' for m in mechanisms) + "]\n"
    for name, pw in USERS.items():
        text += f'[[kafka.users]]\nname = "{name}"\npassword = "{pw}"\n'
    if certs:
        text += f'[tls]\ncert = "{certs["cert"]}"\nkey = "{certs["key"]}"\n'
    return text


# ---- clients -------------------------------------------------------------------------

def ck_conf(bootstrap, protocol, mechanism=None, user="alice", password=None, certs=None,
            client_cert=False):
    c = {"bootstrap.servers": bootstrap, "security.protocol": protocol}
    if mechanism:
        c.update({"sasl.mechanisms": mechanism, "sasl.username": user,
                  "sasl.password": USERS[user] if password is None else password})
    if certs:
        c["ssl.ca.location"] = certs["ca"]
        if client_cert:
            c.update({"ssl.certificate.location": certs["client_cert"],
                      "ssl.key.location": certs["client_key"]})
    return c


def ck_roundtrip(conf, topic, n=20):
    from confluent_kafka import Consumer, Producer, TopicPartition
    p = Producer(dict(conf, **{"linger.ms": 5, "message.timeout.ms": 20000}))
    reports = []
    for i in range(n):
        p.produce(topic, value=f"v{i}", on_delivery=lambda err, msg: reports.append(err))
    assert p.flush(25) == 0
    assert reports == [None] * n
    c = Consumer(dict(conf, **{"group.id": "unused", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m.value())
    c.close()
    assert got == [f"v{i}".encode() for i in range(n)]


def ck_broker_port(conf):
    from confluent_kafka.admin import AdminClient
    md = AdminClient(conf).list_topics(timeout=15)
    return [b.port for b in md.brokers.values()]


def kp_kwargs(bootstrap, protocol, mechanism=None, user="alice", password=None, certs=None,
              client_cert=False):
    kw = {"bootstrap_servers": bootstrap, "security_protocol": protocol,
          "api_version_auto_timeout_ms": 5000}
    if mechanism:
        kw.update(sasl_mechanism=mechanism, sasl_plain_username=user,
                  sasl_plain_password=USERS[user] if password is None else password)
    if certs:
        kw.update(ssl_cafile=certs["ca"], ssl_check_hostname=True)
        if client_cert:
            kw.update(ssl_certfile=certs["client_cert"], ssl_keyfile=certs["client_key"])
    return kw


def kp_roundtrip(kw, topic, n=20):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    p = KafkaProducer(**kw)
    for i in range(n):
        p.send(topic, value=f"v{i}".encode()).get(timeout=20)
    p.close(10)
    c = KafkaConsumer(group_id=None, enable_auto_commit=False, consumer_timeout_ms=5000, **kw)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = []
    deadline = time.monotonic() + 20
    for m in c:
        got.append(m.value)
        if len(got) == n or time.monotonic() > deadline:
            break
    c.close()
    assert got == [f"v{i}".encode() for i in range(n)]


def kcat_args(bootstrap, protocol, mechanism=None, user="alice", password=None, certs=None,
              client_cert=False):
    a = ["kcat", "-b", bootstrap, "-X", f"security.protocol={protocol}"]
    if mechanism:
        a += ["-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}",
              "-X", f"sasl.password={USERS[user] if password is None else password}"]
    if certs:
        a += ["-X", f"ssl.ca.location={certs['ca']}"]
        if client_cert:
            a += ["-X", f"ssl.certificate.location={certs['client_cert']}",
                  "-X", f"ssl.key.location={certs['client_key']}"]
    return a


def run(argv, input=None, timeout=40):
    return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def kcat_roundtrip(args, topic, n=20):
    if shutil.which("kcat") is None:
        pytest.skip("kcat not installed")
    lines = b"".join(f"v{i}\n".encode() for i in range(n))
    cp = run(args + ["-P", "-t", topic], input=lines)
    assert cp.returncode == 0, cp.stderr.decode()
    cp = run(args + ["-C", "-t", topic, "-o", "beginning", "-c", str(n), "-e", "-q"])
    assert cp.returncode == 0, cp.stderr.decode()
    assert cp.stdout == lines


def roundtrip(client, bootstrap, topic, protocol, **kw):
    if client == "confluent":
        ck_roundtrip(ck_conf(bootstrap, protocol, **kw), topic)
    elif client == "kafka-python":
        kp_roundtrip(kp_kwargs(bootstrap, protocol, **kw), topic)
    else:
        kcat_roundtrip(kcat_args(bootstrap, protocol, **kw), topic)


# ---- SASL_PLAINTEXT ------------------------------------------------------------------

@pytest.mark.parametrize("client", ["confluent", "kafka-python", "kcat"])
def test_sasl_plaintext_plain_and_scram_produce_and_consume(start_kafka, client):
    s = start_kafka(config=config(sasl=True))
    roundtrip(client, s.bootstrap, f"plain-{client}", "SASL_PLAINTEXT", mechanism="PLAIN")
    roundtrip(client, s.bootstrap, f"scram-{client}", "SASL_PLAINTEXT",
              mechanism="SCRAM-SHA-256", user="bob")
    assert s.alive()


def test_wrong_password_is_refused_and_the_server_keeps_serving(start_kafka):
    from confluent_kafka import KafkaError, Producer
    s = start_kafka(config=config(sasl=True))
    errors = []
    p = Producer(dict(ck_conf(s.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", password="nope"),
                      error_cb=errors.append))
    p.produce("t", value=b"x")
    deadline = time.monotonic() + 15
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, f"no authentication error: {errors}"
        p.poll(0.2)
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION][0]
    assert "Invalid user credentials" in auth.str(), auth.str()
    assert len(p) == 1  # never delivered
    p.purge()
    p.flush(1)
    # PLAIN through kcat: the message says why.
    if shutil.which("kcat"):
        cp = run(kcat_args(s.bootstrap, "SASL_PLAINTEXT", "PLAIN", password="nope") + ["-L"],
                 timeout=30)
        assert cp.returncode != 0
        assert b"Invalid username or password" in cp.stderr, cp.stderr.decode()
    # kafka-python's raw-token SASL (v0 handshake): the broker just closes.
    from kafka.errors import KafkaError as KpError
    with pytest.raises(KpError):
        kp.KafkaProducer(**dict(kp_kwargs(s.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256",
                                          password="nope"), api_version_auto_timeout_ms=2000))
    # An unknown user fails the same way as a wrong password.
    cp = run(kcat_args(s.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", user="mallory",
                       password="x") + ["-L"], timeout=30)
    assert cp.returncode != 0 and b"Invalid user credentials" in cp.stderr
    ck_roundtrip(ck_conf(s.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256"), "after-failures")
    assert "SASL authentication failed" in s.stderr_text()


def test_plaintext_client_on_a_sasl_listener_is_refused(start_kafka):
    s = start_kafka(config=config(sasl=True))
    cp = run(["kcat", "-b", s.bootstrap, "-L", "-m", "3"], timeout=30) if shutil.which(
        "kcat") else None
    if cp is not None:
        assert cp.returncode != 0
    r = Raw(s.port)
    r.send(request(3, 1, 1, metadata_v1_body([])))
    assert r.closed(), "a Metadata before authentication must close the connection"


# ---- raw frames: the state machine ---------------------------------------------------

def handshake(r, mechanism, version=1, corr=1):
    r.send(request(17, version, corr, string(mechanism)))
    c, body = r.response()
    assert c == corr
    err, n = struct.unpack(">hi", body[:6])
    mechs, pos = [], 6
    for _ in range(n):
        (ln,) = struct.unpack(">h", body[pos:pos + 2])
        mechs.append(body[pos + 2:pos + 2 + ln].decode())
        pos += 2 + ln
    return err, mechs


def authenticate(r, token, version=1, corr=2):
    r.send(request(36, version, corr, struct.pack(">i", len(token)) + token))
    c, body = r.response()
    assert c == corr
    (err,) = struct.unpack(">h", body[:2])
    (ln,) = struct.unpack(">h", body[2:4])
    msg = body[4:4 + ln].decode() if ln >= 0 else None
    pos = 4 + max(ln, 0)
    (tl,) = struct.unpack(">i", body[pos:pos + 4])
    token_out = body[pos + 4:pos + 4 + tl]
    rest = body[pos + 4 + tl:]
    lifetime = struct.unpack(">q", rest)[0] if version >= 1 else None
    return err, msg, token_out, lifetime


def scram_client_final(server_first, client_first_bare, password, wrong=False):
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    sig = hmac.new(stored, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    if wrong:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    server_sig = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    final = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
    return final, b"v=" + base64.b64encode(server_sig)


def test_raw_state_machine(start_kafka):
    s = start_kafka(config=config(sasl=True))
    # ApiVersions is allowed before authentication and lists both SASL APIs.
    r = Raw(s.port)
    r.send(request(18, 0, 7, b""))
    _, body = r.response()
    (n,) = struct.unpack(">i", body[2:6])
    ranges = {struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i])[0]:
              struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i])[1:] for i in range(n)}
    assert ranges[17] == (0, 1) and ranges[36] == (0, 1)
    # ... a Metadata is not: closed without an answer.
    r.send(request(3, 1, 8, metadata_v1_body([])))
    assert r.closed()

    # Unknown mechanism: 33 with the enabled list, then closed.
    r = Raw(s.port)
    assert handshake(r, "GSSAPI") == (33, ["PLAIN", "SCRAM-SHA-256"])
    assert r.closed()

    # SCRAM with a bad proof: 58 with a message, then closed.
    r = Raw(s.port)
    assert handshake(r, "SCRAM-SHA-256") == (0, ["PLAIN", "SCRAM-SHA-256"])
    bare = "n=alice,r=rawnonce123"
    err, msg, server_first, lifetime = authenticate(r, b"n,," + bare.encode())
    assert err == 0 and lifetime == 0
    server_first = server_first.decode()
    assert server_first.startswith("r=rawnonce123") and server_first.endswith(",i=4096")
    final, _ = scram_client_final(server_first, bare, USERS["alice"], wrong=True)
    err, msg, _, _ = authenticate(r, final, corr=3)
    assert err == 58 and "Invalid user credentials" in msg
    assert r.closed()

    # Before the handshake's SaslAuthenticate, nothing else either.
    r = Raw(s.port)
    assert handshake(r, "PLAIN")[0] == 0
    r.send(request(18, 0, 2, b""))
    assert r.closed()

    # A good SCRAM exchange (SaslAuthenticate v0): the server proves itself,
    # then Metadata is served; a second handshake is ILLEGAL_SASL_STATE.
    r = Raw(s.port)
    assert handshake(r, "SCRAM-SHA-256")[0] == 0
    bare = "n=alice,r=goodnonce"
    err, _, server_first, lifetime = authenticate(r, b"n,," + bare.encode(), version=0)
    assert err == 0 and lifetime is None
    final, expect_v = scram_client_final(server_first.decode(), bare, USERS["alice"])
    err, msg, server_final, _ = authenticate(r, final, version=0, corr=3)
    assert (err, server_final) == (0, expect_v), msg
    r.send(request(3, 1, 4, metadata_v1_body([])))
    assert r.response()[0] == 4
    assert handshake(r, "PLAIN", corr=5)[0] == 34
    r.close()

    # SaslHandshake v0: raw tokens follow (kafka-python's way).
    r = Raw(s.port)
    assert handshake(r, "PLAIN", version=0)[0] == 0
    token = b"\x00bob\x00" + USERS["bob"].encode()
    r.send(struct.pack(">i", len(token)) + token)
    assert r.recv_exact(4) == b"\x00\x00\x00\x00"
    r.send(request(3, 1, 9, metadata_v1_body([])))
    assert r.response()[0] == 9
    r.close()

    # Raw mode, a token over sasl.server.max.receive.size (524288): closed
    # before anything is allocated for it.
    r = Raw(s.port)
    assert handshake(r, "SCRAM-SHA-256", version=0)[0] == 0
    r.send(struct.pack(">i", 524289))
    assert r.closed()

    # Raw mode, wrong password: closed without an answer.
    r = Raw(s.port)
    assert handshake(r, "PLAIN", version=0)[0] == 0
    token = b"\x00bob\x00wrong"
    r.send(struct.pack(">i", len(token)) + token)
    assert r.closed()
    assert s.alive()


def test_sasl_apis_on_a_listener_without_sasl_answer_illegal_sasl_state(kafka):
    r = Raw(kafka.port)
    assert handshake(r, "PLAIN")[0] == 34
    err, msg, _, _ = authenticate(r, b"\x00a\x00b")
    assert err == 34 and msg
    r.send(request(3, 1, 3, metadata_v1_body([])))
    assert r.response()[0] == 3  # still open, still served


# ---- TLS -----------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["confluent", "kafka-python", "kcat"])
def test_tls_listener_produce_and_consume(start_kafka, certs, client):
    s = start_kafka(config=config(certs))
    tls = f"127.0.0.1:{s.tls_port}"
    roundtrip(client, tls, f"tls-{client}", "SSL", certs=certs)
    if client == "confluent":
        # Each listener advertises itself.
        assert ck_broker_port(ck_conf(tls, "SSL", certs=certs)) == [s.tls_port]
        assert ck_broker_port({"bootstrap.servers": s.bootstrap}) == [s.port]


def advertised(r):
    """(host, port) of the broker in Metadata v0 and in FindCoordinator v0."""
    r.send(request(3, 0, 1, struct.pack(">i", 0)))
    _, body = r.response()
    (n, node, hl) = struct.unpack(">iih", body[:10])
    assert n == 1 and node == 0
    md = (body[10:10 + hl].decode(), struct.unpack(">i", body[10 + hl:14 + hl])[0])
    r.send(request(10, 0, 2, string("g")))
    _, body = r.response()
    (err, node, hl) = struct.unpack(">hih", body[:8])
    assert err == 0
    fc = (body[8:8 + hl].decode(), struct.unpack(">i", body[8 + hl:12 + hl])[0])
    assert md == fc
    return md


def test_each_listener_advertises_itself(start_kafka, certs):
    s = start_kafka(config=config(certs))
    r = Raw(s.port)
    assert advertised(r) == ("127.0.0.1", s.port)
    r.close()
    r = Raw(s.tls_port)
    r.sock = ssl.create_default_context(cafile=certs["ca"]).wrap_socket(
        r.sock, server_hostname="127.0.0.1")
    assert advertised(r) == ("127.0.0.1", s.tls_port)
    r.close()
    # Configured ports (behind a NAT or proxy) are given as they are.
    text = config(certs).replace("[kafka]\n", "[kafka]\nadvertised_host = \"broker.example\"\n"
                                 "advertised_port = 19092\ntls_advertised_port = 19093\n")
    s2 = start_kafka(config=text)
    r = Raw(s2.port)
    assert advertised(r) == ("broker.example", 19092)
    r.close()
    r = Raw(s2.tls_port)
    r.sock = ssl.create_default_context(cafile=certs["ca"]).wrap_socket(
        r.sock, server_hostname="127.0.0.1")
    assert advertised(r) == ("broker.example", 19093)
    r.close()


def test_plaintext_and_silence_on_the_tls_port_are_closed(start_kafka, certs):
    s = start_kafka(config=config(certs) + "[limits]\ntls_handshake_timeout_ms = 300\n")
    r = Raw(s.tls_port)
    r.send(request(18, 0, 1, b""))
    assert r.closed()
    # A client that never starts its handshake is cut off at the timeout.
    r = Raw(s.tls_port)
    t0 = time.monotonic()
    assert r.closed(timeout=10)
    assert time.monotonic() - t0 < 5
    assert s.alive()


def test_sasl_ssl_scram(start_kafka, certs):
    s = start_kafka(config=config(certs, tls_sasl=True))
    tls = f"127.0.0.1:{s.tls_port}"
    roundtrip("confluent", tls, "sasl-ssl-ck", "SASL_SSL", mechanism="SCRAM-SHA-256", certs=certs)
    roundtrip("kafka-python", tls, "sasl-ssl-kp", "SASL_SSL", mechanism="SCRAM-SHA-256",
              user="bob", certs=certs)
    # SASL is per listener: the plain one stays PLAINTEXT here.
    ck_roundtrip({"bootstrap.servers": s.bootstrap}, "plain-still-open")
    # SASL is required on the TLS listener: an SSL-only client is refused.
    r = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
    ctx = ssl.create_default_context(cafile=certs["ca"])
    t = ctx.wrap_socket(r, server_hostname="127.0.0.1")
    t.sendall(request(3, 1, 1, metadata_v1_body([])))
    try:
        assert t.recv(100) == b""
    except (ssl.SSLError, ConnectionError):
        pass  # closed without close_notify
    t.close()


def test_mutual_tls_refuses_a_client_without_a_certificate(start_kafka, certs):
    # All from flags this time: --kafka-tls, --tls-cert, --tls-key, --tls-ca.
    s = start_kafka("--kafka-tls", "127.0.0.1:0", "--tls-cert", certs["cert"], "--tls-key",
                    certs["key"], "--tls-ca", certs["ca"])
    tls = f"127.0.0.1:{s.tls_port}"
    roundtrip("confluent", tls, "mtls", "SSL", certs=certs, client_cert=True)
    from kafka.errors import KafkaError as KpError
    # kafka-python lets the TLS alert through as ssl.SSLError (TLS 1.3: the
    # refusal arrives after its handshake, on the first write or read).
    with pytest.raises((KpError, ssl.SSLError)):
        kp.KafkaProducer(**dict(kp_kwargs(tls, "SSL", certs=certs),
                                api_version_auto_timeout_ms=2000))
    raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
    ctx = ssl.create_default_context(cafile=certs["ca"])
    with pytest.raises((ssl.SSLError, ConnectionError)):
        t = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        t.sendall(request(18, 0, 1, b""))
        # TLS 1.3: the server's refusal arrives after the client's handshake.
        if t.recv(100) == b"":
            raise ConnectionError("closed")
    assert s.alive()


# ---- configuration -------------------------------------------------------------------

def scram_credential(password, salt=b"carol's salt", iterations=4096):
    """Kafka's text form of a SCRAM-SHA-256 credential, as an operator would make it."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return (f"salt={b64(salt)},stored_key={b64(hashlib.sha256(client_key).digest())},"
            f"server_key={b64(server_key)},iterations={iterations}")


def test_a_stored_scram_credential_serves_scram_and_plain(start_kafka):
    USERS["carol"] = "carol-pw"
    try:
        text = config(sasl=True).replace(
            'name = "carol"\npassword = "carol-pw"\n',
            f'name = "carol"\nscram_sha256 = "{scram_credential("carol-pw")}"\n')
        assert "scram_sha256" in text and "carol-pw" not in text
        s = start_kafka(config=text)
        roundtrip("confluent", s.bootstrap, "stored-scram", "SASL_PLAINTEXT",
                  mechanism="SCRAM-SHA-256", user="carol")
        roundtrip("kafka-python", s.bootstrap, "stored-plain", "SASL_PLAINTEXT",
                  mechanism="PLAIN", user="carol")
        cp = run(kcat_args(s.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", user="carol",
                           password="carol-PW") + ["-L"], timeout=30)
        assert cp.returncode != 0 and b"Invalid user credentials" in cp.stderr
    finally:
        del USERS["carol"]


@pytest.mark.parametrize("bad, why", [
    ("[kafka]\nsasl = true\n", "at least one [[kafka.users]]"),
    ('[kafka]\nsasl_mechanisms = ["GSSAPI"]\n', "'GSSAPI' is not one of PLAIN, SCRAM-SHA-256"),
    ('[kafka]\nsasl_mechanisms = "PLAIN"\n', "must be an array"),
    ('[kafka]\nsasl = true\nsasl_mechanisms = []\n[[kafka.users]]\nname = "a"\npassword = "b"\n',
     "at least one of sasl_mechanisms"),
    ('[[kafka.users]]\nname = "a"\npassword = "b"\n[[kafka.users]]\nname = "a"\npassword = "c"\n',
     "'a' given twice"),
    ('[[kafka.users]]\nname = "a"\n', "'a' needs a password or a scram_sha256"),
    ('[[kafka.users]]\nname = "a"\npassword = "b"\nscram_sha256 = "salt=YQ=="\n',
     "'a' needs a password or a scram_sha256"),
    ('[[kafka.users]]\nname = "a"\nscram_sha256 = "salt=YQ==,iterations=4096"\n',
     "'a': scram_sha256: a SCRAM credential needs"),
    ('[[kafka.users]]\nname = "a"\npass = "b"\n', "unknown setting 'pass'"),
    ('[kafka]\ntls_listen = "127.0.0.1:0"\n', "needs tls cert and key"),
    ('[kafka]\ntls_listen = "nowhere"\n', "kafka.tls_listen"),
    ('[kafka]\nsasl = "yes"\n', "wrong type"),
])
def test_bad_security_settings_are_refused_at_start(runnel, tmp_path, bad, why):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(bad)
    res = runnel.run("serve", "--config", str(cfg), "--data", str(tmp_path / "d"),
                     "--resp", "127.0.0.1:0", "--kafka", "127.0.0.1:0", expect=None, timeout=30)
    assert res.returncode != 0
    assert why in res.stderr.decode(), res.describe()
