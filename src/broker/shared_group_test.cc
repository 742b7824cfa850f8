#include "broker/shared_group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <vector>

namespace runnel::broker {
namespace {

TEST(SubscriberSetTest, InsertAndEraseReportChanges) {
  SubscriberSet set;
  EXPECT_TRUE(set.Insert({0, 1}));
  EXPECT_FALSE(set.Insert({0, 1}));
  EXPECT_TRUE(set.Insert({1, 1}));  // same id on another thread is another subscriber
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.Contains({1, 1}));
  EXPECT_TRUE(set.Erase({0, 1}));
  EXPECT_FALSE(set.Erase({0, 1}));
  EXPECT_EQ(set.size(), 1u);
}

TEST(SubscriberSetTest, StaysConsistentAcrossTheIndexThreshold) {
  SubscriberSet set;
  std::set<uint64_t> model;
  // Grow past kIndexFrom, shrink below half of it, grow again, erasing out of order.
  for (int round = 0; round < 3; ++round) {
    for (uint64_t id = 0; id < 40; ++id) {
      EXPECT_EQ(set.Insert({0, id}), model.insert(id).second);
    }
    for (uint64_t id = 0; id < 40; id += (round + 2)) {
      EXPECT_EQ(set.Erase({0, id}), model.erase(id) == 1);
    }
    for (uint64_t id = 39; id > 3; --id) {
      EXPECT_EQ(set.Erase({0, id}), model.erase(id) == 1);
    }
    ASSERT_EQ(set.size(), model.size());
    for (uint64_t id = 0; id < 40; ++id) EXPECT_EQ(set.Contains({0, id}), model.count(id) == 1);
    std::set<uint64_t> members;
    for (const Subscriber& s : set.members()) members.insert(s.id);
    EXPECT_EQ(members, model);
  }
}

TEST(SharedGroupTest, PickGoesRoundRobin) {
  SharedGroup group("$share/g/x");
  EXPECT_EQ(group.name(), "$share/g/x");
  for (uint64_t id = 0; id < 4; ++id) group.members().Insert({0, id});
  std::map<uint64_t, int> count;
  for (int i = 0; i < 400; ++i) ++count[group.Pick().id];
  for (uint64_t id = 0; id < 4; ++id) EXPECT_EQ(count[id], 100) << id;
}

TEST(SharedGroupTest, ConcurrentPicksSpreadEvenly) {
  SharedGroup group("$share/g/x");
  for (uint64_t id = 0; id < 3; ++id) group.members().Insert({0, id});
  std::vector<std::map<uint64_t, int>> counts(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30'000; ++i) ++counts[t][group.Pick().id];
    });
  }
  for (auto& t : threads) t.join();
  // Every ticket is drawn once: 60,000 picks over 3 members, 20,000 each.
  for (uint64_t id = 0; id < 3; ++id) EXPECT_EQ(counts[0][id] + counts[1][id], 20'000);
}

}  // namespace
}  // namespace runnel::broker
