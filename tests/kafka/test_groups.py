"""Kafka consumer groups (the group coordinator, docs/protocols/kafka.md
"Consumer groups") with real clients: python3-confluent-kafka (librdkafka
2.0.2: JoinGroup v5 with MEMBER_ID_REQUIRED, SyncGroup 3, OffsetCommit 7,
OffsetFetch 5) and kafka-python 2.0.2 (JoinGroup 2, OffsetCommit 2,
OffsetFetch 1), plus raw frames for the error codes.

Consumers use session.timeout.ms 6000 (the broker's minimum) and
heartbeat.interval.ms 500 so rebalances after a kill take seconds. Every
wait has a deadline."""

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

from kafka_raw import Raw, request, string

ck = pytest.importorskip("confluent_kafka")
kp = pytest.importorskip("kafka")

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(20)


def produce(bootstrap, topic, values, partitions):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions)
    assert p.flush(20) == 0


class ChildConsumer:
    """group_consumer.py in a subprocess; its JSON lines are folded into
    `assigned` (the current assignment), `msgs` and `closed`."""

    def __init__(self, bootstrap, group, topic, name, instance=None):
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "group_consumer.py"), bootstrap, group, topic,
             name] + ([instance] if instance else []), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.assigned = None  # None until the first assignment
        self.msgs = []
        self.closed = False
        self.events = []  # "assign" / "revoke", in order
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            with self.lock:
                if "assign" in ev:
                    self.assigned = set(ev["assign"])
                    self.events.append("assign")
                elif "revoke" in ev:
                    self.assigned = set()
                    self.events.append("revoke")
                elif "msg" in ev:
                    self.msgs.append(tuple(ev["msg"]))
                elif "closed" in ev:
                    self.closed = True

    def assignment(self):
        with self.lock:
            return None if self.assigned is None else set(self.assigned)

    def values(self):
        with self.lock:
            return {m[2] for m in self.msgs}

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        self.thread.join(5)
        assert self.closed, f"{self.name} did not close cleanly"

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def partitioned_exactly_once(consumers, partitions):
    """Each partition assigned to exactly one of `consumers`, all of them
    holding at least one (when there are enough partitions)."""
    seen = []
    for c in consumers:
        a = c.assignment()
        if a is None:
            return False
        seen += sorted(a)
        if not a and len(consumers) <= partitions:
            return False
    return sorted(seen) == list(range(partitions))


def test_group_of_three_shares_partitions_and_rebalances_on_join_leave_and_kill(kafka):
    topic, group = "orders", "g3"
    create_topic(kafka.bootstrap, topic, 6)
    consumers = [ChildConsumer(kafka.bootstrap, group, topic, f"c{i}") for i in range(3)]
    try:
        wait_until(lambda: partitioned_exactly_once(consumers, 6), 30, "3 consumers x 6 partitions")
        assert all(len(c.assignment()) == 2 for c in consumers)
        # Started together, they formed one generation (the initial
        # rebalance delay): one assignment each, no rebalance before it.
        assert [c.events for c in consumers] == [["assign"]] * 3
        first = [f"a{i}" for i in range(60)]
        produce(kafka.bootstrap, topic, first, 6)
        everyone = lambda: set().union(*(c.values() for c in consumers))
        wait_until(lambda: set(first) <= everyone(), 30, "the first 60 messages")

        # A fourth member joins: the six partitions are spread over four.
        consumers.append(ChildConsumer(kafka.bootstrap, group, topic, "c3"))
        wait_until(lambda: partitioned_exactly_once(consumers, 6), 30, "rebalance after a join")

        # One leaves cleanly (LeaveGroup): its partitions move at once.
        leaving = consumers.pop(0)
        leaving.close()
        wait_until(lambda: partitioned_exactly_once(consumers, 6), 20, "rebalance after a leave")

        # One is killed: it is dropped when its 6 s session times out.
        killed = consumers.pop(0)
        killed.kill9()
        t0 = time.monotonic()
        wait_until(lambda: partitioned_exactly_once(consumers, 6), 30, "rebalance after kill -9")
        assert time.monotonic() - t0 > 2, "the killed member's partitions moved before its session ended"
        assert all(len(c.assignment()) == 3 for c in consumers)

        second = [f"b{i}" for i in range(60)]
        produce(kafka.bootstrap, topic, second, 6)
        wait_until(lambda: set(second) <= set().union(*(c.values() for c in consumers)), 30,
                   "the second 60 messages, consumed by the two survivors")
    finally:
        for c in consumers:
            c.cleanup()


