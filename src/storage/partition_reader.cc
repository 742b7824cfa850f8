#include "storage/partition_reader.h"

#include <algorithm>

#include "storage/batch_scanner.h"
#include "storage/compression.h"
#include "storage/data_dir.h"
#include "storage/log_start_file.h"
#include "storage/read_batch_builder.h"
#include "storage/segment_index.h"
#include "storage/segment_list.h"
#include "util/clock.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {

PartitionReader::PartitionReader(Env* env, std::string dir, std::shared_ptr<TailWatcher> watcher)
    : env_(env), dir_(std::move(dir)), watcher_(std::move(watcher)) {
  watch_ = watcher_->Watch(dir_);
}

PartitionReader::~PartitionReader() = default;

// The published end. Without a readable hwm (never written, or lost to a
// power failure before any writer reopened the partition) the end is found
// by scanning the last segment for whole, valid batches: read-only recovery.
Result<Hwm> ReadPublishedEnd(Env* env, const std::string& dir, std::unique_ptr<File>* cache) {
  std::unique_ptr<File>& hwm_file = *cache;
  if (!hwm_file) {
    auto f = env->OpenFile(dir + "/" + std::string(kHwmFile), OpenMode::kRead);
    if (f.ok()) {
      hwm_file = std::move(*f);
    } else if (!f.status().Is(StatusCode::kNotFound)) {
      return f.status();
    }
  }
  if (hwm_file) {
    Result<Hwm> h = ReadHwm(hwm_file.get());
    if (h.ok() || !(h.status().Is(StatusCode::kNotFound) || h.status().Is(StatusCode::kCorruption))) {
      return h;
    }
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env, dir));
  Hwm h;
  if (bases.empty()) return h;
  h.segment_base = bases.back();
  h.next_offset = h.segment_base;
  ASSIGN_OR_RETURN(auto log, env->OpenFile(SegmentPath(dir, h.segment_base, SegmentFileKind::kLog),
                                            OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, log->Size());
  BatchScanner scanner(log.get(), 0, size);
  BatchHeader bh;
  std::string_view bytes;
  while (scanner.Next(&bh, &bytes) == BatchScanner::Outcome::kBatch) h.next_offset = bh.next_offset();
  h.segment_size = scanner.position();
  return h;
}

Status PartitionReader::OpenSegment(int64_t base) {
  ASSIGN_OR_RETURN(segment_,
                   env_->OpenFile(SegmentPath(dir_, base, SegmentFileKind::kLog), OpenMode::kRead));
  segment_base_ = base;
  position_ = 0;
  batch_floor_ = base;
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  auto next = std::upper_bound(bases.begin(), bases.end(), base);
  next_segment_base_ = next == bases.end() ? INT64_MAX : *next;
  return Status::OK();
}

Result<uint64_t> PartitionReader::IndexedPosition(int64_t base, int64_t offset) {
  ASSIGN_OR_RETURN(uint64_t size, segment_->Size());
  auto index = LoadOffsetIndex(env_, SegmentPath(dir_, base, SegmentFileKind::kIndex), size);
  if (!index.ok()) return uint64_t{0};  // the index is a hint: scan from the start
  IndexEntry e = FloorEntry(index->entries, offset - base);
  if (e.position == 0) return uint64_t{0};
  // Trust the entry only if the batch it names is there.
  char buf[kBatchHeaderSize];
  ASSIGN_OR_RETURN(size_t n, segment_->ReadAt(e.position, buf, sizeof(buf)));
  BatchHeader h;
  if (n == sizeof(buf) && ParseBatchHeader(std::string_view(buf, n), &h).ok() &&
      h.base_offset == base + e.relative_offset) {
    batch_floor_ = h.base_offset;
    return uint64_t{e.position};
  }
  return uint64_t{0};
}

