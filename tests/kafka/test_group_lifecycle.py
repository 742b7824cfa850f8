"""Consumer-group lifecycle with real clients (docs/protocols/kafka.md
"Consumer groups"): static membership (KIP-345) with confluent-kafka's
`group.instance.id`, offsets retention (KIP-211) with a retention of a few
seconds (`[kafka] offsets_retention_ms`), and DeleteGroups through
kafka-python's KafkaAdminClient (confluent-kafka 1.7's AdminClient has no
group deletion).

Consumers use session.timeout.ms 6000 and heartbeat.interval.ms 500. Every
wait has a deadline."""

import time

import pytest

from test_groups import (ChildConsumer, ck_consumer, create_topic, partitioned_exactly_once,
                         produce, take, wait_until)

ck = pytest.importorskip("confluent_kafka")
kp = pytest.importorskip("kafka")

RETENTION_MS = 8000
RETENTION_CONFIG = f"""
[kafka]
offsets_retention_ms = {RETENTION_MS}
offsets_retention_check_interval_ms = 200
"""


def test_static_member_restarting_within_its_session_gets_its_partitions_back_unrevoked(kafka):
    topic, group = "static", "sg"
    create_topic(kafka.bootstrap, topic, 4)
    s0 = ChildConsumer(kafka.bootstrap, group, topic, "s0", instance="i0")
    s1 = ChildConsumer(kafka.bootstrap, group, topic, "s1", instance="i1")
    consumers = [s0, s1]
    try:
        wait_until(lambda: partitioned_exactly_once(consumers, 4), 30, "2 static members x 4")
        assert s0.events == ["assign"] and s1.events == ["assign"]
        mine = s1.assignment()
        # A clean close of a static member sends no LeaveGroup (librdkafka,
        # KIP-345): the group does not rebalance, s0 keeps its partitions.
        s1.close()
        s1 = ChildConsumer(kafka.bootstrap, group, topic, "s1-again", instance="i1")
        consumers = [s0, s1]
        wait_until(lambda: s1.assignment() == mine, 20, "the restarted member's old partitions")
        values = [f"x{i}" for i in range(40)]
        produce(kafka.bootstrap, topic, values, 4)
        wait_until(lambda: set(values) <= s0.values() | s1.values(), 30, "40 messages")
        assert s0.events == ["assign"], f"s0 saw a rebalance: {s0.events}"
        assert s1.events == ["assign"]

        # Away for longer than its session: it is removed and the group
        # rebalances, s0 takes every partition.
        s1.kill9()
        t0 = time.monotonic()
        wait_until(lambda: s0.assignment() == {0, 1, 2, 3}, 30, "s0 takes all after the expiry")
        assert time.monotonic() - t0 > 3, "moved before the static member's session ended"
        assert s0.events == ["assign", "revoke", "assign"]
    finally:
        for c in consumers:
            c.cleanup()


def test_a_second_process_with_the_same_instance_id_fences_the_first(kafka):
    topic, group = "fence", "fg"
    create_topic(kafka.bootstrap, topic, 2)
    first = ChildConsumer(kafka.bootstrap, group, topic, "first", instance="dup")
    second = None
    try:
        wait_until(lambda: first.assignment() == {0, 1}, 30, "the first incarnation's assignment")
        second = ChildConsumer(kafka.bootstrap, group, topic, "second", instance="dup")
        wait_until(lambda: second.assignment() == {0, 1}, 30, "the second incarnation takes over")
        # The first one's member id was replaced (its next heartbeat is
        # answered FENCED_INSTANCE_ID): the group has one member, the second.
        from kafka.admin import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        try:
            (desc,) = admin.describe_consumer_groups([group])
        finally:
            admin.close()
        assert desc.state == "Stable"
        assert [m.client_id for m in desc.members] == ["second"]
        values = [f"f{i}" for i in range(10)]
        produce(kafka.bootstrap, topic, values, 2)
        wait_until(lambda: set(values) <= second.values(), 30, "the second incarnation consumes")
    finally:
        first.cleanup()
        if second:
            second.cleanup()


def committed(bootstrap, group, topic, partitions):
    """{partition: committed offset} as a fresh consumer of `group` sees it
    (-1001: nothing committed)."""
    from confluent_kafka import TopicPartition
    c = ck_consumer(bootstrap, group)
    try:
        got = c.committed([TopicPartition(topic, p) for p in partitions], timeout=20)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def consumed(offsets):
    """How many records the committed offsets cover (-1001: none committed)."""
    return sum(o for o in offsets.values() if o >= 0)


def list_groups(bootstrap):
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return {g for g, _ in admin.list_consumer_groups()}
    finally:
        admin.close()


