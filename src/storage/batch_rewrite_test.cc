// AppendRetainedBatch / AppendEmptyBatch: a batch that loses records keeps
// what Kafka's cleaner keeps (offset range, producer fields, leader epoch,
// timestamp type, codec and snappy framing) and decodes to the kept records.
#include "storage/batch_rewrite.h"

#include "storage/batch_scanner.h"
#include "storage/batch_test_util.h"
#include "storage/compression.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace runnel::storage {
namespace {

using testing::BatchFields;
using testing::MakeBatch;

// An idempotent producer's batch on a leader at epoch 7.
BatchFields ProducerFields() {
  BatchFields f;
  f.leader_epoch = 7;
  f.producer_id = 1234;
  f.producer_epoch = 5;
  f.base_sequence = 40;
  return f;
}

struct Decoded {
  BatchHeader h;
  std::vector<DecodedRecord> records;
  std::vector<HeaderView> headers;
  std::string unpacked;
};

void DecodeChecked(std::string_view bytes, Decoded* d) {
  std::string problem;
  ASSERT_EQ(CheckBatch(bytes, &d->h, &problem), BatchScanner::Outcome::kBatch) << problem;
  ASSERT_EQ(d->h.total_size(), bytes.size());
  Status st = DecodeRecords(bytes, d->h, &d->records, &d->headers, &d->unpacked, 1 << 20);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

class RetainedBatchTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RetainedBatchTest, KeepsOffsetRangeProducerFieldsAndCodec) {
  std::vector<std::string> keys, values;
  for (int i = 0; i < 6; ++i) {
    keys.push_back("key" + std::to_string(i));
    values.push_back(std::string(200, static_cast<char>('a' + i)));
  }
  std::vector<HeaderView> hdr = {{"h", std::string_view("v")}};
  std::vector<RecordView> records;
  for (int i = 0; i < 6; ++i) {
    RecordView r;
    r.key = keys[i];
    if (i != 4) r.value = values[i];  // a tombstone among them
    r.timestamp_ms = 5000 + i * 10;
    if (i == 2) r.headers = hdr;
    records.push_back(r);
  }
  BatchFields f = ProducerFields();
  f.codec = GetParam();
  f.extra_attributes = 0x10;  // transactional
  const std::string original = MakeBatch(100, records, f);
  Decoded before;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(original, &before));

  // Keep records 1, 2 and 4 (the first and last go: the range must stay).
  std::vector<RecordView> keep;
  for (int i : {1, 2, 4}) {
    const DecodedRecord& r = before.records[static_cast<size_t>(i)];
    RecordView v;
    v.offset = r.offset;
    v.timestamp_ms = r.timestamp_ms;
    v.key = r.key;
    v.value = r.value;
    v.headers = std::span<const HeaderView>(before.headers.data() + r.header_begin, r.header_count);
    keep.push_back(v);
  }
  std::string out = "prefix";
  ASSERT_TRUE(AppendRetainedBatch(original, before.h, keep, &out).ok());
  ASSERT_EQ(out.substr(0, 6), "prefix");
  Decoded after;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(std::string_view(out).substr(6), &after));
  EXPECT_EQ(after.h.base_offset, 100);
  EXPECT_EQ(after.h.last_offset_delta, 5);
  EXPECT_EQ(after.h.compression(), GetParam());
  EXPECT_EQ(after.h.attributes & 0x18, 0x10);
  EXPECT_EQ(after.h.partition_leader_epoch, 7);
  EXPECT_EQ(after.h.producer_id, 1234);
  EXPECT_EQ(after.h.producer_epoch, 5);
  EXPECT_EQ(after.h.base_sequence, 40);
  EXPECT_EQ(after.h.records_count, 3);
  EXPECT_EQ(after.h.base_timestamp, 5010);
  EXPECT_EQ(after.h.max_timestamp, 5040);  // CreateTime: the largest kept
  ASSERT_EQ(after.records.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(after.records[i].offset, keep[i].offset);
    EXPECT_EQ(after.records[i].timestamp_ms, keep[i].timestamp_ms);
    EXPECT_EQ(after.records[i].key, keep[i].key);
    EXPECT_EQ(after.records[i].value, keep[i].value);
    EXPECT_EQ(after.records[i].header_count, keep[i].headers.size());
  }
  EXPECT_FALSE(after.records[2].value.has_value());
  ASSERT_EQ(after.headers.size(), 1u);
  EXPECT_EQ(after.headers[0].key, "h");
  EXPECT_EQ(after.headers[0].value, "v");
}

