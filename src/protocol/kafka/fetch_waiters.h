// FetchWaiters: long-polling Fetch requests waiting for appends, per
// partition. Any append of this process publishes through
// Log::SetAppendListener, whichever protocol made it (Kafka Produce, RESP,
// the embedded API in the same process), and Notify wakes every waiter of
// that partition. Appends by other processes sharing the directory are seen
// when the waiter's max wait ends (phase 1).
//
// No lost wake-up: a fetch snapshots the partitions' versions before it
// reads, and Register refuses (returns false) if any moved since, so the
// caller reads again instead of sleeping through an append it raced with.
//
// Thread safety: every method from any thread; mu_ is a leaf lock, held
// only to copy or swap small maps, never while a wake function runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::kafka {

class FetchWaiters {
 public:
  using Key = std::pair<std::string, int32_t>;  // topic, partition

  uint64_t Version(const Key& key);
  // Parks `wake` on every key until one is notified or Cancel(id). False
  // (nothing parked) if any key's version differs from `seen`.
  bool Register(uint64_t id, const std::vector<Key>& keys, const std::vector<uint64_t>& seen,
                std::function<void()> wake);
  void Cancel(uint64_t id, const std::vector<Key>& keys);
  // Wakes (and removes) every waiter of the partition. Any thread.
  void Notify(std::string_view topic, int32_t partition);
  uint64_t NextId() {
    std::lock_guard lock(mu_);
    return ++next_id_;
  }
  size_t waiting();  // for tests

 private:
  struct Slot {
    uint64_t version = 0;
    std::map<uint64_t, std::function<void()>> waiters;
  };
  std::mutex mu_;
  std::map<Key, Slot, std::less<>> slots_;
  uint64_t next_id_ = 0;
};

}  // namespace runnel::kafka