def test_offsets_of_an_emptied_group_expire_after_the_retention_and_survive_restarts_before(
        start_kafka):
    from confluent_kafka import TopicPartition
    s = start_kafka(config=RETENTION_CONFIG)
    topic = "ret"
    create_topic(s.bootstrap, topic, 2)
    produce(s.bootstrap, topic, [f"r{i}" for i in range(20)], 2)

    # A consumer group that commits and leaves (Empty from then on), and
    # standalone commits (assign, no group membership).
    gone = ck_consumer(s.bootstrap, "gone")
    gone.subscribe([topic])
    take(gone, 10)
    gone.commit(asynchronous=False)
    solo = ck_consumer(s.bootstrap, "solo")
    solo.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    solo.close()
    gone.close()  # LeaveGroup: the group is Empty, its clock starts
    emptied = time.monotonic()
    before = committed(s.bootstrap, "gone", topic, [0, 1])
    assert consumed(before) == 10

    s.stop()  # a restart within the retention keeps them, and the Empty clock
    s = start_kafka(config=RETENTION_CONFIG, data_dir=s.data_dir)
    assert committed(s.bootstrap, "gone", topic, [0, 1]) == before
    assert {"gone", "solo"} <= list_groups(s.bootstrap)
    # A group that keeps a member (librdkafka heartbeats in the background
    # without polls) loses nothing, however old its offsets get.
    live = ck_consumer(s.bootstrap, "live")
    live.subscribe([topic])
    take(live, 10)
    live.commit(asynchronous=False)
    live_committed = time.monotonic()

    wait_until(lambda: committed(s.bootstrap, "gone", topic, [0, 1]) == {0: -1001, 1: -1001},
               RETENTION_MS / 1000 + 15, "the emptied group's offsets to expire")
    assert time.monotonic() - emptied >= RETENTION_MS / 1000 - 0.5, "expired before the retention"
    wait_until(lambda: committed(s.bootstrap, "solo", topic, [0]) == {0: -1001}, 15,
               "the standalone commit to expire")
    wait_until(lambda: "gone" not in list_groups(s.bootstrap), 10, "the expired group to go")
    time.sleep(max(0.0, live_committed + RETENTION_MS / 1000 + 1 - time.monotonic()))
    assert "live" in list_groups(s.bootstrap)
    live_offsets = committed(s.bootstrap, "live", topic, [0, 1])
    assert consumed(live_offsets) == 10

    # The expiry is durable: still gone after kill -9 and a restart.
    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True
    live.close()  # its broker is gone
    s = start_kafka(config=RETENTION_CONFIG, data_dir=s.data_dir)
    assert committed(s.bootstrap, "gone", topic, [0, 1]) == {0: -1001, 1: -1001}
    assert committed(s.bootstrap, "solo", topic, [0]) == {0: -1001}
    assert committed(s.bootstrap, "live", topic, [0, 1]) == live_offsets


def test_delete_groups_with_kafka_python_admin(start_kafka):
    from kafka.admin import KafkaAdminClient
    s = start_kafka()
    topic = "del"
    create_topic(s.bootstrap, topic, 2)
    produce(s.bootstrap, topic, [f"d{i}" for i in range(10)], 2)
    for group in ("done", "busy"):
        c = ck_consumer(s.bootstrap, group)
        c.subscribe([topic])
        take(c, 10)
        c.commit(asynchronous=False)
        if group == "done":
            c.close()
        else:
            busy = c  # stays a member
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap)
    try:
        results = dict(admin.delete_consumer_groups(["done", "busy", "nosuch"]))
    finally:
        admin.close()
    codes = {g: getattr(e, "errno", 0) for g, e in results.items()}
    assert codes == {"done": 0, "busy": 68, "nosuch": 69}  # NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND
    assert committed(s.bootstrap, "done", topic, [0, 1]) == {0: -1001, 1: -1001}
    assert consumed(committed(s.bootstrap, "busy", topic, [0, 1])) == 10
    assert "done" not in list_groups(s.bootstrap)

    # Durable: after kill -9 the deleted group's offsets are still gone.
    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True
    busy.close()
    s = start_kafka(data_dir=s.data_dir)
    assert committed(s.bootstrap, "done", topic, [0, 1]) == {0: -1001, 1: -1001}
    assert consumed(committed(s.bootstrap, "busy", topic, [0, 1])) == 10


