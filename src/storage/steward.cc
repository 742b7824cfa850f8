#include "storage/steward.h"

#include <algorithm>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "storage/batch_rewrite.h"
#include "storage/batch_scanner.h"
#include "storage/compression.h"
#include "storage/data_dir.h"
#include "storage/log_start_file.h"
#include "storage/segment_index.h"
#include "storage/segment_list.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {
namespace {

struct SegmentFacts {
  int64_t base;
  uint64_t size;
  int64_t max_ts;  // -1 if unknown or empty
};

Result<SegmentFacts> Inspect(Env* env, const std::string& dir, int64_t base) {
  SegmentFacts f{base, 0, -1};
  ASSIGN_OR_RETURN(auto log, env->OpenFile(SegmentPath(dir, base, SegmentFileKind::kLog),
                                           OpenMode::kRead));
  ASSIGN_OR_RETURN(f.size, log->Size());
  auto tindex = LoadTimeIndex(env, SegmentPath(dir, base, SegmentFileKind::kTimeIndex));
  if (tindex.ok() && !tindex->damaged && !tindex->entries.empty()) {
    f.max_ts = tindex->entries.back().timestamp;
    return f;
  }
  // No usable closing time entry: read the batch headers.
  BatchScanner scanner(log.get(), 0, f.size);
  BatchHeader h;
  std::string_view bytes;
  while (scanner.Next(&h, &bytes) == BatchScanner::Outcome::kBatch) {
    f.max_ts = std::max(f.max_ts, h.max_timestamp);
  }
  return f;
}

Status RemoveSegment(Env* env, const std::string& dir, int64_t base) {
  // The .log goes first: a segment without a .log does not exist for readers.
  RETURN_IF_ERROR(env->RemoveFile(SegmentPath(dir, base, SegmentFileKind::kLog)));
  for (auto kind : {SegmentFileKind::kIndex, SegmentFileKind::kTimeIndex}) {
    Status st = env->RemoveFile(SegmentPath(dir, base, kind));
    if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
  }
  return Status::OK();
}

Status ApplyRetention(Env* env, const std::string& dir, const TopicConfig& config,
                      const std::vector<SegmentFacts>& sealed, uint64_t total_bytes, int64_t now,
                      StewardStats* stats, size_t* deleted) {
  *deleted = 0;
  for (const SegmentFacts& s : sealed) {
    bool too_old = config.retention_ms > 0 && s.max_ts >= 0 && s.max_ts < now - config.retention_ms;
    bool too_big = config.retention_bytes > 0 &&
                   total_bytes - s.size >= static_cast<uint64_t>(config.retention_bytes);
    if (!too_old && !too_big) break;
    RETURN_IF_ERROR(RemoveSegment(env, dir, s.base));
    total_bytes -= s.size;
    stats->segments_deleted++;
    stats->bytes_freed += static_cast<int64_t>(s.size);
    ++*deleted;
  }
  if (*deleted > 0) RETURN_IF_ERROR(env->SyncDir(dir));
  return Status::OK();
}

// Deletes the oldest sealed segments all of whose offsets are below the log
// start: those whose successor's base is <= log_start. A segment the log
// start points into stays (its tail is still readable).
Status DeleteBelowLogStart(Env* env, const std::string& dir, std::vector<SegmentFacts>* sealed,
                           const std::vector<int64_t>& bases, int64_t log_start,
                           uint64_t* total_bytes, StewardStats* stats, size_t* deleted) {
  *deleted = 0;
  while (*deleted < sealed->size() && *deleted + 1 < bases.size() &&
         bases[*deleted + 1] <= log_start) {
    const SegmentFacts& s = (*sealed)[*deleted];
    RETURN_IF_ERROR(RemoveSegment(env, dir, s.base));
    *total_bytes -= s.size;
    stats->segments_deleted++;
    stats->bytes_freed += static_cast<int64_t>(s.size);
    ++*deleted;
  }
  if (*deleted > 0) {
    RETURN_IF_ERROR(env->SyncDir(dir));
    sealed->erase(sealed->begin(), sealed->begin() + static_cast<long>(*deleted));
  }
  return Status::OK();
}

// What compaction learns from one pass over the partition, up to the
// published end of the active segment (we hold the writer lock, so the
// file size is it).
struct PartitionKeys {
  // Newest offset of every key.
  std::unordered_map<std::string, int64_t> newest;
  // Last offset of each idempotent producer's newest batch (Kafka's
  // lastDataOffset): that batch is never removed whole (AppendEmptyBatch).
  std::unordered_map<int64_t, int64_t> producer_last;
};

// Decodes a batch's records, compressed ones too, with the bound the reader
// uses (records_count x max_message_bytes, at most 64 MiB). The records may
// point into *unpacked.
Status DecodeBatch(std::string_view bytes, const BatchHeader& h, int32_t max_message_bytes,
                   std::vector<DecodedRecord>* records, std::vector<HeaderView>* headers,
                   std::string* unpacked) {
  records->clear();
  headers->clear();
  return DecodeRecords(bytes, h, records, headers, unpacked,
                       DecompressedLimit(h.records_count, max_message_bytes));
}

Status BuildKeyMap(Env* env, const std::string& dir, const std::vector<int64_t>& bases,
                   int32_t max_message_bytes, PartitionKeys* keys) {
  std::vector<DecodedRecord> records;
  std::vector<HeaderView> headers;
  std::string unpacked;
  for (int64_t base : bases) {
    ASSIGN_OR_RETURN(auto log, env->OpenFile(SegmentPath(dir, base, SegmentFileKind::kLog),
                                             OpenMode::kRead));
    ASSIGN_OR_RETURN(uint64_t size, log->Size());
    BatchScanner scanner(log.get(), 0, size);
    BatchHeader h;
    std::string_view bytes;
    while (scanner.Next(&h, &bytes) == BatchScanner::Outcome::kBatch) {
      if (h.is_control()) continue;
      if (h.producer_id >= 0) keys->producer_last[h.producer_id] = h.last_offset();
      // A batch that does not decode supersedes nothing (verify reports it).
      if (!DecodeBatch(bytes, h, max_message_bytes, &records, &headers, &unpacked).ok()) continue;
      for (const DecodedRecord& r : records) {
        if (r.key) keys->newest[std::string(*r.key)] = r.offset;
      }
    }
  }
  return Status::OK();
}

// Rewrites one sealed segment without the records `drop` says go (each kept
// record keeps its offset; each batch its offset range and producer fields:
// batch_rewrite.h). A batch that keeps every record stays byte for byte; one
// that keeps some is re-encoded with its own codec; one that keeps none
// goes, unless `keep_empty` says its producer state must stay (then its
// header stays, with no records). A segment with damage is never rewritten
// (verify reports it); control batches and batches that do not decode are
// kept whole. Written to <base>.log.compacting, synced, renamed over the
// original; the indexes are removed first and rebuilt after.
Status RewriteSegment(Env* env, const std::string& dir, int64_t base, int32_t max_message_bytes,
                      const std::function<bool(const DecodedRecord&)>& drop,
                      const std::function<bool(const BatchHeader&)>& keep_empty,
                      StewardStats* stats) {
  const std::string path = SegmentPath(dir, base, SegmentFileKind::kLog);
  ASSIGN_OR_RETURN(auto log, env->OpenFile(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, log->Size());
  BatchScanner scanner(log.get(), 0, size);
  BatchHeader h;
  std::string_view bytes;
  std::string out;
  std::vector<DecodedRecord> records;
  std::vector<HeaderView> headers;
  std::string unpacked;
  std::vector<RecordView> keep;
  int64_t removed = 0;
  bool changed = false;
  for (;;) {
    auto o = scanner.Next(&h, &bytes);
    if (o == BatchScanner::Outcome::kEnd) break;
    if (o != BatchScanner::Outcome::kBatch) {
      // Never rewrite around damage: leave the segment for verify to report.
      return Status::OK();
    }
    if (h.is_control() ||
        !DecodeBatch(bytes, h, max_message_bytes, &records, &headers, &unpacked).ok()) {
      out.append(bytes);
      continue;
    }
    if (records.empty()) {
      // A header an earlier pass kept for its producer: it goes once the
      // producer has a newer batch.
      if (keep_empty(h)) {
        out.append(bytes);
      } else {
        changed = true;
      }
      continue;
    }
    keep.clear();
    for (const DecodedRecord& r : records) {
      if (drop(r)) continue;
      RecordView v;
      v.offset = r.offset;
      v.timestamp_ms = r.timestamp_ms;
      v.key = r.key;
      v.value = r.value;
      v.headers = std::span<const HeaderView>(headers.data() + r.header_begin, r.header_count);
      keep.push_back(v);
    }
    if (keep.size() == records.size()) {
      out.append(bytes);
      continue;
    }
    if (keep.empty()) {
      if (keep_empty(h)) AppendEmptyBatch(h, &out);
    } else if (!AppendRetainedBatch(bytes, h, keep, &out).ok()) {
      out.append(bytes);  // the codec failed: this batch stays as it was
      continue;
    }
    removed += static_cast<int64_t>(records.size() - keep.size());
    changed = true;
  }
  if (!changed) return Status::OK();

  const std::string tmp = path + ".compacting";
  {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Append(out));
    RETURN_IF_ERROR(f->Sync());
  }
  for (auto kind : {SegmentFileKind::kIndex, SegmentFileKind::kTimeIndex}) {
    Status st = env->RemoveFile(SegmentPath(dir, base, kind));
    if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  RETURN_IF_ERROR(env->SyncDir(dir));
  RETURN_IF_ERROR(RebuildSegmentIndexes(env, dir, base, /*sealed=*/true));
  stats->segments_compacted++;
  stats->records_removed += removed;
  stats->bytes_freed += static_cast<int64_t>(size) - static_cast<int64_t>(out.size());
  return Status::OK();
}

Status CompactSegment(Env* env, const std::string& dir, const TopicConfig& config, int64_t base,
                      const PartitionKeys& keys, int64_t now, StewardStats* stats) {
  return RewriteSegment(
      env, dir, base, config.max_message_bytes,
      [&](const DecodedRecord& r) {
        auto it = r.key ? keys.newest.find(std::string(*r.key)) : keys.newest.end();
        bool latest = it == keys.newest.end() || it->second == r.offset;
        bool expired_tombstone = !r.value && r.timestamp_ms < now - config.delete_retention_ms;
        return !latest || expired_tombstone;
      },
      // As Kafka's cleaner: an idempotent producer's newest batch keeps its
      // header, so the producer's sequence state can be rebuilt from the log.
      [&](const BatchHeader& h) {
        auto it = keys.producer_last.find(h.producer_id);
        return h.producer_id >= 0 && it != keys.producer_last.end() &&
               it->second == h.last_offset();
      },
      stats);
}

}  // namespace

Status PurgeOffsets(Env* env, const std::string& dir, int64_t active_base,
                    std::span<const int64_t> offsets, int32_t max_message_bytes,
                    std::vector<int64_t>* not_yet, StewardStats* stats_out) {
  StewardStats local;
  StewardStats* stats = stats_out ? stats_out : &local;
  std::vector<int64_t> sorted(offsets.begin(), offsets.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  // The active segment is never rewritten: its offsets wait.
  const auto active = std::lower_bound(sorted.begin(), sorted.end(), active_base);
  not_yet->assign(active, sorted.end());
  sorted.erase(active, sorted.end());
  if (sorted.empty()) return Status::OK();
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env, dir));
  for (size_t i = 0; i < bases.size() && bases[i] < active_base; ++i) {
    const int64_t end = i + 1 < bases.size() ? bases[i + 1] : active_base;
    auto first = std::lower_bound(sorted.begin(), sorted.end(), bases[i]);
    auto last = std::lower_bound(first, sorted.end(), end);
    if (first == last) continue;  // nothing to purge here (or below the log start: gone)
    const std::span<const int64_t> here(&*first, static_cast<size_t>(last - first));
    RETURN_IF_ERROR(RewriteSegment(
        env, dir, bases[i], max_message_bytes,
        [&](const DecodedRecord& r) {
          return std::binary_search(here.begin(), here.end(), r.offset);
        },
        // Knowing whether a batch is its producer's newest would take a
        // scan of the whole partition per purge; every idempotent batch
        // emptied here keeps its header instead (61 bytes each).
        [](const BatchHeader& h) { return h.producer_id >= 0; }, stats));
  }
  return Status::OK();
}

