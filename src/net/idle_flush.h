// IdleFlush: writes deferred to the io thread's idle point.
//
// A subscriber fed by a busy publisher gets its deliveries one publisher
// read at a time, and writing each batch at once costs one loopback send
// and one wake-up of the reader per read (for ten subscribers, ten sends
// per read: most of the server's time at 1 publisher → 10 subscribers).
// A connection that calls FlushAtIdle instead is written when its thread
// has nothing ready (or after kHandlersPerFlush handlers): by then the
// publisher's next reads may have added to the same write. IoPool::Run
// drains the list; on any other thread, or with idle polling off (plain
// io_context::run), FlushAtIdle writes at once.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace runnel::net {

class Connection;

class IdleFlush {
 public:
  // Handlers an io thread runs at most between two drains.
  static constexpr int kHandlersPerFlush = 64;

  // Whether the calling thread drains (set by IoPool::Run).
  static bool Active() { return active_; }
  static void SetActive(bool active) { active_ = active; }
  static void Add(std::shared_ptr<Connection> conn) { queued_.push_back(std::move(conn)); }
  // Flushes every connection queued; returns how many there were.
  static size_t Drain();

 private:
  static thread_local bool active_;
  static thread_local std::vector<std::shared_ptr<Connection>> queued_;
};

}  // namespace runnel::net
