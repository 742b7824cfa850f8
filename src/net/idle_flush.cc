#include "net/idle_flush.h"

#include "net/connection.h"

namespace runnel::net {

thread_local bool IdleFlush::active_ = false;
thread_local std::vector<std::shared_ptr<Connection>> IdleFlush::queued_;

size_t IdleFlush::Drain() {
  if (queued_.empty()) return 0;
  // A flush may queue again (a write that completes at once and calls back
  // into its session): those wait for the next drain.
  thread_local std::vector<std::shared_ptr<Connection>> draining;
  draining.swap(queued_);
  for (const std::shared_ptr<Connection>& c : draining) c->FlushQueuedAtIdle();
  const size_t n = draining.size();
  draining.clear();
  return n;
}

}  // namespace runnel::net
