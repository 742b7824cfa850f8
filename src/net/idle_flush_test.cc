// IdleFlush: a connection's FlushAtIdle write waits for its io thread to
// run out of ready handlers, once however many times it was asked; a thread
// that never runs out still writes it within kHandlersPerFlush handlers;
// off an IoPool thread it is written at once.
#include "net/idle_flush.h"

#include "net/connection.h"
#include "net/io_pool.h"

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

namespace runnel::net {
namespace {

// Counts flushes; writes nothing (the writes themselves are tested with
// real sockets in connection_test.cc and the RESP suites).
class CountingConnection final : public Connection {
 public:
  CountingConnection() : Connection(1, 0, ConnectionLimits{}) {}
  void Flush() override {
    ++flushes;
    on_flush();
  }
  void FlushSoon() override { Flush(); }
  void Close() override { closed_ = true; }

  int flushes = 0;
  std::function<void()> on_flush = [] {};
};

// Runs `body` on thread 0 of a one-thread pool with idle polling and waits
// until `done` is set (at most 10 s).
void RunOnPool(const std::function<void(IoPool&)>& body, const std::atomic<bool>& done) {
  IoPool pool(1, IdlePollOptions{std::chrono::microseconds(50)});
  pool.Start();
  boost::asio::post(pool.context(0), [&] { body(pool); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pool.Stop();
}

TEST(IdleFlushTest, OffAnIoThreadItFlushesAtOnce) {
  auto conn = std::make_shared<CountingConnection>();
  conn->FlushAtIdle();
  EXPECT_EQ(conn->flushes, 1);
}

TEST(IdleFlushTest, WaitsForTheThreadToBeIdleAndFlushesOnce) {
  auto conn = std::make_shared<CountingConnection>();
  std::atomic<bool> done{false};
  int flushes_seen_by_second_handler = -1;
  conn->on_flush = [&] { done = true; };
  RunOnPool(
      [&](IoPool& pool) {
        conn->FlushAtIdle();
        conn->FlushAtIdle();  // already queued: still one flush
        boost::asio::post(pool.context(0), [&] {
          flushes_seen_by_second_handler = conn->flushes;
          conn->FlushAtIdle();
        });
      },
      done);
  ASSERT_TRUE(done.load());
  EXPECT_EQ(flushes_seen_by_second_handler, 0);  // the ready handler went first
  EXPECT_EQ(conn->flushes, 1);
}

TEST(IdleFlushTest, AThreadThatIsNeverIdleStillFlushes) {
  auto conn = std::make_shared<CountingConnection>();
  std::atomic<bool> done{false};
  std::atomic<bool> flushed{false};
  int handlers_before_flush = 0;
  int chain = 0;
  conn->on_flush = [&] { flushed = true; };
  // A handler that re-posts itself, so there is always one ready, until
  // the flush happened (or 100,000 turns, which would be a failure).
  std::function<void(IoPool&)> step = [&](IoPool& pool) {
    if (flushed.load() || chain >= 100000) {
      done = true;
      return;
    }
    ++chain;
    if (!flushed.load()) handlers_before_flush = chain;
    boost::asio::post(pool.context(0), [&] { step(pool); });
  };
  RunOnPool(
      [&](IoPool& pool) {
        conn->FlushAtIdle();
        step(pool);
      },
      done);
  ASSERT_TRUE(done.load());
  EXPECT_EQ(conn->flushes, 1);
  EXPECT_LE(handlers_before_flush, IdleFlush::kHandlersPerFlush + 1);
}

}  // namespace
}  // namespace runnel::net