Status PartitionReader::PositionAt(int64_t offset) {
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  min_timestamp_ = -1;
  if (bases.empty()) {
    segment_.reset();
    segment_base_ = -1;
    next_offset_ = std::max<int64_t>(offset, 0);
    return Status::OK();
  }
  // Below the log start (deleted records, or segments retention removed):
  // the start.
  offset = std::max({offset, bases.front(), ReadLogStartOrZero(env_, dir_)});
  auto it = std::upper_bound(bases.begin(), bases.end(), offset);
  int64_t base = *(it - 1);
  RETURN_IF_ERROR(OpenSegment(base));
  ASSIGN_OR_RETURN(position_, IndexedPosition(base, offset));
  next_offset_ = offset;
  return Status::OK();
}

Status PartitionReader::SeekTimestamp(int64_t ts) {
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  RETURN_IF_ERROR(PositionAt(bases.empty() ? 0 : bases.front()));
  for (size_t i = 0; i < bases.size(); ++i) {
    auto tindex = LoadTimeIndex(env_, SegmentPath(dir_, bases[i], SegmentFileKind::kTimeIndex));
    bool sealed = i + 1 < bases.size();
    if (!tindex.ok()) break;
    // A sealed segment's last time entry bounds all its timestamps.
    if (sealed && !tindex->entries.empty() && tindex->entries.back().timestamp < ts) continue;
    RETURN_IF_ERROR(PositionAt(bases[i] + TimeLookup(tindex->entries, ts)));
    break;
  }
  min_timestamp_ = ts;
  return Status::OK();
}

Status PartitionReader::Seek(StartPosition start) {
  switch (start.kind) {
    case StartPosition::Kind::kEarliest:
      return PositionAt(0);
    case StartPosition::Kind::kLatest: {
      ASSIGN_OR_RETURN(Hwm h, LoadHwm());
      return PositionAt(h.next_offset);
    }
    case StartPosition::Kind::kOffset:
      if (start.value < 0) return Status::InvalidArgument("negative start offset");
      return PositionAt(start.value);
    case StartPosition::Kind::kTimestamp:
      return SeekTimestamp(start.value);
  }
  return Status::InvalidArgument("unknown start position");
}

// Moves to the segment after the current one; false if there is none yet.
Result<bool> PartitionReader::NextSegment() {
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  auto it = std::upper_bound(bases.begin(), bases.end(), segment_base_);
  if (it == bases.end()) return false;
  RETURN_IF_ERROR(OpenSegment(*it));
  if (next_offset_ < *it) next_offset_ = *it;  // compaction or retention left a gap
  return true;
}

