// IoPool: N io threads, each running its own asio::io_context. A connection
// lives on one thread for its whole life and its state is touched only there
// (share-nothing). Cross-thread work is posted to the owner's context.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace runnel::net {

// Idle polling: an io thread that runs out of ready handlers normally blocks
// in epoll_wait. On a virtual machine a blocked vCPU halts, and waking it
// again (an interrupt through the host) costs tens of microseconds, which a
// request/response loop pays on every turn. So when the thread's recent idle
// gaps were shorter than `idle_poll` (events keep arriving faster than a
// sleep and wake-up would take), it polls for events without blocking for up
// to that long before it sleeps. Only one io thread polls at a time, so
// the other cores stay free for the clients on a small machine, and a
// thread whose traffic is sparse never polls (its gaps are long). Zero
// disables it.
struct IdlePollOptions {
  std::chrono::microseconds idle_poll{50};
};

class IoPool {
 public:
  // threads <= 0: one per core.
  explicit IoPool(int threads, IdlePollOptions idle = {});
  ~IoPool();  // Stop() and join
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void Start();
  // Stops every context and joins the threads. Handlers still queued stay
  // queued (nothing runs them) until DropPendingWork or destruction.
  void Stop();
  // After Stop: destroys every queued handler and every coroutine suspended
  // in one (so the connections and sessions they own), on the calling
  // thread, while every context still exists. A server calls it while the
  // state those destructors touch (broker, protocol contexts, log) is alive;
  // otherwise they would run in ~IoPool. Handlers posted later are dropped
  // (destroyed unrun) too.
  void DropPendingWork();

  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& context(int index) { return *contexts_[index]; }
  // Round-robin choice for a new connection.
  int NextIndex() { return static_cast<int>(next_.fetch_add(1) % contexts_.size()); }
  // Index of the io thread the caller runs on, or -1 off the pool.
  static int CurrentIndex();

  std::chrono::microseconds idle_poll() const { return idle_.idle_poll; }
  // Idle periods spent polling, and how many of them ended with an event
  // (the rest slept after the window). INFO stats reports both.
  uint64_t idle_polls() const { return idle_polls_.load(std::memory_order_relaxed); }
  uint64_t idle_poll_hits() const { return idle_poll_hits_.load(std::memory_order_relaxed); }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  // One thread's run loop (idle polling as described above).
  void Run(boost::asio::io_context& ctx);

  // An io_context whose pending work can be destroyed before the context
  // is: Asio runs execution_context::shutdown in ~io_context, and exposes
  // it to derived classes only.
  class Context final : public boost::asio::io_context {
   public:
    using boost::asio::io_context::io_context;
    using boost::asio::execution_context::shutdown;
  };

  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<uint32_t> next_{0};
  const IdlePollOptions idle_;
  std::atomic<int> polling_{0};  // io threads polling now (at most one)
  std::atomic<uint64_t> idle_polls_{0};
  std::atomic<uint64_t> idle_poll_hits_{0};
};

}  // namespace runnel::net