def ck_consumer(bootstrap, group, **extra):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest",
            "enable.auto.commit": False}
    conf.update(extra)
    return Consumer(conf)


def take(consumer, n, timeout=20):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is None or m.error():
            continue
        got.append((m.partition(), m.offset(), m.value().decode()))
    assert len(got) == n, f"got {len(got)} of {n} messages"
    return got


def test_commits_resume_after_restart_and_after_kill9_of_the_broker(start_kafka):
    from confluent_kafka import TopicPartition
    s = start_kafka()
    topic, group = "resume", "rg"
    create_topic(s.bootstrap, topic, 2)
    values = [f"v{i}" for i in range(100)]
    produce(s.bootstrap, topic, values, 2)

    c = ck_consumer(s.bootstrap, group)
    c.subscribe([topic])
    first = take(c, 40)
    c.commit(asynchronous=False)
    c.close()
    s.stop()

    s = start_kafka(data_dir=s.data_dir)  # graceful restart
    c = ck_consumer(s.bootstrap, group)
    committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=20)
    positions = {tp.partition: tp.offset for tp in committed}
    last = {}
    for p, o, _ in first:
        last[p] = max(last.get(p, -1), o)
    # The next offset to read per partition; -1001 (librdkafka's "invalid",
    # from the broker's -1) where nothing was committed.
    assert positions == {p: last[p] + 1 if p in last else -1001 for p in (0, 1)}
    c.subscribe([topic])
    second = take(c, 30)
    for p, o, _ in second:
        assert o >= max(positions[p], 0)
    assert not {v for _, _, v in first} & {v for _, _, v in second}, "re-delivered after commit"
    c.commit(asynchronous=False)  # answered only once durable
    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True

    s = start_kafka(data_dir=s.data_dir)  # after kill -9
    c.close()  # its broker is gone; the member is simply forgotten
    c = ck_consumer(s.bootstrap, group)
    c.subscribe([topic])
    rest = take(c, 30)
    assert not {v for _, _, v in first + second} & {v for _, _, v in rest}
    assert {v for _, _, v in first + second + rest} == set(values)
    c.close()


def test_kafka_python_group_consumers(kafka):
    from kafka import KafkaConsumer
    topic, group = "kp-group", "kpg"
    create_topic(kafka.bootstrap, topic, 4)
    values = [f"k{i}" for i in range(40)]
    produce(kafka.bootstrap, topic, values, 4)

    got = [[], []]
    assignments = [set(), set()]
    stop = threading.Event()

    def run(i):
        c = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          session_timeout_ms=6000, heartbeat_interval_ms=500)
        while not stop.is_set():
            for recs in c.poll(timeout_ms=200).values():
                got[i].extend(r.value.decode() for r in recs)
            assignments[i] = {tp.partition for tp in c.assignment()}
            if got[i]:
                c.commit()
        c.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: set(values) <= set(got[0]) | set(got[1]), 40, "all 40 messages")
        wait_until(lambda: len(assignments[0]) == 2 and len(assignments[1]) == 2 and
                   assignments[0] | assignments[1] == {0, 1, 2, 3}, 30, "two members, 2 partitions each")
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    # Committed by kafka-python (OffsetCommit v2) and read back (OffsetFetch v1).
    c = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group, enable_auto_commit=False)
    from kafka import TopicPartition
    assert sum(c.committed(TopicPartition(topic, p)) or 0 for p in range(4)) == 40
    c.close()


def test_list_and_describe_groups_with_the_admin_client(kafka):
    from confluent_kafka.admin import AdminClient
    topic, group = "described", "dg"
    create_topic(kafka.bootstrap, topic, 2)
    c = ck_consumer(kafka.bootstrap, group, **{"client.id": "describe-me"})
    c.subscribe([topic])
    wait_until(lambda: (c.poll(0.1), len(c.assignment()) == 2)[1], 30, "an assignment")
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    groups = {g.id: g for g in admin.list_groups(timeout=20)}
    assert group in groups
    g = groups[group]
    assert g.state == "Stable"
    assert g.protocol_type == "consumer"
    assert g.protocol == "range"
    assert len(g.members) == 1
    m = g.members[0]
    assert m.client_id == "describe-me"
    assert m.client_host == "/127.0.0.1"
    assert m.id.startswith("describe-me-")
    assert topic.encode() in m.metadata and topic.encode() in m.assignment
    c.close()
    wait_until(lambda: {g.id: g for g in admin.list_groups(timeout=20)}[group].state == "Empty", 10,
               "the group to be Empty after its member left")


