"""kill -9 durability of Redis streams (issue 4, §3): `runnel serve --fsync
always` is SIGKILLed at a random moment while 4 clients XADD (pipelined,
several fields each, some with explicit `ms-*` IDs) and a control client
XDELs and trims; after each restart:

- every ID that got a reply is there with exactly its fields (XRANGE), unless
  an XDEL or trim of it was sent; an XDEL or trim that got a reply stays done;
- an entry that got no reply is there with its own fields or not at all, and
  what a restart showed stays decided on later restarts;
- IDs are strictly increasing, XLEN matches XRANGE, XADD continues after
  last-generated-id (never below a replied ID, even deleted ones);
- `runnel verify --dir` passes with the server stopped;
- a consumer group on cs0 reads (XREADGROUP >) and acks (XACK) meanwhile:
  XPENDING holds every ID delivered in a reply and not acked, nothing whose
  XACK got a reply, and nothing that was never delivered.

Seeded: the seed is in every failure message; RUNNEL_TEST_SEED replays it
(timing still varies, so a replay explores the same choices, not the same
kill moment).
"""

import os
import random
import threading
import time

from conftest import pick_seed
from resp.resp_client import Error, Map, NULL, NULL_ARRAY

ROUNDS = int(os.environ.get("RUNNEL_CRASH_ROUNDS", "20"))
# Bounded so the file stays well under 2 minutes on the ASan build (a full
# XRANGE of the ASan server costs ~0.2 ms an entry).
MAX_PER_ROUND = 150  # XADDs per writer per round
STREAMS = ("cs0", "cs1")  # clients 0,1 write cs0; clients 2,3 write cs1
NOT_GREATER = b"ERR The ID specified in XADD is equal or smaller than the target stream top item"


def parse_id(b):
    ms, seq = b.split(b"-")
    return int(ms), int(seq)


def fmt_id(i):
    return f"{i[0]}-{i[1]}"