Status PartitionReader::ReadInto(ReadBatch* batch, size_t max_bytes) {
  ReadBatchBuilder out(batch, &scratch_);
  max_bytes = std::max<size_t>(max_bytes, kBatchHeaderSize);
  size_t consumed = 0;
  ASSIGN_OR_RETURN(Hwm hwm, LoadHwm());
  if (segment_base_ < 0) {
    if (hwm.next_offset == 0 && hwm.segment_size == 0) {
      out.Finish(next_offset_);
      return Status::OK();
    }
    RETURN_IF_ERROR(PositionAt(next_offset_));
    if (segment_base_ < 0) {
      out.Finish(next_offset_);
      return Status::OK();
    }
  }
  while (out.record_count() == 0 || consumed < max_bytes) {
    uint64_t limit;
    if (segment_base_ == hwm.segment_base) {
      limit = hwm.segment_size;
    } else if (segment_base_ < hwm.segment_base) {
      ASSIGN_OR_RETURN(limit, segment_->Size());  // sealed: all of it is published
    } else {
      break;  // ahead of the published end (e.g. a segment being created)
    }
    if (position_ >= limit) {
      if (segment_base_ >= hwm.segment_base) break;  // caught up
      ASSIGN_OR_RETURN(bool moved, NextSegment());
      if (!moved) break;
      continue;
    }
    if (out.record_count() > 0 && consumed >= max_bytes) break;
    size_t want = static_cast<size_t>(std::min<uint64_t>(limit - position_, max_bytes));
    want = std::max(want, std::min<size_t>(kBatchHeaderSize, limit - position_));
    std::shared_ptr<char[]> buf = Buffer(want);
    ASSIGN_OR_RETURN(size_t got, segment_->ReadAt(position_, buf.get(), want));
    std::string_view avail(buf.get(), got);
    // Offsets this segment's batches must lie in: the base offset is not
    // covered by the CRC, so a flipped one is caught here.
    int64_t bound = segment_base_ == hwm.segment_base ? hwm.next_offset : next_segment_base_;
    auto offsets_ok = [&](const BatchHeader& b) {
      return b.base_offset >= batch_floor_ && b.next_offset() <= bound;
    };
    BatchHeader h;
    std::string problem;
    auto o = CheckBatch(avail, &h, &problem);
    if (o == BatchScanner::Outcome::kTorn && got == want && got >= kBatchHeaderSize &&
        ParseBatchHeader(avail, &h).ok() && h.total_size() <= limit - position_) {
      // The first batch is bigger than the read: read exactly that batch.
      want = h.total_size();
      buf = Buffer(want);
      ASSIGN_OR_RETURN(got, segment_->ReadAt(position_, buf.get(), want));
      avail = std::string_view(buf.get(), got);
      o = CheckBatch(avail, &h, &problem);
    }
    if (o == BatchScanner::Outcome::kTorn) {
      // Published data ends on a batch boundary: a batch cannot run past it.
      o = BatchScanner::Outcome::kBad;
      problem = "batch runs past the end of the published data";
    }
    if (o == BatchScanner::Outcome::kBatch && !offsets_ok(h)) {
      o = BatchScanner::Outcome::kBad;
      problem = "batch offsets " + std::to_string(h.base_offset) + "-" +
                std::to_string(h.last_offset()) + " out of order";
    }
    if (o != BatchScanner::Outcome::kBatch) {
      if (out.record_count() > 0) break;  // hand over what we have; report next time
      // Damage: skip to the next valid batch and say what was skipped.
      BatchScanner scanner(segment_.get(), position_, limit);
      const uint64_t bad_begin = position_;
      uint64_t bad_end = limit;
      if (scanner.Resync(next_offset_)) bad_end = scanner.position();
      position_ = bad_end;
      return Status::Corruption(SegmentPath(dir_, segment_base_, SegmentFileKind::kLog) +
                                ": bytes " + std::to_string(bad_begin) + "-" +
                                std::to_string(bad_end) + " damaged (" + problem +
                                "); skipped, reading continues after them");
    }
    // Decode every whole batch in the buffer.
    size_t used = 0;
    bool report_next = false;  // a batch that does not decode ends this call
    while (used < got) {
      std::string_view rest = avail.substr(used);
      if (used > 0 && (CheckBatch(rest, &h, &problem) != BatchScanner::Outcome::kBatch ||
                       !offsets_ok(h))) {
        break;  // the next call starts here and reports it
      }
      const std::string_view batch = rest.substr(0, h.total_size());
      used += h.total_size();
      if (h.next_offset() <= next_offset_ || h.is_control()) {
        batch_floor_ = h.next_offset();
        next_offset_ = std::max(next_offset_, h.next_offset());
        continue;
      }
      size_t first = out.record_count();
      // A compressed batch's records point into their own buffer, kept by
      // the ReadBatch like the segment buffers.
      std::shared_ptr<std::string> unpacked;
      if (h.compression() != Compression::kNone) unpacked = std::make_shared<std::string>();
      Status st = DecodeRecords(batch, h, out.records(), out.headers(), unpacked.get(),
                                DecompressedLimit(h.records_count, max_message_bytes_));
      if (st.ok() && unpacked) out.AddBuffer(std::move(unpacked));
      if (!st.ok()) {
        out.Truncate(first);
        if (first > 0 || used > h.total_size()) {
          used -= h.total_size();
          report_next = first > 0;  // else nothing is handed over: report it now
          break;                    // report on the next call
        }
        position_ += h.total_size();
        batch_floor_ = h.next_offset();
        next_offset_ = std::max(next_offset_, h.next_offset());
        return Status(st.code(), SegmentPath(dir_, segment_base_, SegmentFileKind::kLog) + ": " +
                                     st.message());
      }
      // Drop records before the start offset or the start timestamp.
      auto* recs = out.records();
      size_t keep = first;
      for (size_t i = first; i < recs->size(); ++i) {
        const auto& r = (*recs)[i];
        if (r.offset < next_offset_) continue;
        if (min_timestamp_ >= 0) {
          if (r.timestamp_ms < min_timestamp_) continue;
          min_timestamp_ = -1;
        }
        (*recs)[keep++] = r;
      }
      out.Truncate(keep);
      batch_floor_ = h.next_offset();
      next_offset_ = h.next_offset();
    }
    position_ += used;
    consumed += used;
    out.AddBytes(used);
    out.AddBuffer(std::move(buf));
    // Without this the loop would read the same batch again and again.
    if (report_next) break;
  }
  out.Finish(next_offset_);
  return Status::OK();
}