INSTANTIATE_TEST_SUITE_P(Codecs, RetainedBatchTest,
                         ::testing::Values(Compression::kNone, Compression::kGzip,
                                           Compression::kSnappy, Compression::kLz4,
                                           Compression::kZstd),
                         [](const auto& info) { return testing::CodecName(info.param); });

std::vector<RecordView> ThreeRecords(std::vector<std::string>* storage) {
  *storage = {"one", "two", "three"};
  std::vector<RecordView> r(3);
  for (int i = 0; i < 3; ++i) {
    r[i].value = (*storage)[i];
    r[i].timestamp_ms = 100 + i;
  }
  return r;
}

TEST(RetainedBatchTest, LogAppendTimeKeepsTheOriginalMaxTimestamp) {
  std::vector<std::string> s;
  BatchFields f = ProducerFields();
  f.extra_attributes = 0x08;
  f.max_timestamp = 999999;  // the broker's append time
  const std::string original = MakeBatch(0, ThreeRecords(&s), f);
  Decoded before;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(original, &before));
  RecordView v;
  v.offset = before.records[0].offset;
  v.timestamp_ms = before.records[0].timestamp_ms;
  v.value = before.records[0].value;
  std::string out;
  ASSERT_TRUE(AppendRetainedBatch(original, before.h, {&v, 1}, &out).ok());
  Decoded after;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(out, &after));
  EXPECT_EQ(after.h.attributes & 0x08, 0x08);
  EXPECT_EQ(after.h.max_timestamp, 999999);
  EXPECT_EQ(after.h.last_offset_delta, 2);
}

TEST(RetainedBatchTest, XerialSnappyStaysXerialAndRawStaysRaw) {
  for (SnappyFraming framing : {SnappyFraming::kRaw, SnappyFraming::kXerial}) {
    std::vector<std::string> s;
    BatchFields f = ProducerFields();
    f.codec = Compression::kSnappy;
    f.framing = framing;
    const std::string original = MakeBatch(0, ThreeRecords(&s), f);
    ASSERT_EQ(SnappyFramingOf(std::string_view(original).substr(kBatchHeaderSize)), framing);
    Decoded before;
    ASSERT_NO_FATAL_FAILURE(DecodeChecked(original, &before));
    RecordView v;
    v.offset = before.records[1].offset;
    v.timestamp_ms = before.records[1].timestamp_ms;
    v.value = before.records[1].value;
    std::string out;
    ASSERT_TRUE(AppendRetainedBatch(original, before.h, {&v, 1}, &out).ok());
    EXPECT_EQ(SnappyFramingOf(std::string_view(out).substr(kBatchHeaderSize)), framing);
    Decoded after;
    ASSERT_NO_FATAL_FAILURE(DecodeChecked(out, &after));
    ASSERT_EQ(after.records.size(), 1u);
    EXPECT_EQ(after.records[0].value, "two");
    EXPECT_EQ(after.records[0].offset, 1);
  }
}

TEST(RetainedBatchTest, EmptyBatchKeepsRangeAndProducerFieldsWithNoRecords) {
  std::vector<std::string> s;
  BatchFields f = ProducerFields();
  f.codec = Compression::kZstd;
  const std::string original = MakeBatch(50, ThreeRecords(&s), f);
  Decoded before;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(original, &before));
  std::string out;
  AppendEmptyBatch(before.h, &out);
  ASSERT_EQ(out.size(), kBatchHeaderSize);
  Decoded after;
  ASSERT_NO_FATAL_FAILURE(DecodeChecked(out, &after));
  EXPECT_TRUE(after.records.empty());
  EXPECT_EQ(after.h.records_count, 0);
  EXPECT_EQ(after.h.base_offset, 50);
  EXPECT_EQ(after.h.last_offset_delta, 2);
  EXPECT_EQ(after.h.compression(), Compression::kNone);
  EXPECT_EQ(after.h.base_timestamp, -1);
  EXPECT_EQ(after.h.max_timestamp, before.h.max_timestamp);
  EXPECT_EQ(after.h.producer_id, 1234);
  EXPECT_EQ(after.h.producer_epoch, 5);
  EXPECT_EQ(after.h.base_sequence, 40);
  EXPECT_EQ(after.h.partition_leader_epoch, 7);
}

}  // namespace
}  // namespace runnel::storage
