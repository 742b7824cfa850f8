// Router::Impl: the indexes and the per-thread outboxes behind router.h.
// Private to router.cc and router_outbox.cc; see docs/router.md.
//
// Locking: `mu` guards channels, shards, patterns, filters and the counters
// next to them (exclusive to change; Publish reads under its own thread's
// slot, introspection under slot 0; see per_thread_rw_lock.h). An Outbox belongs to
// its source thread and is touched only there, without a lock, except for
// its Recycler (own mutex, a leaf: nothing is taken under it) and its stats
// (relaxed atomics with a single writer, summed by Router::stats()).
#pragma once

#include "broker/glob_index.h"
#include "broker/per_thread_rw_lock.h"
#include "broker/router.h"
#include "broker/shared_group.h"
#include "broker/topic_trie.h"
#include "util/string_hash.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace runnel::broker::router_internal {

using runnel::StringHash;  // util/string_hash.h: probe std::string keys with views

// channel -> its subscribers; an entry exists only while it has one.
using ChannelMap = std::unordered_map<std::string, SubscriberSet, StringHash, std::equal_to<>>;

struct PatternEntry {
  SubscriberSet subscribers;
  // Shared with every Delivery, so the string outlives a PUNSUBSCRIBE that
  // races with a delivery still in flight.
  std::shared_ptr<const std::string> pattern;
};

struct SharedEntry {
  explicit SharedEntry(const std::string& name)
      : name(std::make_shared<const std::string>(name)), group(name) {}
  std::shared_ptr<const std::string> name;  // "$share/<group>/<filter>", for deliveries
  SharedGroup group;
};

// One trie node's subscriptions: the plain filter's subscribers and the
// shared groups on the same filter. Erased from the trie once both are empty.
struct FilterEntry {
  SubscriberSet subscribers;
  std::shared_ptr<const std::string> filter;
  std::unordered_map<std::string, std::unique_ptr<SharedEntry>, StringHash, std::equal_to<>>
      groups;  // by group name

  bool empty() const { return subscribers.empty() && groups.empty(); }
};

// What one source thread hands one destination thread: the deliveries and
// one reference to every message and subscription string they point at.
// QueueAll adds a message's deliveries one after another, so comparing with
// the last one kept is enough to keep each once.
struct DeliveryBatch {
  std::vector<Delivery> deliveries;
  std::vector<MessagePtr> messages;
  std::vector<std::shared_ptr<const std::string>> strings;
  const Message* last_message = nullptr;
  const std::string* last_string = nullptr;
  size_t message_bytes = 0;  // channel + payload bytes of `messages`

  void Add(uint64_t id, MatchKind kind, const std::shared_ptr<const std::string>& subscription,
           const MessagePtr& msg) {
    if (msg.get() != last_message) {
      messages.push_back(msg);
      last_message = msg.get();
      message_bytes += msg->channel.size() + msg->payload.size();
    }
    AddBorrowed(id, kind, subscription, msg.get());
  }
  // A delivery of a borrowed message (Router::PublishBorrowed): no
  // reference to it is kept; the caller's bytes outlive the batch. (Add's
  // second half: the subscription string is kept either way.)
  void AddBorrowed(uint64_t id, MatchKind kind,
                   const std::shared_ptr<const std::string>& subscription, const Message* msg) {
    if (subscription && subscription.get() != last_string) {
      strings.push_back(subscription);
      last_string = subscription.get();
    }
    deliveries.push_back(Delivery{id, kind, subscription.get(), msg});
  }
  bool empty() const { return deliveries.empty(); }
  void clear() {
    ClearAllButMessages();
    messages.clear();
    message_bytes = 0;
  }
  void ClearAllButMessages() {
    deliveries.clear();
    strings.clear();
    last_message = nullptr;
    last_string = nullptr;
  }
};

// Stable slots for the views of borrowed messages (Router::PublishBorrowed)
// delivered on the source thread, reused from one flush to the next.
class ViewArena {
 public:
  const Message* Add(Message m) {
    if (used_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<Message[]>(kChunk));
    Message* slot = &chunks_[used_ / kChunk][used_ % kChunk];
    *slot = m;
    ++used_;
    return slot;
  }
  void clear() {
    used_ = 0;
    if (chunks_.size() > kKeepChunks) chunks_.resize(kKeepChunks);
  }

 private:
  static constexpr size_t kChunk = 256;
  static constexpr size_t kKeepChunks = 4;
  std::vector<std::unique_ptr<Message[]>> chunks_;
  size_t used_ = 0;
};

