#include "broker/topic_trie.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace runnel::broker {
namespace {

using ::testing::UnorderedElementsAre;

TEST(TopicFilterTest, WellFormedFiltersAreAccepted) {
  for (std::string_view f : {"a", "/", "a//b", "+", "#", "a/+/b", "a/#", "+/+", "/#", "$SYS/#",
                             "a/b/", "sport/tennis/player1/#"}) {
    EXPECT_TRUE(ValidateTopicFilter(f).ok()) << f;
  }
}

TEST(TopicFilterTest, MalformedFiltersSayWhy) {
  for (std::string_view f : {"", "a+", "+a/b", "a/#/b", "#/", "a#", "a/b#", "##"}) {
    Status st = ValidateTopicFilter(f);
    EXPECT_TRUE(st.Is(StatusCode::kInvalidArgument)) << f;
    EXPECT_FALSE(st.message().empty());
  }
  EXPECT_FALSE(ValidateTopicFilter(std::string_view("a\0b", 3)).ok());
}

TEST(SharedSubscriptionTest, GroupAndFilterAreSplit) {
  auto s = ParseSharedSubscription("$share/workers/jobs/+/new");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->group, "workers");
  EXPECT_EQ(s->filter, "jobs/+/new");
  EXPECT_TRUE(IsSharedSubscription("$share/g/x"));
  EXPECT_FALSE(IsSharedSubscription("$SYS/x"));
}

TEST(SharedSubscriptionTest, MissingOrBadPartsAreRejected) {
  for (std::string_view s : {"$share/", "$share/g", "$share/g/", "$share//x", "$share/g+/x",
                             "$share/#/x", "$share/g/a#", "share/g/x"}) {
    EXPECT_FALSE(ParseSharedSubscription(s).ok()) << s;
  }
}

class TopicTrieTest : public ::testing::Test {
 protected:
  void Add(const std::string& filter) {
    bool inserted;
    trie_.FindOrInsert(filter, &inserted) = filter;
    ASSERT_TRUE(inserted) << filter;
  }
  std::vector<std::string> Match(std::string_view topic) const {
    std::vector<std::string> out;
    trie_.Match(topic, [&](const std::string& f) { out.push_back(f); });
    return out;
  }
  TopicTrie<std::string> trie_;
};

// The table of reference/mqtt.md §5 (Paho suite topics).
TEST_F(TopicTrieTest, MatchesThePahoTable) {
  for (const char* f : {"TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#"}) Add(f);
  EXPECT_THAT(Match("TopicA"), UnorderedElementsAre("#", "TopicA/#"));
  EXPECT_THAT(Match("TopicA/B"), UnorderedElementsAre("TopicA/+", "#", "+/+", "TopicA/#"));
  EXPECT_THAT(Match("Topic/C"), UnorderedElementsAre("+/C", "#", "+/+"));
  EXPECT_THAT(Match("TopicA/C"), UnorderedElementsAre("TopicA/+", "+/C", "#", "+/+", "TopicA/#"));
  EXPECT_THAT(Match("/TopicA"), UnorderedElementsAre("#", "/#", "/+", "+/+"));
  EXPECT_THAT(Match("$TopicA/B"), ::testing::IsEmpty());
}

TEST_F(TopicTrieTest, DollarTopicsMatchFiltersThatNameTheirFirstLevel) {
  Add("$SYS/#");
  Add("$SYS/+");
  Add("+/uptime");
  EXPECT_THAT(Match("$SYS/uptime"), UnorderedElementsAre("$SYS/#", "$SYS/+"));
}

TEST_F(TopicTrieTest, EmptyLevelsAreOrdinaryLevels) {
  Add("a//b");
  Add("a/+/b");
  Add("a/");
  EXPECT_THAT(Match("a//b"), UnorderedElementsAre("a//b", "a/+/b"));
  EXPECT_THAT(Match("a/"), UnorderedElementsAre("a/"));
  EXPECT_THAT(Match("a"), ::testing::IsEmpty());
}

TEST_F(TopicTrieTest, DeepTopicsSpillPastTheInlineStack) {
  std::string filter, topic;
  for (int i = 0; i < 100; ++i) {
    filter += (i ? "/+" : "+");
    topic += (i ? "/x" : "x");
    Add(filter);
  }
  EXPECT_EQ(Match(topic).size(), 1u);
  Add("#");
  EXPECT_EQ(Match(topic).size(), 2u);
}

TEST_F(TopicTrieTest, InvalidFilterFindsNothingEvenWhenAPrefixIsStored) {
  Add("a/#");
  EXPECT_EQ(trie_.Find("a/#/b"), nullptr);
  EXPECT_FALSE(trie_.Erase("a/#/b"));
  EXPECT_EQ(trie_.size(), 1u);
  ASSERT_NE(trie_.Find("a/#"), nullptr);
}

TEST_F(TopicTrieTest, EraseFreesTheNodesItEmptied) {
  Add("a/b/c");
  Add("a/b/#");
  Add("a/+");
  Add("#");
  EXPECT_EQ(trie_.size(), 4u);
  EXPECT_EQ(trie_.NodeCount(), 4u);  // a, a/b, a/b/c, a/+
  EXPECT_TRUE(trie_.Erase("a/b/c"));
  EXPECT_FALSE(trie_.Erase("a/b/c"));
  EXPECT_EQ(trie_.NodeCount(), 3u);
  EXPECT_TRUE(trie_.Erase("a/b/#"));
  EXPECT_TRUE(trie_.Erase("a/+"));
  EXPECT_TRUE(trie_.Erase("#"));
  EXPECT_EQ(trie_.NodeCount(), 0u);
  EXPECT_TRUE(trie_.empty());
  EXPECT_THAT(Match("a/b/c"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace runnel::broker
