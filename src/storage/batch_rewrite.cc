#include "storage/batch_rewrite.h"

#include "storage/compression.h"
#include "util/bytes.h"
#include "util/crc32c.h"

#include <vector>

namespace runnel::storage {
namespace {

// Attributes bits a rewrite carries over: timestamp type and transactional.
constexpr uint16_t kKeptAttributes = 0x08 | 0x10;
constexpr uint16_t kLogAppendTime = 0x08;

// Writes the fields the original lends the rewrite, and the CRC last.
void StampHeader(char* b, const BatchHeader& h, uint16_t attributes, size_t total) {
  PutBE32(b + kBatchLengthOffset, static_cast<uint32_t>(total - kLogOverhead));
  PutBE32(b + 12, static_cast<uint32_t>(h.partition_leader_epoch));
  PutBE16(b + kAttributesOffset, attributes);
  if (h.attributes & kLogAppendTime) PutBE64(b + 35, static_cast<uint64_t>(h.max_timestamp));
  PutBE64(b + 43, static_cast<uint64_t>(h.producer_id));
  PutBE16(b + 51, static_cast<uint16_t>(h.producer_epoch));
  PutBE32(b + 53, static_cast<uint32_t>(h.base_sequence));
  PutBE32(b + kCrcOffset, crc32c::Value(b + kAttributesOffset, total - kAttributesOffset));
}

}  // namespace

Status AppendRetainedBatch(std::string_view original, const BatchHeader& h,
                           std::span<const RecordView> keep, std::string* dst) {
  std::vector<int32_t> deltas;
  deltas.reserve(keep.size());
  for (const RecordView& r : keep) deltas.push_back(static_cast<int32_t>(r.offset - h.base_offset));
  // now_ms -1: a record without a timestamp keeps having none.
  std::string plain;
  EncodeBatch(h.base_offset, keep, /*now_ms=*/-1, &plain, deltas, h.last_offset_delta);

  uint16_t attributes = static_cast<uint16_t>(h.attributes) & kKeptAttributes;
  const Compression codec = h.compression();
  if (codec == Compression::kNone) {
    StampHeader(plain.data(), h, attributes, plain.size());
    dst->append(plain);
    return Status::OK();
  }
  const size_t at = dst->size();
  dst->append(plain, 0, kBatchHeaderSize);
  const std::string_view old_section =
      original.substr(kBatchHeaderSize, h.total_size() - kBatchHeaderSize);
  Status st = Compress(codec, std::string_view(plain).substr(kBatchHeaderSize), dst,
                       SnappyFramingOf(old_section));
  if (!st.ok()) {
    dst->resize(at);
    return st;
  }
  attributes |= static_cast<uint16_t>(codec);
  StampHeader(dst->data() + at, h, attributes, dst->size() - at);
  return Status::OK();
}

void AppendEmptyBatch(const BatchHeader& h, std::string* dst) {
  const size_t at = dst->size();
  dst->resize(at + kBatchHeaderSize);
  char* b = dst->data() + at;
  PutBE64(b + kBaseOffsetOffset, static_cast<uint64_t>(h.base_offset));
  b[kMagicOffset] = kMagicV2;
  PutBE32(b + 23, static_cast<uint32_t>(h.last_offset_delta));
  PutBE64(b + 27, static_cast<uint64_t>(-1));  // no records, no base timestamp
  PutBE64(b + 35, static_cast<uint64_t>(h.max_timestamp));
  PutBE32(b + kRecordsCountOffset, 0);
  StampHeader(b, h, static_cast<uint16_t>(h.attributes) & kKeptAttributes, kBatchHeaderSize);
}

}  // namespace runnel::storage
