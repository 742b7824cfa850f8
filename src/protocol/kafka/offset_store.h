// OffsetStore: committed consumer-group offsets (OffsetCommit/OffsetFetch),
// kept in memory and persisted as records of the internal compacted topic
// `__runnel.kafka_offsets` (docs/format/kafka-offsets.md): one record per
// (group, topic, partition), the newest wins, compaction keeps only it.
//
// Durability: Commit's callback runs once the records are durable under the
// internal topic's fsync policy (created with the server's default policy,
// the same promise as the records the offsets point into: under every
// policy a commit that was answered survives kill -9). The in-memory map
// changes in that callback, so Fetch never returns an offset whose record
// the log might not hold. Appends to the one partition complete in call
// order, so two commits of the same partition apply in the order made.
//
// Open replays the topic (the steward has already run at server start, so
// the log's end is known); commits then survive restarts and kill -9.
//
// Threading: any thread. `mu_` is a leaf lock guarding the map, never held
// across an append. Callbacks run on a storage writer thread (or inline for
// an error found before anything is queued) and must be quick.
//
// Lifecycle: `log` must outlive the store; the destructor flushes the
// producer, so every pending callback has run when it returns.
#pragma once

#include "runnel/log.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace runnel::kafka {

inline constexpr std::string_view kOffsetsTopic = "__runnel.kafka_offsets";
// Kafka's offset.metadata.max.bytes.
inline constexpr size_t kMaxOffsetMetadataBytes = 4096;

struct CommittedOffset {
  int64_t offset = -1;
  std::optional<std::string> metadata;
  int64_t commit_time_ms = 0;
};

struct OffsetCommitEntry {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset value;
};

class OffsetStore {
 public:
  // Creates the topic (compacted, one partition, `fsync`) if missing and
  // loads every committed offset.
  static Result<std::unique_ptr<OffsetStore>> Open(Log* log, FsyncSpec fsync);
  ~OffsetStore();
  OffsetStore(const OffsetStore&) = delete;
  OffsetStore& operator=(const OffsetStore&) = delete;

  using CommitCallback = std::function<void(Status)>;
  // Appends every entry in one batch; `done` once durable (or failed: then
  // nothing of it is applied).
  void Commit(std::string_view group, std::vector<OffsetCommitEntry> entries, CommitCallback done);

  // nullopt: nothing committed.
  std::optional<CommittedOffset> Fetch(std::string_view group, std::string_view topic,
                                       int32_t partition);
  // Every committed partition of a group, by topic then partition.
  std::vector<OffsetCommitEntry> FetchAll(std::string_view group);
  // Groups with at least one committed offset.
  std::vector<std::string> Groups();

  // The record layouts (exposed for tests).
  static std::string EncodeKey(std::string_view group, std::string_view topic, int32_t partition);
  static std::string EncodeValue(const CommittedOffset& v);
  static bool DecodeKey(std::string_view key, std::string* group, std::string* topic,
                        int32_t* partition);
  static bool DecodeValue(std::string_view value, CommittedOffset* v);

 private:
  using Key = std::tuple<std::string, std::string, int32_t>;  // group, topic, partition
  explicit OffsetStore(Log* log) : log_(log) {}
  Status Load();

  Log* const log_;
  std::unique_ptr<Producer> producer_;
  std::mutex mu_;
  std::map<Key, CommittedOffset> offsets_;
};

}  // namespace runnel::kafka
