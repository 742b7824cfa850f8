#include "storage/data_dir.h"

#include <gtest/gtest.h>

#include <set>

#include "storage/hwm_file.h"
#include "storage/segment_index.h"

namespace runnel::storage {
namespace {

TEST(DataDirTest, PlainNamesStayReadableAndOthersArePercentEncoded) {
  EXPECT_EQ(EscapeTopicName("orders.v2_eu-1"), "orders.v2_eu-1");
  EXPECT_EQ(EscapeTopicName("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(EscapeTopicName(".."), "%2E.");
  EXPECT_EQ(EscapeTopicName(".hidden"), "%2Ehidden");
  EXPECT_EQ(EscapeTopicName("100%"), "100%25");
  EXPECT_EQ(EscapeTopicName("\xff"), "%FF");
}

TEST(DataDirTest, EscapingIsInjectiveOnTrickyNames) {
  std::set<std::string> seen;
  for (std::string n : {"a%2Fb", "a/b", "%", "%25", ".", "%2E", "A", "a", "a.", "a%2E"}) {
    EXPECT_TRUE(seen.insert(EscapeTopicName(n)).second) << n;
  }
}

TEST(DataDirTest, LongNamesFitInAFileNameAndStayDistinct) {
  std::string a(1024, '/'), b(1024, '/');
  b.back() = '!';
  std::string ea = EscapeTopicName(a), eb = EscapeTopicName(b);
  EXPECT_LE(ea.size(), kMaxEscapedNameBytes);
  EXPECT_NE(ea, eb);
  EXPECT_EQ(ea.find('/'), std::string::npos);
}

TEST(DataDirTest, SegmentFileNamesRoundTrip) {
  EXPECT_EQ(SegmentFileName(42, SegmentFileKind::kLog), "00000000000000000042.log");
  EXPECT_EQ(ParseSegmentFileName("00000000000000000042.log", SegmentFileKind::kLog), 42);
  EXPECT_EQ(ParseSegmentFileName("00000000000000000042.index", SegmentFileKind::kLog),
            std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("0000000000000000004x.log", SegmentFileKind::kLog),
            std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("99999999999999999999.log", SegmentFileKind::kLog),
            std::nullopt);  // past INT64_MAX
}

TEST(HwmTest, EncodesDecodesAndRejectsDamage) {
  Hwm h;
  h.generation = 7;
  h.next_offset = 1000;
  h.segment_base = 900;
  h.segment_size = 4096;
  std::string bytes = EncodeHwm(h);
  ASSERT_EQ(bytes.size(), kHwmSize);
  Hwm back;
  ASSERT_TRUE(DecodeHwm(bytes, &back).ok());
  EXPECT_EQ(back, h);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 1;
    EXPECT_FALSE(DecodeHwm(bad, &back).ok()) << "flip at " << i;
  }
  EXPECT_TRUE(DecodeHwm("", &back).Is(StatusCode::kNotFound));
}

TEST(SegmentIndexTest, FloorAndTimeLookups) {
  std::vector<IndexEntry> idx = {{10, 4100}, {25, 8200}, {40, 12300}};
  EXPECT_EQ(FloorEntry(idx, 5).position, 0u);
  EXPECT_EQ(FloorEntry(idx, 10).position, 4100u);
  EXPECT_EQ(FloorEntry(idx, 39).position, 8200u);
  EXPECT_EQ(FloorEntry(idx, 1000).position, 12300u);
  std::vector<TimeIndexEntry> tidx = {{100, 10}, {200, 25}, {200, 30}, {350, 40}};
  EXPECT_EQ(TimeLookup(tidx, 50), 0u);
  EXPECT_EQ(TimeLookup(tidx, 150), 10u);
  EXPECT_EQ(TimeLookup(tidx, 200), 10u);  // entries with t >= target do not qualify
  EXPECT_EQ(TimeLookup(tidx, 201), 30u);
  EXPECT_EQ(TimeLookup(tidx, 999), 40u);
}

}  // namespace
}  // namespace runnel::storage
