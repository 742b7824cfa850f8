#include "util/varint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace runnel {
namespace {

std::vector<uint64_t> InterestingUnsigned() {
  std::vector<uint64_t> v = {0,
                             1,
                             127,
                             128,
                             255,
                             300,
                             16383,
                             16384,
                             0xFFFFFFFF,
                             0x100000000,
                             std::numeric_limits<uint64_t>::max()};
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t p = uint64_t{1} << bit;
    v.insert(v.end(), {p - 1, p, p + 1});
  }
  return v;
}

std::vector<int64_t> InterestingSigned() {
  std::vector<int64_t> v = {0,
                            1,
                            -1,
                            63,
                            -64,
                            64,
                            -65,
                            std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()};
  for (uint64_t u : InterestingUnsigned()) {
    v.push_back(static_cast<int64_t>(u));
    v.push_back(-static_cast<int64_t>(u >> 1));
  }
  return v;
}

std::string EncodeU64(uint64_t v) {
  char buf[kMaxVarint64Bytes];
  return std::string(buf, PutUVarint64(buf, v));
}

const char* DecodeU64(const std::string& s, uint64_t* v) {
  return GetUVarint64(s.data(), s.data() + s.size(), v);
}
const char* DecodeU32(const std::string& s, uint32_t* v) {
  return GetUVarint32(s.data(), s.data() + s.size(), v);
}

TEST(VarintTest, Unsigned64RoundTrips) {
  for (uint64_t want : InterestingUnsigned()) {
    const std::string enc = EncodeU64(want);
    EXPECT_EQ(static_cast<int>(enc.size()), UVarintLength(want));
    uint64_t got = 0;
    const char* end = DecodeU64(enc, &got);
    ASSERT_EQ(end, enc.data() + enc.size()) << want;
    EXPECT_EQ(got, want);
  }
}

TEST(VarintTest, Unsigned32RoundTripsEveryValueThatFits) {
  for (uint64_t want : InterestingUnsigned()) {
    if (want > std::numeric_limits<uint32_t>::max()) continue;
    const std::string enc = EncodeU64(want);
    uint32_t got = 0;
    ASSERT_EQ(DecodeU32(enc, &got), enc.data() + enc.size()) << want;
    EXPECT_EQ(got, want);
  }
}

TEST(VarintTest, Signed64RoundTripsIncludingExtremes) {
  for (int64_t want : InterestingSigned()) {
    std::string enc;
    AppendVarint64(&enc, want);
    EXPECT_EQ(static_cast<int>(enc.size()), Varint64Length(want));
    int64_t got = 0;
    ASSERT_EQ(GetVarint64(enc.data(), enc.data() + enc.size(), &got), enc.data() + enc.size());
    EXPECT_EQ(got, want);
  }
}

TEST(VarintTest, Signed32RoundTripsIncludingExtremes) {
  for (int64_t wide : InterestingSigned()) {
    if (wide < std::numeric_limits<int32_t>::min() || wide > std::numeric_limits<int32_t>::max()) {
      continue;
    }
    const auto want = static_cast<int32_t>(wide);
    std::string enc;
    AppendVarint32(&enc, want);
    EXPECT_EQ(static_cast<int>(enc.size()), Varint32Length(want));
    EXPECT_LE(enc.size(), static_cast<size_t>(kMaxVarint32Bytes));
    int32_t got = 0;
    ASSERT_EQ(GetVarint32(enc.data(), enc.data() + enc.size(), &got), enc.data() + enc.size());
    EXPECT_EQ(got, want);
  }
}

TEST(VarintTest, ZigZagInterleavesSignsAsKafkaDoes) {
  EXPECT_EQ(ZigZag32(0), 0u);
  EXPECT_EQ(ZigZag32(-1), 1u);
  EXPECT_EQ(ZigZag32(1), 2u);
  EXPECT_EQ(ZigZag32(-2), 3u);
  EXPECT_EQ(ZigZag32(std::numeric_limits<int32_t>::max()), 0xFFFFFFFEu);
  EXPECT_EQ(ZigZag32(std::numeric_limits<int32_t>::min()), 0xFFFFFFFFu);
  EXPECT_EQ(ZigZag64(-1), 1u);
  EXPECT_EQ(ZigZag64(std::numeric_limits<int64_t>::max()), 0xFFFFFFFFFFFFFFFEu);
  EXPECT_EQ(ZigZag64(std::numeric_limits<int64_t>::min()), 0xFFFFFFFFFFFFFFFFu);
  for (int64_t v : InterestingSigned()) EXPECT_EQ(UnZigZag64(ZigZag64(v)), v);
}

