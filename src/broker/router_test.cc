#include "broker/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace runnel::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Records what it was given, as (subscriber, kind, subscription, channel, payload).
struct Got {
  uint64_t subscriber;
  MatchKind kind;
  std::string subscription;
  std::string channel;
  std::string payload;

  friend bool operator==(const Got&, const Got&) = default;
};

class RecordingSink : public DeliverySink {
 public:
  void Deliver(std::span<const Delivery> deliveries) override {
    ++batches;
    for (const Delivery& d : deliveries) {
      got.push_back({d.subscriber, d.kind, d.subscription ? *d.subscription : "",
                     std::string(d.message->channel), std::string(d.message->payload)});
    }
  }
  std::vector<uint64_t> Subscribers() const {
    std::vector<uint64_t> out;
    for (const Got& g : got) out.push_back(g.subscriber);
    return out;
  }
  std::vector<std::string> Payloads() const {
    std::vector<std::string> out;
    for (const Got& g : got) out.push_back(g.payload);
    return out;
  }

  std::vector<Got> got;
  int batches = 0;
};

// A router over `threads` io threads whose Post queues the function instead
// of running it, so a test decides when "the destination thread" runs.
class RouterTest : public ::testing::Test {
 protected:
  explicit RouterTest(uint32_t threads = 2)
      : sinks_(threads), router_(threads, [this](uint32_t thread, std::function<void()> fn) {
          ++posts_[thread];
          queued_.emplace_back(std::move(fn));
        }) {
    for (uint32_t i = 0; i < threads; ++i) router_.SetSink(i, &sinks_[i]);
  }

  // Runs what was posted, in post order.
  void RunPosted() {
    while (!queued_.empty()) {
      auto fn = std::move(queued_.front());
      queued_.pop_front();
      fn();
    }
  }
  // Publish from thread 0, flush, and run the posts.
  size_t PublishAndDeliver(std::string_view channel, std::string_view payload = "m") {
    const size_t n = router_.Publish(0, MakeMessage(channel, payload));
    router_.FlushOutbox(0);
    RunPosted();
    return n;
  }

  std::vector<RecordingSink> sinks_;
  std::map<uint32_t, int> posts_;
  std::deque<std::function<void()>> queued_;
  Router router_;
};

constexpr Subscriber kA{0, 1};
constexpr Subscriber kB{0, 2};
constexpr Subscriber kC{1, 3};

TEST_F(RouterTest, SubscribeReturnsTrueOnlyWhenNew) {
  EXPECT_TRUE(router_.Subscribe(kA, "news"));
  EXPECT_FALSE(router_.Subscribe(kA, "news"));
  EXPECT_TRUE(router_.Subscribe(kB, "news"));
  EXPECT_TRUE(router_.Unsubscribe(kA, "news"));
  EXPECT_FALSE(router_.Unsubscribe(kA, "news"));
  EXPECT_FALSE(router_.Unsubscribe(kA, "never"));
  EXPECT_TRUE(router_.PSubscribe(kA, "n*"));
  EXPECT_FALSE(router_.PSubscribe(kA, "n*"));
  EXPECT_TRUE(router_.PUnsubscribe(kA, "n*"));
  EXPECT_FALSE(router_.PUnsubscribe(kA, "n*"));
  EXPECT_TRUE(router_.SSubscribe(kA, "news"));
  EXPECT_FALSE(router_.SSubscribe(kA, "news"));
  EXPECT_TRUE(router_.SUnsubscribe(kA, "news"));
  EXPECT_FALSE(router_.SUnsubscribe(kA, "news"));
}

