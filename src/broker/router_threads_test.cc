// The Router across real threads: two io threads, each an asio::io_context,
// publish to each other while a third thread subscribes and unsubscribes.
// Meant to run under ASan/UBSan and TSan (the `tsan` preset).
#include "broker/router.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace runnel::broker {
namespace {

namespace asio = boost::asio;

constexpr uint32_t kThreads = 2;
constexpr int kMessages = 20'000;  // per publishing thread
constexpr int kBatch = 16;         // publishes per "wake-up", then one flush

// Stable subscribers: on thread t, id kStable + t subscribes to the other
// thread's channel; ids kShared.. form a shared group over both threads.
constexpr uint64_t kStable = 1;
constexpr uint64_t kShared = 100;

// Lives on one io thread; Deliver runs only there, so no locking.
class CheckingSink : public DeliverySink {
 public:
  explicit CheckingSink(uint32_t thread) : thread_(thread) {}
  void Deliver(std::span<const Delivery> deliveries) override {
    const std::thread::id me = std::this_thread::get_id();
    if (owner_ == std::thread::id()) owner_ = me;
    EXPECT_EQ(owner_, me) << "sink " << thread_ << " called from two threads";
    for (const Delivery& d : deliveries) {
      if (d.subscriber == kStable + thread_ && d.kind == MatchKind::kChannel) {
        // One publisher, one destination: publish order is kept.
        const int seq = std::stoi(std::string(d.message->payload));
        EXPECT_EQ(seq, next_seq_) << "thread " << thread_;
        next_seq_ = seq + 1;
      } else if (d.kind == MatchKind::kShared && *d.subscription == "$share/g/jobs/#") {
        ++shared_;
      } else {
        ++other_;
      }
    }
  }
  int stable_received() const { return next_seq_; }
  int shared_received() const { return shared_; }

 private:
  const uint32_t thread_;
  std::thread::id owner_;
  int next_seq_ = 0;
  int shared_ = 0;
  int other_ = 0;
};

TEST(RouterThreadsTest, PublishersOnTwoIoThreadsWhileAThirdThreadChurnsSubscriptions) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (uint32_t t = 0; t < kThreads; ++t) contexts.push_back(std::make_unique<asio::io_context>());
  Router router(kThreads, [&](uint32_t thread, std::function<void()> fn) {
    asio::post(*contexts[thread], std::move(fn));
  });
  std::vector<std::unique_ptr<CheckingSink>> sinks;
  for (uint32_t t = 0; t < kThreads; ++t) {
    sinks.push_back(std::make_unique<CheckingSink>(t));
    router.SetSink(t, sinks.back().get());
  }
  for (uint32_t t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(router.Subscribe({t, kStable + t}, "from" + std::to_string(1 - t)));
    bool added;
    ASSERT_TRUE(router.SubscribeFilter({t, kShared + t}, "$share/g/jobs/#", &added).ok());
  }

  std::atomic<int> publishers_done{0};
  // Each io thread publishes in batches, flushing after each, and re-posts
  // itself so deliveries from the other thread interleave with its work.
  std::vector<std::function<void()>> steps(kThreads);
  std::vector<int> sent(kThreads, 0);
  for (uint32_t t = 0; t < kThreads; ++t) {
    steps[t] = [&, t] {
      const std::string channel = "from" + std::to_string(t);
      for (int i = 0; i < kBatch && sent[t] < kMessages; ++i, ++sent[t]) {
        router.Publish(t, MakeMessage(channel, std::to_string(sent[t])));
        router.Publish(t, MakeMessage("jobs/" + std::to_string(t), "j"));
        router.Publish(t, MakeMessage("churn." + std::to_string(sent[t] % 64), "c"));
      }
      router.FlushOutbox(t);
      if (sent[t] < kMessages) {
        asio::post(*contexts[t], steps[t]);
      } else {
        publishers_done.fetch_add(1);
      }
    };
  }

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : contexts) guards.push_back(asio::make_work_guard(*c));
  std::vector<std::thread> io_threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    asio::post(*contexts[t], steps[t]);
    io_threads.emplace_back([&, t] { contexts[t]->run(); });
  }

  // The churner: subscribers on both io threads come and go on channels,
  // patterns, filters and shared groups the publishers hit.
  std::thread churner([&] {
    std::mt19937 rng(42);
    bool added;
    uint64_t rounds = 0;
    while (publishers_done.load() < static_cast<int>(kThreads) || rounds < 1000) {
      const Subscriber s{static_cast<uint32_t>(rng() % kThreads), 1000 + rng() % 50};
      const std::string n = std::to_string(rng() % 64);
      switch (rng() % 8) {
        case 0:
          router.Subscribe(s, "churn." + n);
          break;
        case 1:
          router.Unsubscribe(s, "churn." + n);
          break;
        case 2:
          router.PSubscribe(s, "churn." + n + "*");
          break;
        case 3:
          router.PUnsubscribe(s, "churn." + n + "*");
          break;
        case 4:
          (void)router.SubscribeFilter(s, "$share/c" + n + "/jobs/+", &added);
          break;
        case 5:
          router.UnsubscribeFilter(s, "$share/c" + n + "/jobs/+");
          break;
        case 6:
          router.NumSub("churn." + n);
          break;
        case 7:
          router.Channels("churn.*");
          break;
      }
      ++rounds;
    }
    // Leave nothing behind.
    for (uint32_t t = 0; t < kThreads; ++t) {
      for (uint64_t id = 1000; id < 1050; ++id) {
        for (int i = 0; i < 64; ++i) {
          const std::string n = std::to_string(i);
          router.Unsubscribe({t, id}, "churn." + n);
          router.PUnsubscribe({t, id}, "churn." + n + "*");
          router.UnsubscribeFilter({t, id}, "$share/c" + n + "/jobs/+");
        }
      }
    }
  });

  churner.join();
  // Publishers finished (the churner waited for them) and their last flush
  // posted before they said so: releasing the guards lets run() drain.
  guards.clear();
  for (auto& t : io_threads) t.join();

  for (uint32_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(sinks[t]->stable_received(), kMessages) << "thread " << t;
  }
  // The group "g" received every jobs/ message exactly once, spread over
  // both members.
  EXPECT_EQ(sinks[0]->shared_received() + sinks[1]->shared_received(), kThreads * kMessages);
  EXPECT_GT(sinks[0]->shared_received(), 0);
  EXPECT_GT(sinks[1]->shared_received(), 0);
  for (uint32_t t = 0; t < kThreads; ++t) {
    router.Unsubscribe({t, kStable + t}, "from" + std::to_string(1 - t));
    router.UnsubscribeFilter({t, kShared + t}, "$share/g/jobs/#");
  }
  EXPECT_EQ(router.NodeCount(), 0u);
  EXPECT_EQ(router.stats().published, 3u * kThreads * kMessages);
  // Beyond the stable and the group deliveries, the churned subscriptions
  // were hit while they came and went.
  EXPECT_GT(router.stats().deliveries, 2u * kThreads * kMessages);
}

}  // namespace
}  // namespace runnel::broker
