// StreamStore's consumer groups (stream_store.h; reference/resp.md §4.6).
// Every change is a version-2 meta event built here, applied to the
// in-memory state with ApplyGroupEvent (the function replay uses) under the
// stream's mutex and appended to `__runnel.streams` in that same order; the
// command's `done` runs once the event is durable.
#include "broker/streams/stream_store.h"

#include "broker/streams/stream_store_internal.h"

#include <algorithm>

namespace runnel::broker::streams {

namespace {

Outcome StorageError(const Status& st) { return {StreamError::kStorage, st.message()}; }

}  // namespace

bool RangeHasTombstones(const StreamCounters& s, StreamId start) {
  if (s.length == 0 || s.max_deleted.IsZero()) return false;
  if (s.first_id > s.max_deleted) return false;
  return start <= s.max_deleted;
}

int64_t EstimateEntriesRead(const StreamCounters& s, StreamId id) {
  const auto added = static_cast<int64_t>(s.entries_added);
  if (s.entries_added == 0) return 0;
  if (s.length == 0 && id <= s.last_id) return added;
  if (id == s.last_id) return added;
  if (id > s.last_id) return kEntriesReadUnknown;
  if (s.max_deleted.IsZero() || s.max_deleted < s.first_id) {
    if (id < s.first_id) return added - s.length;
    if (id == s.first_id) return added - s.length + 1;
  }
  return kEntriesReadUnknown;
}

std::optional<int64_t> GroupLag(const StreamCounters& s, const Group& g) {
  if (s.entries_added == 0) return 0;
  if (g.entries_read != kEntriesReadUnknown && !RangeHasTombstones(s, g.last_delivered)) {
    return static_cast<int64_t>(s.entries_added) - g.entries_read;
  }
  const int64_t er = EstimateEntriesRead(s, g.last_delivered);
  if (er == kEntriesReadUnknown) return std::nullopt;
  return static_cast<int64_t>(s.entries_added) - er;
}

StreamCounters StreamStore::CountersLocked(const Stream& s, StreamId first_id) const {
  StreamCounters c;
  c.length = s.length;
  c.last_id = s.last_id;
  c.max_deleted = s.max_deleted;
  c.entries_added = s.entries_added;
  c.first_id = s.length > 0 ? first_id : StreamId::Min();
  return c;
}

StreamId StreamStore::FirstId(std::string_view key) {
  auto r = Range(key, StreamId::Min(), StreamId::Max(), 1, false);
  if (!r.ok() || r->empty()) return StreamId::Min();
  return r->front().id;
}

void StreamStore::GroupEventLocked(Stream& s, std::string event, Done done) {
  const bool applied = ApplyGroupEvent(&s.groups, MetaWords(event));
  (void)applied;  // built by this file: always well formed
  AppendMeta(s.name, std::move(event), std::move(done));
}

void StreamStore::CreateGroup(std::string_view key, std::string_view group,
                              std::optional<StreamId> id, bool mkstream,
                              std::optional<int64_t> entries_read, Done done) {
  auto g = Get(key, mkstream);
  if (!g.ok()) return done(StorageError(g.status()));
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}});
  std::lock_guard lock(s->mu);
  if (s->groups.count(std::string(group))) return done({StreamError::kBusyGroup, {}});
  const StreamId last = id.value_or(s->last_id);
  GroupEventLocked(*s, GroupCreateEvent(group, last, entries_read.value_or(kEntriesReadUnknown)),
                   std::move(done));
}

void StreamStore::SetGroupId(std::string_view key, std::string_view group,
                             std::optional<StreamId> id, std::optional<int64_t> entries_read,
                             Done done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()));
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}});
  std::lock_guard lock(s->mu);
  if (!s->groups.count(std::string(group))) return done({StreamError::kNoGroup, {}});
  const StreamId last = id.value_or(s->last_id);
  GroupEventLocked(*s, GroupSetIdEvent(group, last, entries_read.value_or(kEntriesReadUnknown)),
                   std::move(done));
}

