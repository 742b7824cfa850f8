#include "storage/batch_format.h"

#include <gtest/gtest.h>

#include "util/bytes.h"

namespace runnel::storage {
namespace {

std::vector<RecordView> SampleRecords(std::vector<HeaderView>* headers) {
  headers->push_back({"h1", std::string_view("v1")});
  headers->push_back({"h2", std::nullopt});
  std::vector<RecordView> r(3);
  r[0].key = "k0";
  r[0].value = "value zero";
  r[0].timestamp_ms = 1000;
  r[1].value = std::nullopt;  // tombstone, no key
  r[1].timestamp_ms = 990;    // timestamps may go backwards
  r[2].key = std::string_view("");
  r[2].value = std::string_view("\0\xff", 2);
  r[2].headers = *headers;
  r[2].timestamp_ms = -1;  // "now"
  return r;
}

TEST(BatchFormatTest, EncodeThenDecodeRoundTrips) {
  std::vector<HeaderView> hv;
  auto records = SampleRecords(&hv);
  std::string buf;
  size_t n = EncodeBatch(40, records, 5000, &buf);
  ASSERT_EQ(n, buf.size());
  EXPECT_EQ(n, EncodedBatchSize(records, 5000));

  BatchHeader h;
  ASSERT_TRUE(ParseBatchHeader(buf, &h).ok());
  EXPECT_EQ(h.base_offset, 40);
  EXPECT_EQ(h.records_count, 3);
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(h.base_timestamp, 1000);
  EXPECT_EQ(h.max_timestamp, 5000);
  EXPECT_EQ(h.total_size(), buf.size());
  EXPECT_TRUE(BatchCrcMatches(buf, h));

  std::vector<DecodedRecord> out;
  std::vector<HeaderView> headers;
  ASSERT_TRUE(DecodeRecords(buf, h, &out, &headers).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].offset, 40);
  EXPECT_EQ(*out[0].key, "k0");
  EXPECT_EQ(*out[0].value, "value zero");
  EXPECT_EQ(out[1].timestamp_ms, 990);
  EXPECT_FALSE(out[1].key.has_value());
  EXPECT_FALSE(out[1].value.has_value());
  EXPECT_EQ(out[2].offset, 42);
  EXPECT_EQ(out[2].timestamp_ms, 5000);
  EXPECT_EQ(*out[2].key, "");
  EXPECT_EQ(*out[2].value, std::string_view("\0\xff", 2));
  ASSERT_EQ(out[2].header_count, 2u);
  EXPECT_EQ(headers[out[2].header_begin].key, "h1");
  EXPECT_EQ(*headers[out[2].header_begin].value, "v1");
  EXPECT_FALSE(headers[out[2].header_begin + 1].value.has_value());
}

TEST(BatchFormatTest, BaseOffsetIsOutsideTheCrc) {
  std::vector<HeaderView> hv;
  auto records = SampleRecords(&hv);
  std::string buf;
  EncodeBatch(0, records, 5000, &buf);
  SetBaseOffset(buf.data(), 123456789);
  BatchHeader h;
  ASSERT_TRUE(ParseBatchHeader(buf, &h).ok());
  EXPECT_EQ(h.base_offset, 123456789);
  EXPECT_TRUE(BatchCrcMatches(buf, h));
}

TEST(BatchFormatTest, AnyFlippedByteUnderTheCrcIsDetected) {
  std::vector<HeaderView> hv;
  auto records = SampleRecords(&hv);
  std::string good;
  EncodeBatch(7, records, 5000, &good);
  for (size_t i = kAttributesOffset; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x10;
    BatchHeader h;
    if (!ParseBatchHeader(bad, &h).ok()) continue;  // a header check caught it
    if (bad.size() < h.total_size()) continue;
    EXPECT_FALSE(BatchCrcMatches(bad, h)) << "flip at byte " << i;
  }
}

TEST(BatchFormatTest, PreservedOffsetDeltasLeaveGaps) {
  std::vector<RecordView> r(2);
  r[0].value = "a";
  r[1].value = "b";
  std::vector<int32_t> deltas = {1, 4};
  std::string buf;
  EncodeBatch(100, r, 1, &buf, deltas, 9);
  BatchHeader h;
  ASSERT_TRUE(ParseBatchHeader(buf, &h).ok());
  EXPECT_EQ(h.next_offset(), 110);
  std::vector<DecodedRecord> out;
  std::vector<HeaderView> headers;
  ASSERT_TRUE(DecodeRecords(buf, h, &out, &headers).ok());
  EXPECT_EQ(out[0].offset, 101);
  EXPECT_EQ(out[1].offset, 104);
}

TEST(BatchFormatTest, HeaderChecksRejectNonsense) {
  std::string buf(kBatchHeaderSize, '\0');
  BatchHeader h;
  EXPECT_TRUE(ParseBatchHeader(buf, &h).Is(StatusCode::kCorruption));  // magic 0
  buf[kMagicOffset] = kMagicV2;
  PutBE32(buf.data() + 8, 0x7fffffff);
  EXPECT_TRUE(ParseBatchHeader(buf, &h).Is(StatusCode::kCorruption));  // huge length
  EXPECT_TRUE(ParseBatchHeader(std::string_view(buf).substr(0, 10), &h)
                  .Is(StatusCode::kInvalidArgument));
}

TEST(BatchFormatTest, TruncatedRecordIsCorruptionNotACrash) {
  std::vector<HeaderView> hv;
  auto records = SampleRecords(&hv);
  std::string buf;
  EncodeBatch(0, records, 5000, &buf);
  BatchHeader h;
  ASSERT_TRUE(ParseBatchHeader(buf, &h).ok());
  // Claim one more record than the batch holds.
  PutBE32(buf.data() + kRecordsCountOffset, 4);
  h.records_count = 4;
  std::vector<DecodedRecord> out;
  std::vector<HeaderView> headers;
  EXPECT_TRUE(DecodeRecords(buf, h, &out, &headers).Is(StatusCode::kCorruption));
}

}  // namespace
}  // namespace runnel::storage
