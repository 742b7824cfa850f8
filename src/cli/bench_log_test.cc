// Unit tests for `runnel bench log`'s flag parsing and arithmetic (the runs
// themselves are exercised by scripts/bench and tests/ through the binary).
#include "cli/bench_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

namespace runnel::cli {
namespace {

TEST(BenchLogFlags, SizesTakeKAndMSuffixes) {
  auto sizes = ParseSizeList("100,1024,64k,1m,2K");
  ASSERT_TRUE(sizes.ok()) << sizes.status().ToString();
  EXPECT_EQ(*sizes, (std::vector<int64_t>{100, 1024, 65536, 1 << 20, 2048}));
}

TEST(BenchLogFlags, BadSizesAreRejected) {
  for (const char* bad :
       {"", "0", "-1", "10x", "1,,2", "k", "1g", "99999999999999999999", "2048m"}) {
    EXPECT_FALSE(ParseSizeList(bad).ok()) << bad;
  }
}

TEST(BenchLogFlags, CountsArePlainPositiveIntegers) {
  auto counts = ParseCountList("1,8,16");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::vector<int>{1, 8, 16}));
  for (const char* bad : {"0", "8k", "-2", "1.5", "", "2000"}) {
    EXPECT_FALSE(ParseCountList(bad).ok()) << bad;
  }
}

TEST(BenchLogFlags, FsyncPoliciesParseInOrder) {
  auto specs = ParseFsyncList("always,interval:250,never");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].policy, FsyncPolicy::kAlways);
  EXPECT_EQ((*specs)[1].policy, FsyncPolicy::kInterval);
  EXPECT_EQ((*specs)[1].interval_ms, 250);
  EXPECT_EQ((*specs)[2].policy, FsyncPolicy::kNever);
  EXPECT_FALSE(ParseFsyncList("sometimes").ok());
}

TEST(BenchLogFlags, WorkloadsAreKnownAndDistinct) {
  auto w = ParseWorkloadList("tail,append");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"tail", "append"}));
  EXPECT_FALSE(ParseWorkloadList("append,append").ok());
  EXPECT_FALSE(ParseWorkloadList("write").ok());
}

TEST(BenchLogCells, AutoBatchIsAbout64KiBOfValues) {
  EXPECT_EQ(RecordsPerAppend(0, 100), 655);
  EXPECT_EQ(RecordsPerAppend(0, 1024), 64);
  EXPECT_EQ(RecordsPerAppend(0, 65536), 1);
  EXPECT_EQ(RecordsPerAppend(0, 1 << 20), 1);  // never zero
  EXPECT_EQ(RecordsPerAppend(7, 100), 7);      // an explicit batch wins
}

TEST(BenchLogCells, InFlightIsSplitEvenlyAndAddsUp) {
  EXPECT_EQ(SplitInFlight(64, 8), std::vector<int>(8, 8));
  EXPECT_EQ(SplitInFlight(10, 4), (std::vector<int>{3, 3, 2, 2}));
  std::vector<int> split = SplitInFlight(64, 7);
  EXPECT_EQ(std::accumulate(split.begin(), split.end(), 0), 64);
  // More producers than appends in flight: each still has one.
  EXPECT_EQ(SplitInFlight(2, 4), std::vector<int>(4, 1));
}

TEST(BenchLogCells, ThroughputIsPerSecondAndInDecimalMegabytes) {
  Throughput t{2'000'000, 200'000'000, 2.0};
  EXPECT_DOUBLE_EQ(t.records_per_second(), 1e6);
  EXPECT_DOUBLE_EQ(t.megabytes_per_second(), 100.0);
  EXPECT_EQ(Throughput{}.records_per_second(), 0);  // no time, no rate
}

TEST(InFlightWindow, NeverHasMoreThanItsLimitAndDrainsToEmpty) {
  InFlightWindow window(3);
  std::atomic<int> peak{0}, done{0};
  std::vector<std::thread> completers;
  for (int i = 0; i < 50; ++i) {
    window.Acquire();
    peak = std::max(peak.load(), window.in_flight());
    // Complete on another thread, as a writer thread runs the callback.
    completers.emplace_back([&] {
      std::this_thread::yield();
      ++done;
      window.Release();
    });
  }
  window.WaitEmpty();
  EXPECT_EQ(window.in_flight(), 0);
  EXPECT_EQ(done.load(), 50);
  EXPECT_LE(peak.load(), 3);
  for (std::thread& t : completers) t.join();
}

}  // namespace
}  // namespace runnel::cli
