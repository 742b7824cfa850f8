#include "storage/partition_writer.h"

#include <algorithm>

#include "storage/batch_format.h"
#include "storage/batch_scanner.h"
#include "storage/commit_pool.h"
#include "storage/data_dir.h"
#include "storage/log_start_file.h"
#include "storage/segment_index.h"
#include "storage/segment_list.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {

struct PartitionWriter::Tail {
  int64_t base = 0;
  std::unique_ptr<File> log, index, timeindex;
  uint64_t size = 0;
  uint64_t index_bytes = 0;
  uint64_t timeindex_bytes = 0;
  uint64_t last_index_position = 0;
  int64_t first_ts = -1;  // first batch's timestamp, for roll by age
  int64_t max_ts = -1;
  int64_t last_time_entry_ts = -1;
};

PartitionWriter::PartitionWriter(Env* env, std::string dir, TopicConfig config, CommitPool* pool)
    : env_(env), dir_(std::move(dir)), config_(std::move(config)), pool_(pool) {}

PartitionWriter::~PartitionWriter() = default;

void PartitionWriter::Submit(AppendRequest request) {
  bool schedule = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(request));
    ++submitted_;
    if (!scheduled_) schedule = scheduled_ = true;
  }
  if (schedule) pool_->Schedule([self = shared_from_this()] { self->RunCommits(); });
}

std::string PartitionWriter::TakeBuffer() {
  std::lock_guard lock(mu_);
  if (spare_buffers_.empty()) return {};
  std::string b = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return b;
}

void PartitionWriter::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = submitted_;
  idle_cv_.wait(lock, [&] { return completed_ >= target; });
}

void PartitionWriter::RunCommits() {
  std::vector<AppendRequest> group;
  {
    std::lock_guard lock(mu_);
    group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
  }
  if (!group.empty()) {
    std::vector<int64_t> bases;
    Status st;
    {
      std::lock_guard commit(commit_mu_);
      st = CommitGroup(group, &bases);
    }
    if (st.ok() && publish_hook_) publish_hook_();
    for (size_t i = 0; i < group.size(); ++i) {
      if (!group[i].done) continue;
      if (st.ok() && !group[i].rejected.ok()) {
        group[i].done(group[i].rejected);
      } else if (st.ok() && group[i].duplicate_of >= 0) {
        group[i].done(group[i].duplicate_of);
      } else if (st.ok()) {
        group[i].done(bases[i]);
      } else {
        group[i].done(st);
      }
    }
  }
  constexpr size_t kMaxSpareBuffers = 16;
  constexpr size_t kMaxSpareCapacity = 8 << 20;
  bool again;
  {
    std::lock_guard lock(mu_);
    for (AppendRequest& r : group) {
      if (spare_buffers_.size() >= kMaxSpareBuffers) break;
      if (r.bytes.capacity() > kMaxSpareCapacity) continue;
      r.bytes.clear();
      spare_buffers_.push_back(std::move(r.bytes));
    }
    completed_ += group.size();
    again = !queue_.empty();
    if (!again) scheduled_ = false;
  }
  idle_cv_.notify_all();
  // One group per task keeps the pool fair across partitions.
  if (again) pool_->Schedule([self = shared_from_this()] { self->RunCommits(); });
}