void StreamStore::DestroyGroup(std::string_view key, std::string_view group, CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}}, 0);
  std::vector<Stream::Waiter> woken;
  {
    std::lock_guard lock(s->mu);
    if (!s->groups.count(std::string(group))) return done({}, 0);
    GroupEventLocked(*s, GroupDestroyEvent(group), [done](Outcome o) { done(std::move(o), 1); });
    // Blocked XREADGROUP clients of this group look again (and get NOGROUP).
    woken = std::move(s->waiters);
    s->waiters.clear();
  }
  for (auto& w : woken) w.wake();
}

void StreamStore::CreateConsumer(std::string_view key, std::string_view group,
                                 std::string_view consumer, CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}}, 0);
  std::lock_guard lock(s->mu);
  auto it = s->groups.find(std::string(group));
  if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, 0);
  if (it->second.consumers.count(std::string(consumer))) return done({}, 0);
  GroupEventLocked(*s, ConsumerCreateEvent(group, consumer, NowMs()),
                   [done](Outcome o) { done(std::move(o), 1); });
}

void StreamStore::DeleteConsumer(std::string_view key, std::string_view group,
                                 std::string_view consumer, CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}}, 0);
  std::lock_guard lock(s->mu);
  auto it = s->groups.find(std::string(group));
  if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, 0);
  auto c = it->second.consumers.find(std::string(consumer));
  if (c == it->second.consumers.end()) return done({}, 0);
  const auto pending = static_cast<int64_t>(c->second.pending.size());
  GroupEventLocked(*s, ConsumerDeleteEvent(group, consumer),
                   [done, pending](Outcome o) { done(std::move(o), pending); });
}

void StreamStore::ReadGroup(std::string_view key, std::string_view group,
                            std::string_view consumer, std::optional<StreamId> history,
                            size_t count, bool noack, ReadGroupDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), {});
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}}, {});
  const std::string gname(group), cname(consumer);
  std::vector<GroupEntry> out;
  if (history) {
    // The consumer's own pending IDs after *history, then their entries.
    std::vector<StreamId> ids;
    {
      std::lock_guard lock(s->mu);
      auto it = s->groups.find(gname);
      if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {});
      auto c = it->second.consumers.find(cname);
      if (c != it->second.consumers.end()) {
        for (auto p = c->second.pending.upper_bound(*history);
             p != c->second.pending.end() && (count == 0 || ids.size() < count); ++p) {
          ids.push_back(*p);
        }
      }
    }
    for (StreamId id : ids) {
      auto r = Range(key, id, id, 1, false);
      if (!r.ok()) return done(StorageError(r.status()), {});
      GroupEntry e{id, std::nullopt};
      if (!r->empty()) e.fields = std::move(r->front().fields);
      out.push_back(std::move(e));
    }
    const int64_t now = NowMs();
    std::lock_guard lock(s->mu);
    auto it = s->groups.find(gname);
    if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {});
    std::vector<PelSet> set;
    for (const GroupEntry& e : out) {
      auto p = it->second.pel.find(e.id);
      if (!e.fields || p == it->second.pel.end() || p->second.consumer != cname) continue;
      set.push_back({e.id, now, p->second.count + 1});
    }
    const bool known = it->second.consumers.count(cname) > 0;
    if (set.empty() && known) {
      it->second.consumers[cname].seen_ms = now;  // not persisted alone (docs)
      return done({}, std::move(out));
    }
    GroupEventLocked(*s, PendingEvent(group, consumer, now, nullptr, 0, set),
                     [done, out = std::move(out)](Outcome o) mutable {
                       done(std::move(o), std::move(out));
                     });
    return;
  }
  // `>`: entries after last-delivered-id. Another consumer may take them
  // between the read and the lock: then read again.
  for (int attempt = 0;; ++attempt) {
    StreamId after;
    bool need_first = false;
    {
      std::lock_guard lock(s->mu);
      auto it = s->groups.find(gname);
      if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {});
      after = it->second.last_delivered;
      need_first = !s->max_deleted.IsZero() || it->second.entries_read == kEntriesReadUnknown;
    }
    std::vector<Entry> entries;
    if (auto next = after.Next()) {
      auto r = Range(key, *next, StreamId::Max(), count, false);
      if (!r.ok()) return done(StorageError(r.status()), {});
      entries = std::move(*r);
    }
    const StreamId first = need_first ? FirstId(key) : StreamId::Min();
    const int64_t now = NowMs();
    std::lock_guard lock(s->mu);
    auto it = s->groups.find(gname);
    if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {});
    Group& grp = it->second;
    if (grp.last_delivered != after && attempt < 3) continue;  // raced: read again
    std::erase_if(entries, [&](const Entry& e) { return e.id <= grp.last_delivered; });
    if (entries.empty()) {
      // Nothing served: Redis neither creates nor refreshes the consumer.
      return done({}, {});
    }
    const StreamCounters sc = CountersLocked(*s, first);
    int64_t er = grp.entries_read;
    StreamId last = grp.last_delivered;
    std::vector<PelSet> set;
    for (Entry& e : entries) {
      if (er != kEntriesReadUnknown && !RangeHasTombstones(sc, e.id)) {
        ++er;
      } else if (sc.entries_added != 0) {
        er = EstimateEntriesRead(sc, e.id);
      }
      last = e.id;
      if (!noack) set.push_back({e.id, now, 1});
      out.push_back({e.id, std::move(e.fields)});
    }
    GroupEventLocked(*s, PendingEvent(group, consumer, now, &last, er, set),
                     [done, out = std::move(out)](Outcome o) mutable {
                       done(std::move(o), std::move(out));
                     });
    return;
  }
}

