// IoPool: N io threads, each running its own asio::io_context. A connection
// lives on one thread for its whole life and its state is touched only there
// (share-nothing). Cross-thread work is posted to the owner's context.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace runnel::net {

class IoPool {
 public:
  explicit IoPool(int threads);  // threads <= 0: one per core
  ~IoPool();                     // Stop() and join
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void Start();
  // Stops every context; pending handlers are dropped. Joins the threads.
  void Stop();

  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& context(int index) { return *contexts_[index]; }
  // Round-robin choice for a new connection.
  int NextIndex() { return static_cast<int>(next_.fetch_add(1) % contexts_.size()); }
  // Index of the io thread the caller runs on, or -1 off the pool.
  static int CurrentIndex();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<uint32_t> next_{0};
};

}  // namespace runnel::net