Status PartitionWriter::LockAndLoad(std::unique_ptr<FileLock>* lock, Hwm* hwm_out) {
  if (!fenced_.ok()) return fenced_;
  auto lk = env_->LockFile(dir_ + "/" + std::string(kWriterLockFile), /*wait=*/true);
  if (!lk.ok()) {
    if (lk.status().Is(StatusCode::kNotFound)) return Status::NotFound(dir_ + ": topic deleted");
    return lk.status();
  }
  *lock = std::move(*lk);
  if (!hwm_file_) {
    ASSIGN_OR_RETURN(hwm_file_, env_->OpenFile(dir_ + "/" + std::string(kHwmFile), OpenMode::kCreate));
  }
  Result<Hwm> hwm = ReadHwm(hwm_file_.get());
  if (hwm.ok() && hwm->deleted()) return Status::NotFound(dir_ + ": topic deleted");
  // A writer that died after writing but before publishing leaves bytes
  // past our end without moving the generation: the file size tells.
  bool foreign_bytes = false;
  if (loaded_ && tail_) {
    auto size = tail_->log->Size();
    foreign_bytes = !size.ok() || *size != tail_->size;
    // A writer that died right after rolling (before its first batch was
    // published) leaves the next segment's empty files at our end offset,
    // also without a new generation: appending on to our tail would put
    // that segment's offsets in this one, where readers take them as damage.
    if (!foreign_bytes && tail_->base != next_offset_) {
      foreign_bytes = env_->FileExists(SegmentPath(dir_, next_offset_, SegmentFileKind::kLog));
    }
  }
  if (!loaded_ || !hwm.ok() || hwm->generation != generation_ || foreign_bytes) {
    RETURN_IF_ERROR(LoadTail(/*full=*/!loaded_ || !hwm.ok(), hwm));
  }
  if (hwm_out && hwm.ok()) *hwm_out = *hwm;
  return Status::OK();
}

Status PartitionWriter::OpenSegment(int64_t base, bool create) {
  auto t = std::make_unique<Tail>();
  t->base = base;
  OpenMode mode = create ? OpenMode::kCreate : OpenMode::kReadWrite;
  ASSIGN_OR_RETURN(t->log, env_->OpenFile(SegmentPath(dir_, base, SegmentFileKind::kLog), mode));
  ASSIGN_OR_RETURN(t->index, env_->OpenFile(SegmentPath(dir_, base, SegmentFileKind::kIndex),
                                            OpenMode::kCreate));
  ASSIGN_OR_RETURN(t->timeindex, env_->OpenFile(SegmentPath(dir_, base, SegmentFileKind::kTimeIndex),
                                                OpenMode::kCreate));
  ASSIGN_OR_RETURN(t->size, t->log->Size());
  tail_ = std::move(t);
  return Status::OK();
}

