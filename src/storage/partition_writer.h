// PartitionWriter: the append path of one partition in this process.
//
// Producers Submit() encoded batches (base offset 0). A CommitPool thread
// takes everything queued and commits it as one group:
//   1. take writer.lock (flock; waits while another process commits),
//   2. read the hwm; if another writer committed since our last group (its
//      generation moved), reload the tail from disk,
//   3. assign base offsets, write all batches with one writev per segment
//      (rolling segments by size/age), append sparse index entries,
//   4. durability point: fdatasync under `always` (or when the interval is
//      due under `interval`),
//   5. publish: pwrite the hwm (readers in every process see the records now),
//   6. release the lock, then run the callbacks in submit order.
// No callback runs before its records are durable under the policy and
// published. A failed fdatasync fences the writer: every later append fails
// with kClosed until the partition is reopened (we cannot know what reached
// the disk). A failed write (ENOSPC) fails that group only; the log is
// truncated back and the next group tries again.
//
// Thread safety: Submit/Flush from any thread. Commit state is guarded by
// commit_mu_ and touched only by pool tasks and RunExclusive.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runnel/options.h"
#include "runnel/status.h"
#include "storage/hwm_file.h"
#include "storage/producer_state.h"

namespace runnel {
class Env;
class File;
class FileLock;
}  // namespace runnel

namespace runnel::storage {

class CommitPool;

// One producer call: one or more RecordBatch v2 back to back, written
// contiguously so their offsets are consecutive. done gets the first offset.
struct AppendRequest {
  struct Batch {
    uint32_t position;     // where the batch starts in bytes
    int32_t offset_count;  // last_offset_delta + 1
  };
  std::string bytes;
  std::vector<Batch> batches;
  std::function<void(Result<int64_t>)> done;
  // An idempotent producer's batch (one batch per request): checked against
  // the partition's ProducerStateTable at commit. A duplicate is not written
  // and `done` gets the original offset; a rejected one gets the Status.
  ProducerBatch producer;
  Status rejected;            // set by the commit
  int64_t duplicate_of = -1;  // set by the commit
};

class PartitionWriter : public std::enable_shared_from_this<PartitionWriter> {
 public:
  // `env` and `pool` are not owned and must outlive the writer.
  PartitionWriter(Env* env, std::string dir, TopicConfig config, CommitPool* pool);
  ~PartitionWriter();
  PartitionWriter(const PartitionWriter&) = delete;
  PartitionWriter& operator=(const PartitionWriter&) = delete;

  // Runs after each group commit that published records, on the commit
  // thread, before the callbacks. Set once, before the first Submit.
  void SetPublishHook(std::function<void()> hook) { publish_hook_ = std::move(hook); }
  // The partition's idempotent-producer state, shared by every writer of
  // the partition in this process. Without it producer fields are not
  // checked. Set once, before the first Submit.
  void SetProducerState(std::shared_ptr<ProducerStateTable> table) {
    producers_ = std::move(table);
  }

  void Submit(AppendRequest request);
  // An empty string to encode the next request into: one a finished commit
  // gave back when there is one, so steady appends reuse warm memory.
  std::string TakeBuffer();
  // Waits until everything submitted before the call has completed.
  void Flush();
  // Under `interval`: schedules a sync if writes are unsynced and the
  // interval has passed. Called periodically by the Log.
  void SyncIfDue(int64_t now_ms);
  // Final sync (under `interval`); after Flush, before destruction.
  Status Close();

  // Runs fn(active_segment_base) holding the writer lock with the tail
  // loaded; afterwards the hwm generation is bumped so writers in other
  // processes reload. For the steward, which may only touch segments below
  // the active one.
  Status RunExclusive(const std::function<Status(int64_t active_base)>& fn);

  // Raises the partition's log start offset to `offset` (never lowers it)
  // under the writer lock: the log_start file (log_start_file.h) is
  // replaced and fsynced before this returns, so the new start survives
  // kill -9 and power loss. Returns the new start as readers see it:
  // max(stored log start, first segment base), at most the end. Errors:
  // kOutOfRange when offset is past the published end, kInvalidArgument
  // when negative, kNotFound when the topic was deleted. Blocks for an
  // fsync and a directory fsync; the steward frees the segments later.
  Result<int64_t> RaiseLogStart(int64_t offset);

  // Marks the partition deleted in its hwm (under the writer lock) so writers
  // in other processes stop appending to it.
  Status MarkDeleted();

  const std::string& dir() const { return dir_; }
  const TopicConfig& config() const { return config_; }

 private:
  struct Tail;  // the loaded active segment

  void RunCommits();
  Status CommitGroup(std::vector<AppendRequest>& group, std::vector<int64_t>* bases);
  Status CommitGroupLocked(std::vector<AppendRequest>& group, std::vector<int64_t>* bases);
  // Producer state for the log as loaded; rebuilt when it lags the log.
  Status SyncProducerState();
  void SnapshotProducerState();
  Status LockAndLoad(std::unique_ptr<FileLock>* lock, Hwm* hwm);
  Status LoadTail(bool full, const Result<Hwm>& hwm);
  Status OpenSegment(int64_t base, bool create);
  Status Roll(int64_t now_ms);
  Status WriteParts(std::vector<std::string_view>& parts, uint64_t bytes);
  Status Publish();
  Status SyncLocked();

  Env* const env_;
  const std::string dir_;
  const TopicConfig config_;
  CommitPool* const pool_;
  std::function<void()> publish_hook_;
  std::shared_ptr<ProducerStateTable> producers_;

  std::mutex mu_;  // guards queue_, scheduled_, sync_scheduled_
  std::condition_variable idle_cv_;
  std::deque<AppendRequest> queue_;
  bool scheduled_ = false;
  bool sync_scheduled_ = false;
  uint64_t submitted_ = 0;
  uint64_t completed_ = 0;
  std::vector<std::string> spare_buffers_;

  std::mutex commit_mu_;  // guards everything below
  bool loaded_ = false;
  Status fenced_;
  std::unique_ptr<File> hwm_file_;
  std::unique_ptr<Tail> tail_;
  uint64_t generation_ = 0;
  int64_t next_offset_ = 0;
  bool dirty_ = false;  // written since the last fdatasync
  int64_t last_sync_ms_ = 0;
};

}  // namespace runnel::storage
