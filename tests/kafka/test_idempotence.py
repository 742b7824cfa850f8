"""Issue 5: the idempotent producer (InitProducerId + per-producer sequence
checks, surviving a graceful restart and kill -9), CreatePartitions,
DescribeConfigs, and compressed batches read by runnel itself
(`runnel consume --dir`). Every wait is bounded."""

import struct
import time

import pytest

from kafka_raw import Raw, crc32c, metadata_v1_body, request, string, varint

ck = pytest.importorskip("confluent_kafka")

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
UNKNOWN_PRODUCER_ID = 59


# ---- raw frames --------------------------------------------------------------

def idem_batch(values, pid, epoch, seq, ts=1_700_000_000_000):
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    n = len(values)
    after_crc = struct.pack(">hiqqqhii", 0, n - 1, ts, ts, pid, epoch, seq, n) + recs
    tail = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(tail)) + tail


class Client:
    def __init__(self, server):
        self.raw = Raw(server.port)
        self.corr = 0

    def call(self, key, version, body):
        self.corr += 1
        self.raw.send(request(key, version, self.corr, body))
        corr, rest = self.raw.response()
        assert corr == self.corr
        return rest

    def init_producer_id(self, transactional_id=None):
        rest = self.call(22, 1, string(transactional_id) + struct.pack(">i", 60000))
        _throttle, err, pid, epoch = struct.unpack(">ihqh", rest[:16])
        return err, pid, epoch

    def create(self, topic):
        self.call(3, 1, metadata_v1_body([topic]))  # Metadata v1 auto-creates

    def produce(self, topic, batch):
        """Produce v7, acks=-1; (error, base offset) of the one partition."""
        body = (string(None) + struct.pack(">hi", -1, 5000) + struct.pack(">i", 1) + string(topic)
                + struct.pack(">i", 1) + struct.pack(">ii", 0, len(batch)) + batch)
        rest = self.call(0, 7, body)
        (name_len,) = struct.unpack(">h", rest[4:6])
        p = 6 + name_len + 4
        _index, err, base = struct.unpack(">ihq", rest[p:p + 14])
        return err, base

    def latest(self, topic):
        """ListOffsets v1: the high-water mark of partition 0."""
        body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(
            ">iiq", 1, 0, -1)
        rest = self.call(2, 1, body)
        (name_len,) = struct.unpack(">h", rest[4:6])
        p = 6 + name_len + 4
        _index, err, _ts, offset = struct.unpack(">ihqq", rest[p:p + 22])
        assert err == 0
        return offset

    def close(self):
        self.raw.close()


def test_duplicate_is_acknowledged_with_the_same_offset_and_stored_once(kafka):
    c = Client(kafka)
    c.create("idem-raw")
    err, pid, epoch = c.init_producer_id()
    assert (err, epoch) == (0, 0) and pid >= 0
    err2, pid2, _ = c.init_producer_id()
    assert err2 == 0 and pid2 != pid
    assert c.produce("idem-raw", idem_batch([b"a", b"b"], pid, 0, 0)) == (0, 0)
    assert c.produce("idem-raw", idem_batch([b"c"], pid, 0, 2)) == (0, 2)
    # Retries of either of the last batches: the original offsets, nothing stored.
    assert c.produce("idem-raw", idem_batch([b"c"], pid, 0, 2)) == (0, 2)
    assert c.produce("idem-raw", idem_batch([b"a", b"b"], pid, 0, 0)) == (0, 0)
    assert c.latest("idem-raw") == 3
    # A gap, an unknown producer that does not start at 0, an old epoch.
    assert c.produce("idem-raw", idem_batch([b"x"], pid, 0, 5))[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    assert c.produce("idem-raw", idem_batch([b"x"], pid2, 0, 3))[0] == UNKNOWN_PRODUCER_ID
    assert c.produce("idem-raw", idem_batch([b"e1"], pid, 1, 0)) == (0, 3)  # new epoch
    assert c.produce("idem-raw", idem_batch([b"x"], pid, 0, 3))[0] == INVALID_PRODUCER_EPOCH
    assert c.produce("idem-raw", idem_batch([b"e1b"], pid, 1, 1)) == (0, 4)
    assert c.latest("idem-raw") == 5
    # A plain (non-idempotent) batch is not checked.
    assert c.produce("idem-raw", idem_batch([b"p"], -1, -1, -1)) == (0, 5)
    c.close()
    records, _ = kafka.runnel.consume(kafka.data_dir, "idem-raw")
    assert [r["value"] for r in records] == ["a", "b", "c", "e1", "e1b", "p"]


def test_transactional_init_producer_id_is_refused(kafka):
    c = Client(kafka)
    assert c.init_producer_id("txn-1")[0] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    c.close()


@pytest.mark.parametrize("how", ["graceful", "kill9"])
def test_retry_after_restart_is_still_a_duplicate(start_kafka, how):
    s = start_kafka()
    c = Client(s)
    c.create("idem-restart")
    _, pid, _ = c.init_producer_id()
    assert c.produce("idem-restart", idem_batch([b"a"], pid, 0, 0)) == (0, 0)
    assert c.produce("idem-restart", idem_batch([b"b", b"c"], pid, 0, 1)) == (0, 1)
    c.close()
    if how == "graceful":
        s.stop()
    else:
        s.proc.kill9()
        s.proc.wait(10)
        s.stopped = True
    s2 = start_kafka(data_dir=s.data_dir)
    c = Client(s2)
    # The retry of the last batch, and of the one before, as after a lost answer.
    assert c.produce("idem-restart", idem_batch([b"b", b"c"], pid, 0, 1)) == (0, 1)
    assert c.produce("idem-restart", idem_batch([b"a"], pid, 0, 0)) == (0, 0)
    assert c.produce("idem-restart", idem_batch([b"z"], pid, 0, 9))[0] == \
        OUT_OF_ORDER_SEQUENCE_NUMBER
    assert c.produce("idem-restart", idem_batch([b"d"], pid, 0, 3)) == (0, 3)
    assert c.latest("idem-restart") == 4
    # Producer ids are never handed out again.
    _, pid_after, _ = c.init_producer_id()
    assert pid_after > pid
    c.close()


def test_confluent_idempotent_producer_exactly_once_in_order(kafka):
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic = "idem-ck"
    n = 10000
    p = Producer({"bootstrap.servers": kafka.bootstrap, "enable.idempotence": True,
                  "acks": "all", "linger.ms": 5})
    errors = []
    p.produce(topic, value=b"first", partition=0)  # creates the topic (metadata)
    assert p.flush(30) == 0
    for i in range(n):
        while True:
            try:
                p.produce(topic, value=f"m{i}".encode(), partition=0,
                          on_delivery=lambda err, msg: err and errors.append(err))
                break
            except BufferError:
                p.poll(0.1)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    assert errors == []
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 1)])
    got = []
    deadline = time.monotonic() + 40
    while len(got) < n and time.monotonic() < deadline:
        for m in c.consume(1000, 0.5):
            assert m.error() is None, m.error()
            got.append(m.value())
    c.close()
    assert got == [f"m{i}".encode() for i in range(n)]


