"""Fixtures for the RESP front-end tests: a running `runnel serve`.

- `start_server(*flags, tls=False, mtls=False, config=None)`: starts
  `runnel serve --data <tmp> --resp 127.0.0.1:0 ...` (the kernel picks a free
  port; the test reads it from the "listening:" log line), waits for
  "ready:" on stderr and returns a RespServer. At teardown every server still
  running gets SIGTERM and must exit 0 within 30 s with no sanitizer report in
  its stderr (leaks fail the test); one that does not is SIGKILLed by PID.
- `server`: one default server per test.
- `resp`: parametrizes a test over RESP2 and RESP3 (Redis' pubsub.tcl
  `foreach resp {2 3}`).
- `certs`: a throwaway CA, server and client certificates made with
  `openssl req` in the test's temp dir (no keys are committed).
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import check_sane
from resp.resp_client import RespClient, Map

READY_TIMEOUT = 60
STOP_TIMEOUT = 30
_LISTEN_RE = re.compile(rb"listening: (resp(?:-tls)?) on [^ ]*:(\d+)")


class RespServer:
    def __init__(self, runnel, proc, data_dir, ports, tls_files=None):
        self.runnel = runnel
        self.proc = proc
        self.pid = proc.pid
        self.data_dir = data_dir
        self.port = ports.get(b"resp")
        self.plain_port = self.port  # the plain RESP port, also when seen through TLS
        self.tls_port = ports.get(b"resp-tls")
        self.tls_files = tls_files or {}
        self.stopped = False
        self._clients = []

    # ---- clients -----------------------------------------------------------

    def client(self, protocol=2, tls=None, port=None, **kw):
        """A raw RespClient; protocol=3 sends HELLO 3 first (and checks it worked)."""
        c = RespClient(port or (self.tls_port if tls else self.port), tls=tls, **kw)
        self._clients.append(c)
        if protocol == 3:
            r = c.call("HELLO", "3")
            assert isinstance(r, Map), f"HELLO 3 answered {r!r}"
        return c

    def redis(self, **kw):
        """A redis-py (RESP2) client on the plain port."""
        import redis
        kw.setdefault("socket_timeout", 10)
        r = redis.Redis(host="127.0.0.1", port=self.port, **kw)
        self._clients.append(r)
        return r

    def cli_argv(self, *args, protocol=2, tls_args=(), port=None):
        """The redis-cli command line for `args` against this server."""
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(port or self.port)]
        if protocol == 3:
            argv.append("-3")
        argv += list(tls_args)
        return argv + [str(a) for a in args]

    def cli(self, *args, protocol=2, tls_args=(), port=None, input=None, timeout=30):
        """Runs redis-cli against this server; returns CompletedProcess (bytes)."""
        argv = self.cli_argv(*args, protocol=protocol, tls_args=tls_args, port=port)
        return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients = []

    # ---- the process -------------------------------------------------------

    def alive(self):
        return self.proc.popen.poll() is None

    def stderr_text(self):
        return self.proc.stderr.data().decode("utf-8", "replace")

    def wait_log(self, needle, timeout=10):
        """Waits until stderr contains `needle` (bytes or str)."""
        if isinstance(needle, str):
            needle = needle.encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.proc.stderr.data():
                return True
            time.sleep(0.05)
        raise AssertionError(f"server never logged {needle!r}:\n{self.stderr_text()[-4000:]}")

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def stop(self):
        """SIGTERM; asserts a clean exit (code 0) and no sanitizer report."""
        if self.stopped:
            return
        self.stopped = True
        self.close_clients()
        self.proc.signal(signal.SIGTERM)
        res = self.proc.wait(STOP_TIMEOUT)
        check_sane(res)
        assert res.returncode == 0, f"runnel serve did not exit cleanly on SIGTERM:\n{res.describe()}"
        return res


class ServerFactory:
    def __init__(self, runnel, tmp_path):
        self.runnel = runnel
        self.tmp_path = tmp_path
        self.servers = []

    def __call__(self, *flags, tls_files=None, config=None, threads=2, data_dir=None):
        n = len(self.servers)
        data_dir = data_dir or str(self.tmp_path / f"data{n}")
        argv = ["serve", "--data", data_dir, "--resp", "127.0.0.1:0", "--kafka", "off",
                "--threads", str(threads)]
        if tls_files:
            argv += ["--resp-tls", "127.0.0.1:0", "--tls-cert", tls_files["cert"],
                     "--tls-key", tls_files["key"]]
            if tls_files.get("ca"):
                argv += ["--tls-ca", tls_files["ca"]]
        if config is not None:
            path = self.tmp_path / f"runnel{n}.toml"
            path.write_text(config)
            argv += ["--config", str(path)]
        argv += [str(f) for f in flags]
        proc = self.runnel.popen(*argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        ports = {}
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            try:
                line = proc.stderr.get_line(timeout=max(left, 0.001))
            except queue.Empty:
                proc.kill9()
                res = proc.wait(10)
                raise AssertionError(f"server not ready after {READY_TIMEOUT}s:\n{res.describe()}")
            if line is None:
                res = proc.wait(10)
                raise AssertionError(f"server exited before ready:\n{res.describe()}")
            m = _LISTEN_RE.search(line)
            if m:
                ports[m.group(1)] = int(m.group(2))
            if b"ready:" in line:
                break
        s = RespServer(self.runnel, proc, data_dir, ports, tls_files)
        self.servers.append(s)
        return s

    def stop_all(self):
        errors = []
        for s in self.servers:
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n\n".join(errors))


@pytest.fixture
def start_server(runnel, tmp_path):
    f = ServerFactory(runnel, tmp_path)
    yield f
    f.stop_all()  # runnel fixture's cleanup SIGKILLs by PID whatever did not stop


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def resp(request):
    return request.param


def null_for(resp):
    """The null bulk of a protocol: `$-1` in RESP2, `_` in RESP3."""
    from resp.resp_client import NULL_BULK, NULL
    return NULL_BULK if resp == 2 else NULL


# ---- TLS certificates ----------------------------------------------------------

def _openssl(*args, cwd):
    cp = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed:\n{cp.stderr.decode()}"


def make_certs(d):
    """CA, server (CN/SAN 127.0.0.1 and localhost) and client certs; PEM paths."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (scripts/setup test installs it)")
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=runnel test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                      ("client", "extendedKeyUsage=clientAuth")):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=d)
    # A second CA whose client certificate the server must refuse.
    _openssl("req", "-x509", *ec, "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2",
             "-subj", "/CN=other CA", cwd=d)
    _openssl("req", *ec, "-keyout", "rogue.key", "-out", "rogue.csr", "-subj", "/CN=rogue", cwd=d)
    (d / "rogue.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl("x509", "-req", "-in", "rogue.csr", "-CA", "other-ca.crt", "-CAkey", "other-ca.key",
             "-CAcreateserial", "-out", "rogue.crt", "-days", "2", "-extfile", "rogue.ext", cwd=d)
    return {k: str(d / v) for k, v in {
        "ca": "ca.crt", "cert": "server.crt", "key": "server.key",
        "client_cert": "client.crt", "client_key": "client.key",
        "rogue_cert": "rogue.crt", "rogue_key": "rogue.key"}.items()}


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))
