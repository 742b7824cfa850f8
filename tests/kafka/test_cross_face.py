"""One namespace across faces (docs/protocols/kafka.md "One namespace"):
topics created over Kafka take PUBLISH appends from RESP; streams XADDed over
RESP are read by Kafka consumers with the documented mapping; DeleteTopics
removes a stream as DEL does."""

import time

import pytest

ck = pytest.importorskip("confluent_kafka")

from consume_helpers import ck_consume  # noqa: E402  (after the importorskip)


def test_publish_appends_to_a_topic_created_over_kafka(kafka):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    a.create_topics([NewTopic("made-by-kafka", num_partitions=1, replication_factor=1)])[
        "made-by-kafka"].result(10)
    r = kafka.redis()
    sub = kafka.redis().pubsub()
    sub.subscribe("made-by-kafka")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    assert r.publish("made-by-kafka", "from-resp") == 1
    assert sub.get_message(timeout=5)["data"] == b"from-resp"
    sub.close()
    msgs = ck_consume(kafka.bootstrap, "made-by-kafka", 0, 1)
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == [(0, None, b"from-resp")]
    # A name that is no topic stays ephemeral.
    assert r.publish("never-made", "x") == 0
    assert r.exists("never-made") == 0


def test_xadd_entries_are_read_by_kafka_consumers(kafka):
    r = kafka.redis()
    ids = [r.xadd("orders", {"item": f"i{n}", "qty": str(n)}, id=f"{n + 1}-0") for n in range(5)]
    msgs = ck_consume(kafka.bootstrap, "orders", 0, 5)
    assert [m.key() for m in msgs] == ids  # key = the entry ID
    assert [m.value() for m in msgs] == [b""] * 5  # value empty, fields in headers
    assert msgs[2].headers() == [("item", b"i2"), ("qty", b"2")]


def test_kafka_delete_topics_removes_a_stream_as_del_does(kafka):
    from confluent_kafka.admin import AdminClient
    r = kafka.redis()
    for n in range(3):
        r.xadd("gone", {"n": str(n)})
    r.xgroup_create("gone", "g", id="0")
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    a.delete_topics(["gone"])["gone"].result(10)
    assert r.exists("gone") == 0
    r.xadd("gone", {"n": "fresh"}, id="1-0")
    assert r.xlen("gone") == 1
    assert r.xinfo_groups("gone") == []  # the old stream's group went with it


@pytest.mark.parametrize("codec", ["none", "gzip", "lz4", "zstd"])
def test_kafka_produce_reaches_resp_subscribers_live(kafka, codec):
    from confluent_kafka import Producer
    topic = f"live-{codec}"
    sub = kafka.redis().pubsub()
    sub.subscribe(topic)
    psub = kafka.redis().pubsub()
    psub.psubscribe("live-*")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    assert psub.get_message(timeout=5)["type"] == "psubscribe"
    p = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": codec,
                  "linger.ms": 20})
    for i in range(20):
        p.produce(topic, key=f"k{i}", value=f"m{i}")
    p.produce(topic, key="gone", value=None)  # a tombstone is not a message
    assert p.flush(20) == 0

    def drain(s, n):
        got = []
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            m = s.get_message(timeout=1)
            if m and m["type"] in ("message", "pmessage"):
                assert m["channel"] == topic.encode()
                got.append(m["data"])
        return got

    want = [f"m{i}".encode() for i in range(20)]
    assert drain(sub, 20) == want
    assert drain(psub, 20) == want
    assert sub.get_message(timeout=0.5) is None  # nothing for the tombstone
    sub.close()
    psub.close()
