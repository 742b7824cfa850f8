// The outbox hand-off: FlushOutbox sends each destination thread everything
// the calling thread queued for it, as one post (docs/router.md "Outboxes").
#include "broker/router.h"
#include "broker/router_impl.h"
#include "util/check.h"

#include <algorithm>
#include <mutex>
#include <utility>

namespace runnel::broker {

namespace router_internal {

void Recycler::Put(DeliveryBatch b) {
  const size_t cap = b.deliveries.capacity();
  if (cap == 0 || cap > kMaxCapacity) return;  // freed here, on its way out
  if (b.message_bytes > kMaxHeldMessageBytes) b.clear();  // big messages go now
  b.ClearAllButMessages();
  std::unique_lock lock(mu_);
  if (free_.size() >= kMaxVectors) {
    lock.unlock();
    return;  // freed here, outside the lock
  }
  free_.push_back(std::move(b));
}

DeliveryBatch Recycler::Take() {
  DeliveryBatch b;
  {
    std::lock_guard lock(mu_);
    if (free_.empty()) return {};
    b = std::move(free_.back());
    free_.pop_back();
  }
  b.clear();  // the messages' last references, on the thread that made them
  return b;
}

}  // namespace router_internal

uint64_t Router::FlushOutbox(uint32_t from) {
  RUNNEL_CHECK(from < impl_->threads, "source thread %u of %u", from, impl_->threads);
  router_internal::Outbox& out = impl_->outboxes[from];
  uint64_t destinations = 0;
  for (uint32_t d = 0; d < impl_->threads; ++d) {
    router_internal::DeliveryBatch& queued = out.to[d];
    if (queued.empty() || d == from) continue;
    destinations |= uint64_t{1} << std::min(d, 63u);
    DeliverySink* sink = impl_->sinks[d];
    RUNNEL_CHECK(sink != nullptr, "no sink for io thread %u", d);
    // The batch travels with the post; a recycled vector takes its place so
    // the next publishes append without growing from nothing.
    router_internal::DeliveryBatch batch = out.recycler->Take();
    std::swap(batch, queued);
    // The destination, once done, gives the batch back; the source's next
    // Take() drops the messages (see Recycler).
    const uint64_t weight = router_internal::Backlog::Weight(batch);
    out.backlog->Posted(d, weight);
    impl_->post(d, [sink, d, weight, batch = std::move(batch), recycler = out.recycler,
                    backlog = out.backlog]() mutable {
      sink->Deliver(batch.deliveries);
      backlog->Delivered(d, weight);
      recycler->Put(std::move(batch));
    });
    router_internal::Bump(out.cross_thread_posts, 1);
  }
  // Own thread last and directly: no hand-off. The batch is swapped out
  // first, so a sink that publishes from Deliver() appends to a fresh vector
  // instead of the one being iterated (it flushes on its next wake-up).
  router_internal::DeliveryBatch& own = out.to[from];
  if (!own.empty()) {
    destinations |= uint64_t{1} << std::min(from, 63u);
    DeliverySink* sink = impl_->sinks[from];
    RUNNEL_CHECK(sink != nullptr, "no sink for io thread %u", from);
    router_internal::DeliveryBatch batch = std::move(out.self_spare);
    std::swap(batch, own);
    sink->Deliver(batch.deliveries);
    batch.clear();
    out.self_spare = std::move(batch);
    out.borrowed.clear();
  }
  return destinations;
}

bool Router::Backlogged(uint32_t from) const {
  RUNNEL_CHECK(from < impl_->threads, "source thread %u of %u", from, impl_->threads);
  return impl_->outboxes[from].backlog->Over(kMaxBacklogBytes);
}

}  // namespace runnel::broker