# ---- raw frames ---------------------------------------------------------------

class Body:
    def __init__(self, data):
        self.d, self.i = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.i)
        self.i += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def str(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.d[self.i:self.i + n].decode()
        self.i += n
        return v

    def bytes(self):
        n = self.take(">i")
        v = self.d[self.i:self.i + max(n, 0)]
        self.i += max(n, 0)
        return v


def join_v0(group, member, session_ms=6000, ptype="consumer", protocols=(("range", b"md"),)):
    body = string(group) + struct.pack(">i", session_ms) + string(member) + string(ptype)
    body += struct.pack(">i", len(protocols))
    for name, md in protocols:
        body += string(name) + struct.pack(">i", len(md)) + md
    return body


def join_v4(group, member, session_ms=6000):
    return (string(group) + struct.pack(">ii", session_ms, 30000) + string(member) +
            string("consumer") + struct.pack(">i", 1) + string("range") + struct.pack(">i", 0))


def call(r, key, version, corr, body):
    r.send(request(key, version, corr, body))
    got_corr, resp = r.response()
    assert got_corr == corr
    return Body(resp)


def test_group_errors_over_raw_frames(kafka):
    r = Raw(kafka.port, timeout=20)
    # Heartbeat (12) v0 for a group nobody joined: UNKNOWN_MEMBER_ID.
    assert call(r, 12, 0, 1, string("rawg") + struct.pack(">i", 0) + string("ghost")).take(">h") == 25
    # JoinGroup (11) v0 adds a new member at once; answered after the initial delay.
    b = call(r, 11, 0, 2, join_v0("rawg", ""))
    assert b.take(">h") == 0
    gen, proto, leader, member = b.take(">i"), b.str(), b.str(), b.str()
    assert gen == 1 and proto == "range" and leader == member and member.startswith("raw-")
    assert b.take(">i") == 1 and b.str() == member and b.bytes() == b"md"
    # Heartbeat with the wrong generation / an unknown member.
    assert call(r, 12, 0, 3, string("rawg") + struct.pack(">i", 7) + string(member)).take(">h") == 22
    assert call(r, 12, 0, 4, string("rawg") + struct.pack(">i", 1) + string("nope")).take(">h") == 25
    # SyncGroup (14) v0 from a non-member; then from the leader.
    sync = lambda m, g, a: (string("rawg") + struct.pack(">i", g) + string(m) + a)
    assert call(r, 14, 0, 5, sync("stranger", 1, struct.pack(">i", 0))).take(">h") == 25
    assert call(r, 14, 0, 6, sync(member, 2, struct.pack(">i", 0))).take(">h") == 22
    b = call(r, 14, 0, 7, sync(member, 1, struct.pack(">i", 1) + string(member) +
                               struct.pack(">i", 3) + b"abc"))
    assert b.take(">h") == 0 and b.bytes() == b"abc"
    assert call(r, 12, 0, 8, string("rawg") + struct.pack(">i", 1) + string(member)).take(">h") == 0
    # A session timeout below the minimum; a protocol nobody else supports.
    assert call(r, 11, 0, 9, join_v0("rawg", "", session_ms=1000)).take(">h") == 26
    assert call(r, 11, 0, 10, join_v0("rawg", "", protocols=(("other", b""),))).take(">h") == 23
    assert call(r, 11, 0, 11, join_v0("rawg", "", ptype="connect")).take(">h") == 23
    # JoinGroup v4 with an empty member id: MEMBER_ID_REQUIRED with the id to use.
    b = call(r, 11, 4, 12, join_v4("rawg4", ""))
    b.take(">i")
    assert b.take(">h") == 79
    b.take(">i"), b.str(), b.str()
    assert b.str().startswith("raw-")
    # DescribeGroups (15) v0: the stable group and one that does not exist.
    b = call(r, 15, 0, 13, struct.pack(">i", 2) + string("rawg") + string("nosuch"))
    assert b.take(">i") == 2
    assert b.take(">h") == 0 and b.str() == "rawg" and b.str() == "Stable"
    assert b.str() == "consumer" and b.str() == "range" and b.take(">i") == 1
    assert b.str() == member and b.str() == "raw" and b.str() == "/127.0.0.1"
    assert b.bytes() == b"md" and b.bytes() == b"abc"
    assert b.take(">h") == 0 and b.str() == "nosuch" and b.str() == "Dead"
    # LeaveGroup (13) v0, then the group is Empty (ListGroups (16) v0 lists it).
    assert call(r, 13, 0, 14, string("rawg") + string(member)).take(">h") == 0
    assert call(r, 13, 0, 15, string("rawg") + string(member)).take(">h") == 25
    b = call(r, 16, 0, 16, b"")
    assert b.take(">h") == 0
    listed = {b.str(): b.str() for _ in range(b.take(">i"))}
    assert listed.get("rawg") == "consumer"
    r.close()


def offset_commit_v2(group, gen, member, topic, parts):
    body = string(group) + struct.pack(">i", gen) + string(member) + struct.pack(">q", -1)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(parts))
    for p, off, md in parts:
        body += struct.pack(">iq", p, off) + string(md)
    return body


