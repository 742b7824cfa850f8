// Router micro-benchmarks: a publish costs in proportion to its matches, not
// to the number of subscriptions (DESIGN §5). Each iteration is one Publish
// plus one FlushOutbox from io thread 0, with the destination's Deliver run
// inline by the Post (so the hand-off's cost is included).
//
//   Publish/UnrelatedChannels/N   1 subscriber on the target + N others
//   Publish/UnrelatedPatterns/N   same + N patterns "user.<i>.*"
//   Publish/UnrelatedFilters/N    same + N MQTT filters "user/<i>/+"
//   Publish/FanOut/N              N subscribers on the target, half of
//                                 them on the other thread
//
// runnel_micro --benchmark_filter=Router
#include "broker/router.h"

#include <benchmark/benchmark.h>

#include <functional>
#include <memory>
#include <string>

namespace runnel::broker {
namespace {

class CountingSink : public DeliverySink {
 public:
  void Deliver(std::span<const Delivery> deliveries) override { count += deliveries.size(); }
  size_t count = 0;
};

struct Bench {
  Bench() : router(2, [](uint32_t, std::function<void()> fn) { fn(); }) {
    router.SetSink(0, &sinks[0]);
    router.SetSink(1, &sinks[1]);
  }
  void Run(benchmark::State& state, std::string_view channel, size_t expect) {
    const MessagePtr msg = MakeMessage(channel, "payload");
    for (auto _ : state) {
      const size_t n = router.Publish(0, msg);
      router.FlushOutbox(0);
      if (n != expect) state.SkipWithError("unexpected match count");
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["deliveries"] = static_cast<double>(sinks[0].count + sinks[1].count) /
                                   static_cast<double>(state.iterations());
  }

  CountingSink sinks[2];
  Router router;
};

void BM_RouterPublishUnrelatedChannels(benchmark::State& state) {
  Bench b;
  for (int64_t i = 0; i < state.range(0); ++i) {
    b.router.Subscribe({static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i + 10)},
                       "other." + std::to_string(i));
  }
  b.router.Subscribe({1, 1}, "target.channel");
  b.Run(state, "target.channel", 1);
}
BENCHMARK(BM_RouterPublishUnrelatedChannels)->Arg(1)->Arg(100'000);

void BM_RouterPublishUnrelatedPatterns(benchmark::State& state) {
  Bench b;
  for (int64_t i = 0; i < state.range(0); ++i) {
    b.router.PSubscribe({static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i + 10)},
                        "user." + std::to_string(i) + ".*");
  }
  b.router.Subscribe({1, 1}, "target.channel");
  // Longer than every prefix ("user.99999."), so every prefix length probes.
  b.Run(state, "target.channel", 1);
}
BENCHMARK(BM_RouterPublishUnrelatedPatterns)->Arg(1)->Arg(100'000);

void BM_RouterPublishUnrelatedFilters(benchmark::State& state) {
  Bench b;
  bool added;
  for (int64_t i = 0; i < state.range(0); ++i) {
    (void)b.router.SubscribeFilter({static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i + 10)},
                                   "user/" + std::to_string(i) + "/+", &added);
  }
  // The topic walks into "user", whose 100,000 children it misses by one probe.
  b.router.Subscribe({1, 1}, "user/target");
  b.Run(state, "user/target", 1);
}
BENCHMARK(BM_RouterPublishUnrelatedFilters)->Arg(1)->Arg(100'000);

void BM_RouterPublishFanOut(benchmark::State& state) {
  Bench b;
  for (int64_t i = 0; i < state.range(0); ++i) {
    b.router.Subscribe({static_cast<uint32_t>(i % 2), static_cast<uint64_t>(i + 10)},
                       "target.channel");
  }
  b.Run(state, "target.channel", static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_RouterPublishFanOut)->Arg(10)->Arg(1000);

}  // namespace
}  // namespace runnel::broker
