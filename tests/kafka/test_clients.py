"""python3-confluent-kafka 1.7.0 and python3-kafka (kafka-python 2.0.2):
produce with acks 0/1/all, consume by assign() at offsets (groups are phase
2), admin create/delete topics."""

import pytest

ck = pytest.importorskip("confluent_kafka")
kp = pytest.importorskip("kafka")

from consume_helpers import ck_consume  # noqa: E402  (after the importorskips)


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_confluent_produce_and_assign_consume(kafka, acks):
    from confluent_kafka import Producer
    topic = f"ck-acks-{acks}"
    p = Producer({"bootstrap.servers": kafka.bootstrap, "acks": acks, "linger.ms": 5})
    reports = []
    for i in range(100):
        p.produce(topic, key=f"k{i}", value=f"v{i}", headers=[("h", f"{i}".encode())],
                  on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert p.flush(20) == 0
    assert all(err is None for err, _ in reports)
    if acks != "0":  # acks=0 reports no offsets
        assert sorted(o for _, o in reports) == list(range(100))
    msgs = ck_consume(kafka.bootstrap, topic, 0, 100)
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == [
        (i, f"k{i}".encode(), f"v{i}".encode()) for i in range(100)]
    assert msgs[7].headers() == [("h", b"7")]
    tail = ck_consume(kafka.bootstrap, topic, 95, 5)
    assert [m.offset() for m in tail] == [95, 96, 97, 98, 99]


def kp_consume(bootstrap, topic, offset, count):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, offset)
    got = []
    for m in c:
        got.append(m)
        if len(got) == count:
            break
    c.close()
    return got


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_kafka_python_produce_and_assign_consume(kafka, acks):
    from kafka import KafkaProducer
    topic = f"kp-acks-{acks}"
    p = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks=acks)
    futures = [p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                      headers=[("h", f"{i}".encode())]) for i in range(50)]
    p.flush(20)
    if acks != 0:
        assert [f.get(10).offset for f in futures] == list(range(50))
    p.close()
    msgs = kp_consume(kafka.bootstrap, topic, 0, 50)
    assert [(m.offset, m.key, m.value) for m in msgs] == [
        (i, f"k{i}".encode(), f"v{i}".encode()) for i in range(50)]
    assert msgs[3].headers == [("h", b"3")]
    assert [m.offset for m in kp_consume(kafka.bootstrap, topic, 48, 2)] == [48, 49]


def test_confluent_admin_creates_and_deletes_topics(kafka):
    from confluent_kafka.admin import AdminClient, NewTopic
    from confluent_kafka import KafkaException
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    fs = a.create_topics([NewTopic("made-by-admin", num_partitions=3, replication_factor=1)])
    fs["made-by-admin"].result(10)
    md = a.list_topics(timeout=10)
    assert len(md.topics["made-by-admin"].partitions) == 3
    fs = a.create_topics([NewTopic("made-by-admin", num_partitions=1, replication_factor=1)])
    with pytest.raises(KafkaException, match="already exists"):
        fs["made-by-admin"].result(10)
    fs = a.create_topics([NewTopic("bad-rf", num_partitions=1, replication_factor=3)])
    with pytest.raises(KafkaException, match="Replication factor"):
        fs["bad-rf"].result(10)
    a.delete_topics(["made-by-admin"])["made-by-admin"].result(10)
    assert "made-by-admin" not in a.list_topics(timeout=10).topics


def test_kafka_python_admin_creates_and_deletes_topics(kafka):
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError
    a = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    a.create_topics([NewTopic("kp-admin", num_partitions=2, replication_factor=1,
                              topic_configs={"retention.ms": "60000"})])
    assert "kp-admin" in a.list_topics()
    with pytest.raises(TopicAlreadyExistsError):
        a.create_topics([NewTopic("kp-admin", num_partitions=1, replication_factor=1)])
    a.delete_topics(["kp-admin"])
    assert "kp-admin" not in a.list_topics()
    a.close()


def test_kafka_topic_is_read_by_the_embedded_cli(kafka):
    """Cross-face: produced over Kafka, read with `runnel consume --dir`."""
    import json
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": kafka.bootstrap})
    for i in range(20):
        p.produce("cross", key=f"key{i}", value=f"value{i}", headers=[("src", b"kafka")])
    assert p.flush(20) == 0
    kafka.stop()
    res = kafka.runnel.run("consume", "--dir", kafka.data_dir, "--format", "json", "cross")
    rows = [json.loads(line) for line in res.out.splitlines()]
    assert [(r["offset"], r["key"], r["value"]) for r in rows] == [
        (i, f"key{i}", f"value{i}") for i in range(20)]
    assert rows[0]["headers"] == [{"key": "src", "value": "kafka"}]
