// TailWatcher: wakes readers when any process publishes to a partition.
//
// One inotify instance per Log (the per-user instance limit is small), one
// watch per partition directory shared by all readers of it, one thread that
// reads events. A writer publishes by pwrite()ing the partition's hwm file,
// which raises IN_MODIFY on the directory watch; the thread bumps that
// partition's version and wakes its waiters. Waiters read the version before
// checking for data, then wait for it to move, so no wake-up is lost.
// If inotify is unavailable, waits fall back to short sleeps (10 ms).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace runnel::storage {

class TailWatcher {
 public:
  // One partition directory's watch. Released when the last handle goes.
  class Handle {
   public:
    ~Handle();
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    uint64_t version() const;
    // Waits until version() != seen or the timeout passes; true if it moved.
    bool WaitForChange(uint64_t seen, std::chrono::milliseconds timeout);

   private:
    friend class TailWatcher;
    Handle(std::shared_ptr<TailWatcher> owner, int wd, std::string dir);
    std::shared_ptr<TailWatcher> owner_;
    int wd_;
    std::string dir_;
  };

  static std::shared_ptr<TailWatcher> Create();
  ~TailWatcher();

  std::unique_ptr<Handle> Watch(const std::string& partition_dir);

 private:
  struct Watched {
    int refs = 0;
    uint64_t version = 0;
  };
  TailWatcher() = default;
  void Loop();
  void Release(int wd);

  std::weak_ptr<TailWatcher> self_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that ends Loop()
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Watched> watched_;  // by watch descriptor
  int fake_wd_ = -1;                // negative ids when inotify is unavailable
};

}  // namespace runnel::storage
