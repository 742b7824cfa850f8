// IoPool's idle polling: a thread whose events come close together polls
// between them; one whose events are far apart, or a pool with polling off,
// never does; either way every handler runs and Stop ends the threads.
#include "net/io_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace runnel::net {
namespace {

using std::chrono::microseconds;
using std::chrono::steady_clock;

// Posts `rounds` handlers to thread 0, one at a time: each is posted once the
// previous one ran and `pause` (busy-waited, so it is not a sleep's
// granularity) has passed. Returns how many ran.
int PingPong(IoPool& pool, int rounds, std::chrono::nanoseconds pause) {
  std::atomic<int> ran{0};
  for (int i = 0; i < rounds; ++i) {
    boost::asio::post(pool.context(0), [&ran] { ran.fetch_add(1, std::memory_order_release); });
    const auto deadline = steady_clock::now() + std::chrono::seconds(10);
    while (ran.load(std::memory_order_acquire) <= i && steady_clock::now() < deadline) {
    }
    const auto until = steady_clock::now() + pause;
    while (steady_clock::now() < until) {
    }
  }
  return ran.load();
}

struct PollCounts {
  uint64_t polls = 0;
  uint64_t hits = 0;
};

// A one-thread pool with `window` runs PingPong(rounds, pause); every
// handler must run. Returns the pool's idle polling counters.
PollCounts PollsDuringPingPong(microseconds window, int rounds, std::chrono::nanoseconds pause) {
  IoPool pool(1, IdlePollOptions{window});
  pool.Start();
  EXPECT_EQ(PingPong(pool, rounds, pause), rounds);
  pool.Stop();
  return {pool.idle_polls(), pool.idle_poll_hits()};
}

TEST(IoPoolIdlePollTest, CloseEventsArePolledFor) {
  // Gaps of ~5 µs (plus a wake-up) are well inside 200 µs: once the average
  // has come down the thread polls, and polling catches the next post.
  const PollCounts c = PollsDuringPingPong(microseconds(200), 3000, microseconds(5));
  EXPECT_GT(c.polls, 0u);
  EXPECT_GT(c.hits, 0u);
  EXPECT_LE(c.hits, c.polls);
}

TEST(IoPoolIdlePollTest, SparseEventsAreSleptFor) {
  // 2 ms between events: every wait is far longer than the window.
  EXPECT_EQ(PollsDuringPingPong(microseconds(50), 100, std::chrono::milliseconds(2)).polls, 0u);
}

TEST(IoPoolIdlePollTest, OffNeverPolls) {
  EXPECT_EQ(PollsDuringPingPong(microseconds(0), 2000, microseconds(5)).polls, 0u);
}

TEST(IoPoolIdlePollTest, TimersFireAndStopEndsAPollingPool) {
  IoPool pool(2, IdlePollOptions{microseconds(100)});
  pool.Start();
  // Keep thread 0 busy enough to poll, and have a timer on it fire.
  std::atomic<bool> fired{false};
  boost::asio::steady_timer timer(pool.context(0), std::chrono::milliseconds(5));
  timer.async_wait([&fired](boost::system::error_code ec) {
    if (!ec) fired = true;
  });
  EXPECT_EQ(PingPong(pool, 3000, microseconds(5)), 3000);
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!fired && steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_TRUE(fired);
  pool.Stop();  // returns: the polling loop sees the stop
}

}  // namespace
}  // namespace runnel::net
