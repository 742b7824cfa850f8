"""kcat 1.7.1 (librdkafka 2.0.2) against runnel's Kafka listener: metadata,
produce from a file with keys and headers, consume from beginning, offset
and timestamp, and every compression codec."""

import time

import pytest


def consume(kafka, topic, *extra, fmt="%o|%k|%s|%h\\n"):
    cp = kafka.kcat("-C", "-t", topic, "-e", "-q", "-f", fmt, *extra)
    return cp.stdout.decode().splitlines()


def test_metadata_lists_broker_and_topics(kafka, tmp_path):
    kafka.kcat("-P", "-t", "listed", input=b"x\n")
    out = kafka.kcat("-L").stdout.decode()
    assert f"broker 0 at {kafka.bootstrap}" in out
    assert 'topic "listed" with 1 partitions' in out
    assert "__runnel" not in out  # internal topics are not listed


def test_metadata_json_for_one_topic(kafka):
    kafka.kcat("-P", "-t", "one", input=b"x\n")
    out = kafka.kcat("-L", "-J", "-t", "one").stdout.decode()
    assert '"topic":"one"' in out and '"leader":0' in out


def test_produce_file_with_keys_and_headers_then_consume_from_beginning(kafka, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"k{i}:value {i}\n" for i in range(50)))
    kafka.kcat("-P", "-t", "events", "-K:", "-l", "-H", "h1=one", "-H", "h2=two", str(src))
    lines = consume(kafka, "events", "-o", "beginning")
    assert lines == [f"{i}|k{i}|value {i}|h1=one,h2=two" for i in range(50)]


def test_consume_from_an_offset_and_from_a_timestamp(kafka):
    kafka.kcat("-P", "-t", "ts", "-K:", input=b"".join(b"a%d:first %d\n" % (i, i) for i in range(5)))
    time.sleep(0.05)
    middle = int(time.time() * 1000)
    time.sleep(0.05)
    kafka.kcat("-P", "-t", "ts", "-K:", input=b"".join(b"b%d:second %d\n" % (i, i) for i in range(5)))
    assert consume(kafka, "ts", "-o", "3", fmt="%o %s\\n") == [f"{o} {v}" for o, v in [
        (3, "first 3"), (4, "first 4")] + [(5 + i, f"second {i}") for i in range(5)]]
    assert consume(kafka, "ts", "-o", f"s@{middle}", fmt="%o %k\\n") == [
        f"{5 + i} b{i}" for i in range(5)]
    assert consume(kafka, "ts", "-o", "-2", fmt="%o\\n") == ["8", "9"]  # two from the end


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec_round_trips(kafka, codec):
    topic = f"z-{codec}"
    values = [f"{codec} record {i} " + "x" * (i % 50) for i in range(300)]
    kafka.kcat("-P", "-t", topic, "-z", codec, "-K:",
               input="".join(f"k{i}:{v}\n" for i, v in enumerate(values)).encode())
    lines = consume(kafka, topic, "-o", "beginning", fmt="%o|%k|%s\\n")
    assert lines == [f"{i}|k{i}|{v}" for i, v in enumerate(values)]


def test_consumer_waits_for_new_records(kafka):
    import subprocess
    kafka.kcat("-P", "-t", "live", input=b"before\n")
    argv = ["kcat", "-b", kafka.bootstrap, "-C", "-t", "live", "-o", "beginning", "-c", "3",
            "-q", "-f", "%s\\n"]
    consumer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # parked in a long-poll Fetch
        kafka.kcat("-P", "-t", "live", input=b"after1\nafter2\n")
        out, err = consumer.communicate(timeout=20)
    finally:
        if consumer.poll() is None:
            consumer.kill()
    assert out.decode().splitlines() == ["before", "after1", "after2"], err.decode()