void StreamStore::Ack(std::string_view key, std::string_view group, std::vector<StreamId> ids,
                      CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({}, 0);
  std::lock_guard lock(s->mu);
  auto it = s->groups.find(std::string(group));
  if (it == s->groups.end()) return done({}, 0);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids, [&](StreamId id) { return it->second.pel.count(id) == 0; });
  if (ids.empty()) return done({}, 0);
  const auto n = static_cast<int64_t>(ids.size());
  GroupEventLocked(*s, AckEvent(group, ids), [done, n](Outcome o) { done(std::move(o), n); });
}

void StreamStore::Claim(std::string_view key, std::string_view group, std::string_view consumer,
                        std::vector<StreamId> ids, const ClaimSpec& spec, ClaimDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), {}, {}, {});
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoGroup, {}}, {}, {}, {});
  {
    std::lock_guard lock(s->mu);
    if (!s->groups.count(std::string(group))) return done({StreamError::kNoGroup, {}}, {}, {}, {});
  }
  // The entries first (outside the lock), then the decision under it.
  std::vector<std::optional<std::vector<std::string>>> fields;
  for (StreamId id : ids) {
    auto r = Range(key, id, id, 1, false);
    if (!r.ok()) return done(StorageError(r.status()), {}, {}, {});
    fields.push_back(r->empty() ? std::nullopt
                                : std::optional<std::vector<std::string>>(r->front().fields));
  }
  const int64_t now = NowMs();
  std::lock_guard lock(s->mu);
  auto it = s->groups.find(std::string(group));
  if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {}, {}, {});
  Group& grp = it->second;
  std::vector<PelSet> set;
  std::vector<StreamId> deleted;
  std::vector<GroupEntry> claimed;
  const int64_t delivery = spec.delivery_ms.value_or(now);
  for (size_t i = 0; i < ids.size(); ++i) {
    const StreamId id = ids[i];
    auto p = grp.pel.find(id);
    if (p == grp.pel.end()) {
      // FORCE: a PEL entry for an ID in the stream that is not pending.
      if (!spec.force || !fields[i]) continue;
      uint64_t cnt = spec.retry_count ? static_cast<uint64_t>(*spec.retry_count)
                                      : (spec.justid ? 0 : 1);
      set.push_back({id, delivery, cnt});
      claimed.push_back({id, spec.justid ? std::nullopt : fields[i]});
      continue;
    }
    if (!fields[i]) {
      deleted.push_back(id);  // pending but gone from the stream: dropped
      continue;
    }
    if (spec.min_idle > 0 && now - p->second.delivery_ms < spec.min_idle) continue;
    uint64_t cnt = p->second.count + (spec.justid ? 0 : 1);
    if (spec.retry_count) cnt = static_cast<uint64_t>(*spec.retry_count);
    set.push_back({id, delivery, cnt});
    claimed.push_back({id, spec.justid ? std::nullopt : fields[i]});
  }
  const bool advance = spec.last_id && *spec.last_id > grp.last_delivered;
  auto finish = [done, claimed = std::move(claimed), deleted](Outcome o) mutable {
    done(std::move(o), std::move(claimed), std::move(deleted), {});
  };
  if (set.empty() && !advance) {
    if (deleted.empty()) return finish({});
    return GroupEventLocked(*s, AckEvent(group, deleted), std::move(finish));
  }
  if (!deleted.empty()) GroupEventLocked(*s, AckEvent(group, deleted), nullptr);
  StreamId last = advance ? *spec.last_id : grp.last_delivered;
  GroupEventLocked(*s,
                   PendingEvent(group, consumer, now, advance ? &last : nullptr, grp.entries_read,
                                set),
                   std::move(finish));
}