# ---- CreatePartitions / DescribeConfigs --------------------------------------

def partition_count(bootstrap, topic):
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return len(md.topics[topic].partitions)


def test_create_partitions_with_both_admin_clients(kafka):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    a.create_topics([NewTopic("grow", num_partitions=2, replication_factor=1)])["grow"].result(10)
    a.create_partitions([NewPartitions("grow", 4)])["grow"].result(10)
    assert partition_count(kafka.bootstrap, "grow") == 4
    with pytest.raises(KafkaException) as e:
        a.create_partitions([NewPartitions("grow", 3)])["grow"].result(10)
    assert e.value.args[0].code() == 37  # INVALID_PARTITIONS
    with pytest.raises(KafkaException) as e:
        a.create_partitions([NewPartitions("no-such-topic", 3)])["no-such-topic"].result(10)
    assert e.value.args[0].code() == 3

    kp = pytest.importorskip("kafka")
    from kafka.admin import KafkaAdminClient
    from kafka.admin import NewPartitions as KpNewPartitions
    k = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    k.create_partitions({"grow": KpNewPartitions(total_count=6)})
    k.close()
    assert partition_count(kafka.bootstrap, "grow") == 6

    # The new partitions take records and keep them.
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": kafka.bootstrap})
    p.produce("grow", value=b"in-5", partition=5)
    assert p.flush(20) == 0
    records, _ = kafka.runnel.consume(kafka.data_dir, "grow", "--partition", "5")
    assert [r["value"] for r in records] == ["in-5"]
    assert kp is not None


def test_describe_configs(kafka):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    a = AdminClient({"bootstrap.servers": kafka.bootstrap})
    a.create_topics([NewTopic("cfg", num_partitions=1, replication_factor=1,
                              config={"retention.ms": "123456", "cleanup.policy": "compact"})]
                    )["cfg"].result(10)
    res = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "123456"
    assert configs["cleanup.policy"].value == "compact"
    assert configs["min.insync.replicas"].value == "1"
    for name in ("retention.bytes", "segment.bytes", "segment.ms", "max.message.bytes"):
        assert name in configs
    assert not configs["retention.ms"].is_default
    assert configs["retention.bytes"].is_default

    broker = ConfigResource(ConfigResource.Type.BROKER, "0")
    bconf = a.describe_configs([broker])[broker].result(10)
    assert bconf["broker.id"].value == "0"

    missing = ConfigResource(ConfigResource.Type.TOPIC, "no-such-topic")
    with pytest.raises(KafkaException) as e:
        a.describe_configs([missing])[missing].result(10)
    assert e.value.args[0].code() == 3  # UNKNOWN_TOPIC_OR_PARTITION


# ---- compressed batches read by runnel itself --------------------------------

@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_consume_dir_decodes_compressed_batches(kafka, codec):
    from confluent_kafka import Producer
    topic = f"z-{codec}"
    p = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": codec,
                  "linger.ms": 20})
    want = [f"{codec}-{i}-" + "x" * (i % 50) for i in range(300)]
    for v in want:
        p.produce(topic, value=v.encode(), partition=0)
    assert p.flush(20) == 0
    records, _ = kafka.runnel.consume(kafka.data_dir, topic)
    assert [r["value"] for r in records] == want
    assert [r["offset"] for r in records] == list(range(len(want)))
