// A small pool of threads that runs partition commits (write + fsync) so that
// callers never block on the disk unless they choose to wait. Each
// PartitionWriter schedules at most one task at a time, so one partition's
// commits never run concurrently while different partitions sync in parallel.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace runnel::storage {

class CommitPool {
 public:
  explicit CommitPool(int threads);
  ~CommitPool();  // runs every task already scheduled, then joins
  CommitPool(const CommitPool&) = delete;
  CommitPool& operator=(const CommitPool&) = delete;

  void Schedule(std::function<void()> task);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace runnel::storage