def offset_fetch_v1(group, topic, parts):
    return (string(group) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(parts)) +
            b"".join(struct.pack(">i", p) for p in parts))


def test_standalone_commits_and_offset_fetch_over_raw_frames(kafka):
    create_topic(kafka.bootstrap, "solo", 2)
    r = Raw(kafka.port, timeout=20)
    # Nothing committed: offset -1, metadata "", no error.
    b = call(r, 9, 1, 1, offset_fetch_v1("sg", "solo", [0, 1]))
    assert b.take(">i") == 1 and b.str() == "solo" and b.take(">i") == 2
    assert [(b.take(">i"), b.take(">q"), b.str(), b.take(">h")) for _ in range(2)] == [
        (0, -1, "", 0), (1, -1, "", 0)]
    # OffsetCommit (8) v2 with generation -1 and no member: a simple commit.
    b = call(r, 8, 2, 2, offset_commit_v2("sg", -1, "", "solo", [(0, 17, "meta"), (5, 1, "")]))
    assert b.take(">i") == 1 and b.str() == "solo" and b.take(">i") == 2
    assert [(b.take(">i"), b.take(">h")) for _ in range(2)] == [(0, 0), (5, 3)]  # no partition 5
    # A member's commit to a group that does not exist: ILLEGAL_GENERATION.
    b = call(r, 8, 2, 3, offset_commit_v2("nog", 3, "m", "solo", [(0, 1, "")]))
    b.take(">i"), b.str(), b.take(">i"), b.take(">i")
    assert b.take(">h") == 22
    b = call(r, 9, 1, 4, offset_fetch_v1("sg", "solo", [0, 1]))
    b.take(">i"), b.str(), b.take(">i")
    assert [(b.take(">i"), b.take(">q"), b.str(), b.take(">h")) for _ in range(2)] == [
        (0, 17, "meta", 0), (1, -1, "", 0)]
    # OffsetFetch v3 with null topics: every committed partition, then the group error.
    b = call(r, 9, 3, 5, string("sg") + struct.pack(">i", -1))
    assert b.take(">i") == 0 and b.take(">i") == 1 and b.str() == "solo" and b.take(">i") == 1
    assert (b.take(">i"), b.take(">q"), b.str(), b.take(">h")) == (0, 17, "meta", 0)
    assert b.take(">h") == 0
    r.close()


def join_answer(b):
    """A JoinGroup v0 answer: (error, generation, protocol, leader, member, members)."""
    err, gen, proto, leader, member = b.take(">h"), b.take(">i"), b.str(), b.str(), b.str()
    members = [(b.str(), b.bytes()) for _ in range(b.take(">i"))]
    return err, gen, proto, leader, member, members


