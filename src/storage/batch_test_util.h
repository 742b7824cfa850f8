// Building stored batches for storage tests: what a Kafka client sends
// (compressed with any codec, with producer fields), offset-stamped.
#pragma once

#include "storage/batch_format.h"
#include "storage/compression.h"
#include "util/bytes.h"
#include "util/crc32c.h"

#include "runnel/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace runnel::storage::testing {

struct BatchFields {
  Compression codec = Compression::kNone;
  SnappyFraming framing = SnappyFraming::kRaw;
  uint16_t extra_attributes = 0;  // bit 3 LogAppendTime, bit 4 transactional
  int32_t leader_epoch = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int64_t max_timestamp = -1;  // -1: the records' largest, as encoded
};

// One batch holding `records` (offsets base + 0..n-1), its records section
// compressed with f.codec, header fields from `f`, CRC valid.
inline std::string MakeBatch(int64_t base, const std::vector<RecordView>& records,
                             const BatchFields& f) {
  std::string plain;
  EncodeBatch(base, records, 0, &plain);
  std::string b = plain.substr(0, kBatchHeaderSize);
  EXPECT_TRUE(
      Compress(f.codec, std::string_view(plain).substr(kBatchHeaderSize), &b, f.framing).ok());
  PutBE32(b.data() + kBatchLengthOffset, static_cast<uint32_t>(b.size() - kLogOverhead));
  PutBE32(b.data() + 12, static_cast<uint32_t>(f.leader_epoch));
  PutBE16(b.data() + kAttributesOffset,
          static_cast<uint16_t>(static_cast<uint16_t>(f.codec) | f.extra_attributes));
  if (f.max_timestamp >= 0) PutBE64(b.data() + 35, static_cast<uint64_t>(f.max_timestamp));
  PutBE64(b.data() + 43, static_cast<uint64_t>(f.producer_id));
  PutBE16(b.data() + 51, static_cast<uint16_t>(f.producer_epoch));
  PutBE32(b.data() + 53, static_cast<uint32_t>(f.base_sequence));
  PutBE32(b.data() + kCrcOffset,
          crc32c::Value(b.data() + kAttributesOffset, b.size() - kAttributesOffset));
  return b;
}

inline const char* CodecName(Compression c) {
  static const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return names[static_cast<int>(c)];
}

}  // namespace runnel::storage::testing