// Recovery of the active segment. `full` scans from the last trusted index
// entry (first open in this process, or the hwm is unreadable); otherwise
// another writer published a new hwm and we continue from it, still
// validating whatever lies past it.
Status PartitionWriter::LoadTail(bool full, const Result<Hwm>& hwm) {
  loaded_ = false;
  tail_.reset();
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  if (bases.empty()) {
    int64_t base = hwm.ok() ? hwm->next_offset : 0;
    RETURN_IF_ERROR(OpenSegment(base, /*create=*/true));
    RETURN_IF_ERROR(env_->SyncDir(dir_));
    bases.push_back(base);
  } else {
    RETURN_IF_ERROR(OpenSegment(bases.back(), /*create=*/false));
  }
  Tail& t = *tail_;
  const uint64_t file_size = t.size;

  ASSIGN_OR_RETURN(LoadedOffsetIndex index,
                   LoadOffsetIndex(env_, SegmentPath(dir_, t.base, SegmentFileKind::kIndex), file_size));
  ASSIGN_OR_RETURN(LoadedTimeIndex tindex,
                   LoadTimeIndex(env_, SegmentPath(dir_, t.base, SegmentFileKind::kTimeIndex)));

  uint64_t scan_from = 0;
  int64_t expect = t.base;
  if (!full && hwm->segment_base == t.base && hwm->segment_size <= file_size) {
    scan_from = hwm->segment_size;
    expect = hwm->next_offset;
  } else {
    // Trust the last index entry only if the batch it names is really there.
    while (!index.entries.empty()) {
      IndexEntry e = index.entries.back();
      char buf[kBatchHeaderSize];
      ASSIGN_OR_RETURN(size_t n, t.log->ReadAt(e.position, buf, sizeof(buf)));
      BatchHeader h;
      if (n == sizeof(buf) && ParseBatchHeader(std::string_view(buf, n), &h).ok() &&
          h.base_offset == t.base + e.relative_offset) {
        scan_from = e.position;
        expect = h.base_offset;
        break;
      }
      index.entries.pop_back();
      index.damaged = true;
    }
  }

  BatchScanner scanner(t.log.get(), scan_from, file_size);
  BatchHeader h;
  std::string_view bytes;
  int64_t scanned_max_ts = -1;
  for (;;) {
    auto o = scanner.Next(&h, &bytes);
    if (o == BatchScanner::Outcome::kError) return scanner.status();
    if (o != BatchScanner::Outcome::kBatch || h.base_offset != expect) break;
    expect = h.next_offset();
    scanned_max_ts = std::max(scanned_max_ts, h.max_timestamp);
  }
  uint64_t valid_end = scanner.position();
  if (hwm.ok() && hwm->segment_base == t.base && valid_end < hwm->segment_size &&
      hwm->segment_size <= file_size) {
    // Damage inside published (acknowledged) data: never cut it off. Keep
    // everything up to the published end; readers and verify report the
    // damaged range.
    valid_end = hwm->segment_size;
    expect = hwm->next_offset;
  }
  if (valid_end < file_size) {
    // A torn or damaged tail: nothing past valid_end was ever published as
    // durable by a commit that completed, so it is cut off.
    RETURN_IF_ERROR(t.log->Truncate(valid_end));
    t.size = valid_end;
  }
  next_offset_ = expect;

  // Indexes: keep the valid prefix that points inside the log.
  while (!index.entries.empty() && index.entries.back().position >= valid_end) {
    index.entries.pop_back();
    index.damaged = true;
  }
  t.index_bytes = index.entries.size() * kIndexEntrySize;
  if (index.damaged || index.file_bytes != t.index_bytes) {
    RETURN_IF_ERROR(t.index->Truncate(t.index_bytes));
  }
  t.last_index_position = index.entries.empty() ? 0 : index.entries.back().position;
  int64_t rel_end = next_offset_ - t.base;
  while (!tindex.entries.empty() && tindex.entries.back().relative_offset > rel_end) {
    tindex.entries.pop_back();
    tindex.damaged = true;
  }
  t.timeindex_bytes = tindex.entries.size() * kTimeIndexEntrySize;
  if (tindex.damaged || tindex.file_bytes != t.timeindex_bytes) {
    RETURN_IF_ERROR(t.timeindex->Truncate(t.timeindex_bytes));
  }
  t.last_time_entry_ts = tindex.entries.empty() ? -1 : tindex.entries.back().timestamp;
  t.max_ts = std::max(scanned_max_ts, t.last_time_entry_ts);
  if (t.size > 0) {
    char buf[kBatchHeaderSize];
    ASSIGN_OR_RETURN(size_t n, t.log->ReadAt(0, buf, sizeof(buf)));
    if (n == sizeof(buf) && ParseBatchHeader(std::string_view(buf, n), &h).ok()) {
      t.first_ts = h.base_timestamp;
    }
  }

  if (full) {
    RETURN_IF_ERROR(RemoveInterruptedRewrites(env_, dir_));
    // A log start past the log's end means the log lost its tail (power
    // loss under interval/never): the offsets above the end will be written
    // again, by new records that must not be hidden.
    auto log_start = ReadLogStart(env_, dir_);
    if (log_start.ok() && *log_start > next_offset_) {
      RETURN_IF_ERROR(WriteLogStart(env_, dir_, next_offset_));
    }
    // Sealed segments whose index went missing get it rebuilt now.
    for (size_t i = 0; i + 1 < bases.size(); ++i) {
      if (!env_->FileExists(SegmentPath(dir_, bases[i], SegmentFileKind::kIndex))) {
        RETURN_IF_ERROR(RebuildSegmentIndexes(env_, dir_, bases[i], /*sealed=*/true));
      }
    }
  }

  generation_ = hwm.ok() ? hwm->generation : 0;
  loaded_ = true;
  bool stale = !hwm.ok() || hwm->next_offset != next_offset_ || hwm->segment_base != t.base ||
               hwm->segment_size != t.size;
  if (stale) {
    // Batches found past the old hwm were written but never published; under
    // `always` they must reach the disk before anyone can read them.
    if (config_.fsync.policy == FsyncPolicy::kAlways) RETURN_IF_ERROR(SyncLocked());
    RETURN_IF_ERROR(Publish());
  }
  return Status::OK();
}