class StreamModel:
    """What the test knows about one stream across rounds."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.acked = {}          # id -> fields list (a reply said so, or a restart showed it)
        self.unsure = {}         # tag -> fields: sent, no reply yet
        self.deleted = set()     # XDEL replied 1 (or a restart showed it gone)
        self.del_unsure = set()  # XDEL sent, no reply
        self.minid = (0, 0)      # XTRIM MINID replied (entries below are gone)
        self.minid_unsure = None
        self.max_id = (0, 0)     # highest ID a reply ever gave


class Writer(threading.Thread):
    def __init__(self, server, model, rng, ctx, tag_prefix):
        super().__init__(daemon=True)
        self.c = server.client(3 if rng.random() < 0.5 else 2)
        self.model, self.rng, self.ctx, self.tag_prefix = model, rng, ctx, tag_prefix
        self.failure = None
        self.sent = 0

    def run(self):
        try:
            self._run()
        except (ConnectionError, OSError, TimeoutError):
            pass  # the kill
        except Exception as e:  # noqa: BLE001 — reported by the test
            self.failure = f"{self.ctx}: writer {self.tag_prefix}: {e!r}"

    def _run(self):
        m, rng = self.model, self.rng
        n = 0
        while n < MAX_PER_ROUND:
            batch = []
            for _ in range(rng.randint(1, 12)):
                n += 1
                tag = f"{self.tag_prefix}.{n}"
                fields = ["t", tag]
                for k in range(rng.randint(1, 4)):
                    fields += [f"f{k}", rng.choice(["", "v", "x" * rng.randint(1, 300),
                                                    "bin\x00\r\n", str(rng.random())])]
                if rng.random() < 0.3:
                    ms = max(int(time.time() * 1000), m.max_id[0]) + rng.randint(0, 2)
                    id_arg = f"{ms}-*"
                else:
                    id_arg = "*"
                batch.append((tag, id_arg, fields))
            with m.lock:
                for tag, _, fields in batch:
                    m.unsure[tag] = [f.encode() for f in fields]
            for tag, id_arg, fields in batch:
                self.c.send("XADD", m.name, id_arg, *fields)
            for tag, id_arg, fields in batch:
                r = self.c.read(timeout=30)
                with m.lock:
                    f = m.unsure.pop(tag)
                    if isinstance(r, Error):
                        assert id_arg != "*" and r == Error(NOT_GREATER), f"XADD {id_arg}: {r!r}"
                        continue
                    i = parse_id(r)
                    assert i not in m.acked, f"XADD gave {r!r} twice"
                    m.acked[i] = f
                    m.max_id = max(m.max_id, i)


class Control(threading.Thread):
    """XDELs replied IDs and trims by MINID while the writers run."""

    def __init__(self, server, models, rng, ctx):
        super().__init__(daemon=True)
        self.c = server.client(2)
        self.models, self.rng, self.ctx = models, rng, ctx
        self.failure = None

    def run(self):
        try:
            self._run()
        except (ConnectionError, OSError, TimeoutError):
            pass
        except Exception as e:  # noqa: BLE001
            self.failure = f"{self.ctx}: control: {e!r}"

    def _run(self):
        rng = self.rng
        while True:
            time.sleep(rng.uniform(0.005, 0.03))
            m = self.models[rng.randrange(len(self.models))]
            with m.lock:
                live = sorted(i for i in m.acked if i not in m.deleted and i >= m.minid
                              and i not in m.del_unsure)
            if len(live) < 4:
                continue
            if rng.random() < 0.15:
                cut = live[len(live) // 4]
                with m.lock:
                    m.minid_unsure = max(m.minid_unsure or (0, 0), cut)
                r = self.c.call("XTRIM", m.name, "MINID", fmt_id(cut), timeout=30)
                assert not isinstance(r, Error), f"XTRIM: {r!r}"
                with m.lock:
                    m.minid = max(m.minid, cut)
                continue
            victim = rng.choice(live)
            with m.lock:
                m.del_unsure.add(victim)
            r = self.c.call("XDEL", m.name, fmt_id(victim), timeout=30)
            with m.lock:
                if r == 1:
                    m.deleted.add(victim)
                    m.del_unsure.discard(victim)
                else:
                    # Trimmed meanwhile by a MINID the control sent itself.
                    assert r == 0 and (m.minid_unsure and victim < m.minid_unsure), \
                        f"XDEL {victim}: {r!r}"


class GroupModel:
    def __init__(self):
        self.pending = set()      # delivered in a reply, no XACK sent
        self.ack_unsure = set()   # XACK sent, no reply
        self.acked = set()        # XACK replied (or a restart showed it gone)
        self.read_unsure = None   # the last delivered ID when an unreplied read was sent
        self.max_delivered = (0, 0)


class GroupReader(threading.Thread):
    """XREADGROUP > and XACK on cs0 (group g) while the writers run."""

    def __init__(self, server, gm, rng, ctx):
        super().__init__(daemon=True)
        self.c = server.client(3 if rng.random() < 0.5 else 2)
        self.gm, self.rng, self.ctx = gm, rng, ctx
        self.failure = None

    def run(self):
        try:
            self._run()
        except (ConnectionError, OSError, TimeoutError):
            pass
        except Exception as e:  # noqa: BLE001
            self.failure = f"{self.ctx}: group reader: {e!r}"

    def _run(self):
        gm, rng = self.gm, self.rng
        while True:
            gm.read_unsure = gm.max_delivered
            r = self.c.call("XREADGROUP", "GROUP", "g", f"w{rng.randrange(3)}", "COUNT",
                            str(rng.randint(1, 8)), "STREAMS", "cs0", ">", timeout=30)
            gm.read_unsure = None
            if r in (NULL, NULL_ARRAY):
                time.sleep(0.005)
                continue
            assert not isinstance(r, Error), f"XREADGROUP: {r!r}"
            got = [parse_id(e[0]) for e in (r.dict() if isinstance(r, Map) else dict(r))[b"cs0"]]
            assert all(i > gm.max_delivered for i in got), "XREADGROUP delivered an old ID"
            gm.pending.update(got)
            gm.max_delivered = max(got)
            ack = [i for i in got if rng.random() < 0.6]
            if not ack:
                continue
            gm.pending.difference_update(ack)
            gm.ack_unsure.update(ack)
            n = self.c.call("XACK", "cs0", "g", *[fmt_id(i) for i in ack], timeout=30)
            assert n == len(ack), f"XACK {len(ack)} delivered IDs answered {n!r}"
            gm.ack_unsure.difference_update(ack)
            gm.acked.update(ack)


def check_group(c, gm, ctx):
    rows = c.call("XPENDING", "cs0", "g", "-", "+", "1000000", timeout=60)
    assert not isinstance(rows, Error), f"{ctx}: XPENDING: {rows!r}"
    pel = {parse_id(r[0]) for r in rows}
    missing = gm.pending - pel
    assert not missing, f"{ctx}: delivered, unacked IDs lost from the PEL: {sorted(missing)[:5]}"
    back = pel & gm.acked
    assert not back, f"{ctx}: XACKed IDs pending again: {sorted(back)[:5]}"
    for i in pel - gm.pending - gm.ack_unsure:
        assert gm.read_unsure is not None and i > gm.read_unsure, \
            f"{ctx}: {fmt_id(i)} pending but never delivered"
    # What the restart shows is decided from now on.
    gm.acked |= gm.ack_unsure - pel
    gm.pending = set(pel)
    gm.ack_unsure = set()
    if pel:
        gm.max_delivered = max(gm.max_delivered, max(pel))
    gm.read_unsure = None
    info = [dict(zip(g[::2], g[1::2])) if not isinstance(g, Map) else g.dict()
            for g in c.call("XINFO", "GROUPS", "cs0")]
    last = parse_id(info[0][b"last-delivered-id"])
    assert last >= gm.max_delivered, f"{ctx}: last-delivered-id {last} went back"
    gm.max_delivered = last
    summary = c.call("XPENDING", "cs0", "g")
    assert summary[0] == len(pel), f"{ctx}: XPENDING summary {summary[0]} != {len(pel)}"


def fields_of(entry):
    return list(entry[1])


def check_stream(c, m, ctx):
    entries = c.call("XRANGE", m.name, "-", "+", timeout=60)
    assert not isinstance(entries, Error), f"{ctx}: XRANGE {m.name}: {entries!r}"
    got = [(parse_id(e[0]), fields_of(e)) for e in entries]
    ids = [i for i, _ in got]
    assert all(a < b for a, b in zip(ids, ids[1:])), f"{ctx}: {m.name}: IDs not increasing"
    present = set(ids)
    by_tag = {f[1]: f for f in m.unsure.values()}
    for i, f in got:
        assert i not in m.deleted, f"{ctx}: {m.name}: XDEL'd {fmt_id(i)} is back"
        assert i >= m.minid, f"{ctx}: {m.name}: {fmt_id(i)} below the replied MINID {m.minid} is back"
        if i in m.acked:
            assert f == m.acked[i], f"{ctx}: {m.name}: {fmt_id(i)} fields {f!r} != {m.acked[i]!r}"
        else:
            assert len(f) >= 2 and f[0] == b"t" and by_tag.get(f[1]) == f, \
                f"{ctx}: {m.name}: unknown entry {fmt_id(i)} {f[:2]!r}"
            # An unreplied XADD that survived: a fact from now on.
            m.acked[i] = f
            del by_tag[f[1]]
            m.max_id = max(m.max_id, i)
    trimmed_to = m.minid
    if m.minid_unsure and (not ids or ids[0] >= m.minid_unsure):
        trimmed_to = max(trimmed_to, m.minid_unsure)
    for i in list(m.acked):
        if i in m.deleted or i < trimmed_to:
            continue
        if i in m.del_unsure:
            if i not in present:
                m.deleted.add(i)
            continue
        assert i in present, f"{ctx}: {m.name}: replied {fmt_id(i)} is missing after the kill"
    # Entries below the trim point now gone are decided; so are unsure XDELs.
    m.minid = trimmed_to
    m.minid_unsure = None
    m.del_unsure = set()
    m.unsure = {}  # unreplied XADDs not shown now must never appear later
    for i in list(m.acked):
        if i not in present and i not in m.deleted and i >= m.minid:
            m.deleted.add(i)
    assert c.call("XLEN", m.name) == len(got), f"{ctx}: {m.name}: XLEN != XRANGE length"
    info = c.call("XINFO", "STREAM", m.name)
    d = info.dict() if isinstance(info, Map) else dict(zip(info[::2], info[1::2]))
    last = parse_id(d[b"last-generated-id"])
    assert last >= m.max_id, f"{ctx}: {m.name}: last-generated-id {last} < replied {m.max_id}"
    new = parse_id(c.call("XADD", m.name, "*", "t", "after-restart"))
    assert new > last, f"{ctx}: {m.name}: XADD after restart gave {new} <= {last}"
    m.acked[new] = [b"t", b"after-restart"]
    m.max_id = new


def test_kill9_while_xadding_keeps_every_replied_entry(start_server, runnel, tmp_path):
    seed = pick_seed()
    rng = random.Random(seed)
    models = [StreamModel(n) for n in STREAMS]
    data = str(tmp_path / "crash")
    started = time.monotonic()
    server = start_server("--fsync", "always", data_dir=data)
    gm = GroupModel()
    assert server.client().call("XGROUP", "CREATE", "cs0", "g", "0", "MKSTREAM") == b"OK"
    for round_no in range(ROUNDS):
        ctx = f"seed {seed} (RUNNEL_TEST_SEED={seed}), round {round_no}"
        workers = [Writer(server, models[k // 2], random.Random(rng.random()), ctx,
                          f"r{round_no}c{k}") for k in range(4)]
        control = Control(server, models, random.Random(rng.random()), ctx)
        reader = GroupReader(server, gm, random.Random(rng.random()), ctx)
        control_threads = [control, reader]
        for w in workers + control_threads:
            w.start()
        time.sleep(rng.uniform(0.03, 0.35))
        server.proc.kill9()
        server.proc.wait(30)
        server.stopped = True
        for w in workers + control_threads:
            w.join(30)
            assert not w.is_alive(), f"{ctx}: a client thread did not end after the kill"
        for w in workers + control_threads:
            assert w.failure is None, w.failure
        server.close_clients()
        res = runnel.verify(data, expect=None)
        assert res.returncode == 0, f"{ctx}: verify not clean after kill -9:\n{res.describe()}"
        t_start = time.monotonic()
        server = start_server("--fsync", "always", data_dir=data)
        c = server.client(2)
        t_check = time.monotonic()
        for m in models:
            check_stream(c, m, ctx)
        check_group(c, gm, ctx)
        if os.environ.get("RUNNEL_CRASH_TIMING"):
            print(f"round {round_no}: start {t_check - t_start:.2f}s check {time.monotonic() - t_check:.2f}s "
                  f"entries {[len(m.acked) for m in models]}")
    assert sum(len(m.acked) for m in models) > 100, f"seed {seed}: too few appends to mean much"
    assert len(gm.acked) > 20 and gm.pending, f"seed {seed}: the group read too little"
    server.stop()
    res = runnel.verify(data, expect=None)
    assert res.returncode == 0, f"seed {seed}: verify not clean after a clean stop:\n{res.describe()}"
    assert time.monotonic() - started < 110, f"seed {seed}: too slow"


def test_entries_past_a_stale_hwm_are_entries_at_once(start_server, runnel, tmp_path):
    """Regression: the store read the partition's end from the hwm before its
    writer had recomputed it from the log, so records the log held past a
    stale hwm (fsynced by a process killed before it published them, or an
    hwm older than the log after a power failure) were hidden as another
    writer's in that run — a replied entry missing — and came back as
    entries in the next run, possibly out of ID order."""
    from conftest import partition_dir
    data = str(tmp_path / "hwm")
    s = start_server("--fsync", "always", data_dir=data)
    c = s.client()
    assert c.call("XADD", "h", "1-0", "f", "a") == b"1-0"
    s.stop()
    hwm = partition_dir(data, "h") / "hwm"
    old = hwm.read_bytes()
    s = start_server("--fsync", "always", data_dir=data)
    c = s.client()
    assert c.call("XADD", "h", "5-0", "f", "b") == b"5-0"
    s.proc.kill9()
    s.proc.wait(30)
    s.stopped = True
    hwm.write_bytes(old)  # as if the publish after the fsync never happened
    s = start_server("--fsync", "always", data_dir=data)
    c = s.client()
    assert [e[0] for e in c.call("XRANGE", "h", "-", "+")] == [b"1-0", b"5-0"]
    assert c.call("XLEN", "h") == 2
    assert c.call("XADD", "h", "3-0", "f", "c") == Error(NOT_GREATER)
    assert c.call("XADD", "h", "6-0", "f", "c") == b"6-0"
    s.stop()
    s = start_server("--fsync", "always", data_dir=data)
    assert [e[0] for e in s.client().call("XRANGE", "h", "-", "+")] == [b"1-0", b"5-0", b"6-0"]
    s.stop()
    runnel.verify(data)