TEST_F(RouterTest, SubscribeFilterReportsAddedAndRejectsMalformedFilters) {
  bool added = false;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "a/+/c", &added).ok());
  EXPECT_TRUE(added);
  ASSERT_TRUE(router_.SubscribeFilter(kA, "a/+/c", &added).ok());
  EXPECT_FALSE(added);
  ASSERT_TRUE(router_.SubscribeFilter(kA, "$share/g/a/+/c", &added).ok());
  EXPECT_TRUE(added);
  ASSERT_TRUE(router_.SubscribeFilter(kA, "$share/g/a/+/c", &added).ok());
  EXPECT_FALSE(added);
  for (std::string_view bad :
       {"", "a+", "a/#/b", "$share/g", "$share//a", "$share/g+/a", "$share/g/a#"}) {
    Status st = router_.SubscribeFilter(kB, bad, &added);
    EXPECT_TRUE(st.Is(StatusCode::kInvalidArgument)) << bad << ": " << st.ToString();
    EXPECT_FALSE(added);
  }
  EXPECT_TRUE(router_.UnsubscribeFilter(kA, "a/+/c"));
  EXPECT_FALSE(router_.UnsubscribeFilter(kA, "a/+/c"));
  EXPECT_FALSE(router_.UnsubscribeFilter(kA, "a/#/b"));
  EXPECT_TRUE(router_.UnsubscribeFilter(kA, "$share/g/a/+/c"));
  EXPECT_FALSE(router_.UnsubscribeFilter(kA, "$share/g/a/+/c"));
  EXPECT_EQ(router_.NodeCount(), 0u);
}

TEST_F(RouterTest, ExactChannelReachesOnlyItsSubscribers) {
  router_.Subscribe(kA, "news");
  router_.Subscribe(kB, "sport");
  EXPECT_EQ(PublishAndDeliver("news", "hello"), 1u);
  EXPECT_THAT(sinks_[0].got, ElementsAre(Got{kA.id, MatchKind::kChannel, "", "news", "hello"}));
  EXPECT_EQ(PublishAndDeliver("nobody"), 0u);
}

TEST_F(RouterTest, PatternDeliveryCarriesThePattern) {
  router_.PSubscribe(kA, "news.*");
  router_.PSubscribe(kB, "*.uk");
  router_.PSubscribe(kB, "sport.*");
  EXPECT_EQ(PublishAndDeliver("news.uk"), 2u);
  EXPECT_THAT(sinks_[0].got,
              UnorderedElementsAre(Got{kA.id, MatchKind::kPattern, "news.*", "news.uk", "m"},
                                   Got{kB.id, MatchKind::kPattern, "*.uk", "news.uk", "m"}));
}

TEST_F(RouterTest, PatternAndChannelBothCountForOneClient) {
  router_.Subscribe(kA, "news");
  router_.PSubscribe(kA, "n*");
  router_.PSubscribe(kA, "ne?s");
  EXPECT_EQ(PublishAndDeliver("news"), 3u);
  EXPECT_EQ(sinks_[0].got.size(), 3u);
}

TEST_F(RouterTest, SPublishSeesOnlyShardSubscribers) {
  router_.Subscribe(kA, "orders");
  router_.PSubscribe(kA, "ord*");
  bool added;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "#", &added).ok());
  router_.SSubscribe(kB, "orders");
  EXPECT_EQ(router_.SPublish(0, MakeMessage("orders", "x")), 1u);
  router_.FlushOutbox(0);
  EXPECT_THAT(sinks_[0].got, ElementsAre(Got{kB.id, MatchKind::kShard, "", "orders", "x"}));
}

TEST_F(RouterTest, PublishNeverReachesShardSubscribers) {
  router_.SSubscribe(kB, "orders");
  EXPECT_EQ(PublishAndDeliver("orders"), 0u);
  EXPECT_TRUE(sinks_[0].got.empty());
}

TEST_F(RouterTest, FiltersMatchByLevels) {
  bool added;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "TopicA/+", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kB, "TopicA/#", &added).ok());
  EXPECT_EQ(PublishAndDeliver("TopicA/B"), 2u);
  EXPECT_EQ(PublishAndDeliver("TopicA"), 1u);  // "a/#" matches "a"
  EXPECT_EQ(PublishAndDeliver("TopicA/B/C"), 1u);
  EXPECT_EQ(PublishAndDeliver("TopicB/B"), 0u);
  EXPECT_EQ(sinks_[0].got[0].kind, MatchKind::kFilter);
}

