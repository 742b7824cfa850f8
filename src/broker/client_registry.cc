#include "broker/client_registry.h"

namespace runnel::broker {

bool ClientRegistry::Add(std::shared_ptr<ClientEntry> entry) {
  std::lock_guard lock(mu_);
  if (static_cast<int64_t>(clients_.size()) >= max_clients_.load()) {
    rejected_++;
    return false;
  }
  total_++;
  clients_[entry->id] = std::move(entry);
  return true;
}

void ClientRegistry::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  clients_.erase(id);
}

std::shared_ptr<ClientEntry> ClientRegistry::Find(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ClientEntry>> ClientRegistry::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ClientEntry>> out;
  out.reserve(clients_.size());
  for (const auto& [id, e] : clients_) out.push_back(e);
  return out;
}

size_t ClientRegistry::size() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

bool ClientRegistry::Kill(uint64_t id) {
  std::shared_ptr<ClientEntry> e = Find(id);
  return e && e->PostKill();
}

}  // namespace runnel::broker
