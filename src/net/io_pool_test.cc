// IoPool's idle polling: a thread whose events come close together polls
// between them; one whose events are far apart, or a pool with polling off,
// never does; either way every handler runs and Stop ends the threads.
#include "net/io_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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

TEST(IoPoolIdlePollTest, CloseEventsArePolledFor) {
  IoPool pool(1, IdlePollOptions{microseconds(200)});
  pool.Start();
  EXPECT_EQ(PingPong(pool, 3000, microseconds(5)), 3000);
  pool.Stop();
  // Gaps of ~5 µs (plus a wake-up) are well inside 200 µs: once the average
  // has come down the thread polls, and polling catches the next post.
  EXPECT_GT(pool.idle_polls(), 0u);
  EXPECT_GT(pool.idle_poll_hits(), 0u);
  EXPECT_LE(pool.idle_poll_hits(), pool.idle_polls());
}

TEST(IoPoolIdlePollTest, SparseEventsAreSleptFor) {
  IoPool pool(1, IdlePollOptions{microseconds(50)});
  pool.Start();
  // 2 ms between events: every wait is far longer than the window.
  EXPECT_EQ(PingPong(pool, 100, std::chrono::milliseconds(2)), 100);
  pool.Stop();
  EXPECT_EQ(pool.idle_polls(), 0u);
}

TEST(IoPoolIdlePollTest, OffNeverPolls) {
  IoPool pool(1, IdlePollOptions{microseconds(0)});
  pool.Start();
  EXPECT_EQ(PingPong(pool, 2000, microseconds(5)), 2000);
  pool.Stop();
  EXPECT_EQ(pool.idle_polls(), 0u);
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
