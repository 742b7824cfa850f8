#include "protocol/kafka/offset_retention.h"

#include "util/clock.h"

#include <chrono>

namespace runnel::kafka {

OffsetRetention::~OffsetRetention() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OffsetRetention::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(settings_.check_interval_ms),
                         [this] { return stop_; })) {
      lock.unlock();
      RunOnce(WallMillis());
      lock.lock();
    }
  });
}

std::vector<std::string> OffsetRetention::RunOnce(int64_t now_ms) {
  // Tombstones are appended without waiting. One that fails to append (a
  // storage error, which also stops later commits) leaves the offsets
  // readable and in the log: they are chosen again after a restart.
  std::vector<std::string> emptied = store_->Expire(
      now_ms, settings_.retention_ms, [this](const std::string& g) { return groups_->IsEmpty(g); },
      nullptr);
  std::vector<std::string> forgotten;
  for (const std::string& g : emptied) {
    // NON_EMPTY_GROUP if a member joined meanwhile: it stays.
    if (groups_->DeleteGroup(g) == ErrorCode::kNone) forgotten.push_back(g);
  }
  return forgotten;
}

}  // namespace runnel::kafka
