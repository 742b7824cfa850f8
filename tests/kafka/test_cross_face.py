"""One namespace across faces (docs/protocols/kafka.md "One namespace"):
topics created over Kafka take PUBLISH appends from RESP; streams XADDed over
RESP are read by Kafka consumers with the documented mapping; records produced
over Kafka are read by XRANGE/XREAD as entries `<offset>-1`; DeleteTopics
removes a stream as DEL does."""

import threading
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


def _produce(bootstrap, topic, records, **conf):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    for key, value, headers in records:
        p.produce(topic, key=key, value=value, headers=headers)
    assert p.flush(20) == 0


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_xrange_and_xread_see_kafka_records_as_entries(start_kafka, codec):
    kafka = start_kafka()
    topic = f"kin-{codec}"
    _produce(kafka.bootstrap, topic,
             [("k0", "v0", [("h", b"x")]),
              (None, "v1", None),
              ("gone", None, None),  # a tombstone: only its key
              ("k3", "v3", [("a", b"1"), ("b", None)])],
             **{"compression.type": codec})
    r = kafka.redis()
    want = [(b"0-1", {b"key": b"k0", b"value": b"v0", b"h": b"x"}),
            (b"1-1", {b"value": b"v1"}),
            (b"2-1", {b"key": b"gone"}),
            (b"3-1", {b"key": b"k3", b"value": b"v3", b"a": b"1", b"b": b""})]
    assert r.xrange(topic) == want
    assert r.xrevrange(topic, count=2) == want[:1:-1]
    assert r.xrange(topic, "1", "2") == want[1:3]  # a bare ms names the offset
    assert r.xrange(topic, "(1-1", "+") == want[2:]
    assert r.xlen(topic) == 4
    assert r.xread({topic: "0"}) == [[topic.encode(), want]]
    assert r.xread({topic: "2-1"}) == [[topic.encode(), want[3:]]]
    info = r.xinfo_stream(topic)
    assert info["last-generated-id"] == b"3-1" and info["length"] == 4
    # Not a stream: XADD and XSETID answer WRONGTYPE, nothing is appended.
    with pytest.raises(Exception, match="WRONGTYPE"):
        r.xadd(topic, {"f": "v"})
    assert r.xlen(topic) == 4
    # XDEL hides a record from XRANGE (Kafka consumers see it until purged).
    assert r.xdel(topic, "1-1") == 1
    assert [e[0] for e in r.xrange(topic)] == [b"0-1", b"2-1", b"3-1"]
    # The same IDs after a restart.
    kafka.stop()
    again = start_kafka(data_dir=kafka.data_dir)
    r2 = again.redis()
    assert [e[0] for e in r2.xrange(topic)] == [b"0-1", b"2-1", b"3-1"]
    assert r2.xlen(topic) == 3
    assert r2.xrange(topic, "3", "3") == want[3:]


def test_xread_block_is_woken_by_kafka_produce(kafka):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    a.create_topics([NewTopic("kwake", num_partitions=1, replication_factor=1)])[
        "kwake"].result(10)
    r = kafka.redis()
    assert r.xrange("kwake") == []
    got = {}

    def reader():
        # After 0-0 on an empty topic: blocks until the first record, however
        # late this thread starts (so no race with the produce below).
        got["reply"] = kafka.redis().xread({"kwake": "0-0"}, block=15000)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    _produce(kafka.bootstrap, "kwake", [("k", "hello", None)])
    t.join(20)
    assert not t.is_alive()
    assert got["reply"] == [[b"kwake", [(b"0-1", {b"key": b"k", b"value": b"hello"})]]]
    # A consumer group reads the records too.
    r.xgroup_create("kwake", "g", id="0")
    _produce(kafka.bootstrap, "kwake", [(None, "second", None)])
    reply = r.xreadgroup("g", "c1", {"kwake": ">"}, count=10)
    assert [e[0] for e in reply[0][1]] == [b"0-1", b"1-1"]
    assert r.xack("kwake", "g", "0-1", "1-1") == 2


def test_durable_publish_history_reads_as_entries(start_kafka):
    kafka = start_kafka(config='[[topics]]\npattern = "hist.*"\ndurable = true\n')
    r = kafka.redis()
    for i in range(3):
        r.publish("hist.chat", f"m{i}")
    assert r.xrange("hist.chat") == [(f"{i}-1".encode(), {b"value": f"m{i}".encode()})
                                     for i in range(3)]
    assert r.xread({"hist.chat": "1-1"}, count=5) == [[b"hist.chat",
                                                       [(b"2-1", {b"value": b"m2"})]]]


def test_a_stream_keeps_hiding_records_of_other_faces(kafka):
    r = kafka.redis()
    r.xadd("mixed", {"f": "1"}, id="5-0")
    assert r.publish("mixed", "not-an-entry") == 0
    _produce(kafka.bootstrap, "mixed", [("k", "v", None)])
    r.xadd("mixed", {"f": "2"}, id="6-0")
    assert [e[0] for e in r.xrange("mixed")] == [b"5-0", b"6-0"]
    assert r.xlen("mixed") == 2
