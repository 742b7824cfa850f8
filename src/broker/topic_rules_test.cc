#include "broker/topic_rules.h"

#include <gtest/gtest.h>

namespace runnel::broker {
namespace {

TEST(TopicRules, FirstMatchingRuleDecides) {
  TopicConfig defaults;
  defaults.fsync.policy = FsyncPolicy::kInterval;
  TopicRule orders{"orders.*", true, defaults};
  orders.config.fsync.policy = FsyncPolicy::kAlways;
  TopicRule all_orders{"orders*", false, defaults};
  all_orders.config.retention_ms = 1000;
  TopicRule logs{"log[0-9]", true, defaults};
  logs.config.segment_bytes = 1 << 20;
  TopicRules rules(defaults, {orders, all_orders, logs});

  EXPECT_TRUE(rules.Durable("orders.eu"));
  EXPECT_EQ(rules.ConfigFor("orders.eu").fsync.policy, FsyncPolicy::kAlways);
  EXPECT_EQ(rules.ConfigFor("orders.eu").retention_ms, -1);  // the first rule only
  EXPECT_FALSE(rules.Durable("orders"));                     // second rule: not durable
  EXPECT_EQ(rules.ConfigFor("orders").retention_ms, 1000);
  EXPECT_TRUE(rules.Durable("log7"));
  EXPECT_FALSE(rules.Durable("log77"));
  EXPECT_EQ(rules.Match("chat"), nullptr);
  EXPECT_FALSE(rules.Durable("chat"));
  EXPECT_EQ(rules.ConfigFor("chat"), defaults);
}

TEST(TopicRules, NoRulesMeansDefaultsAndNothingDurable) {
  TopicConfig defaults;
  defaults.fsync.policy = FsyncPolicy::kNever;
  TopicRules rules(defaults, {});
  EXPECT_TRUE(rules.empty());
  EXPECT_FALSE(rules.Durable("x"));
  EXPECT_EQ(rules.ConfigFor("x").fsync.policy, FsyncPolicy::kNever);
}

}  // namespace
}  // namespace runnel::broker