Status TendPartition(Env* env, const std::string& dir, const TopicConfig& config,
                     int64_t active_base, int64_t now, StewardStats* stats_out) {
  StewardStats local;
  StewardStats* stats = stats_out ? stats_out : &local;
  RETURN_IF_ERROR(RemoveInterruptedRewrites(env, dir));
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env, dir));
  std::vector<SegmentFacts> sealed;
  uint64_t total = 0;
  for (int64_t base : bases) {
    ASSIGN_OR_RETURN(SegmentFacts f, Inspect(env, dir, base));
    total += f.size;
    if (base < active_base) sealed.push_back(f);
  }
  // Deleted records first: what lies wholly below the log start goes
  // whatever retention says, and compaction never rewrites it.
  size_t below_start = 0;
  RETURN_IF_ERROR(DeleteBelowLogStart(env, dir, &sealed, bases, ReadLogStartOrZero(env, dir),
                                      &total, stats, &below_start));
  bases.erase(bases.begin(), bases.begin() + static_cast<long>(below_start));
  size_t deleted = 0;
  RETURN_IF_ERROR(ApplyRetention(env, dir, config, sealed, total, now, stats, &deleted));
  if (!config.compact) return Status::OK();

  bases.erase(bases.begin(), bases.begin() + static_cast<long>(deleted));
  PartitionKeys keys;
  RETURN_IF_ERROR(BuildKeyMap(env, dir, bases, config.max_message_bytes, &keys));
  for (int64_t base : bases) {
    if (base >= active_base) break;
    RETURN_IF_ERROR(CompactSegment(env, dir, config, base, keys, now, stats));
  }
  return Status::OK();
}

}  // namespace runnel::storage
