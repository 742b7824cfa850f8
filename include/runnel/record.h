// Records: what producers append and readers get back.
#pragma once

#include "runnel/status.h"

#include <cstdint>
#include <memory>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel {

struct HeaderView {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt = null header value
};

// A record that borrows its bytes. As producer input, offset is ignored and a
// negative timestamp means "now". From a Reader, every field is set and the
// views stay valid while the ReadBatch that produced them lives.
struct RecordView {
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::optional<std::string_view> key;    // nullopt = no key
  std::optional<std::string_view> value;  // nullopt = tombstone (null value)
  std::span<const HeaderView> headers;
};

struct Header {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const Header&) const = default;
};

// A record that owns its bytes.
struct Record {
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;

  static Record From(const RecordView& view);
  bool operator==(const Record&) const = default;
};

// Records returned by one Reader::Read call. Owns the bytes the views point
// into; move-only so the views never dangle.
class ReadBatch {
 public:
  ReadBatch() = default;
  ReadBatch(ReadBatch&&) = default;
  ReadBatch& operator=(ReadBatch&&) = default;
  ReadBatch(const ReadBatch&) = delete;
  ReadBatch& operator=(const ReadBatch&) = delete;

  std::span<const RecordView> records() const { return records_; }
  bool empty() const { return records_.empty(); }
  size_t size() const { return records_.size(); }
  const RecordView& operator[](size_t i) const { return records_[i]; }
  // Offset the next Read continues from (last record's offset + 1, or further
  // when compaction left a gap).
  int64_t next_offset() const { return next_offset_; }
  // Bytes of stored batches this read covered.
  size_t bytes() const { return bytes_; }
  // Drops the records (and the bytes they point into), keeping capacity.
  void Clear() {
    buffers_.clear();
    headers_.clear();
    records_.clear();
    next_offset_ = 0;
    bytes_ = 0;
  }

 private:
  friend class ReadBatchBuilder;
  std::vector<std::shared_ptr<const void>> buffers_;  // keep the viewed bytes alive
  std::vector<HeaderView> headers_;
  std::vector<RecordView> records_;
  int64_t next_offset_ = 0;
  size_t bytes_ = 0;
};

// Calls fn(record) for every record of one stored batch (Kafka RecordBatch
// v2, as Producer::AppendRawAsync takes it and Reader::ReadRawInto returns
// it), decompressing gzip/snappy/lz4/zstd batches into at most
// max_decompressed_bytes. Offsets are the batch's base offset + delta. The
// views are valid during the call. kCorruption / kTooLarge / kNotSupported
// when the batch cannot be read; a control batch has no records.
Status ForEachRecordInBatch(std::string_view batch, size_t max_decompressed_bytes,
                            const std::function<void(const RecordView&)>& fn);

}  // namespace runnel