void StreamStore::AutoClaim(std::string_view key, std::string_view group,
                            std::string_view consumer, StreamId start, int64_t count,
                            const ClaimSpec& spec, ClaimDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), {}, {}, {});
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoGroup, {}}, {}, {}, {});
  // Candidates: the first count*10 PEL IDs from start (xautoclaimCommand's
  // attempts); their entries are read outside the lock.
  std::vector<StreamId> cands;
  {
    std::lock_guard lock(s->mu);
    auto it = s->groups.find(std::string(group));
    if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {}, {}, {});
    for (auto p = it->second.pel.lower_bound(start);
         p != it->second.pel.end() && static_cast<int64_t>(cands.size()) < count * 10; ++p) {
      cands.push_back(p->first);
    }
  }
  std::vector<std::optional<std::vector<std::string>>> fields;
  for (StreamId id : cands) {
    auto r = Range(key, id, id, 1, false);
    if (!r.ok()) return done(StorageError(r.status()), {}, {}, {});
    fields.push_back(r->empty() ? std::nullopt
                                : std::optional<std::vector<std::string>>(r->front().fields));
  }
  const int64_t now = NowMs();
  std::lock_guard lock(s->mu);
  auto it = s->groups.find(std::string(group));
  if (it == s->groups.end()) return done({StreamError::kNoGroup, {}}, {}, {}, {});
  Group& grp = it->second;
  std::vector<PelSet> set;
  std::vector<StreamId> deleted;
  std::vector<GroupEntry> claimed;
  int64_t left = count;
  StreamId examined = start;
  bool any = false;
  for (size_t i = 0; i < cands.size() && left > 0; ++i) {
    examined = cands[i];
    any = true;
    auto p = grp.pel.find(cands[i]);
    if (p == grp.pel.end()) continue;
    if (!fields[i]) {
      deleted.push_back(cands[i]);
      --left;
      continue;
    }
    if (spec.min_idle > 0 && now - p->second.delivery_ms < spec.min_idle) continue;
    set.push_back({cands[i], now, p->second.count + (spec.justid ? 0 : 1)});
    claimed.push_back({cands[i], spec.justid ? std::nullopt : fields[i]});
    --left;
  }
  // Events applied first (dropping deleted IDs), then the cursor: the
  // first PEL entry after the last examined one, 0-0 at the end.
  std::vector<std::string> events;
  if (!deleted.empty()) events.push_back(AckEvent(group, deleted));
  if (!set.empty()) events.push_back(PendingEvent(group, consumer, now, nullptr, 0, set));
  for (const std::string& e : events) ApplyGroupEvent(&s->groups, MetaWords(e));
  auto p = grp.pel.upper_bound(examined);
  const StreamId next = (any && p != grp.pel.end()) ? p->first : StreamId::Min();
  auto finish = [done, claimed = std::move(claimed), deleted, next](Outcome o) mutable {
    done(std::move(o), std::move(claimed), std::move(deleted), next);
  };
  if (events.empty()) return finish({});
  for (size_t k = 0; k + 1 < events.size(); ++k) AppendMeta(s->name, std::move(events[k]), nullptr);
  AppendMeta(s->name, std::move(events.back()), std::move(finish));
}

bool StreamStore::WithGroups(std::string_view key,
                             const std::function<void(const Groups&, const StreamCounters&)>& fn) {
  auto g = Get(key, false);
  if (!g.ok() || !*g) return false;
  const StreamId first = FirstId(key);
  std::lock_guard lock((*g)->mu);
  fn((*g)->groups, CountersLocked(**g, first));
  return true;
}

}  // namespace runnel::broker::streams
