#include "broker/streams/consumer_group.h"

#include "broker/streams/stream_store_internal.h"

#include <gtest/gtest.h>

namespace runnel::broker::streams {
namespace {

bool Apply(Groups* g, const std::string& event) { return ApplyGroupEvent(g, MetaWords(event)); }

TEST(ConsumerGroupTest, EventsRebuildTheStateTheyDescribe) {
  Groups g;
  ASSERT_TRUE(Apply(&g, GroupCreateEvent("grp", {0, 0}, kEntriesReadUnknown)));
  ASSERT_TRUE(Apply(&g, ConsumerCreateEvent("grp", "", 5)));  // the empty name fits
  StreamId last{3, 0};
  ASSERT_TRUE(Apply(&g, PendingEvent("grp", "a b\n", 10, &last, 3,
                                     {{{1, 0}, 10, 1}, {{2, 0}, 10, 1}, {{3, 0}, 10, 1}})));
  ASSERT_TRUE(Apply(&g, PendingEvent("grp", "bob", 20, nullptr, 0, {{{2, 0}, 20, 4}})));
  ASSERT_TRUE(Apply(&g, AckEvent("grp", {{1, 0}, {9, 9}})));
  const Group& grp = g.at("grp");
  EXPECT_EQ(grp.last_delivered, (StreamId{3, 0}));
  EXPECT_EQ(grp.entries_read, 3);
  ASSERT_EQ(grp.pel.size(), 2u);
  EXPECT_EQ(grp.pel.at({2, 0}).consumer, "bob");
  EXPECT_EQ(grp.pel.at({2, 0}).count, 4u);
  EXPECT_EQ(grp.consumers.at("a b\n").pending, (std::set<StreamId>{{3, 0}}));
  EXPECT_EQ(grp.consumers.at("bob").seen_ms, 20);
  EXPECT_EQ(grp.consumers.at("").seen_ms, 5);
  ASSERT_TRUE(Apply(&g, ConsumerDeleteEvent("grp", "a b\n")));
  EXPECT_EQ(g.at("grp").pel.size(), 1u);
  ASSERT_TRUE(Apply(&g, GroupDestroyEvent("grp")));
  EXPECT_TRUE(g.empty());
}

TEST(ConsumerGroupTest, MalformedEventsAreRefused) {
  Groups g;
  EXPECT_FALSE(Apply(&g, "2 CC x67 x61 1"));          // no such group
  EXPECT_FALSE(Apply(&g, "2 GC g 0-0 -1"));           // name not hex
  EXPECT_FALSE(Apply(&g, "2 GC x6 0-0 -1"));          // odd hex
  EXPECT_FALSE(Apply(&g, "2 GC x67 zz -1"));          // bad ID
  ASSERT_TRUE(Apply(&g, "2 GC x67 0-0 -1"));
  EXPECT_FALSE(Apply(&g, "2 P x67 x61 1 - 0 1-0 5"));  // incomplete triple
  EXPECT_FALSE(Apply(&g, "2 A x67 1-0 bad"));
  EXPECT_FALSE(Apply(&g, "2 Q x67"));
}

TEST(ConsumerGroupTest, LagFollowsRedisArithmetic) {
  StreamCounters s;
  s.entries_added = 5;
  s.length = 5;
  s.last_id = {5, 0};
  s.first_id = {1, 0};
  Group g;
  g.last_delivered = {2, 0};
  g.entries_read = 2;
  EXPECT_EQ(GroupLag(s, g), 3);
  g.entries_read = kEntriesReadUnknown;
  EXPECT_EQ(GroupLag(s, g), std::nullopt);  // not first, not last: unknown
  g.last_delivered = {5, 0};
  EXPECT_EQ(GroupLag(s, g), 0);
  s.max_deleted = {3, 0};  // a tombstone after the group's position
  g.last_delivered = {2, 0};
  g.entries_read = 2;
  EXPECT_EQ(GroupLag(s, g), std::nullopt);
}

}  // namespace
}  // namespace runnel::broker::streams