// Batches coming back from destination threads, so a source thread's next
// flush reuses their capacity instead of allocating. Shared (shared_ptr)
// between an outbox and the batches it posted: a batch may finish after the
// Router is gone.
//
// A returned batch still holds its messages' references (unless they are
// big): Take() drops them on the source thread, which allocated the
// messages. Freed there, they go back to that thread's malloc cache and
// arena; freed on the destination, every free took the source arena's lock
// while the source was allocating from it (futex traffic in the profile).
class Recycler {
 public:
  // Bounds, so a burst does not pin memory for ever.
  static constexpr size_t kMaxVectors = 8;
  static constexpr size_t kMaxCapacity = 4096;
  // Messages of a returned batch larger than this together are released on
  // the destination at once rather than held until the source's next flush.
  static constexpr size_t kMaxHeldMessageBytes = 1 << 20;

  // On the destination thread, once delivered.
  void Put(DeliveryBatch b);
  // On the source thread: an empty batch, with capacity if one was returned.
  DeliveryBatch Take();

 private:
  std::mutex mu_;
  std::vector<DeliveryBatch> free_;  // guarded by mu_
};

// The deliveries one source thread posted that their destination thread
// has not run yet, weighed in bytes (Weight), by destination. Shared with
// the posted batches, which may run after the Router is gone. A source
// whose destination falls behind stops reading its publishers
// (Router::Backlogged): without that, a publisher's thread outruns the
// subscribers' thread, whose queue of posted batches grows without bound
// (seen: 1 GB queued, the subscriber cut off at the output limit though
// the client read all it was sent).
class Backlog {
 public:
  explicit Backlog(uint32_t threads)
      : threads_(threads), slots_(std::make_unique<Slot[]>(threads)) {}
  // What delivering `b` costs the destination, roughly: its message bytes
  // and a frame's worth per delivery (fan-out formats one per subscriber).
  static uint64_t Weight(const DeliveryBatch& b) {
    return b.message_bytes + 128 * b.deliveries.size();
  }
  void Posted(uint32_t to, uint64_t weight) {
    slots_[to].bytes.fetch_add(weight, std::memory_order_relaxed);
  }
  void Delivered(uint32_t to, uint64_t weight) {
    slots_[to].bytes.fetch_sub(weight, std::memory_order_relaxed);
  }
  bool Over(uint64_t limit) const {
    for (uint32_t d = 0; d < threads_; ++d) {
      if (slots_[d].bytes.load(std::memory_order_relaxed) > limit) return true;
    }
    return false;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> bytes{0};
  };
  const uint32_t threads_;
  std::unique_ptr<Slot[]> slots_;
};

// What one source thread has queued, by destination thread.
struct alignas(64) Outbox {
  std::vector<DeliveryBatch> to;  // [destination thread]
  DeliveryBatch self_spare;       // capacity for the next local batch
  // The views of borrowed messages delivered on this thread; cleared once
  // the local batch is delivered (so a sink must not publish borrowed
  // bytes from Deliver).
  ViewArena borrowed;
  std::shared_ptr<Recycler> recycler = std::make_shared<Recycler>();
  std::shared_ptr<Backlog> backlog;  // made with the thread count
  // Written only by the owning thread; relaxed atomics so stats() may read.
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> cross_thread_posts{0};

  void Add(uint32_t thread, uint64_t id, MatchKind kind,
           const std::shared_ptr<const std::string>& subscription, const MessagePtr& msg) {
    to[thread].Add(id, kind, subscription, msg);
  }
};

inline void Bump(std::atomic<uint64_t>& counter, uint64_t n) {
  // Single writer: a load and a store, no locked read-modify-write.
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace runnel::broker::router_internal

namespace runnel::broker {

struct Router::Impl {
  Impl(uint32_t threads, Post post);

  const uint32_t threads;
  const Post post;
  std::vector<DeliverySink*> sinks;  // set before the io threads run
  std::unique_ptr<router_internal::Outbox[]> outboxes;

  // Publish on io thread t reads under slot t; changes take every slot.
  mutable PerThreadRwLock mu;
  router_internal::ChannelMap channels;               // guarded by mu
  router_internal::ChannelMap shards;                 // guarded by mu
  GlobIndex<router_internal::PatternEntry> patterns;  // guarded by mu
  TopicTrie<router_internal::FilterEntry> filters;    // guarded by mu
  // Distinct filter subscription strings (plain filters + shared groups)
  // with a subscriber; and shared groups alone, for NodeCount().
  size_t filter_subscriptions = 0;  // guarded by mu
  size_t shared_groups = 0;         // guarded by mu
};

}  // namespace runnel::broker
