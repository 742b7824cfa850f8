#include "server/steward_loop.h"

#include "runnel/log.h"

#include <spdlog/spdlog.h>

namespace runnel::server {

StewardLoop::StewardLoop(Log* log, std::chrono::milliseconds interval)
    : log_(log), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

StewardLoop::~StewardLoop() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void StewardLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void StewardLoop::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    lock.unlock();
    const auto began = std::chrono::steady_clock::now();
    Status st = log_->RunSteward();
    if (!st.ok()) {
      spdlog::warn("steward pass failed (retried in {} ms): {}", interval_.count(), st.ToString());
    } else {
      spdlog::debug("steward pass done in {} ms",
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count());
    }
    lock.lock();
  }
}

}  // namespace runnel::server