def test_joins_within_the_initial_delay_form_one_generation_and_rejoins_are_awaited(kafka):
    conns = [Raw(kafka.port, timeout=20) for _ in range(3)]
    for i, r in enumerate(conns):
        r.send(request(11, 0, 1, join_v0("burst", "", protocols=(("range", b"m%d" % i),))))
    answers = []
    for r in conns:
        corr, body = r.response()
        assert corr == 1
        answers.append(join_answer(Body(body)))
    assert [a[0] for a in answers] == [0, 0, 0]
    assert {a[1] for a in answers} == {1}, "the three joins landed in different generations"
    # Order the connections leader first (io threads may see the joins in
    # any order; the first to arrive leads).
    leader = answers[0][3]
    assert {a[3] for a in answers} == {leader}
    order = sorted(range(3), key=lambda i: answers[i][4] != leader)
    conns = [conns[i] for i in order]
    metas = [b"m%d" % i for i in order]
    answers = [answers[i] for i in order]
    ids = [a[4] for a in answers]
    assert ids[0] == leader
    assert sorted(answers[0][5]) == sorted(zip(ids, metas))
    assert answers[1][5] == [] and answers[2][5] == []

    # Followers' SyncGroup waits for the leader's.
    sync = lambda m, a: string("burst") + struct.pack(">i", 1) + string(m) + a
    conns[1].send(request(14, 0, 2, sync(ids[1], struct.pack(">i", 0))))
    conns[2].send(request(14, 0, 2, sync(ids[2], struct.pack(">i", 0))))
    conns[1].sock.settimeout(0.3)
    with pytest.raises(OSError):  # socket.timeout: no answer before the leader syncs
        conns[1].recv_exact(1)
    conns[1].sock.settimeout(20)
    assign = struct.pack(">i", 3) + b"".join(
        string(m) + struct.pack(">i", 2) + b"p%d" % i for i, m in enumerate(ids))
    b = call(conns[0], 14, 0, 2, sync(ids[0], assign))
    assert b.take(">h") == 0 and b.bytes() == b"p0"
    for i in (1, 2):
        corr, body = conns[i].response()
        b = Body(body)
        assert corr == 2 and b.take(">h") == 0 and b.bytes() == b"p%d" % i

    # A fourth member's JoinGroup is held until every known member rejoins;
    # meanwhile heartbeats answer REBALANCE_IN_PROGRESS.
    late = Raw(kafka.port, timeout=20)
    late.send(request(11, 0, 3, join_v0("burst", "")))
    hb = lambda m: string("burst") + struct.pack(">i", 1) + string(m)
    wait_until(lambda: call(conns[1], 12, 0, 4, hb(ids[1])).take(">h") == 27, 10,
               "REBALANCE_IN_PROGRESS")
    for i, r in enumerate(conns):
        r.send(request(11, 0, 5, join_v0("burst", ids[i])))
    results = [join_answer(Body(r.response()[1])) for r in conns + [late]]
    assert [a[0] for a in results] == [0, 0, 0, 0]
    assert {a[1] for a in results} == {2}
    assert len(results[0][5]) == 4 and results[0][3] == ids[0]
    for r in conns + [late]:
        r.close()


def test_group_settings_from_toml(start_kafka):
    s = start_kafka(config="[kafka]\ngroup_initial_rebalance_delay_ms = 0\n"
                           "group_min_session_timeout_ms = 2000\n"
                           "group_max_session_timeout_ms = 4000\n")
    r = Raw(s.port, timeout=20)
    assert call(r, 11, 0, 1, join_v0("cfg", "", session_ms=1999)).take(">h") == 26
    assert call(r, 11, 0, 2, join_v0("cfg", "", session_ms=4001)).take(">h") == 26
    t0 = time.monotonic()
    err, gen = join_answer(call(r, 11, 0, 3, join_v0("cfg", "", session_ms=2000)))[:2]
    assert (err, gen) == (0, 1)
    assert time.monotonic() - t0 < 0.25, "no initial delay was configured"
    r.close()


def test_offsets_topic_is_internal(kafka):
    create_topic(kafka.bootstrap, "visible", 1)
    r = Raw(kafka.port, timeout=20)
    b = call(r, 8, 2, 1, offset_commit_v2("ig", -1, "", "visible", [(0, 3, "")]))
    b.take(">i"), b.str(), b.take(">i"), b.take(">i")
    assert b.take(">h") == 0
    r.send(request(3, 1, 2, struct.pack(">i", -1)))  # Metadata v1, null = all topics
    _, body = r.response()
    assert b"visible" in body and b"__runnel.kafka_offsets" not in body
    r.send(request(3, 1, 3, struct.pack(">i", 1) + string("__runnel.kafka_offsets")))
    _, body = r.response()
    assert b"__runnel.kafka_offsets" in body  # by name it is there, with its one partition
    r.close()


