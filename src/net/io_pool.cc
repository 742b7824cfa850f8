#include "net/io_pool.h"

#include "net/idle_flush.h"

#include <chrono>
#include <ctime>

namespace runnel::net {
namespace {
thread_local int current_index = -1;
}

IoPool::IoPool(int threads, IdlePollOptions idle) : idle_(idle) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    // concurrency_hint 1: each context is run by exactly one thread, so Asio
    // can skip internal locking.
    contexts_.push_back(std::make_unique<Context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() { Stop(); }

void IoPool::Start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      current_index = static_cast<int>(i);
      Run(*contexts_[i]);
    });
  }
}

namespace {

std::chrono::nanoseconds ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

void IoPool::Run(boost::asio::io_context& ctx) {
  if (idle_.idle_poll.count() <= 0) {
    ctx.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  const Clock::duration window = idle_.idle_poll;
  // Moving average (7/8 old, 1/8 new) of how long the thread waited for
  // its next event once it ran out of work. It starts long, so a quiet
  // thread never polls.
  Clock::duration gap = 4 * window;
  IdleFlush::SetActive(true);
  while (!ctx.stopped()) {
    // Ready handlers (poll_one runs epoll_wait(0) when none is queued),
    // then the writes deferred to this point (IdleFlush): once nothing is
    // ready, or after kHandlersPerFlush handlers, so that a thread which is
    // never idle still makes them.
    int handled = 0;
    while (handled < IdleFlush::kHandlersPerFlush && ctx.poll_one() > 0) ++handled;
    const size_t flushed = IdleFlush::Drain();
    if (handled > 0 || flushed > 0) continue;
    const Clock::time_point idle_since = Clock::now();
    bool poll_now = false;
    if (gap < window) {
      poll_now = polling_.fetch_add(1, std::memory_order_acquire) == 0;
      if (!poll_now) polling_.fetch_sub(1, std::memory_order_relaxed);  // another thread does
    }
    Clock::duration waited{};
    bool ran = false;
    if (poll_now) {
      idle_polls_.fetch_add(1, std::memory_order_relaxed);
      for (Clock::time_point t = idle_since; t < idle_since + window && !ctx.stopped();
           t = Clock::now()) {
        if (ctx.poll() > 0) {
          ran = true;
          idle_poll_hits_.fetch_add(1, std::memory_order_relaxed);
          waited = t - idle_since;  // the event came after the last empty poll
          break;
        }
      }
      polling_.fetch_sub(1, std::memory_order_release);
    }
    if (!ran) {
      // The wait is the time blocked: wall time minus the handler's CPU time.
      const auto cpu0 = ThreadCpuTime();
      if (ctx.run_one() == 0) break;  // stopped
      waited = (Clock::now() - idle_since) - (ThreadCpuTime() - cpu0);
    }
    gap = (gap * 7 + waited) / 8;
  }
  IdleFlush::SetActive(false);
  IdleFlush::Drain();  // the last deferred writes: the list holds nothing past the loop
}

void IoPool::Stop() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void IoPool::DropPendingWork() {
  Stop();
  // A destructor run while one context is shut down may post to another,
  // one already shut down included: the second pass destroys those posts
  // too (shutting a context down again only destroys what was queued since).
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& c : contexts_) c->shutdown();
  }
}

int IoPool::CurrentIndex() { return current_index; }

}  // namespace runnel::net