TEST_F(RouterTest, DollarTopicsAreHiddenFromRootWildcards) {
  bool added;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kA, "+/B", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kB, "$TopicA/#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kB, "$share/g/#", &added).ok());
  EXPECT_EQ(PublishAndDeliver("$TopicA/B"), 1u);
  EXPECT_THAT(sinks_[0].got,
              ElementsAre(Got{kB.id, MatchKind::kFilter, "$TopicA/#", "$TopicA/B", "m"}));
}

TEST_F(RouterTest, SharedGroupDeliversEachMessageToExactlyOneMember) {
  bool added;
  for (uint64_t id = 10; id < 13; ++id) {
    ASSERT_TRUE(router_.SubscribeFilter({0, id}, "$share/g/jobs/+", &added).ok());
  }
  ASSERT_TRUE(router_.SubscribeFilter({0, 20}, "$share/h/jobs/#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter({0, 30}, "jobs/+", &added).ok());
  std::map<uint64_t, int> per_member;
  for (int i = 0; i < 30; ++i) {
    sinks_[0].got.clear();
    // One of group g, the only member of h, the plain filter.
    ASSERT_EQ(PublishAndDeliver("jobs/x"), 3u);
    int from_g = 0;
    for (const Got& g : sinks_[0].got) {
      if (g.subscription == "$share/g/jobs/+") {
        EXPECT_EQ(g.kind, MatchKind::kShared);
        ++from_g;
        ++per_member[g.subscriber];
      }
    }
    EXPECT_EQ(from_g, 1);
  }
  // Round-robin: 30 messages over 3 members, 10 each.
  EXPECT_THAT(per_member, ElementsAre(std::pair<const uint64_t, int>{10, 10},
                                      std::pair<const uint64_t, int>{11, 10},
                                      std::pair<const uint64_t, int>{12, 10}));
}

TEST_F(RouterTest, SharedAndPlainSubscriptionOfOneClientEachDeliver) {
  bool added;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "$share/g/x", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kA, "x", &added).ok());
  EXPECT_EQ(PublishAndDeliver("x"), 2u);
  ASSERT_TRUE(router_.UnsubscribeFilter(kA, "x"));
  EXPECT_EQ(PublishAndDeliver("x"), 1u);  // the group survives its filter's plain subs
}