Status PartitionWriter::SyncLocked() {
  Status st = tail_->log->Sync();
  if (!st.ok()) {
    fenced_ = Status::Closed("fdatasync failed, partition fenced until reopened: " + st.message());
    return fenced_;
  }
  dirty_ = false;
  last_sync_ms_ = WallMillis();
  return Status::OK();
}

Status PartitionWriter::Publish() {
  Hwm h;
  h.generation = generation_ + 1;
  h.next_offset = next_offset_;
  h.segment_base = tail_->base;
  h.segment_size = tail_->size;
  RETURN_IF_ERROR(hwm_file_->WriteAt(0, EncodeHwm(h)));
  generation_ = h.generation;
  return Status::OK();
}

Status PartitionWriter::SyncProducerState() {
  if (!producers_ || producers_->end_offset() == next_offset_) return Status::OK();
  RETURN_IF_ERROR(RebuildProducerState(env_, dir_, next_offset_, producers_.get()));
  producers_->set_end_offset(next_offset_, tail_->base, tail_->size);
  return Status::OK();
}

void PartitionWriter::SnapshotProducerState() {
  if (!producers_ || producers_->size() == 0 || producers_->end_offset() != next_offset_) return;
  // A snapshot is a shortcut for the rebuild, never the only copy of the
  // state (the log has it), so a failure here is not an append failure.
  (void)WriteProducerSnapshot(env_, dir_, *producers_,
                              config_.fsync.policy != FsyncPolicy::kNever);
}

Status PartitionWriter::Roll(int64_t now_ms) {
  // The state as of the sealed segment's end (every batch recorded so far
  // is below next_offset_): the next rebuild starts here.
  if (producers_) {
    producers_->set_end_offset(next_offset_, tail_->base, tail_->size);
    SnapshotProducerState();
  }
  Tail& t = *tail_;
  // The sealed segment must be as durable as the policy promises before the
  // hwm moves into the next one.
  if (config_.fsync.policy != FsyncPolicy::kNever && dirty_) RETURN_IF_ERROR(SyncLocked());
  int64_t rel_end = next_offset_ - t.base;
  // Closing time entry: its timestamp is the sealed segment's largest.
  if (t.max_ts >= 0) {
    Status st = t.timeindex->Append(EncodeTimeIndexEntry(
        {t.max_ts, static_cast<uint32_t>(rel_end)}));
    (void)st;  // an index is a hint; readers and recovery cope without it
  }
  (void)now_ms;
  RETURN_IF_ERROR(OpenSegment(next_offset_, /*create=*/true));
  if (tail_->size != 0) RETURN_IF_ERROR(tail_->log->Truncate(0));  // leftover from a crash
  RETURN_IF_ERROR(tail_->index->Truncate(0));
  RETURN_IF_ERROR(tail_->timeindex->Truncate(0));
  tail_->size = 0;
  if (config_.fsync.policy != FsyncPolicy::kNever) RETURN_IF_ERROR(env_->SyncDir(dir_));
  return Status::OK();
}

Status PartitionWriter::WriteParts(std::vector<std::string_view>& parts, uint64_t bytes) {
  if (parts.empty()) return Status::OK();
  Tail& t = *tail_;
  Status st = t.log->Append(parts);
  if (!st.ok()) {
    // Part of the group may be on disk: cut it off so the log stays whole,
    // and reload the tail from disk before the next group.
    (void)t.log->Truncate(t.size);
    loaded_ = false;
    return st;
  }
  t.size += bytes;
  dirty_ = true;
  parts.clear();
  return Status::OK();
}

