// PerThreadRwLock: a reader-writer lock for data that a fixed set of threads
// read very often and anyone changes rarely (the router's indexes: every
// PUBLISH reads them, SUBSCRIBE changes them).
//
// Each reader thread has its own slot, a std::shared_mutex on its own cache
// line: a read locks only its slot, so readers on different threads never
// write to a shared cache line (a single std::shared_mutex makes every read
// an atomic read-modify-write on one line that all cores fight over). A
// writer takes every slot exclusively, in slot order (so two writers cannot
// deadlock), which makes writes cost one lock per slot.
//
// Readers that are not one of the slot threads may use any slot (a slot's
// mutex is shared, so they only share a line with that one thread).
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>

namespace runnel::broker {

class PerThreadRwLock {
 public:
  explicit PerThreadRwLock(uint32_t slots)
      : slots_(slots == 0 ? 1 : slots), locks_(std::make_unique<Slot[]>(slots_)) {}
  PerThreadRwLock(const PerThreadRwLock&) = delete;
  PerThreadRwLock& operator=(const PerThreadRwLock&) = delete;

  // Exclusive (BasicLockable, for std::unique_lock / std::lock_guard).
  void lock() {
    for (uint32_t i = 0; i < slots_; ++i) locks_[i].mu.lock();
  }
  void unlock() {
    for (uint32_t i = slots_; i-- > 0;) locks_[i].mu.unlock();
  }

  // A shared hold of one slot, released when it goes out of scope.
  class ReadGuard {
   public:
    explicit ReadGuard(std::shared_mutex& mu) : lock_(mu) {}

   private:
    std::shared_lock<std::shared_mutex> lock_;
  };
  // `slot` is the reader's thread index (any value is safe: it is reduced
  // modulo the slot count).
  [[nodiscard]] ReadGuard Read(uint32_t slot) const { return ReadGuard(locks_[slot % slots_].mu); }

 private:
  struct alignas(64) Slot {
    std::shared_mutex mu;
  };
  const uint32_t slots_;
  std::unique_ptr<Slot[]> locks_;
};

}  // namespace runnel::broker
