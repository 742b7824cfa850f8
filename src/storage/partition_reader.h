// PartitionReader: runnel::Reader over one partition's files.
//
// It shares nothing in memory with writers: it reads the hwm file for the
// published end, lists the directory for segments, and reads .log files with
// pread. So a reader in any process sees exactly what is published, in log
// order, and never a partial batch. Damage in the log is reported once per
// damaged range as kCorruption (naming the file and bytes), and the reader
// moves past it so the next Read continues with the next good batch.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runnel/log.h"
#include "storage/batch_format.h"
#include "storage/hwm_file.h"
#include "storage/tail_watcher.h"

namespace runnel {
class Env;
class File;
}  // namespace runnel

namespace runnel::storage {

// The published end of the partition in `dir`: the hwm, or when it is
// missing or unreadable, what a read-only scan of the last segment finds.
// *cache holds the open hwm file between calls.
Result<Hwm> ReadPublishedEnd(Env* env, const std::string& dir, std::unique_ptr<File>* cache);

class PartitionReader final : public Reader {
 public:
  // `env` must outlive the reader.
  PartitionReader(Env* env, std::string dir, std::shared_ptr<TailWatcher> watcher);
  ~PartitionReader() override;

  Status ReadInto(ReadBatch* batch, size_t max_bytes) override;
  Status ReadRawInto(std::string* out, size_t max_bytes, bool at_least_one) override;
  Status ReadRawRanges(std::vector<StoredRange>* out, size_t max_bytes,
                       bool at_least_one) override;
  Result<PartitionInfo> Offsets() override;
  Status Poll(std::chrono::milliseconds timeout) override;
  int64_t position() const override { return next_offset_; }
  Status Seek(StartPosition start) override;
  // The topic's max_message_bytes: bounds what one compressed batch may
  // decompress to (storage/compression.h DecompressedLimit).
  void set_max_message_bytes(int32_t n) { max_message_bytes_ = n; }

 private:
  Result<Hwm> LoadHwm() { return ReadPublishedEnd(env_, dir_, &hwm_file_); }
  Status OpenSegment(int64_t base);
  // Byte position in segment `base` from which offset `offset` can be found.
  Result<uint64_t> IndexedPosition(int64_t base, int64_t offset);
  Status PositionAt(int64_t offset);
  Status SeekTimestamp(int64_t ts);
  // Positions in a segment for a read; false when there is nothing to read.
  Result<bool> EnsurePositioned(const Hwm& hwm);
  // Bytes of the current segment that are published, or nullopt when the
  // segment is past the published end.
  Result<std::optional<uint64_t>> PublishedLimit(const Hwm& hwm);
  Result<bool> NextSegment();
  // The whole batches a raw read takes, from position(): `take(position,
  // header)` gets each one that fits and returns false when its bytes are
  // bad (a CRC mismatch), which is reported as damage.
  using RawSink = std::function<Result<bool>(uint64_t position, const BatchHeader& h)>;
  Status ScanRaw(size_t max_bytes, bool at_least_one, const RawSink& take);
  // A buffer of at least n bytes: the last one if no ReadBatch holds it any
  // more (reuse saves the page faults of a fresh 1 MiB allocation per read).
  std::shared_ptr<char[]> Buffer(size_t n);

  Env* const env_;
  const std::string dir_;
  std::shared_ptr<TailWatcher> watcher_;
  std::unique_ptr<TailWatcher::Handle> watch_;
  std::unique_ptr<File> hwm_file_;
  std::shared_ptr<File> segment_;  // shared with the StoredRanges handed out
  int64_t segment_base_ = -1;  // -1: not positioned in a segment yet
  uint64_t position_ = 0;      // byte position in segment_
  int64_t next_offset_ = 0;
  int64_t batch_floor_ = 0;                 // next offset of the previous batch read
  int64_t next_segment_base_ = INT64_MAX;  // offsets of this segment end below it
  int64_t min_timestamp_ = -1;  // while >= 0, skip records older than this
  std::shared_ptr<char[]> buffer_;
  std::vector<DecodedRecord> scratch_;
  size_t buffer_size_ = 0;
  int32_t max_message_bytes_ = kDefaultMaxMessageBytes;
};

}  // namespace runnel::storage
