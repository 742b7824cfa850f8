#include "broker/local_clients.h"

#include <algorithm>

namespace runnel::broker {

void LocalClients::Add(uint64_t id, LocalClient* client) {
  CacheSlot& slot = cache_[id % kCacheSlots];
  if (slot.id == id) slot = {};
  clients_[id] = client;
  count_.store(clients_.size(), std::memory_order_relaxed);
}

void LocalClients::Remove(uint64_t id) {
  CacheSlot& slot = cache_[id % kCacheSlots];
  if (slot.id == id) slot = {};
  clients_.erase(id);
  count_.store(clients_.size(), std::memory_order_relaxed);
}

LocalClient* LocalClients::Find(uint64_t id) const {
  CacheSlot& slot = cache_[id % kCacheSlots];
  if (slot.id == id && slot.client != nullptr) return slot.client;
  auto it = clients_.find(id);
  if (it == clients_.end()) return nullptr;
  slot = {id, it->second};
  return it->second;
}

void LocalClients::Deliver(std::span<const Delivery> deliveries) {
  touched_ids_.clear();
  uint64_t last = 0;
  LocalClient* last_client = nullptr;
  for (const Delivery& d : deliveries) {
    // Consecutive deliveries often share a subscriber (a pipeline of
    // publishes to one channel): skip the hash probe for those.
    if (d.subscriber != last || last_client == nullptr) {
      last = d.subscriber;
      last_client = Find(d.subscriber);
      if (last_client == nullptr) continue;
      touched_ids_.push_back(d.subscriber);
    }
    last_client->Deliver(d);
  }
  // EndDeliveries may close a client (output limit), which removes it: look
  // each up again rather than keeping pointers across those calls.
  std::sort(touched_ids_.begin(), touched_ids_.end());
  touched_ids_.erase(std::unique(touched_ids_.begin(), touched_ids_.end()), touched_ids_.end());
  for (uint64_t id : touched_ids_) {
    if (LocalClient* c = Find(id)) c->EndDeliveries();
  }
}

void LocalClients::Cron(std::chrono::steady_clock::time_point now) {
  // A client may close itself (and Remove) inside Cron: iterate a copy.
  touched_ids_.clear();
  for (const auto& [id, c] : clients_) touched_ids_.push_back(id);
  for (uint64_t id : touched_ids_) {
    if (LocalClient* c = Find(id)) c->Cron(now);
  }
}

void LocalClients::Shutdown() {
  touched_ids_.clear();
  for (const auto& [id, c] : clients_) touched_ids_.push_back(id);
  for (uint64_t id : touched_ids_) {
    if (LocalClient* c = Find(id)) c->Shutdown();
  }
}

}  // namespace runnel::broker
