"""`runnel bench pubsub|xadd|xread` against the real server: short runs whose
JSON must account for every message (docs/benchmarks.md explains the
measurements; scripts/bench-pubsub and scripts/bench-streams run them
side by side with redis-server)."""

import json
import socket


def bench(runnel, *args):
    res = runnel.run("bench", *args, "--json", timeout=120)
    return json.loads(res.stdout)


def test_bench_xadd_counts_every_entry(server, runnel):
    target = f"127.0.0.1:{server.port}"
    out = bench(runnel, "xadd", "--target", target, "-p", "3", "--pipeline", "16",
                "--seconds", "0.5", "--streams", "2")
    assert out["mode"] == "xadd" and out["errors"] == 0
    assert out["written"] > 0 and out["xadd_s"] > 0
    assert out["reply_p50_us"] > 0
    r = server.redis()
    assert r.xlen("bench.stream.0") + r.xlen("bench.stream.1") == out["written"]
    # A second run starts from empty streams (DEL first) unless --keep.
    again = bench(runnel, "xadd", "--target", target, "--messages", "100", "--streams", "2")
    assert again["written"] == 100
    assert r.xlen("bench.stream.0") + r.xlen("bench.stream.1") == 100
    bench(runnel, "xadd", "--target", target, "--messages", "10", "--keep", "--streams", "2")
    assert r.xlen("bench.stream.0") + r.xlen("bench.stream.1") == 110


def test_bench_xread_delivers_every_entry_in_order(server, runnel, resp):
    out = bench(runnel, "xread", "--target", f"127.0.0.1:{server.port}", "--resp", str(resp),
                "--rate", "2000", "--seconds", "0.5", "--readers", "2", "--count", "50")
    assert out["written"] > 0
    assert out["delivered"] == out["expected"] == 2 * out["written"]
    assert out["loss"] == 0 and out["order_violations"] == 0 and out["foreign"] == 0
    assert out["latency_samples"] == out["delivered"]


def test_bench_pubsub_delivers_every_message(server, runnel):
    out = bench(runnel, "pubsub", "--target", f"127.0.0.1:{server.port}", "-s", "2",
                "--seconds", "0.5")
    assert out["published"] > 0
    assert out["delivered"] == out["expected"] == 2 * out["published"]
    assert out["loss"] == 0 and out["order_violations"] == 0
    # The tool's CPU per delivered message: what scripts/bench-pubsub's TLS
    # ceiling is computed from.
    assert out["cpu_us_per_msg"] > 0


def test_bench_against_no_server_fails_clearly(runnel):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    res = runnel.run("bench", "xadd", "--target", f"127.0.0.1:{port}", "--seconds", "0.2",
                     expect=1)
    assert b"runnel bench xadd:" in res.stderr
    res = runnel.run("bench", "xread", "--target", "127.0.0.1:1", "--size", "8", expect=2)
    assert b"--size" in res.stderr