Status PartitionWriter::CommitGroup(std::vector<AppendRequest>& group,
                                    std::vector<int64_t>* bases) {
  std::unique_lock<std::mutex> producers_lock;
  if (producers_) producers_lock = std::unique_lock(producers_->mu());
  Status st = CommitGroupLocked(group, bases);
  if (!st.ok() && producers_) {
    // Some of the group may have been recorded but not committed: the next
    // group rebuilds the state from what the log really holds.
    producers_->set_end_offset(-1);
  }
  return st;
}

Status PartitionWriter::CommitGroupLocked(std::vector<AppendRequest>& group,
                                          std::vector<int64_t>* bases) {
  std::unique_ptr<FileLock> lock;
  RETURN_IF_ERROR(LockAndLoad(&lock, nullptr));
  RETURN_IF_ERROR(SyncProducerState());
  const int64_t now = WallMillis();
  const int64_t saved_next = next_offset_;
  Tail* t = tail_.get();
  if (t->size > 0 && t->first_ts >= 0 && now - t->first_ts >= config_.segment_ms) {
    RETURN_IF_ERROR(Roll(now));
    t = tail_.get();
  }

  std::vector<std::string_view> parts;
  std::string index_add, time_add;
  uint64_t pending = 0;
  auto flush_indexes = [&] {
    if (!index_add.empty() && t->index->Append(index_add).ok()) {
      t->index_bytes += index_add.size();
    } else if (!index_add.empty()) {
      (void)t->index->Truncate(t->index_bytes);
    }
    if (!time_add.empty() && t->timeindex->Append(time_add).ok()) {
      t->timeindex_bytes += time_add.size();
    } else if (!time_add.empty()) {
      (void)t->timeindex->Truncate(t->timeindex_bytes);
    }
    index_add.clear();
    time_add.clear();
  };

  bases->clear();
  for (AppendRequest& r : group) {
    if (producers_ && r.producer.idempotent()) {
      // Checked here, where offsets are assigned in commit order.
      ProducerStateTable::Decision d = producers_->Check(r.producer);
      if (d.verdict == ProducerStateTable::Verdict::kDuplicate) {
        r.duplicate_of = d.duplicate_offset;
      } else if (d.verdict != ProducerStateTable::Verdict::kAppend) {
        r.rejected = ProducerStateTable::ToStatus(d, r.producer);
      }
      if (r.duplicate_of >= 0 || !r.rejected.ok()) {
        bases->push_back(-1);
        continue;
      }
    }
    const uint64_t size = r.bytes.size();
    if (t->size + pending > 0 &&
        t->size + pending + size > static_cast<uint64_t>(config_.segment_bytes)) {
      Status st = WriteParts(parts, pending);
      if (!st.ok()) {
        next_offset_ = saved_next;
        return st;
      }
      pending = 0;
      flush_indexes();
      RETURN_IF_ERROR(Roll(now));
      t = tail_.get();
    }
    const uint64_t position = t->size + pending;
    if (position - t->last_index_position >= kIndexIntervalBytes) {
      uint32_t rel = static_cast<uint32_t>(next_offset_ - t->base);
      index_add += EncodeIndexEntry({rel, static_cast<uint32_t>(position)});
      t->last_index_position = position;
      if (t->max_ts > t->last_time_entry_ts) {
        time_add += EncodeTimeIndexEntry({t->max_ts, rel});
        t->last_time_entry_ts = t->max_ts;
      }
    }
    bases->push_back(next_offset_);
    if (producers_ && r.producer.idempotent()) producers_->Record(r.producer, next_offset_);
    for (const AppendRequest::Batch& b : r.batches) {
      char* batch = r.bytes.data() + b.position;
      SetBaseOffset(batch, next_offset_);
      next_offset_ += b.offset_count;
      int64_t base_ts = static_cast<int64_t>(GetBE64(batch + 27));
      int64_t max_ts = static_cast<int64_t>(GetBE64(batch + 35));
      if (t->first_ts < 0) t->first_ts = base_ts;
      t->max_ts = std::max(t->max_ts, max_ts);
    }
    parts.emplace_back(r.bytes);
    pending += size;
  }
  Status st = WriteParts(parts, pending);
  if (!st.ok()) {
    next_offset_ = saved_next;
    return st;
  }
  flush_indexes();

  const FsyncSpec& fs = config_.fsync;
  if (fs.policy == FsyncPolicy::kAlways ||
      (fs.policy == FsyncPolicy::kInterval && now - last_sync_ms_ >= fs.interval_ms)) {
    RETURN_IF_ERROR(SyncLocked());
  }
  st = Publish();
  if (!st.ok()) {
    loaded_ = false;  // written but unpublished: the next load decides
    return st;
  }
  if (producers_) producers_->set_end_offset(next_offset_, tail_->base, tail_->size);
  return Status::OK();
}

