// Kafka RecordBatch v2 (magic 2), byte for byte. See docs/format/log.md.
//
//   offset  size  field                 CRC covers
//        0     8  base_offset           no
//        8     4  batch_length          no   (bytes after this field)
//       12     4  partition_leader_epoch no
//       16     1  magic = 2             no
//       17     4  crc (CRC-32C)         no
//       21     2  attributes            yes  (bits 0-2 compression, 3 timestamp type,
//       23     4  last_offset_delta     yes        4 transactional, 5 control)
//       27     8  base_timestamp        yes
//       35     8  max_timestamp         yes
//       43     8  producer_id           yes
//       51     2  producer_epoch        yes
//       53     4  base_sequence         yes
//       57     4  records_count         yes
//       61     .. records               yes
//
// A record: length varint, attributes int8, timestamp_delta varlong,
// offset_delta varint, key_length varint (-1 = null), key, value_length
// varint (-1 = null), value, header_count varint, then per header key_length
// varint, key, value_length varint (-1 = null), value. All fixed-width fields
// are big-endian; varints are zigzag LEB128.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/record.h"
#include "runnel/status.h"

namespace runnel::storage {

inline constexpr size_t kBatchHeaderSize = 61;
inline constexpr size_t kLogOverhead = 12;  // base_offset + batch_length
inline constexpr int8_t kMagicV2 = 2;
inline constexpr size_t kBaseOffsetOffset = 0;
inline constexpr size_t kBatchLengthOffset = 8;
inline constexpr size_t kMagicOffset = 16;
inline constexpr size_t kCrcOffset = 17;
inline constexpr size_t kAttributesOffset = 21;
inline constexpr size_t kRecordsCountOffset = 57;
// A batch length that cannot be real: bigger than any configurable message
// limit. Checked before any allocation sized from a header.
inline constexpr int32_t kMaxBatchLength = 64 << 20;

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  size_t total_size() const { return kLogOverhead + static_cast<size_t>(batch_length); }
  Compression compression() const { return static_cast<Compression>(attributes & 0x7); }
  bool is_control() const { return (attributes & 0x20) != 0; }
};

// Parses and sanity-checks the fixed header in bytes[0, kBatchHeaderSize):
// magic 2, batch_length in [kBatchHeaderSize - kLogOverhead, kMaxBatchLength],
// last_offset_delta >= 0, records_count >= 0. Does not check the CRC.
// kCorruption on a bad header, kInvalidArgument if bytes is too short.
Status ParseBatchHeader(std::string_view bytes, BatchHeader* out);

// Whether the stored CRC matches bytes [kAttributesOffset, total_size).
// `batch` must hold at least header.total_size() bytes.
bool BatchCrcMatches(std::string_view batch, const BatchHeader& header);

// Rewrites base_offset in place (the CRC does not cover it).
void SetBaseOffset(char* batch, int64_t base_offset);

// Appends one uncompressed batch holding `records` to *dst. Record i gets
// offset base_offset + offset_deltas[i] (or + i when offset_deltas is empty);
// a negative record timestamp becomes now_ms. last_offset_delta is
// max(offset_deltas) unless last_offset_delta_override >= 0 (compaction keeps
// the original batch's range). Returns the encoded size.
size_t EncodeBatch(int64_t base_offset, std::span<const RecordView> records, int64_t now_ms,
                   std::string* dst, std::span<const int32_t> offset_deltas = {},
                   int32_t last_offset_delta_override = -1);

// Size EncodeBatch would produce, for limit checks before encoding.
size_t EncodedBatchSize(std::span<const RecordView> records, int64_t now_ms);

// One decoded record of a batch; header views go into `headers` in order and
// the record's headers are headers[header_begin, header_begin + header_count).
struct DecodedRecord {
  int64_t offset;
  int64_t timestamp_ms;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  uint32_t header_begin;
  uint32_t header_count;
};

// Decodes every record of a batch (CRC already checked by the caller).
// Views point into `batch` — or, for a compressed batch, into *decompressed,
// which receives the decompressed records (at most max_decompressed bytes,
// else kTooLarge; storage/compression.h). Without `decompressed` a
// compressed batch is kNotSupported. kCorruption names the record index and
// what is wrong (or the codec's complaint).
Status DecodeRecords(std::string_view batch, const BatchHeader& header,
                     std::vector<DecodedRecord>* records, std::vector<HeaderView>* headers,
                     std::string* decompressed = nullptr, size_t max_decompressed = 0);

}  // namespace runnel::storage

namespace runnel::storage {

// Checks a batch a producer sent for storing as it is (Kafka Produce,
// Producer::AppendRawAsync), as a Kafka broker does on produce:
//   - bytes hold exactly one batch: a header that parses (magic 2, sane
//     lengths) and batch_length + 12 == bytes.size()       else kCorruption
//   - the CRC-32C matches                                  else kCorruption
//   - not larger than max_bytes                            else kTooLarge
//   - records_count >= 1 and last_offset_delta == count-1, not a control
//     batch                                                else kInvalidArgument
//   - uncompressed: every record decodes, offset deltas are 0..count-1 in
//     order                                                else kCorruption
// Compressed batches are not decompressed: their records are checked by
// the count and CRC only (docs/protocols/kafka.md).
Status ValidateProducedBatch(std::string_view bytes, size_t max_bytes, BatchHeader* out);

}  // namespace runnel::storage
