#include "util/crc32c.h"

#include "util/crc32c_internal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace runnel::crc32c {
namespace {

// Bit at a time, straight from the definition: shares no table or code with
// the implementations under test.
uint32_t BitwiseReference(const std::string& data) {
  uint32_t crc = 0xFFFFFFFF;
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78 : 0);
  }
  return ~crc;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct Vector {
  std::string data;
  uint32_t crc;
};

std::vector<Vector> KnownVectors() {
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  return {
      {"", 0x00000000},
      {"123456789", 0xE3069283},            // the CRC catalogue's check value
      {std::string(32, '\0'), 0x8A9136AA},  // RFC 3720 B.4
      {std::string(32, '\xff'), 0x62A8AB43},
      {ascending, 0x46DD794E},
      {descending, 0x113FDB5C},
  };
}

TEST(Crc32cTest, MatchesKnownVectors) {
  for (const Vector& v : KnownVectors()) {
    EXPECT_EQ(Value(v.data), v.crc) << "input of " << v.data.size() << " bytes";
    EXPECT_EQ(internal::ExtendSoftware(0, v.data.data(), v.data.size()), v.crc);
    EXPECT_EQ(BitwiseReference(v.data), v.crc);
  }
}

TEST(Crc32cTest, HardwarePathMatchesKnownVectors) {
  if (!internal::CpuHasSse42()) GTEST_SKIP() << "CPU has no SSE4.2";
  for (const Vector& v : KnownVectors()) {
    EXPECT_EQ(internal::ExtendHardware(0, v.data.data(), v.data.size()), v.crc);
  }
}

TEST(Crc32cTest, UsesHardwareExactlyWhenTheCpuHasIt) {
  EXPECT_EQ(IsHardwareAccelerated(), internal::CpuHasSse42());
}

TEST(Crc32cTest, SoftwarePathMatchesBitwiseReferenceAtEveryLengthAndAlignment) {
  const std::string buf = RandomBytes(1100, 1);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t n = 0; n <= 1000; ++n) {
      const std::string s = buf.substr(start, n);
      ASSERT_EQ(internal::ExtendSoftware(0, buf.data() + start, n), BitwiseReference(s))
          << "start " << start << " length " << n;
    }
  }
}

TEST(Crc32cTest, HardwareAndSoftwareAgreeAtEveryLengthAndAlignment) {
  if (!internal::CpuHasSse42()) GTEST_SKIP() << "CPU has no SSE4.2";
  const std::string buf = RandomBytes(1100, 2);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t n = 0; n <= 1000; ++n) {
      const char* p = buf.data() + start;
      ASSERT_EQ(internal::ExtendHardware(0, p, n), internal::ExtendSoftware(0, p, n))
          << "start " << start << " length " << n;
      ASSERT_EQ(internal::ExtendHardware(0xDEADBEEF, p, n),
                internal::ExtendSoftware(0xDEADBEEF, p, n))
          << "start " << start << " length " << n;
    }
  }
}

// Lengths around the 3 x 256 and 3 x 8192 block sizes exercise the
// interleaved streams and the shift that recombines them.
TEST(Crc32cTest, HardwareAndSoftwareAgreeOnLargeInputs) {
  if (!internal::CpuHasSse42()) GTEST_SKIP() << "CPU has no SSE4.2";
  const std::string buf = RandomBytes(200'000, 3);
  for (size_t n : {767u, 768u, 769u, 1535u, 1536u, 24575u, 24576u, 24577u, 25343u, 25344u, 49152u,
                   65536u, 100'003u, 199'990u}) {
    for (size_t start : {0u, 1u, 5u}) {
      const char* p = buf.data() + start;
      ASSERT_EQ(internal::ExtendHardware(0, p, n), internal::ExtendSoftware(0, p, n))
          << "start " << start << " length " << n;
    }
  }
  EXPECT_EQ(internal::ExtendHardware(0, buf.data(), 100'000),
            BitwiseReference(buf.substr(0, 100'000)));
}

TEST(Crc32cTest, ExtendComposesAtEverySplit) {
  const std::string buf = RandomBytes(2000, 4);
  const uint32_t whole = Value(buf);
  for (size_t split = 0; split <= buf.size(); ++split) {
    const uint32_t head = Value(buf.data(), split);
    ASSERT_EQ(Extend(head, buf.data() + split, buf.size() - split), whole) << "split " << split;
    ASSERT_EQ(internal::ExtendSoftware(internal::ExtendSoftware(0, buf.data(), split),
                                       buf.data() + split, buf.size() - split),
              whole);
  }
}

TEST(Crc32cTest, ExtendComposesOverLargeInputs) {
  const std::string buf = RandomBytes(120'000, 5);
  const uint32_t whole = Value(buf);
  uint32_t crc = 0;
  for (size_t pos = 0, step = 1; pos < buf.size(); pos += step, step = step * 3 + 1) {
    const size_t n = std::min(step, buf.size() - pos);
    crc = Extend(crc, buf.data() + pos, n);
  }
  EXPECT_EQ(crc, whole);
}

TEST(Crc32cTest, SingleBitFlipChangesTheCrc) {
  std::string buf = RandomBytes(4096, 6);
  const uint32_t before = Value(buf);
  buf[1234] ^= 0x10;
  EXPECT_NE(Value(buf), before);
}

}  // namespace
}  // namespace runnel::crc32c