void PartitionWriter::SyncIfDue(int64_t now_ms) {
  if (config_.fsync.policy != FsyncPolicy::kInterval) return;
  {
    std::lock_guard lock(mu_);
    if (sync_scheduled_) return;
    sync_scheduled_ = true;
  }
  pool_->Schedule([self = shared_from_this(), now_ms] {
    {
      std::lock_guard commit(self->commit_mu_);
      if (self->dirty_ && self->tail_ && self->fenced_.ok() &&
          now_ms - self->last_sync_ms_ >= self->config_.fsync.interval_ms) {
        (void)self->SyncLocked();
      }
    }
    std::lock_guard lock(self->mu_);
    self->sync_scheduled_ = false;
  });
}

Status PartitionWriter::Close() {
  Flush();
  std::lock_guard commit(commit_mu_);
  if (producers_ && tail_ && fenced_.ok()) {
    std::lock_guard plock(producers_->mu());
    SnapshotProducerState();  // a clean restart needs no scan
  }
  if (dirty_ && tail_ && fenced_.ok() && config_.fsync.policy != FsyncPolicy::kNever) {
    return SyncLocked();
  }
  return Status::OK();
}

Status PartitionWriter::RunExclusive(const std::function<Status(int64_t)>& fn) {
  std::lock_guard commit(commit_mu_);
  std::unique_ptr<FileLock> lock;
  RETURN_IF_ERROR(LockAndLoad(&lock, nullptr));
  Status st = fn(tail_->base);
  // Segments may have changed under other processes' cached views.
  Status pub = Publish();
  return st.ok() ? pub : st;
}

Result<int64_t> PartitionWriter::RaiseLogStart(int64_t offset) {
  if (offset < 0) return Status::InvalidArgument("negative log start offset");
  std::lock_guard commit(commit_mu_);
  std::unique_ptr<FileLock> lock;
  RETURN_IF_ERROR(LockAndLoad(&lock, nullptr));
  if (offset > next_offset_) {
    return Status::OutOfRange(dir_ + ": offset " + std::to_string(offset) +
                              " is past the end of the partition (" +
                              std::to_string(next_offset_) + ")");
  }
  // A damaged file reads as 0: the rewrite below repairs it.
  const int64_t stored = ReadLogStartOrZero(env_, dir_);
  if (offset > stored) RETURN_IF_ERROR(WriteLogStart(env_, dir_, offset));
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  int64_t start = std::max(stored, offset);
  if (!bases.empty()) start = std::max(start, bases.front());
  return std::min(start, next_offset_);
}

Status PartitionWriter::MarkDeleted() {
  std::lock_guard commit(commit_mu_);
  auto lk = env_->LockFile(dir_ + "/" + std::string(kWriterLockFile), /*wait=*/true);
  if (!lk.ok()) return lk.status();
  ASSIGN_OR_RETURN(auto file, env_->OpenFile(dir_ + "/" + std::string(kHwmFile), OpenMode::kCreate));
  Result<Hwm> hwm = ReadHwm(file.get());
  Hwm h = hwm.ok() ? *hwm : Hwm{};
  h.flags |= kHwmFlagDeleted;
  h.generation += 1;
  RETURN_IF_ERROR(file->WriteAt(0, EncodeHwm(h)));
  fenced_ = Status::NotFound(dir_ + ": topic deleted");
  return Status::OK();
}

}  // namespace runnel::storage
