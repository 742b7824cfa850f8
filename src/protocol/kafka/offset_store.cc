#include "protocol/kafka/offset_store.h"

#include "protocol/kafka/wire.h"
#include "util/clock.h"

#include <set>

namespace runnel::kafka {
namespace {

// docs/format/kafka-offsets.md: Kafka wire primitives (big-endian, int16
// string lengths), each part led by an int16 format version.
// Key version 1: an offset; key version 2: a group's retention state.
constexpr int16_t kKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
// Offset values: 1 without, 2 with an explicit expire time.
constexpr int16_t kValueVersion = 1;
constexpr int16_t kValueVersionExpiring = 2;
constexpr int16_t kGroupValueVersion = 1;

}  // namespace

std::string OffsetStore::EncodeKey(std::string_view group, std::string_view topic,
                                   int32_t partition) {
  std::string out;
  Encoder e(&out);
  e.Int16(kKeyVersion);
  e.String(group, false);
  e.String(topic, false);
  e.Int32(partition);
  return out;
}

std::string OffsetStore::EncodeValue(const CommittedOffset& v) {
  std::string out;
  Encoder e(&out);
  e.Int16(v.expire_time_ms >= 0 ? kValueVersionExpiring : kValueVersion);
  e.Int64(v.offset);
  e.NullableString(v.metadata ? std::optional<std::string_view>(*v.metadata) : std::nullopt, false);
  e.Int64(v.commit_time_ms);
  if (v.expire_time_ms >= 0) e.Int64(v.expire_time_ms);
  return out;
}

std::string OffsetStore::EncodeGroupKey(std::string_view group) {
  std::string out;
  Encoder e(&out);
  e.Int16(kGroupKeyVersion);
  e.String(group, false);
  return out;
}

std::string OffsetStore::EncodeGroupValue(const GroupRetentionState& v) {
  std::string out;
  Encoder e(&out);
  e.Int16(kGroupValueVersion);
  e.String(v.protocol_type, false);
  e.Int64(v.empty_since_ms);
  return out;
}

bool OffsetStore::DecodeKey(std::string_view key, std::string* group, std::string* topic,
                            int32_t* partition) {
  Decoder d(key);
  if (d.Int16() != kKeyVersion) return false;
  *group = std::string(d.String(false));
  *topic = std::string(d.String(false));
  *partition = d.Int32();
  return d.ok() && d.remaining() == 0;
}

bool OffsetStore::DecodeValue(std::string_view value, CommittedOffset* v) {
  Decoder d(value);
  const int16_t version = d.Int16();
  if (version != kValueVersion && version != kValueVersionExpiring) return false;
  v->offset = d.Int64();
  auto md = d.NullableString(false);
  v->metadata = md ? std::optional<std::string>(std::string(*md)) : std::nullopt;
  v->commit_time_ms = d.Int64();
  v->expire_time_ms = version == kValueVersionExpiring ? d.Int64() : -1;
  return d.ok() && d.remaining() == 0;
}

Result<std::unique_ptr<OffsetStore>> OffsetStore::Open(Log* log, FsyncSpec fsync) {
  std::unique_ptr<OffsetStore> store(new OffsetStore(log));
  store->opened_ms_ = WallMillis();
  auto d = log->DescribeTopic(kOffsetsTopic);
  if (!d.ok()) {
    if (!d.status().Is(StatusCode::kNotFound)) return d.status();
    TopicConfig config;
    config.partitions = 1;
    config.compact = true;  // one live record per (group, topic, partition)
    config.fsync = fsync;
    Status st = log->CreateTopic(kOffsetsTopic, config);
    if (!st.ok() && !st.Is(StatusCode::kAlreadyExists)) return st;
  }
  auto producer = log->NewProducer(kOffsetsTopic, /*auto_create=*/false);
  if (!producer.ok()) return producer.status();
  store->producer_ = std::move(*producer);
  Status st = store->Load();
  if (!st.ok()) return st;
  return store;
}

OffsetStore::~OffsetStore() {
  if (producer_) (void)producer_->Flush();
}

Status OffsetStore::Load() {
  auto reader = log_->NewReader(kOffsetsTopic, 0, StartPosition::Earliest());
  if (!reader.ok()) return reader.status();
  ReadBatch batch;
  for (;;) {
    Status st = (*reader)->ReadInto(&batch);
    if (!st.ok()) return st;
    if (batch.empty()) return Status::OK();
    for (const RecordView& r : batch.records()) {
      const std::string at = " at offset " + std::to_string(r.offset);
      if (r.key && r.key->size() >= 2 && Decoder(*r.key).Int16() == kGroupKeyVersion) {
        Decoder d(*r.key);
        d.Int16();
        std::string group(d.String(false));
        if (!d.ok() || d.remaining() != 0) return Status::Corruption("kafka offsets: bad key" + at);
        if (!r.value) {  // tombstone: the group was deleted or expired
          appended_groups_.erase(group);
          continue;
        }
        Decoder v(*r.value);
        GroupRetentionState g;
        const bool version_ok = v.Int16() == kGroupValueVersion;
        g.protocol_type = std::string(v.String(false));
        g.empty_since_ms = v.Int64();
        if (!version_ok || !v.ok() || v.remaining() != 0) {
          return Status::Corruption("kafka offsets: bad group value" + at);
        }
        // A group that had members when the server stopped lost them then:
        // its Empty clock starts now.
        if (g.empty_since_ms < 0) g.empty_since_ms = opened_ms_;
        appended_groups_[std::move(group)] = std::move(g);
        continue;
      }
      Key k;
      if (!r.key || !DecodeKey(*r.key, &std::get<0>(k), &std::get<1>(k), &std::get<2>(k))) {
        return Status::Corruption("kafka offsets: bad key" + at);
      }
      if (!r.value) {  // tombstone: the commit was removed
        appended_.erase(k);
        offsets_.erase(k);
        continue;
      }
      CommittedOffset v;
      if (!DecodeValue(*r.value, &v)) return Status::Corruption("kafka offsets: bad value" + at);
      appended_[k] = {v.commit_time_ms, v.expire_time_ms};
      offsets_[std::move(k)] = std::move(v);
    }
  }
}

void OffsetStore::Commit(std::string_view group, std::vector<OffsetCommitEntry> entries,
                         CommitCallback done) {
  if (entries.empty()) {
    done(Status::OK());
    return;
  }
  const int64_t now_ms = WallMillis();
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  std::lock_guard append_lock(append_mu_);
  for (OffsetCommitEntry& e : entries) {
    e.value.commit_time_ms = now_ms;
    // RetentionTimeMs arrives as a duration in expire_time_ms (handler).
    if (e.value.expire_time_ms >= 0) e.value.expire_time_ms += now_ms;
    keys.push_back(EncodeKey(group, e.topic, e.partition));
    values.push_back(EncodeValue(e.value));
    appended_[Key(std::string(group), e.topic, e.partition)] = {now_ms, e.value.expire_time_ms};
  }
  AppendLocked(
      std::move(keys), std::move(values),
      [this, group = std::string(group), entries = std::move(entries)]() mutable {
        for (OffsetCommitEntry& e : entries) {
          offsets_[Key(group, std::move(e.topic), e.partition)] = std::move(e.value);
        }
      },
      std::move(done));
}

void OffsetStore::AppendLocked(std::vector<std::string> keys,
                               std::vector<std::optional<std::string>> values,
                               std::function<void()> applied, CommitCallback done) {
  std::vector<RecordView> records(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    records[i].key = keys[i];
    if (values[i]) records[i].value = *values[i];
  }
  producer_->AppendAsync(
      0, records,
      [this, applied = std::move(applied), done = std::move(done)](Result<int64_t> base) mutable {
        if (base.ok() && applied) {
          std::lock_guard lock(mu_);
          applied();
        }
        if (done) done(base.ok() ? Status::OK() : base.status());
      });
}

void OffsetStore::SetGroupState(std::string_view group, std::string_view protocol_type, bool empty,
                                int64_t now_ms) {
  GroupRetentionState state{std::string(protocol_type), empty ? now_ms : -1};
  std::lock_guard append_lock(append_mu_);
  std::vector<std::string> keys{EncodeGroupKey(group)};
  std::vector<std::optional<std::string>> values{EncodeGroupValue(state)};
  appended_groups_[std::string(group)] = std::move(state);
  AppendLocked(std::move(keys), std::move(values), nullptr, nullptr);
}

void OffsetStore::DeleteGroup(std::string_view group, CommitCallback done) {
  std::vector<std::string> keys;
  std::vector<Key> gone;
  std::lock_guard append_lock(append_mu_);
  for (auto it = appended_.lower_bound(Key(std::string(group), "", INT32_MIN));
       it != appended_.end() && std::get<0>(it->first) == group;) {
    keys.push_back(EncodeKey(group, std::get<1>(it->first), std::get<2>(it->first)));
    gone.push_back(it->first);
    it = appended_.erase(it);
  }
  keys.push_back(EncodeGroupKey(group));
  appended_groups_.erase(std::string(group));
  std::vector<std::optional<std::string>> values(keys.size());
  AppendLocked(
      std::move(keys), std::move(values),
      [this, gone = std::move(gone)] {
        for (const Key& k : gone) offsets_.erase(k);
      },
      std::move(done));
}

void OffsetStore::DeleteOffsets(std::string_view group,
                                const std::vector<std::pair<std::string, int32_t>>& partitions,
                                CommitCallback done) {
  std::vector<std::string> keys;
  std::vector<Key> gone;
  {
    std::lock_guard append_lock(append_mu_);
    for (const auto& [topic, partition] : partitions) {
      auto it = appended_.find(Key(std::string(group), topic, partition));
      if (it == appended_.end()) continue;
      keys.push_back(EncodeKey(group, topic, partition));
      gone.push_back(it->first);
      appended_.erase(it);
    }
    if (!keys.empty()) {
      std::vector<std::optional<std::string>> values(keys.size());
      AppendLocked(
          std::move(keys), std::move(values),
          [this, gone = std::move(gone)] {
            for (const Key& k : gone) offsets_.erase(k);
          },
          std::move(done));
      return;
    }
  }
  done(Status::OK());
}

std::vector<std::string> OffsetStore::Expire(
    int64_t now_ms, int64_t retention_ms, const std::function<bool(const std::string&)>& is_empty,
    CommitCallback done) {
  std::vector<std::string> keys, emptied;
  std::vector<Key> gone;
  {
    std::lock_guard append_lock(append_mu_);
    std::set<std::string> groups;
    for (const auto& [k, a] : appended_) groups.insert(std::get<0>(k));
    for (const auto& [g, st] : appended_groups_) groups.insert(g);
    for (const std::string& group : groups) {
      if (!is_empty(group)) continue;  // members: nothing expires
      auto state = appended_groups_.find(group);
      const bool consumer_group = state != appended_groups_.end();
      // A consumer group's offsets count from when it became Empty (KIP-211),
      // a standalone group's from each commit.
      const int64_t empty_since = consumer_group ? state->second.empty_since_ms : -1;
      bool left = false;
      for (auto it = appended_.lower_bound(Key(group, "", INT32_MIN));
           it != appended_.end() && std::get<0>(it->first) == group;) {
        const Appended& a = it->second;
        const int64_t base = consumer_group ? empty_since : a.commit_time_ms;
        const bool expired = a.expire_time_ms >= 0 ? now_ms >= a.expire_time_ms
                                                   : base >= 0 && now_ms - base >= retention_ms;
        if (!expired) {
          left = true;
          ++it;
          continue;
        }
        keys.push_back(EncodeKey(group, std::get<1>(it->first), std::get<2>(it->first)));
        gone.push_back(it->first);
        it = appended_.erase(it);
      }
      if (left) continue;
      // No offsets left: a consumer group goes once its own retention ran
      // out (Kafka drops an Empty group without offsets, so its state
      // record is not kept forever), a standalone one at once.
      if (consumer_group) {
        if (empty_since < 0 || now_ms - empty_since < retention_ms) continue;
        keys.push_back(EncodeGroupKey(group));
        appended_groups_.erase(state);
      }
      emptied.push_back(group);
    }
    if (!keys.empty()) {
      std::vector<std::optional<std::string>> values(keys.size());
      AppendLocked(
          std::move(keys), std::move(values),
          [this, gone = std::move(gone)] {
            for (const Key& k : gone) offsets_.erase(k);
          },
          std::move(done));
      return emptied;
    }
  }
  if (done) done(Status::OK());
  return emptied;
}

std::optional<CommittedOffset> OffsetStore::Fetch(std::string_view group, std::string_view topic,
                                                  int32_t partition) {
  std::lock_guard lock(mu_);
  auto it = offsets_.find(Key(std::string(group), std::string(topic), partition));
  if (it == offsets_.end()) return std::nullopt;
  return it->second;
}

std::vector<OffsetCommitEntry> OffsetStore::FetchAll(std::string_view group) {
  std::lock_guard lock(mu_);
  std::vector<OffsetCommitEntry> out;
  for (auto it = offsets_.lower_bound(Key(std::string(group), "", INT32_MIN));
       it != offsets_.end() && std::get<0>(it->first) == group; ++it) {
    out.push_back({std::get<1>(it->first), std::get<2>(it->first), it->second});
  }
  return out;
}

std::vector<StoredGroup> OffsetStore::Groups() {
  std::map<std::string, std::string> groups;  // id -> protocol type
  {
    std::lock_guard append_lock(append_mu_);
    for (const auto& [g, st] : appended_groups_) groups[g] = st.protocol_type;
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : offsets_) groups.try_emplace(std::get<0>(k));
  }
  std::vector<StoredGroup> out;
  for (auto& [g, type] : groups) out.push_back({g, std::move(type)});
  return out;
}

}  // namespace runnel::kafka
