#include "broker/glob_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace runnel::broker {
namespace {

using ::testing::UnorderedElementsAre;

std::vector<std::string> Matches(const GlobIndex<int>& index, std::string_view subject) {
  std::vector<std::string> out;
  index.Match(subject, [&](const std::string& pattern, const int&) { out.push_back(pattern); });
  return out;
}

TEST(GlobIndexTest, MatchFindsExactlyThePatternsGlobMatchAccepts) {
  GlobIndex<int> index;
  bool inserted;
  for (const char* p : {"news.*", "news.uk", "n?ws.*", "*", "*.uk", "new[sz].*", "sport.*",
                        "news.uk.*", "\\news*", ""}) {
    index.FindOrInsert(p, &inserted);
    ASSERT_TRUE(inserted) << p;
  }
  for (std::string_view subject :
       {"news.uk", "news.", "nzws.x", "sport", "", "news.uk.x", "\\newsy", "newz.a"}) {
    std::vector<std::string> expected;
    index.ForEach([&](const std::string& p, const int&) {
      if (GlobMatch(p, subject)) expected.push_back(p);
    });
    std::vector<std::string> got = Matches(index, subject);
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << subject;
  }
}

TEST(GlobIndexTest, FindOrInsertKeepsValueAndEraseForgetsIt) {
  GlobIndex<int> index;
  bool inserted;
  *index.FindOrInsert("a.*", &inserted).value = 7;
  EXPECT_TRUE(inserted);
  auto ref = index.FindOrInsert("a.*", &inserted);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*ref.value, 7);
  EXPECT_EQ(*ref.pattern, "a.*");
  EXPECT_EQ(*index.Find("a.*"), 7);
  EXPECT_TRUE(index.Erase("a.*"));
  EXPECT_FALSE(index.Erase("a.*"));
  EXPECT_EQ(index.Find("a.*"), nullptr);
  EXPECT_THAT(Matches(index, "a.b"), ::testing::IsEmpty());
}

TEST(GlobIndexTest, PatternsAreBucketedByLiteralPrefix) {
  GlobIndex<int> index;
  bool inserted;
  index.FindOrInsert("user.1.*", &inserted);
  index.FindOrInsert("user.1.?", &inserted);
  index.FindOrInsert("user.22.*", &inserted);
  index.FindOrInsert("*x", &inserted);
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.prefix_count(), 3u);             // "user.1.", "user.22.", ""
  EXPECT_EQ(index.distinct_prefix_lengths(), 3u);  // 7, 8, 0
  EXPECT_THAT(Matches(index, "user.1.x"), UnorderedElementsAre("user.1.*", "user.1.?", "*x"));
}

TEST(GlobIndexTest, EmptiedIndexHoldsNoNodesAndShrinksItsTables) {
  GlobIndex<int> index;
  bool inserted;
  for (int i = 0; i < 10'000; ++i)
    index.FindOrInsert("user." + std::to_string(i) + ".*", &inserted);
  EXPECT_EQ(index.NodeCount(), 20'000u);
  const size_t full_buckets = index.BucketCount();
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(index.Erase("user." + std::to_string(i) + ".*"));
  EXPECT_EQ(index.NodeCount(), 0u);
  EXPECT_EQ(index.distinct_prefix_lengths(), 0u);
  EXPECT_LT(index.BucketCount(), full_buckets / 10);
}

}  // namespace
}  // namespace runnel::broker