Result<bool> PartitionReader::EnsurePositioned(const Hwm& hwm) {
  if (segment_base_ >= 0) return true;
  if (hwm.next_offset == 0 && hwm.segment_size == 0) return false;
  RETURN_IF_ERROR(PositionAt(next_offset_));
  return segment_base_ >= 0;
}

Result<std::optional<uint64_t>> PartitionReader::PublishedLimit(const Hwm& hwm) {
  if (segment_base_ == hwm.segment_base) return std::optional<uint64_t>(hwm.segment_size);
  if (segment_base_ < hwm.segment_base) {
    ASSIGN_OR_RETURN(uint64_t size, segment_->Size());  // sealed: all of it is published
    return std::optional<uint64_t>(size);
  }
  return std::optional<uint64_t>();  // ahead of the published end (a segment being created)
}

// Whole batches as stored: a header read per batch to learn its size and
// check its framing and offsets; `take` does the rest.
Status PartitionReader::ScanRaw(size_t max_bytes, bool at_least_one, const RawSink& take) {
  ASSIGN_OR_RETURN(Hwm hwm, LoadHwm());
  ASSIGN_OR_RETURN(bool positioned, EnsurePositioned(hwm));
  if (!positioned) return Status::OK();
  min_timestamp_ = -1;  // raw reads start at the batch; the caller filters records
  size_t appended = 0;
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<uint64_t> limit, PublishedLimit(hwm));
    if (!limit) break;
    if (position_ >= *limit) {
      if (segment_base_ >= hwm.segment_base) break;  // caught up
      ASSIGN_OR_RETURN(bool moved, NextSegment());
      if (!moved) break;
      continue;
    }
    const uint64_t avail = *limit - position_;
    const int64_t bound = segment_base_ == hwm.segment_base ? hwm.next_offset : next_segment_base_;
    std::string problem;
    BatchHeader h;
    char head[kBatchHeaderSize];
    size_t got = 0;
    if (avail < kBatchHeaderSize) {
      problem = "batch runs past the end of the published data";
    } else {
      ASSIGN_OR_RETURN(got, segment_->ReadAt(position_, head, sizeof(head)));
      Status st = got == sizeof(head) ? ParseBatchHeader(std::string_view(head, got), &h)
                                      : Status::Corruption("short read");
      if (!st.ok()) {
        problem = st.message();
      } else if (h.total_size() > avail) {
        problem = "batch runs past the end of the published data";
      } else if (h.base_offset < batch_floor_ || h.next_offset() > bound) {
        problem = "batch offsets " + std::to_string(h.base_offset) + "-" +
                  std::to_string(h.last_offset()) + " out of order";
      }
    }
    if (problem.empty() && h.next_offset() <= next_offset_) {
      position_ += h.total_size();  // wholly before the position: skip
      batch_floor_ = h.next_offset();
      continue;
    }
    if (problem.empty()) {
      const size_t size = h.total_size();
      if (appended + size > max_bytes && !(appended == 0 && at_least_one)) break;
      ASSIGN_OR_RETURN(bool good, take(position_, h));
      if (!good) {
        problem = "CRC mismatch";
      } else {
        position_ += size;
        appended += size;
        batch_floor_ = h.next_offset();
        next_offset_ = std::max(next_offset_, h.next_offset());
        continue;
      }
    }
    if (appended > 0) break;  // hand over what we have; report next time
    BatchScanner scanner(segment_.get(), position_, *limit);
    const uint64_t bad_begin = position_;
    uint64_t bad_end = *limit;
    if (scanner.Resync(next_offset_)) bad_end = scanner.position();
    position_ = bad_end;
    return Status::Corruption(SegmentPath(dir_, segment_base_, SegmentFileKind::kLog) +
                              ": bytes " + std::to_string(bad_begin) + "-" +
                              std::to_string(bad_end) + " damaged (" + problem +
                              "); skipped, reading continues after them");
  }
  return Status::OK();
}

