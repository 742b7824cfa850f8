// Legacy message sets (magic 0/1) up-converted to RecordBatch v2, and the
// Produce v0-v2 request/response layouts.
#include "protocol/kafka/legacy_message_set.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/kafka/messages.h"
#include "storage/batch_format.h"
#include "storage/compression.h"
#include "util/bytes.h"

namespace runnel::kafka {
namespace {

using storage::Compression;
using Bytes = std::optional<std::string>;

void AppendBytes(std::string* s, const Bytes& b) {
  if (!b) {
    AppendBE32(s, static_cast<uint32_t>(-1));
    return;
  }
  AppendBE32(s, static_cast<uint32_t>(b->size()));
  s->append(*b);
}

// One message with its offset and size prefix; the CRC is correct unless
// `crc_xor` flips bits of it.
std::string Message(int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                    const Bytes& key, const Bytes& value, uint32_t crc_xor = 0) {
  std::string body;
  body.push_back(static_cast<char>(magic));
  body.push_back(static_cast<char>(attributes));
  if (magic == 1) AppendBE64(&body, static_cast<uint64_t>(timestamp));
  AppendBytes(&body, key);
  AppendBytes(&body, value);
  const uint32_t crc =
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  std::string out;
  AppendBE64(&out, static_cast<uint64_t>(offset));
  AppendBE32(&out, static_cast<uint32_t>(body.size() + 4));
  AppendBE32(&out, crc ^ crc_xor);
  return out + body;
}

std::string Compressed(Compression c, const std::string& plain,
                       storage::SnappyFraming framing = storage::SnappyFraming::kRaw) {
  std::string out;
  EXPECT_TRUE(storage::Compress(c, plain, &out, framing).ok());
  return out;
}

// Three messages of `magic`; magic 1 gets timestamps 1000, 1001, 1002 and
// offsets relative (0..2), magic 0 absolute (as old producers wrote them).
std::string InnerSet(int8_t magic) {
  std::string set;
  set += Message(magic == 1 ? 0 : 40, magic, 0, 1000, std::nullopt, "v0");
  set += Message(magic == 1 ? 1 : 41, magic, 0, 1001, "k1", "v1");
  set += Message(magic == 1 ? 2 : 42, magic, 0, 1002, "k2", std::nullopt);
  return set;
}

struct Decoded {
  storage::BatchHeader header;
  std::vector<storage::DecodedRecord> records;
  std::string inflated;
};

Decoded Decode(const std::string& batch) {
  Decoded d;
  EXPECT_TRUE(storage::ValidateProducedBatch(batch, 1 << 26, &d.header).ok());
  std::vector<HeaderView> headers;
  EXPECT_TRUE(
      storage::DecodeRecords(batch, d.header, &d.records, &headers, &d.inflated, 1 << 26).ok());
  EXPECT_TRUE(headers.empty());
  return d;
}

constexpr int64_t kNow = 5'000'000;

TEST(LegacyMessageSet, Magic0UncompressedGetsBrokerTimeAndOffsetsFromZero) {
  std::string batch;
  LegacyConversion c = UpConvertMessageSet(InnerSet(0), kNow, 1 << 20, &batch);
  ASSERT_EQ(c.error, ErrorCode::kNone) << c.detail;
  EXPECT_EQ(c.records, 3);
  Decoded d = Decode(batch);
  EXPECT_EQ(d.header.compression(), Compression::kNone);
  ASSERT_EQ(d.records.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.records[i].offset, i);
    EXPECT_EQ(d.records[i].timestamp_ms, kNow);
  }
  EXPECT_FALSE(d.records[0].key);
  EXPECT_EQ(*d.records[0].value, "v0");
  EXPECT_EQ(*d.records[1].key, "k1");
  EXPECT_EQ(*d.records[1].value, "v1");
  EXPECT_FALSE(d.records[2].value);
}

TEST(LegacyMessageSet, Magic1KeepsTimestampsAndMissingOnesBecomeBrokerTime) {
  std::string set = InnerSet(1) + Message(3, 1, 0, -1, "k3", "v3");
  std::string batch;
  LegacyConversion c = UpConvertMessageSet(set, kNow, 1 << 20, &batch);
  ASSERT_EQ(c.error, ErrorCode::kNone) << c.detail;
  Decoded d = Decode(batch);
  ASSERT_EQ(d.records.size(), 4u);
  EXPECT_EQ(d.records[0].timestamp_ms, 1000);
  EXPECT_EQ(d.records[2].timestamp_ms, 1002);
  EXPECT_EQ(d.records[3].timestamp_ms, kNow);
  EXPECT_EQ(d.header.base_timestamp, 1000);
  EXPECT_EQ(d.header.max_timestamp, kNow);
}

struct CodecCase {
  Compression codec;
  storage::SnappyFraming framing;
};

class LegacyCodec : public ::testing::TestWithParam<CodecCase> {};

TEST_P(LegacyCodec, WrapperBecomesOneBatchCompressedWithTheSameCodec) {
  for (int8_t magic : {0, 1}) {
    SCOPED_TRACE(magic);
    const CodecCase cc = GetParam();
    std::string inner = InnerSet(magic) + Message(3, magic, 0, 2000, "k", "last");
    std::string wrapper = Message(3, magic, static_cast<int8_t>(cc.codec), 2000, std::nullopt,
                                  Compressed(cc.codec, inner, cc.framing));
    std::string batch;
    LegacyConversion c = UpConvertMessageSet(wrapper, kNow, 1 << 20, &batch);
    ASSERT_EQ(c.error, ErrorCode::kNone) << c.detail;
    EXPECT_EQ(c.records, 4);
    Decoded d = Decode(batch);
    EXPECT_EQ(d.header.compression(), cc.codec);
    if (cc.codec == Compression::kSnappy) {
      EXPECT_EQ(storage::SnappyFramingOf(std::string_view(batch).substr(storage::kBatchHeaderSize)),
                cc.framing);
    }
    ASSERT_EQ(d.records.size(), 4u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(d.records[i].offset, i);
    EXPECT_FALSE(d.records[0].key);
    EXPECT_EQ(*d.records[1].key, "k1");
    EXPECT_FALSE(d.records[2].value);
    EXPECT_EQ(*d.records[3].value, "last");
    EXPECT_EQ(d.records[0].timestamp_ms, magic == 1 ? 1000 : kNow);
    EXPECT_EQ(d.records[3].timestamp_ms, magic == 1 ? 2000 : kNow);
    // As Kafka: a compressed wrapper must be alone in its set.
    const std::string plain = Message(9, magic, 0, 2000, "k", "plain");
    EXPECT_EQ(UpConvertMessageSet(wrapper + wrapper, kNow, 1 << 20, &batch).error,
              ErrorCode::kInvalidRecord);
    EXPECT_EQ(UpConvertMessageSet(plain + wrapper, kNow, 1 << 20, &batch).error,
              ErrorCode::kInvalidRecord);
    EXPECT_EQ(UpConvertMessageSet(wrapper + plain, kNow, 1 << 20, &batch).error,
              ErrorCode::kInvalidRecord);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, LegacyCodec,
    ::testing::Values(CodecCase{Compression::kGzip, storage::SnappyFraming::kRaw},
                      CodecCase{Compression::kSnappy, storage::SnappyFraming::kRaw},
                      CodecCase{Compression::kSnappy, storage::SnappyFraming::kXerial},
                      CodecCase{Compression::kLz4, storage::SnappyFraming::kRaw}));

TEST(LegacyMessageSet, LogAppendTimeWrapperGivesItsTimestampToInnerMessages) {
  std::string set = Message(2, 1, static_cast<int8_t>(1 | 0x08), 7777, std::nullopt,
                            Compressed(Compression::kGzip, InnerSet(1)));
  std::string batch;
  ASSERT_EQ(UpConvertMessageSet(set, kNow, 1 << 20, &batch).error, ErrorCode::kNone);
  Decoded d = Decode(batch);
  for (const auto& r : d.records) EXPECT_EQ(r.timestamp_ms, 7777);
}

// KAFKA-3160: magic-0 lz4 writers hashed the frame magic number into the
// header checksum. Such a frame is accepted for magic 0, not for magic 1.
std::string BrokenChecksumLz4(const std::string& plain) {
  std::string frame = Compressed(Compression::kLz4, plain);
  const unsigned char flg = static_cast<unsigned char>(frame[4]);
  const size_t descriptor = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  const uint32_t broken = XxHash32(std::string_view(frame).substr(0, 4 + descriptor), 0);
  const char wrong = static_cast<char>((broken >> 8) & 0xFF);
  EXPECT_NE(frame[4 + descriptor], wrong);
  frame[4 + descriptor] = wrong;
  return frame;
}

TEST(LegacyMessageSet, Lz4BrokenHeaderChecksumAcceptedForMagic0Only) {
  std::string batch;
  std::string v0 = Message(2, 0, 3, 0, std::nullopt, BrokenChecksumLz4(InnerSet(0)));
  LegacyConversion c = UpConvertMessageSet(v0, kNow, 1 << 20, &batch);
  ASSERT_EQ(c.error, ErrorCode::kNone) << c.detail;
  EXPECT_EQ(Decode(batch).records.size(), 3u);
  std::string v1 = Message(2, 1, 3, 0, std::nullopt, BrokenChecksumLz4(InnerSet(1)));
  batch.clear();
  EXPECT_EQ(UpConvertMessageSet(v1, kNow, 1 << 20, &batch).error, ErrorCode::kCorruptMessage);
  EXPECT_TRUE(batch.empty());
}

TEST(LegacyMessageSet, XxHash32AndTheRepairMatchLibLz4) {
  EXPECT_EQ(XxHash32("", 0), 0x02CC5D05u);
  EXPECT_EQ(XxHash32("abc", 0), 0x32D153FFu);
  const std::string good = Compressed(Compression::kLz4, std::string(1000, 'x'));
  std::string damaged = good;
  damaged[6] ^= 0x5A;  // the HC byte of a frame without content size or dictionary
  ASSERT_TRUE(RepairLz4HeaderChecksum(&damaged));
  EXPECT_EQ(damaged, good);
  std::string not_lz4 = "plain bytes";
  EXPECT_FALSE(RepairLz4HeaderChecksum(&not_lz4));
}

ErrorCode ErrorOf(const std::string& set, size_t budget = 1 << 20) {
  std::string batch;
  LegacyConversion c = UpConvertMessageSet(set, kNow, budget, &batch);
  if (c.error != ErrorCode::kNone) {
    EXPECT_TRUE(batch.empty());
  }
  EXPECT_EQ(c.error == ErrorCode::kNone, c.detail.empty());
  return c.error;
}

TEST(LegacyMessageSet, Rejections) {
  EXPECT_EQ(ErrorOf(""), ErrorCode::kInvalidRecord);
  EXPECT_EQ(ErrorOf(Message(0, 1, 0, 1, "k", "v", 0x10)), ErrorCode::kCorruptMessage);
  EXPECT_EQ(ErrorOf(Message(0, 2, 0, 1, "k", "v")), ErrorCode::kInvalidRecord);
  // Magic 0 and 1 in one set.
  EXPECT_EQ(ErrorOf(Message(0, 0, 0, 0, "k", "v") + Message(1, 1, 0, 1, "k", "v")),
            ErrorCode::kInvalidRecord);
  // LogAppendTime from a producer is refused only where a record would have
  // no timestamp.
  EXPECT_EQ(ErrorOf(Message(0, 1, 0x08, -1, "k", "v")), ErrorCode::kInvalidTimestamp);
  EXPECT_EQ(ErrorOf(Message(0, 1, 0x08, 7, "k", "v")), ErrorCode::kNone);
  EXPECT_EQ(ErrorOf(Message(0, 1, 1 | 0x08, -1, std::nullopt,
                            Compressed(Compression::kGzip, InnerSet(1)))),
            ErrorCode::kInvalidTimestamp);
  // A compressed message inside a wrapper: one level only.
  std::string inner_wrapper =
      Message(0, 1, 1, 1, std::nullopt, Compressed(Compression::kGzip, InnerSet(1)));
  EXPECT_EQ(ErrorOf(Message(0, 1, 1, 1, std::nullopt,
                            Compressed(Compression::kGzip, inner_wrapper))),
            ErrorCode::kInvalidRecord);
  // Inner magic differs from the wrapper's.
  EXPECT_EQ(ErrorOf(Message(0, 0, 1, 0, std::nullopt, Compressed(Compression::kGzip, InnerSet(1)))),
            ErrorCode::kInvalidRecord);
  EXPECT_EQ(ErrorOf(Message(0, 1, 1, 1, std::nullopt, std::nullopt)), ErrorCode::kInvalidRecord);
  EXPECT_EQ(ErrorOf(Message(0, 1, 1, 1, std::nullopt, Compressed(Compression::kGzip, ""))),
            ErrorCode::kInvalidRecord);
  EXPECT_EQ(ErrorOf(Message(0, 1, 4, 1, std::nullopt, Compressed(Compression::kZstd, InnerSet(1)))),
            ErrorCode::kUnsupportedCompressionType);
  EXPECT_EQ(ErrorOf(Message(0, 1, 5, 1, std::nullopt, "x")), ErrorCode::kCorruptMessage);
  EXPECT_EQ(ErrorOf(Message(0, 1, 1, 1, std::nullopt, "not gzip at all")),
            ErrorCode::kCorruptMessage);
  // A key length that runs past the message (CRC made to match).
  std::string bad_len = Message(0, 0, 0, 0, "key", "v");
  PutBE32(bad_len.data() + 18, 1000);
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(bad_len.data() + 16),
                             static_cast<uInt>(bad_len.size() - 16));
  PutBE32(bad_len.data() + 12, crc);
  EXPECT_EQ(ErrorOf(bad_len), ErrorCode::kCorruptMessage);
  // A message size below the minimum.
  std::string tiny = Message(0, 0, 0, 0, "k", "v");
  PutBE32(tiny.data() + 8, 13);
  EXPECT_EQ(ErrorOf(tiny), ErrorCode::kCorruptMessage);
}

TEST(LegacyMessageSet, EveryTruncationIsRejectedUnlessItEndsOnAMessage) {
  const std::string one = Message(0, 1, 0, 5, "k", "v");
  const std::string set = one + one;
  for (size_t cut = 1; cut < set.size(); ++cut) {
    SCOPED_TRACE(cut);
    std::string batch;
    LegacyConversion c = UpConvertMessageSet(set.substr(0, cut), kNow, 1 << 20, &batch);
    if (cut == one.size()) {
      EXPECT_EQ(c.error, ErrorCode::kNone);
      EXPECT_EQ(c.records, 1);
    } else {
      EXPECT_EQ(c.error, ErrorCode::kCorruptMessage);
    }
  }
  // Truncated inside the compressed inner set.
  std::string inner = InnerSet(1);
  inner.resize(inner.size() - 3);
  EXPECT_EQ(ErrorOf(Message(0, 1, 1, 1, std::nullopt, Compressed(Compression::kGzip, inner))),
            ErrorCode::kCorruptMessage);
}

TEST(LegacyMessageSet, DecompressionIsBounded) {
  std::string big_inner;
  while (big_inner.size() < (1 << 20)) big_inner += Message(0, 1, 0, 1, std::nullopt, std::string(4096, 'z'));
  for (Compression c : {Compression::kGzip, Compression::kSnappy, Compression::kLz4}) {
    SCOPED_TRACE(static_cast<int>(c));
    std::string set = Message(0, 1, static_cast<int8_t>(c), 1, std::nullopt, Compressed(c, big_inner));
    EXPECT_LT(set.size(), size_t{256 << 10});
    EXPECT_EQ(ErrorOf(set, 64 << 10), ErrorCode::kMessageTooLarge);
    // The bound is exact.
    const size_t inner_size = 150 * (4096 + 34);
    std::string part = Message(0, 1, static_cast<int8_t>(c), 1, std::nullopt,
                               Compressed(c, big_inner.substr(0, inner_size)));
    EXPECT_EQ(ErrorOf(part, inner_size), ErrorCode::kNone);
    EXPECT_EQ(ErrorOf(part, inner_size - 1), ErrorCode::kMessageTooLarge);
  }
}

// ---- Produce v0-v2 request and response layouts ---------------------------

std::string ProduceBody(int16_t version, const std::string& set) {
  std::string b;
  if (version >= 3) AppendBE16(&b, static_cast<uint16_t>(-1));  // transactional_id
  AppendBE16(&b, 1);                                             // acks
  AppendBE32(&b, 1500);                                          // timeout
  AppendBE32(&b, 1);
  AppendBE16(&b, 5);
  b += "topic";
  AppendBE32(&b, 1);
  AppendBE32(&b, 3);  // partition
  AppendBE32(&b, static_cast<uint32_t>(set.size()));
  b += set;
  return b;
}

TEST(ProduceLegacyCodec, RequestV0ToV2HasNoTransactionalId) {
  const std::string set = InnerSet(0);
  for (int16_t v : {0, 1, 2, 3}) {
    SCOPED_TRACE(v);
    const std::string body = ProduceBody(v, set);  // the request views into it
    ProduceRequest req;
    ASSERT_TRUE(DecodeProduce(body, v, &req));
    EXPECT_FALSE(req.transactional_id);
    EXPECT_EQ(req.acks, 1);
    EXPECT_EQ(req.timeout_ms, 1500);
    ASSERT_EQ(req.topics.size(), 1u);
    EXPECT_EQ(req.topics[0].name, "topic");
    ASSERT_EQ(req.topics[0].partitions.size(), 1u);
    EXPECT_EQ(req.topics[0].partitions[0].index, 3);
    EXPECT_EQ(*req.topics[0].partitions[0].records, set);
  }
}

TEST(ProduceLegacyCodec, ResponseV0V1V2Fields) {
  ProduceResponse r;
  r.topics.push_back({"t", {{7, ErrorCode::kCorruptMessage, 42, 0}}});
  // topics(4) name(2+1) partitions(4) index(4) error(2) base_offset(8)
  const size_t v0 = 4 + 3 + 4 + 4 + 2 + 8;
  std::string out;
  EncodeProduce(r, 0, &out);
  ASSERT_EQ(out.size(), v0);
  EXPECT_EQ(GetBE16(out.data() + 15), 2);
  EXPECT_EQ(static_cast<int64_t>(GetBE64(out.data() + 17)), 42);
  out.clear();
  EncodeProduce(r, 1, &out);
  ASSERT_EQ(out.size(), v0 + 4);  // + throttle_time_ms
  EXPECT_EQ(GetBE32(out.data() + v0), 0u);
  out.clear();
  EncodeProduce(r, 2, &out);
  ASSERT_EQ(out.size(), v0 + 8 + 4);  // + log_append_time_ms per partition
  EXPECT_EQ(static_cast<int64_t>(GetBE64(out.data() + v0)), -1);
  out.clear();
  EncodeProduce(r, 5, &out);
  EXPECT_EQ(out.size(), v0 + 8 + 8 + 4);  // + log_start_offset
}

}  // namespace
}  // namespace runnel::kafka
