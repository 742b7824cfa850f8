"""`[[topics]]` rules (docs/config.md "Topic rules"): which names PUBLISH
makes durable before they exist, and the config of every topic the server
creates (streams via XADD, PUBLISH's durable topics).
"""

import json

import pytest

RULES = """
fsync = "interval:1000"

[[topics]]
pattern = "orders.*"
durable = true
fsync = "always"
retention_ms = 86400000

[[topics]]
pattern = "audit*"
segment_bytes = 1048576
fsync = "never"
"""


def describe(runnel, data, topic):
    """The settings `runnel topic describe` prints, as {name: first word}."""
    res = runnel.run("topic", "describe", "--dir", data, topic)
    settings = {}
    for line in res.stdout.decode().splitlines():
        words = line.split()
        if len(words) >= 2 and not line.startswith("partition"):
            settings.setdefault(words[0], words[1])
    return settings


def consume(runnel, data, topic):
    res = runnel.run("consume", "--dir", data, topic, "--format", "json")
    return [json.loads(l) for l in res.stdout.decode().splitlines() if l.strip()]


def test_durable_rule_makes_publish_create_and_append(start_server, runnel):
    s = start_server(config=RULES)
    r = s.redis()
    sub = s.redis().pubsub()
    sub.subscribe("orders.eu")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    # No topic exists yet: the rule makes the name durable, PUBLISH creates it,
    # appends, then fans out.
    assert r.publish("orders.eu", "o-1") == 1
    msg = sub.get_message(timeout=5)
    assert msg is not None and msg["data"] == b"o-1"
    assert r.publish("orders.eu", "o-2") == 1
    assert r.exists("orders.eu") == 1
    # A name no durable rule matches stays ephemeral: nothing is created.
    assert r.publish("chat.room", "hi") == 0
    assert r.exists("chat.room") == 0
    assert r.publish("audit.log", "x") == 0  # a rule matches, but not durable
    assert r.exists("audit.log") == 0
    sub.close()
    data = s.data_dir
    s.stop()
    got = consume(runnel, data, "orders.eu")
    assert [(l["key"], l["value"]) for l in got] == [(None, "o-1"), (None, "o-2")]
    settings = describe(runnel, data, "orders.eu")
    assert settings["fsync"] == "always" and settings["retention_ms"] == "86400000", settings
    assert "chat.room" not in runnel.run("topic", "list", "--dir", data).stdout.decode()


def test_rules_set_the_config_of_streams_xadd_creates(start_server, runnel):
    s = start_server(config=RULES)
    r = s.redis()
    r.xadd("audit.trail", {"who": "me"})
    r.xadd("orders.us", {"n": "1"})
    r.xadd("plain", {"n": "1"})
    data = s.data_dir
    s.stop()
    audit = describe(runnel, data, "audit.trail")
    assert audit["fsync"] == "never" and audit["segment_bytes"] == "1048576", audit
    assert describe(runnel, data, "orders.us")["fsync"] == "always"
    plain = describe(runnel, data, "plain")
    assert plain["fsync"] == "interval:1000", plain  # the server default
    assert plain["segment_bytes"] == "134217728", plain


@pytest.mark.parametrize("bad, why", [
    ('[[topics]]\ndurable = true\n', "needs a pattern"),
    ('[[topics]]\npattern = "a*"\nfsync = "sometimes"\n', "fsync"),
    ('[[topics]]\npattern = "a*"\ncolour = "red"\n', "unknown setting 'colour'"),
    ('[[topics]]\npattern = "a*"\npartitions = 0\n', "partitions"),
    ('[[topics]]\npattern = "a*"\ndurable = "yes"\n', "wrong type"),
    ('topics = 3\n', "array of tables"),
])
def test_bad_rules_are_refused_at_start(runnel, tmp_path, bad, why):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(bad)
    res = runnel.run("serve", "--config", str(cfg), "--data", str(tmp_path / "d"),
                     "--resp", "127.0.0.1:0", "--kafka", "off", expect=None, timeout=30)
    assert res.returncode != 0
    assert why in res.stderr.decode(), res.describe()
