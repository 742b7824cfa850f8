"""`runnel bench kafka produce|consume|latency` and `runnel bench tcp` against
the real server: short runs whose JSON must agree with what the server holds,
checked with a real client (confluent-kafka's watermarks, kcat's records).
scripts/bench-kafka runs the same modes for docs/benchmarks.md."""

import json
import socket
import time

import pytest

ck = pytest.importorskip("confluent_kafka")


def bench(runnel, *args, expect=0):
    res = runnel.run("bench", *[str(a) for a in args], "--json", timeout=120, expect=expect)
    return json.loads(res.stdout) if expect == 0 else res


def end_offsets(server, topic, partitions):
    c = ck.Consumer({"bootstrap.servers": server.bootstrap, "group.id": "bench-check"})
    try:
        return [c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)]
    finally:
        c.close()


def test_produce_acks_match_the_end_offsets_and_consume_reads_each_once(kafka, runnel):
    out = bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--topic", "b.p",
                "-P", 3, "-c", 2, "--records", 10, "--size", 200, "--in-flight", 3,
                "--seconds", 0.5, "--fresh")
    assert out["mode"] == "produce" and out["errors"] == {}
    assert out["acked"] > 0 and out["acked"] == out["sent"]
    assert out["records_s"] > 0 and out["mb_s"] > 0 and out["wire_mb_s"] > out["mb_s"]
    ends = end_offsets(kafka, "b.p", 3)
    assert sum(ends) == out["acked"], ends

    got = bench(runnel, "kafka", "consume", "--target", kafka.bootstrap, "--topic", "b.p",
                "--crc", "--partition-max-bytes", 65536)
    assert got["complete"] and got["crc_checked"]
    assert got["records"] == out["acked"]
    assert got["partitions"] == 3
    assert got["fetches"] >= 3 and got["mb_s"] > 0

    # A real client reads the same records: 200-byte values, as many as the offsets say.
    cp = kafka.kcat("-C", "-t", "b.p", "-p", "0", "-o", "beginning", "-e", "-f", "%S\n")
    sizes = cp.stdout.split()
    assert len(sizes) == ends[0] and set(sizes) == {b"200"}

    # --fresh starts again from an empty topic; --max-records is exact here
    # (100 requests of one 10-record batch).
    again = bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--topic", "b.p",
                  "-P", 1, "-c", 1, "--records", 10, "--max-records", 1000, "--fresh",
                  "--seconds", 30)
    assert again["acked"] == again["sent"] == 1000 and again["requests"] == 100
    assert end_offsets(kafka, "b.p", 1) == [1000]


def test_produce_to_an_existing_topic_with_other_partitions_is_a_usage_error(kafka, runnel):
    bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--topic", "b.two", "-P", 2,
          "--max-records", 64)
    res = bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--topic", "b.two",
                "-P", 3, "--max-records", 64, expect=2)
    assert b"exists with 2 partitions" in res.stderr


def test_acks_zero_sends_without_answers_and_the_records_arrive(kafka, runnel):
    out = bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--topic", "b.a0",
                "-P", 1, "-c", 1, "--acks", 0, "--records", 5, "--max-records", 5000)
    assert out["sent"] == 5000 and out["acked"] == 0
    deadline = time.monotonic() + 20
    while end_offsets(kafka, "b.a0", 1) != [5000]:
        assert time.monotonic() < deadline, end_offsets(kafka, "b.a0", 1)
        time.sleep(0.2)


def test_latency_mode_loses_nothing_and_measures_every_record(kafka, runnel):
    out = bench(runnel, "kafka", "latency", "--target", kafka.bootstrap, "--rate", 2000,
                "--seconds", 1, "--max-wait-ms", 200)
    assert out["acked"] == out["sent"] >= 1000
    assert out["delivered"] == out["acked"]
    assert out["loss"] == 0 and out["order_violations"] == 0 and out["foreign"] == 0
    assert 0 < out["p50_us"] <= out["p99_us"] <= out["max_us"]
    # Each run starts from a fresh one-partition topic holding just its records.
    assert end_offsets(kafka, "bench.kafka.latency", 1) == [out["acked"]]
    again = bench(runnel, "kafka", "latency", "--target", kafka.bootstrap, "--rate", 1000,
                  "--records", 5, "--max-records", 200)
    assert again["delivered"] == again["acked"] == 200 and again["requests"] == 40
    assert end_offsets(kafka, "bench.kafka.latency", 1) == [200]


def test_consume_of_a_missing_topic_and_bad_flags_fail_clearly(kafka, runnel):
    res = bench(runnel, "kafka", "consume", "--target", kafka.bootstrap, "--topic", "nope",
                expect=1)
    assert b"topic 'nope' does not exist" in res.stderr
    # Asking must not have created it.
    res = bench(runnel, "kafka", "consume", "--target", kafka.bootstrap, "--topic", "nope",
                expect=1)
    assert b"does not exist" in res.stderr
    res = bench(runnel, "kafka", "produce", "--target", kafka.bootstrap, "--acks", 2, expect=2)
    assert b"--acks" in res.stderr
    res = bench(runnel, "kafka", "latency", "--target", kafka.bootstrap, "--size", 8, expect=2)
    assert b"--size" in res.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    res = bench(runnel, "kafka", "produce", "--target", f"127.0.0.1:{port}", expect=1)
    assert b"runnel bench kafka produce:" in res.stderr


def test_tcp_mode_moves_every_byte(runnel):
    out = bench(runnel, "tcp", "--seconds", 0.3, "--chunk", 65536)
    assert out["mode"] == "tcp" and out["bytes"] > 0 and out["mb_s"] > 0