TEST(VarintTest, LengthsGrowEverySevenBits) {
  EXPECT_EQ(UVarintLength(0), 1);
  EXPECT_EQ(UVarintLength(127), 1);
  EXPECT_EQ(UVarintLength(128), 2);
  EXPECT_EQ(UVarintLength(16383), 2);
  EXPECT_EQ(UVarintLength(16384), 3);
  EXPECT_EQ(UVarintLength(std::numeric_limits<uint64_t>::max()), kMaxVarint64Bytes);
  EXPECT_EQ(Varint32Length(std::numeric_limits<int32_t>::min()), kMaxVarint32Bytes);
  EXPECT_EQ(Varint64Length(-64), 1);
  EXPECT_EQ(Varint64Length(-65), 2);
}

TEST(VarintTest, ConsecutiveValuesDecodeInOrder) {
  std::string buf;
  const std::vector<int64_t> values = InterestingSigned();
  for (int64_t v : values) AppendVarint64(&buf, v);
  const char* p = buf.data();
  const char* limit = buf.data() + buf.size();
  for (int64_t want : values) {
    int64_t got = 0;
    p = GetVarint64(p, limit, &got);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(got, want);
  }
  EXPECT_EQ(p, limit);
}

TEST(VarintTest, EveryTruncatedEncodingIsRejected) {
  for (uint64_t v : InterestingUnsigned()) {
    const std::string enc = EncodeU64(v);
    for (size_t n = 0; n < enc.size(); ++n) {
      uint64_t got64 = 0;
      uint32_t got32 = 0;
      EXPECT_EQ(GetUVarint64(enc.data(), enc.data() + n, &got64), nullptr) << v << " cut at " << n;
      EXPECT_EQ(GetUVarint32(enc.data(), enc.data() + n, &got32), nullptr) << v << " cut at " << n;
    }
  }
}

TEST(VarintTest, SixtyFourBitValueLongerThanTenBytesIsRejected) {
  uint64_t v = 0;
  EXPECT_EQ(DecodeU64(std::string(10, '\x80') + '\x00', &v), nullptr);
  EXPECT_EQ(DecodeU64(std::string(10, '\xff') + '\x01', &v), nullptr);
}

TEST(VarintTest, TenthByteMayCarryOnlyOneBit) {
  uint64_t v = 0;
  EXPECT_EQ(DecodeU64(std::string(9, '\x80') + '\x02', &v), nullptr);
  EXPECT_EQ(DecodeU64(std::string(9, '\xff') + '\x7f', &v), nullptr);
  const std::string top_bit = std::string(9, '\x80') + '\x01';
  ASSERT_EQ(DecodeU64(top_bit, &v), top_bit.data() + top_bit.size());
  EXPECT_EQ(v, uint64_t{1} << 63);
}

TEST(VarintTest, ThirtyTwoBitValueLongerThanFiveBytesIsRejected) {
  uint32_t v = 0;
  EXPECT_EQ(DecodeU32(std::string(5, '\x80') + '\x00', &v), nullptr);
  // A 64-bit value that does not fit in 32 bits.
  EXPECT_EQ(DecodeU32(EncodeU64(uint64_t{1} << 32), &v), nullptr);
}

TEST(VarintTest, FifthByteOfThirtyTwoBitValueMayCarryOnlyFourBits) {
  uint32_t v = 0;
  EXPECT_EQ(DecodeU32(std::string(4, '\xff') + '\x10', &v), nullptr);
  const std::string max = std::string(4, '\xff') + '\x0f';
  ASSERT_EQ(DecodeU32(max, &v), max.data() + max.size());
  EXPECT_EQ(v, 0xFFFFFFFFu);
  int32_t s = 0;
  ASSERT_NE(GetVarint32(max.data(), max.data() + max.size(), &s), nullptr);
  EXPECT_EQ(s, std::numeric_limits<int32_t>::min());
}

TEST(VarintTest, NonMinimalEncodingIsAcceptedLikeKafka) {
  const std::string zero("\x80\x80\x00", 3);
  uint64_t v64 = 99;
  ASSERT_EQ(DecodeU64(zero, &v64), zero.data() + zero.size());
  EXPECT_EQ(v64, 0u);
  uint32_t v32 = 99;
  ASSERT_EQ(DecodeU32(zero, &v32), zero.data() + zero.size());
  EXPECT_EQ(v32, 0u);
}

TEST(VarintTest, EmptyInputIsRejected) {
  const char* p = "";
  uint64_t v64 = 0;
  uint32_t v32 = 0;
  EXPECT_EQ(GetUVarint64(p, p, &v64), nullptr);
  EXPECT_EQ(GetUVarint32(p, p, &v32), nullptr);
}

}  // namespace
}  // namespace runnel
