"""A confluent-kafka group consumer as a child process, so a test can kill -9
it. Usage: group_consumer.py BOOTSTRAP GROUP TOPIC NAME [INSTANCE_ID]
(INSTANCE_ID: group.instance.id, a static member, KIP-345)

Prints one JSON object per line on stdout (flushed):
  {"assign": [partitions]}   after each assignment (eager protocol: the whole set)
  {"revoke": [partitions]}   before each revocation
  {"msg": [partition, offset, value]}
  {"closed": true}           after a clean close (SIGTERM asks for one)
Commits automatically every 500 ms and on close."""

import json
import signal
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, name = sys.argv[1:5]
instance = sys.argv[5] if len(sys.argv) > 5 else None
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
              "auto.offset.reset": "earliest", "enable.auto.commit": True,
              "auto.commit.interval.ms": 500,
              **({"group.instance.id": instance} if instance else {})})
c.subscribe([topic],
            on_assign=lambda _c, parts: emit({"assign": sorted(p.partition for p in parts)}),
            on_revoke=lambda _c, parts: emit({"revoke": sorted(p.partition for p in parts)}))
while not stop:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    emit({"msg": [m.partition(), m.offset(), m.value().decode()]})
c.close()
emit({"closed": True})