// The batch read straight into *out and its CRC checked (the bytes go to a
// client untouched, so what is sent is what was verified).
Status PartitionReader::ReadRawInto(std::string* out, size_t max_bytes, bool at_least_one) {
  return ScanRaw(max_bytes, at_least_one, [&](uint64_t position, const BatchHeader& h) {
    const size_t size = h.total_size();
    const size_t old = out->size();
    out->resize(old + size);
    Result<size_t> got = segment_->ReadAt(position, out->data() + old, size);
    if (!got.ok()) {
      out->resize(old);
      return Result<bool>(got.status());
    }
    if (*got == size && BatchCrcMatches(std::string_view(out->data() + old, size), h)) {
      return Result<bool>(true);
    }
    out->resize(old);
    return Result<bool>(false);
  });
}

// Only the headers are read: the ranges name the batches in the open
// segment file (extending the previous range when the batch follows it).
Status PartitionReader::ReadRawRanges(std::vector<StoredRange>* out, size_t max_bytes,
                                      bool at_least_one) {
  if (segment_ && segment_->fd() < 0) {
    return Status::NotSupported(segment_->path() + ": no descriptor to send from");
  }
  const size_t first = out->size();
  return ScanRaw(max_bytes, at_least_one, [&](uint64_t position, const BatchHeader& h) {
    const int fd = segment_->fd();
    if (fd < 0) {
      return Result<bool>(
          Status::NotSupported(segment_->path() + ": no descriptor to send from"));
    }
    if (out->size() > first) {
      StoredRange& last = out->back();
      if (last.file == segment_ && last.offset + last.length == position) {
        last.length += h.total_size();
        return Result<bool>(true);
      }
    }
    out->push_back(StoredRange{segment_, fd, position, h.total_size()});
    return Result<bool>(true);
  });
}

Result<PartitionInfo> PartitionReader::Offsets() {
  ASSIGN_OR_RETURN(Hwm hwm, LoadHwm());
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir_));
  PartitionInfo info;
  info.end_offset = hwm.next_offset;
  int64_t start = ReadLogStartOrZero(env_, dir_);
  if (!bases.empty()) start = std::max(start, bases.front());
  info.start_offset = std::min(start, hwm.next_offset);
  return info;
}

std::shared_ptr<char[]> PartitionReader::Buffer(size_t n) {
  if (buffer_ && buffer_.use_count() == 1 && buffer_size_ >= n) return buffer_;
  buffer_size_ = std::max<size_t>(n, 64 << 10);
  buffer_ = std::shared_ptr<char[]>(new char[buffer_size_]);  // no zero fill
  return buffer_;
}

Status PartitionReader::Poll(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    uint64_t seen = watch_->version();
    ASSIGN_OR_RETURN(Hwm hwm, LoadHwm());
    if (hwm.next_offset > next_offset_) return Status::OK();
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return Status::TimedOut("no new records");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    watch_->WaitForChange(seen, std::max(left, std::chrono::milliseconds(1)));
  }
}

}  // namespace runnel::storage
