#include "protocol/kafka/fetch_waiters.h"

namespace runnel::kafka {

uint64_t FetchWaiters::Version(const Key& key) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(key);
  return it == slots_.end() ? 0 : it->second.version;
}

bool FetchWaiters::Register(uint64_t id, const std::vector<Key>& keys,
                            const std::vector<uint64_t>& seen, std::function<void()> wake) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = slots_.find(keys[i]);
    if ((it == slots_.end() ? 0 : it->second.version) != seen[i]) return false;
  }
  for (const Key& k : keys) slots_[k].waiters.emplace(id, wake);
  return true;
}

void FetchWaiters::Cancel(uint64_t id, const std::vector<Key>& keys) {
  std::lock_guard lock(mu_);
  for (const Key& k : keys) {
    auto it = slots_.find(k);
    if (it != slots_.end()) it->second.waiters.erase(id);
  }
}

void FetchWaiters::Notify(std::string_view topic, int32_t partition) {
  std::map<uint64_t, std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    Slot& slot = slots_[Key(std::string(topic), partition)];
    slot.version++;
    woken.swap(slot.waiters);
  }
  for (auto& [id, wake] : woken) wake();
}

size_t FetchWaiters::waiting() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& [k, s] : slots_) n += s.waiters.size();
  return n;
}

}  // namespace runnel::kafka