TEST_F(RouterTest, IntrospectionCountsActiveSubscriptions) {
  router_.Subscribe(kA, "news.uk");
  router_.Subscribe(kB, "news.uk");
  router_.Subscribe(kA, "sport");
  router_.SSubscribe(kA, "orders");
  router_.PSubscribe(kA, "n*");
  router_.PSubscribe(kB, "n*");
  router_.PSubscribe(kB, "s*");
  bool added;
  ASSERT_TRUE(router_.SubscribeFilter(kA, "a/#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kB, "a/#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kA, "$share/g/a/#", &added).ok());
  EXPECT_THAT(router_.Channels(""), UnorderedElementsAre("news.uk", "sport"));
  EXPECT_THAT(router_.Channels("news.*"), ElementsAre("news.uk"));
  EXPECT_THAT(router_.ShardChannels(""), ElementsAre("orders"));
  EXPECT_TRUE(router_.ShardChannels("x*").empty());
  EXPECT_EQ(router_.NumSub("news.uk"), 2u);
  EXPECT_EQ(router_.NumSub("unknown"), 0u);
  EXPECT_EQ(router_.ShardNumSub("orders"), 1u);
  EXPECT_EQ(router_.ShardNumSub("news.uk"), 0u);
  EXPECT_EQ(router_.NumPat(), 2u);
  EXPECT_EQ(router_.NumFilters(), 2u);  // "a/#" and "$share/g/a/#"
  router_.Unsubscribe(kA, "sport");
  EXPECT_THAT(router_.Channels(""), ElementsAre("news.uk"));
  router_.PUnsubscribe(kA, "n*");
  EXPECT_EQ(router_.NumPat(), 2u);
  router_.PUnsubscribe(kB, "n*");
  EXPECT_EQ(router_.NumPat(), 1u);
}

TEST_F(RouterTest, NodeCountReturnsToZeroWhenEverythingUnsubscribes) {
  bool added;
  router_.Subscribe(kA, "c");
  router_.SSubscribe(kA, "c");
  router_.PSubscribe(kA, "p.*");
  router_.PSubscribe(kA, "*");
  ASSERT_TRUE(router_.SubscribeFilter(kA, "#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kA, "a/+/b/#", &added).ok());
  ASSERT_TRUE(router_.SubscribeFilter(kB, "$share/g/a/+/b/#", &added).ok());
  EXPECT_GT(router_.NodeCount(), 0u);
  router_.Unsubscribe(kA, "c");
  router_.SUnsubscribe(kA, "c");
  router_.PUnsubscribe(kA, "p.*");
  router_.PUnsubscribe(kA, "*");
  EXPECT_TRUE(router_.UnsubscribeFilter(kA, "a/+/b/#"));
  EXPECT_TRUE(router_.UnsubscribeFilter(kA, "#"));
  EXPECT_GT(router_.NodeCount(), 0u);  // the shared group holds its path
  EXPECT_TRUE(router_.UnsubscribeFilter(kB, "$share/g/a/+/b/#"));
  EXPECT_EQ(router_.NodeCount(), 0u);
  EXPECT_EQ(router_.NumPat(), 0u);
  EXPECT_EQ(router_.NumFilters(), 0u);
}

TEST_F(RouterTest, NodeCountReturnsToZeroAfterChurnOfManySubscriptions) {
  constexpr int kN = 100'000;
  bool added;
  for (int i = 0; i < kN; ++i) {
    const Subscriber s{static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i)};
    const std::string n = std::to_string(i);
    switch (i % 5) {
      case 0:
        router_.Subscribe(s, "ch." + n);
        break;
      case 1:
        router_.PSubscribe(s, "user." + n + ".*");
        break;
      case 2:
        router_.SSubscribe(s, "shard." + n);
        break;
      case 3:
        ASSERT_TRUE(router_.SubscribeFilter(s, "dev/" + n + "/+", &added).ok());
        break;
      case 4:
        ASSERT_TRUE(router_.SubscribeFilter(s, "$share/g" + n + "/q/#", &added).ok());
        break;
    }
  }
  EXPECT_GT(router_.NodeCount(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    const Subscriber s{static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i)};
    const std::string n = std::to_string(i);
    bool removed = false;
    switch (i % 5) {
      case 0:
        removed = router_.Unsubscribe(s, "ch." + n);
        break;
      case 1:
        removed = router_.PUnsubscribe(s, "user." + n + ".*");
        break;
      case 2:
        removed = router_.SUnsubscribe(s, "shard." + n);
        break;
      case 3:
        removed = router_.UnsubscribeFilter(s, "dev/" + n + "/+");
        break;
      case 4:
        removed = router_.UnsubscribeFilter(s, "$share/g" + n + "/q/#");
        break;
    }
    ASSERT_TRUE(removed) << i;
  }
  EXPECT_EQ(router_.NodeCount(), 0u);
  EXPECT_EQ(PublishAndDeliver("ch.0"), 0u);
}

TEST_F(RouterTest, OtherThreadsDeliveriesArriveOnlyAfterFlushInPublishOrder) {
  router_.Subscribe(kC, "news");  // kC lives on thread 1
  router_.PSubscribe(kC, "n*");
  for (int i = 0; i < 5; ++i) router_.Publish(0, MakeMessage("news", std::to_string(i)));
  RunPosted();
  EXPECT_TRUE(sinks_[1].got.empty());
  EXPECT_TRUE(posts_.empty());
  router_.FlushOutbox(0);
  EXPECT_TRUE(sinks_[1].got.empty());  // posted, not yet run on thread 1
  RunPosted();
  EXPECT_THAT(sinks_[1].Payloads(), ElementsAre("0", "0", "1", "1", "2", "2", "3", "3", "4", "4"));
}

TEST_F(RouterTest, BackloggedWhileAnotherThreadHasNotRunWhatWasPostedToIt) {
  router_.Subscribe(kC, "news");  // kC lives on thread 1
  router_.Subscribe(kA, "news");  // and kA on thread 0, the publisher's own
  const std::string payload(64 << 10, 'x');
  EXPECT_FALSE(router_.Backlogged(0));
  // Thread 1 does not run: its queue grows with every flush.
  int flushes = 0;
  while (!router_.Backlogged(0)) {
    ASSERT_LT(flushes, 1000) << "never backlogged";
    router_.Publish(0, MakeMessage("news", payload));
    router_.FlushOutbox(0);
    ++flushes;
  }
  // About kMaxBacklogBytes of messages (weighed with a little per delivery).
  const uint64_t queued = static_cast<uint64_t>(flushes) * payload.size();
  EXPECT_GE(queued + payload.size(), Router::kMaxBacklogBytes);
  EXPECT_LE(queued, Router::kMaxBacklogBytes + payload.size());
  EXPECT_FALSE(router_.Backlogged(1));  // thread 1 itself posted nothing
  RunPosted();                          // thread 1 catches up
  EXPECT_FALSE(router_.Backlogged(0));
  EXPECT_EQ(sinks_[1].got.size(), static_cast<size_t>(flushes));
  // Deliveries on the publisher's own thread never count.
  router_.Unsubscribe(kC, "news");
  for (int i = 0; i < 200; ++i) router_.Publish(0, MakeMessage("news", payload));
  router_.FlushOutbox(0);
  EXPECT_FALSE(router_.Backlogged(0));
}

TEST_F(RouterTest, OneFlushMakesOnePostPerDestinationThread) {
  for (uint64_t id = 100; id < 110; ++id) router_.Subscribe({1, id}, "news");
  router_.Subscribe(kA, "news");  // own thread: no post
  for (int i = 0; i < 50; ++i) router_.Publish(0, MakeMessage("news", "m"));
  router_.FlushOutbox(0);
  EXPECT_EQ(posts_[1], 1);
  EXPECT_EQ(posts_.count(0), 0u);
  EXPECT_EQ(sinks_[0].got.size(), 50u);  // delivered directly, in the flush
  EXPECT_EQ(sinks_[0].batches, 1);
  RunPosted();
  EXPECT_EQ(sinks_[1].got.size(), 500u);
  EXPECT_EQ(sinks_[1].batches, 1);
  router_.FlushOutbox(0);  // nothing queued: nothing posted
  EXPECT_EQ(posts_[1], 1);
  const RouterStats st = router_.stats();
  EXPECT_EQ(st.published, 50u);
  EXPECT_EQ(st.deliveries, 550u);
  EXPECT_EQ(st.cross_thread_posts, 1u);
}

TEST_F(RouterTest, OutboxesOfDifferentSourceThreadsAreIndependent) {
  router_.Subscribe(kA, "news");  // on thread 0
  router_.Publish(1, MakeMessage("news", "from1"));
  router_.FlushOutbox(0);  // thread 0 has nothing queued
  RunPosted();
  EXPECT_TRUE(sinks_[0].got.empty());
  router_.FlushOutbox(1);
  EXPECT_EQ(posts_[0], 1);
  RunPosted();
  EXPECT_THAT(sinks_[0].Payloads(), ElementsAre("from1"));
}

TEST_F(RouterTest, DeliveryKeepsPatternAliveAfterUnsubscribe) {
  router_.PSubscribe(kC, "n*");
  router_.Publish(0, MakeMessage("news", "m"));
  router_.FlushOutbox(0);
  EXPECT_TRUE(router_.PUnsubscribe(kC, "n*"));
  EXPECT_EQ(router_.NodeCount(), 0u);
  RunPosted();  // the delivery still names the pattern
  EXPECT_THAT(sinks_[1].got, ElementsAre(Got{kC.id, MatchKind::kPattern, "n*", "news", "m"}));
}

// A sink that publishes while it is being delivered to (a session replying
// to a message by publishing): the batch it is reading must not change.
class RepublishingSink : public DeliverySink {
 public:
  explicit RepublishingSink(Router* router) : router_(router) {}
  void Deliver(std::span<const Delivery> deliveries) override {
    for (const Delivery& d : deliveries) {
      seen.push_back(std::string(d.message->payload));
      if (d.message->payload == "ping") router_->Publish(0, MakeMessage("news", "pong"));
    }
  }
  std::vector<std::string> seen;

 private:
  Router* router_;
};

TEST(RouterReentryTest, PublishingFromDeliverIsQueuedForTheNextFlush) {
  Router router(1, [](uint32_t, std::function<void()>) { FAIL() << "single thread posts"; });
  RepublishingSink sink(&router);
  router.SetSink(0, &sink);
  router.Subscribe({0, 1}, "news");
  router.Publish(0, MakeMessage("news", "ping"));
  router.FlushOutbox(0);
  EXPECT_THAT(sink.seen, ElementsAre("ping"));
  router.FlushOutbox(0);
  EXPECT_THAT(sink.seen, ElementsAre("ping", "pong"));
}

}  // namespace
}  // namespace runnel::broker

namespace runnel::broker {
namespace {

// Records where each delivered payload lives.
struct AddressSink : DeliverySink {
  void Deliver(std::span<const Delivery> deliveries) override {
    for (const Delivery& d : deliveries) {
      payloads.emplace_back(d.message->payload);
      addresses.push_back(d.message->payload.data());
    }
  }
  std::vector<std::string> payloads;
  std::vector<const char*> addresses;
};

TEST(RouterBorrowedTest, OwnThreadDeliveriesPointIntoTheCallersBytesOthersGetACopy) {
  std::deque<std::function<void()>> posted;
  Router router(2, [&](uint32_t, std::function<void()> fn) { posted.push_back(std::move(fn)); });
  AddressSink here, there;
  router.SetSink(0, &here);
  router.SetSink(1, &there);
  router.Subscribe({0, 1}, "news");
  router.PSubscribe({0, 2}, "n*");
  router.Subscribe({1, 3}, "news");
  std::string input = "news:payload";
  const std::string_view channel(input.data(), 4), payload(input.data() + 5, 7);
  EXPECT_EQ(router.PublishBorrowed(0, channel, payload), 3u);
  EXPECT_EQ(router.FlushOutbox(0), 0b11u);  // delivered on thread 0, posted to 1
  ASSERT_EQ(here.addresses.size(), 2u);
  EXPECT_EQ(here.addresses[0], payload.data());  // no copy
  EXPECT_EQ(here.addresses[1], payload.data());
  input.assign(input.size(), '#');  // the caller's buffer is reused
  for (auto& fn : posted) fn();
  EXPECT_THAT(there.payloads, ElementsAre("payload"));  // its own copy
  EXPECT_NE(there.addresses[0], payload.data());
}

TEST(RouterBorrowedTest, FlushTellsWhereDeliveriesWent) {
  std::deque<std::function<void()>> posted;
  Router router(3, [&](uint32_t, std::function<void()> fn) { posted.push_back(std::move(fn)); });
  AddressSink sinks[3];
  for (uint32_t t = 0; t < 3; ++t) router.SetSink(t, &sinks[t]);
  router.Subscribe({2, 7}, "far");
  router.SSubscribe({0, 8}, "near");
  EXPECT_EQ(router.FlushOutbox(0), 0u);  // nothing published
  router.PublishBorrowed(0, "nobody", "x");
  EXPECT_EQ(router.FlushOutbox(0), 0u);  // published, but nobody listened
  router.PublishBorrowed(0, "far", "x");
  EXPECT_EQ(router.FlushOutbox(0), 0b100u);
  router.SPublishBorrowed(0, "near", "y");
  EXPECT_EQ(router.FlushOutbox(0), 0b001u);
  EXPECT_THAT(sinks[0].payloads, ElementsAre("y"));
  for (auto& fn : posted) fn();
  EXPECT_THAT(sinks[2].payloads, ElementsAre("x"));
}

}  // namespace
}  // namespace runnel::broker
