"""Fixtures for the Kafka front-end tests: a running `runnel serve` with its
Kafka listener on a free port.

- `start_kafka(*flags, config=None)`: starts `runnel serve --data <tmp>
  --resp 127.0.0.1:0 --kafka 127.0.0.1:0 ...`, reads the Kafka port from the
  "listening: kafka on" log line, waits for "ready:" and returns a
  KafkaServer (`.bootstrap` is "127.0.0.1:PORT"). At teardown each server
  gets SIGTERM and must exit 0 with no sanitizer report.
- `kafka`: one default server per test.
- `kcat(server, *args, input=None)`: runs kcat against it.
- `raw(server)`: a raw socket client speaking Kafka frames (kafka_raw.py).
"""

import queue
import re
import shutil
import signal
import subprocess
import time

import pytest

# tests/kafka has no __init__.py (a package named `kafka` would shadow
# kafka-python), so this conftest cannot import tests/conftest.py by name;
# the sanitizer check is repeated here.
SANITIZER_EXIT = 86
SANITIZER_MARKERS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                     b"AddressSanitizer:DEADLYSIGNAL", b"UndefinedBehaviorSanitizer",
                     b"runtime error:")


def check_sane(res):
    for marker in SANITIZER_MARKERS:
        assert marker not in res.stderr, f"sanitizer report ({marker.decode()}):\n{res.describe()}"
    assert res.returncode != SANITIZER_EXIT, f"sanitizer exit code:\n{res.describe()}"
    assert res.returncode >= 0, f"died of signal {-res.returncode}:\n{res.describe()}"

READY_TIMEOUT = 60
STOP_TIMEOUT = 30
_LISTEN_RE = re.compile(rb"listening: (kafka-tls|kafka|resp) on [^ ]*:(\d+)")


class KafkaServer:
    def __init__(self, runnel, proc, data_dir, ports):
        self.runnel = runnel
        self.proc = proc
        self.pid = proc.pid
        self.data_dir = data_dir
        self.port = ports[b"kafka"]
        self.resp_port = ports.get(b"resp")
        self.tls_port = ports.get(b"kafka-tls")  # with --kafka-tls / [kafka] tls_listen
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.stopped = False

    def alive(self):
        return self.proc.popen.poll() is None

    def stderr_text(self):
        return self.proc.stderr.data().decode("utf-8", "replace")

    def redis(self):
        """A redis-py client of the same server's RESP listener."""
        import redis
        return redis.Redis(host="127.0.0.1", port=self.resp_port, socket_timeout=10)

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        self.proc.signal(signal.SIGTERM)
        res = self.proc.wait(STOP_TIMEOUT)
        check_sane(res)
        assert res.returncode == 0, f"runnel serve did not exit cleanly:\n{res.describe()}"
        return res

    def kcat(self, *args, input=None, timeout=60, check=True):
        if shutil.which("kcat") is None:
            pytest.skip("kcat not installed (scripts/setup test installs it)")
        argv = ["kcat", "-b", self.bootstrap] + [str(a) for a in args]
        cp = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout)
        if check:
            assert cp.returncode == 0, f"{argv} failed ({cp.returncode}):\n{cp.stderr.decode()}"
        return cp


class Factory:
    def __init__(self, runnel, tmp_path):
        self.runnel = runnel
        self.tmp_path = tmp_path
        self.servers = []

    def __call__(self, *flags, config=None, data_dir=None):
        n = len(self.servers)
        data_dir = data_dir or str(self.tmp_path / f"data{n}")
        argv = ["serve", "--data", data_dir, "--resp", "127.0.0.1:0", "--kafka", "127.0.0.1:0",
                "--threads", "2", "--fsync", "never"]
        if config is not None:
            path = self.tmp_path / f"runnel{n}.toml"
            path.write_text(config)
            argv += ["--config", str(path)]
        argv += [str(f) for f in flags]
        proc = self.runnel.popen(*argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        ports = {}
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                line = proc.stderr.get_line(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                proc.kill9()
                res = proc.wait(10)
                raise AssertionError(f"server not ready:\n{res.describe()}")
            if line is None:
                res = proc.wait(10)
                raise AssertionError(f"server exited before ready:\n{res.describe()}")
            m = _LISTEN_RE.search(line)
            if m:
                ports[m.group(1)] = int(m.group(2))
            if b"ready:" in line:
                break
        s = KafkaServer(self.runnel, proc, data_dir, ports)
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
def start_kafka(runnel, tmp_path):
    f = Factory(runnel, tmp_path)
    yield f
    f.stop_all()


@pytest.fixture
def kafka(start_kafka):
    return start_kafka()
