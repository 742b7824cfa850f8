#include "protocol/kafka/offset_store.h"

#include "protocol/kafka/wire.h"
#include "util/clock.h"

namespace runnel::kafka {
namespace {

// docs/format/kafka-offsets.md: Kafka wire primitives (big-endian, int16
// string lengths), each part led by an int16 format version.
constexpr int16_t kKeyVersion = 1;
constexpr int16_t kValueVersion = 1;

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
  e.Int16(kValueVersion);
  e.Int64(v.offset);
  e.NullableString(v.metadata ? std::optional<std::string_view>(*v.metadata) : std::nullopt, false);
  e.Int64(v.commit_time_ms);
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
  if (d.Int16() != kValueVersion) return false;
  v->offset = d.Int64();
  auto md = d.NullableString(false);
  v->metadata = md ? std::optional<std::string>(std::string(*md)) : std::nullopt;
  v->commit_time_ms = d.Int64();
  return d.ok() && d.remaining() == 0;
}

Result<std::unique_ptr<OffsetStore>> OffsetStore::Open(Log* log, FsyncSpec fsync) {
  std::unique_ptr<OffsetStore> store(new OffsetStore(log));
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
      Key k;
      if (!r.key || !DecodeKey(*r.key, &std::get<0>(k), &std::get<1>(k), &std::get<2>(k))) {
        return Status::Corruption("kafka offsets: bad key at offset " + std::to_string(r.offset));
      }
      if (!r.value) {  // tombstone: the commit was removed
        offsets_.erase(k);
        continue;
      }
      CommittedOffset v;
      if (!DecodeValue(*r.value, &v)) {
        return Status::Corruption("kafka offsets: bad value at offset " + std::to_string(r.offset));
      }
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
  std::vector<std::string> keys, values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (OffsetCommitEntry& e : entries) {
    e.value.commit_time_ms = now_ms;
    keys.push_back(EncodeKey(group, e.topic, e.partition));
    values.push_back(EncodeValue(e.value));
  }
  std::vector<RecordView> records(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    records[i].key = keys[i];
    records[i].value = values[i];
  }
  producer_->AppendAsync(0, records,
                         [this, group = std::string(group), entries = std::move(entries),
                          done = std::move(done)](Result<int64_t> base) mutable {
                           if (base.ok()) {
                             std::lock_guard lock(mu_);
                             for (OffsetCommitEntry& e : entries) {
                               offsets_[Key(group, std::move(e.topic), e.partition)] =
                                   std::move(e.value);
                             }
                           }
                           done(base.ok() ? Status::OK() : base.status());
                         });
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

std::vector<std::string> OffsetStore::Groups() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, v] : offsets_) {
    if (out.empty() || out.back() != std::get<0>(k)) out.push_back(std::get<0>(k));
  }
  return out;
}

}  // namespace runnel::kafka
