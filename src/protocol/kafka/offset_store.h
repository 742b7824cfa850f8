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
// Retention (KIP-211): besides the offsets the topic holds one record per
// consumer group saying whether it has members or since when it is Empty
// (SetGroupState). Expire() tombstones what retention has run out for, and
// DeleteGroup() all of a group's records; both are appends like commits, so
// they are durable, survive kill -9, and are replayed in log order.
//
// Ordering: `append_mu_` is held from choosing the records to the
// AppendAsync call (it is not held while the append runs), so what Expire
// and DeleteGroup tombstone is chosen against every commit appended before
// them and a later commit lands after the tombstone, in memory and in the
// log alike. Lock order: append_mu_, then the coordinator's mu_ (Expire's
// `is_empty`), then mu_.
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
  // OffsetCommit v2-v4 RetentionTimeMs: commit time + retention; -1: the
  // server's offsets retention applies.
  int64_t expire_time_ms = -1;
};

// A consumer group's membership as persisted for retention.
struct GroupRetentionState {
  std::string protocol_type;
  int64_t empty_since_ms = -1;  // wall clock; -1: the group has members
};

struct StoredGroup {
  std::string group_id;
  std::string protocol_type;  // "" for a group known only from standalone commits
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
  // Groups with at least one committed offset or a consumer-group state.
  std::vector<StoredGroup> Groups();

  // Records that a group with protocol type `protocol_type` became Empty at
  // `now_ms` (empty) or has members again. Appended without waiting.
  void SetGroupState(std::string_view group, std::string_view protocol_type, bool empty,
                     int64_t now_ms);
  // Tombstones every offset of `group` and its state; `done` once durable.
  void DeleteGroup(std::string_view group, CommitCallback done);
  // Tombstones the listed offsets of `group` that are committed (OffsetDelete);
  // `done` once durable (at once when none is).
  void DeleteOffsets(std::string_view group,
                     const std::vector<std::pair<std::string, int32_t>>& partitions,
                     CommitCallback done);

  // Offsets retention (KIP-211), at `now_ms`:
  //  - a consumer group (one with a state record) expires only while
  //    `is_empty` says it has no members, all its offsets together once
  //    `retention_ms` has passed since it became Empty (a group that had
  //    members when the server stopped counts from Open);
  //  - a group known only from standalone commits expires offset by
  //    offset, `retention_ms` after each commit;
  //  - an offset committed with an explicit retention (OffsetCommit v2-v4)
  //    expires at its own expire time, in either kind of group while Empty.
  // A group left with no offsets loses its state record too and is
  // returned: the caller forgets it. `done` runs once the tombstones are
  // durable (at once when nothing expired).
  std::vector<std::string> Expire(int64_t now_ms, int64_t retention_ms,
                                  const std::function<bool(const std::string&)>& is_empty,
                                  CommitCallback done);

  // The record layouts (exposed for tests).
  static std::string EncodeKey(std::string_view group, std::string_view topic, int32_t partition);
  static std::string EncodeValue(const CommittedOffset& v);
  static bool DecodeKey(std::string_view key, std::string* group, std::string* topic,
                        int32_t* partition);
  static bool DecodeValue(std::string_view value, CommittedOffset* v);
  static std::string EncodeGroupKey(std::string_view group);
  static std::string EncodeGroupValue(const GroupRetentionState& v);

 private:
  using Key = std::tuple<std::string, std::string, int32_t>;  // group, topic, partition
  // What was last appended for a key: the newest commit's times.
  struct Appended {
    int64_t commit_time_ms = 0;
    int64_t expire_time_ms = -1;
  };
  explicit OffsetStore(Log* log) : log_(log) {}
  Status Load();
  // Appends `records` (null values: tombstones) in one batch; runs `applied`
  // under mu_ once durable, then `done`. Caller holds append_mu_.
  void AppendLocked(std::vector<std::string> keys, std::vector<std::optional<std::string>> values,
                    std::function<void()> applied, CommitCallback done);

  Log* const log_;
  std::unique_ptr<Producer> producer_;
  int64_t opened_ms_ = 0;
  std::mutex append_mu_;
  std::map<Key, Appended> appended_;                            // guarded by append_mu_
  std::map<std::string, GroupRetentionState> appended_groups_;  // guarded by append_mu_
  std::mutex mu_;
  std::map<Key, CommittedOffset> offsets_;
};

}  // namespace runnel::kafka
