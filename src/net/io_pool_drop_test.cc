// IoPool::DropPendingWork: once the threads have stopped, what is still
// queued (posted handlers, coroutines suspended on a timer) is destroyed by
// the call, not later by ~IoPool, even what those destructors post.
#include "net/io_pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace runnel::net {
namespace {

namespace asio = boost::asio;

// Posts, when destroyed, a handler that holds `next` to `ctx`.
struct PostsOnDestruction {
  asio::io_context* ctx;
  std::shared_ptr<int> next;
  ~PostsOnDestruction() {
    if (next) asio::post(*ctx, [n = std::move(next)] {});
  }
};

TEST(IoPoolDropTest, DestroysQueuedHandlersAndSuspendedCoroutines) {
  IoPool pool(2, IdlePollOptions{std::chrono::microseconds(0)});
  pool.Start();
  auto in_coroutine = std::make_shared<int>(1);
  std::weak_ptr<int> coroutine_watch = in_coroutine;
  asio::co_spawn(
      pool.context(1),
      [held = std::move(in_coroutine)]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
        co_await timer.async_wait(asio::use_awaitable);
      },
      asio::detached);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // it suspends on the timer
  pool.Stop();

  auto in_handler = std::make_shared<int>(2);
  auto posted_late = std::make_shared<int>(3);
  std::weak_ptr<int> handler_watch = in_handler, late_watch = posted_late;
  // Queued on context 1; its destruction posts to context 0, which the
  // call shuts down before context 1.
  auto poster = std::make_shared<PostsOnDestruction>(
      PostsOnDestruction{&pool.context(0), std::move(posted_late)});
  asio::post(pool.context(1), [h = std::move(in_handler), p = std::move(poster)] {});
  EXPECT_FALSE(coroutine_watch.expired());
  EXPECT_FALSE(handler_watch.expired());

  pool.DropPendingWork();
  EXPECT_TRUE(coroutine_watch.expired());
  EXPECT_TRUE(handler_watch.expired());
  EXPECT_TRUE(late_watch.expired());
}

}  // namespace
}  // namespace runnel::net