def test_acknowledged_commits_survive_kill9_of_the_broker_under_load(start_kafka):
    """Commits stream in (pipelined, standalone) while the broker is killed:
    after the restart every partition holds at least its last acknowledged
    offset and never more than the last one sent."""
    s = start_kafka()
    create_topic(s.bootstrap, "load", 4)
    r = Raw(s.port, timeout=20)
    sent = {p: 0 for p in range(4)}
    acked = {p: 0 for p in range(4)}
    inflight = []  # (corr, {partition: offset}) in request order
    lock = threading.Lock()

    def reader():
        try:
            while True:
                corr, body = r.response()
                with lock:
                    want, offsets = inflight.pop(0)
                assert corr == want
                b = Body(body)
                b.take(">i"), b.str()
                errors = [(b.take(">i"), b.take(">h")) for _ in range(b.take(">i"))]
                assert all(e == 0 for _, e in errors), errors
                with lock:
                    for p, o in offsets.items():
                        acked[p] = max(acked[p], o)
        except (ConnectionError, OSError):
            return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    corr = 0

    def commit():
        nonlocal corr
        corr += 1
        offsets = {p: sent[p] + 1 + p for p in range(4)}
        with lock:
            inflight.append((corr, offsets))
        r.send(request(8, 2, corr, offset_commit_v2(
            "load-g", -1, "", "load", [(p, o, f"m{o}") for p, o in offsets.items()])))
        sent.update(offsets)

    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        commit()
        if corr % 8 == 0:
            time.sleep(0.005)
    for _ in range(300):  # a burst still in flight when the broker dies
        commit()
    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True
    t.join(10)
    r.close()
    with lock:
        last_acked = dict(acked)
    assert min(last_acked.values()) > 0, "no commit was acknowledged before the kill"

    s = start_kafka(data_dir=s.data_dir)
    r = Raw(s.port, timeout=20)
    b = call(r, 9, 1, 1, offset_fetch_v1("load-g", "load", [0, 1, 2, 3]))
    b.take(">i"), b.str(), b.take(">i")
    for _ in range(4):
        p, off, md, err = b.take(">i"), b.take(">q"), b.str(), b.take(">h")
        assert err == 0 and md == f"m{off}"
        assert last_acked[p] <= off <= sent[p], (p, last_acked[p], off, sent[p])
    r.close()
    s.stop()
    s.runnel.verify(s.data_dir)  # the offsets topic is a sound log after the kill


def test_kafka_python_admin_lists_and_describes_groups(kafka):
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient
    create_topic(kafka.bootstrap, "kpadm", 3)
    produce(kafka.bootstrap, "kpadm", [b"x%d" % i for i in range(6)], 3)
    c = KafkaConsumer("kpadm", bootstrap_servers=kafka.bootstrap, group_id="kpadm-g",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=500)
    got = 0
    deadline = time.monotonic() + 20
    while got < 6 and time.monotonic() < deadline:
        got += sum(len(v) for v in c.poll(200).values())
    assert got == 6
    c.commit()
    a = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        # ListGroups v2, DescribeGroups v3 and OffsetFetch with null topics.
        assert ("kpadm-g", "consumer") in a.list_consumer_groups()
        described = {g.group: g for g in a.describe_consumer_groups(["kpadm-g", "nosuch"])}
        g = described["kpadm-g"]
        assert (g.error_code, g.state, g.protocol_type, g.protocol) == (0, "Stable", "consumer",
                                                                         "range")
        (m,) = g.members
        assert m.client_host == "/127.0.0.1" and m.member_metadata.subscription == ["kpadm"]
        assert m.member_assignment.assignment == [("kpadm", [0, 1, 2])]
        assert described["nosuch"].state == "Dead" and described["nosuch"].members == []
        offsets = a.list_consumer_group_offsets("kpadm-g")
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 2, 1: 2, 2: 2}
    finally:
        c.close()
        a.close()
