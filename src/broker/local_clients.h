// LocalClients: the clients of one io thread, by id — the thread's
// DeliverySink (router.h) and the target of its once-a-second cron.
//
// A protocol session (RESP, MQTT, ...) registers itself when it starts and
// removes itself when its connection closes; a delivery that arrives for an
// id no longer here is dropped (its subscriber left while the message was in
// flight). Deliver() hands each delivery to its client, then calls
// EndDeliveries() once on every client it touched, so each connection makes
// one write for a whole batch.
//
// Thread safety: none; everything runs on the owning io thread. The count is
// an atomic so INFO on another thread can read it.
#pragma once

#include "broker/router.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace runnel::broker {

// The broker's view of one client session, on its io thread.
class LocalClient {
 public:
  virtual ~LocalClient() = default;
  // One delivery for this client (append it to the outbound buffer; apply
  // output limits).
  virtual void Deliver(const Delivery& delivery) = 0;
  // The end of a batch of Deliver calls: send what was queued.
  virtual void EndDeliveries() = 0;
  // Called about once a second: idle timeouts, soft output limits.
  virtual void Cron(std::chrono::steady_clock::time_point now) = 0;
  // The server is stopping: send what is queued, then close.
  virtual void Shutdown() = 0;
};

class LocalClients final : public DeliverySink {
 public:
  LocalClients() = default;
  LocalClients(const LocalClients&) = delete;
  LocalClients& operator=(const LocalClients&) = delete;

  // `client` must stay valid until Remove(id).
  void Add(uint64_t id, LocalClient* client);
  void Remove(uint64_t id);
  LocalClient* Find(uint64_t id) const;

  void Deliver(std::span<const Delivery> deliveries) override;
  void Cron(std::chrono::steady_clock::time_point now);
  void Shutdown();

  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  // A direct-mapped cache in front of the map: a fan-out batch looks up the
  // same few subscribers again and again.
  struct CacheSlot {
    uint64_t id = 0;
    LocalClient* client = nullptr;
  };
  static constexpr size_t kCacheSlots = 64;
  mutable CacheSlot cache_[kCacheSlots];

  std::unordered_map<uint64_t, LocalClient*> clients_;
  std::atomic<size_t> count_{0};
  // Reused by Deliver and Cron: ids of the clients to call back.
  std::vector<uint64_t> touched_ids_;
};

}  // namespace runnel::broker
