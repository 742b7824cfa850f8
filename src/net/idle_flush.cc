#include "net/idle_flush.h"

#include "net/connection.h"

namespace runnel::net {

thread_local bool IdleFlush::active_ = false;
thread_local std::vector<std::shared_ptr<Connection>> IdleFlush::queued_;

size_t IdleFlush::Drain() {
  if (queued_.empty()) return 0;
  // The list is swapped out before any flush, so that a connection queued
  // meanwhile (Flush calls no session today, but a later one might) lands
  // in a fresh list for the next drain instead of under this loop.
  thread_local std::vector<std::shared_ptr<Connection>> draining;
  draining.swap(queued_);
  for (const std::shared_ptr<Connection>& c : draining) c->FlushQueuedAtIdle();
  const size_t n = draining.size();
  draining.clear();
  return n;
}

}  // namespace runnel::net