def offset_delete(port, group, topic, partitions):
    """A raw OffsetDelete v0 (API 47): (group error, {partition: error})."""
    import struct
    from kafka_raw import Raw, request, string
    body = (string(group) + struct.pack(">i", 1) + string(topic) +
            struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions))
    r = Raw(port)
    try:
        r.send(request(47, 0, 7, body))
        corr, rest = r.response()
    finally:
        r.close()
    assert corr == 7
    error, _throttle, ntopics = struct.unpack(">hii", rest[:10])
    errors = {}
    pos = 10
    for _ in range(ntopics):
        (n,) = struct.unpack(">h", rest[pos:pos + 2])
        pos += 2 + n
        (nparts,) = struct.unpack(">i", rest[pos:pos + 4])
        pos += 4
        for _ in range(nparts):
            p, e = struct.unpack(">ih", rest[pos:pos + 6])
            errors[p] = e
            pos += 6
    assert pos == len(rest)
    return error, errors


def test_offset_delete_of_an_empty_group_is_durable_and_refused_while_it_has_members(start_kafka):
    from confluent_kafka import TopicPartition
    s = start_kafka()
    topic = "od"
    create_topic(s.bootstrap, topic, 2)
    produce(s.bootstrap, topic, [f"o{i}" for i in range(10)], 2)
    solo = ck_consumer(s.bootstrap, "od-solo")
    solo.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4)],
                asynchronous=False)
    solo.close()
    member = ck_consumer(s.bootstrap, "od-busy")
    member.subscribe([topic])
    take(member, 10)
    member.commit(asynchronous=False)

    assert offset_delete(s.port, "od-solo", topic, [0]) == (0, {0: 0})
    assert committed(s.bootstrap, "od-solo", topic, [0, 1]) == {0: -1001, 1: 4}
    assert offset_delete(s.port, "od-busy", topic, [0, 1]) == (68, {})  # NON_EMPTY_GROUP
    assert offset_delete(s.port, "od-nosuch", topic, [0]) == (69, {})  # GROUP_ID_NOT_FOUND
    assert consumed(committed(s.bootstrap, "od-busy", topic, [0, 1])) == 10

    s.proc.kill9()
    s.proc.wait(10)
    s.stopped = True
    member.close()
    s = start_kafka(data_dir=s.data_dir)
    assert committed(s.bootstrap, "od-solo", topic, [0, 1]) == {0: -1001, 1: 4}


@pytest.mark.parametrize("bad, why", [
    ("[kafka]\noffsets_retention_minutes = 0\n", "offsets_retention_minutes must be"),
    ("[kafka]\noffsets_retention_ms = -5\n", "offsets_retention_ms"),
    ("[kafka]\noffsets_retention_check_interval_ms = 1\n", "offsets_retention_check_interval_ms"),
    ("[kafka]\noffsets_retention_minute = 5\n", "offsets_retention_minute"),
])
def test_bad_retention_settings_are_refused_at_start(runnel, tmp_path, bad, why):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(bad)
    res = runnel.run("serve", "--config", str(cfg), "--data", str(tmp_path / "d"),
                     "--resp", "127.0.0.1:0", "--kafka", "127.0.0.1:0", expect=None, timeout=30)
    assert res.returncode != 0
    assert why in res.stderr.decode(), res.describe()


def test_leave_group_v3_removes_a_static_member_by_instance_id(kafka):
    """What an admin's "remove members" does: a static member that died
    leaves at once instead of after its session timeout."""
    import struct
    from kafka_raw import Raw, request, string
    topic, group = "lv", "lvg"
    create_topic(kafka.bootstrap, topic, 2)
    stay = ChildConsumer(kafka.bootstrap, group, topic, "stay", instance="stay")
    dead = ChildConsumer(kafka.bootstrap, group, topic, "dead", instance="dead")
    try:
        wait_until(lambda: partitioned_exactly_once([stay, dead], 2), 30, "two static members")
        dead.kill9()
        body = (string(group) + struct.pack(">i", 2) + string("") + string("dead") +
                string("") + string("nobody"))
        r = Raw(kafka.port)
        t0 = time.monotonic()
        r.send(request(13, 3, 9, body))
        corr, rest = r.response()
        r.close()
        assert corr == 9
        # throttle, error 0, [("", "dead", 0), ("", "nobody", UNKNOWN_MEMBER_ID)]
        assert rest == (struct.pack(">ihi", 0, 0, 2) + string("") + string("dead") +
                        struct.pack(">h", 0) + string("") + string("nobody") +
                        struct.pack(">h", 25))
        wait_until(lambda: stay.assignment() == {0, 1}, 20, "the survivor takes both partitions")
        assert time.monotonic() - t0 < 5, "it waited for the session timeout instead"
    finally:
        stay.cleanup()
        dead.cleanup()
