#include "broker/streams/log_start_mover.h"

#include "runnel/log.h"

#include <utility>
#include <vector>

namespace runnel::broker::streams {

LogStartMover::LogStartMover(Log* log) : log_(log) {
  thread_ = std::thread([this] { Run(); });
}

LogStartMover::~LogStartMover() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LogStartMover::Register(const std::string& topic, uint64_t token) {
  std::lock_guard lock(mu_);
  tokens_[topic] = token;
}

void LogStartMover::Raise(const std::string& topic, uint64_t token, int64_t offset) {
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(topic);
    if (it == tokens_.end() || it->second != token) return;
    int64_t& want = pending_[topic];
    want = std::max(want, offset);
  }
  cv_.notify_all();
}

void LogStartMover::Purge(const std::string& topic, uint64_t token,
                          const std::vector<int64_t>& offsets) {
  if (offsets.empty()) return;
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(topic);
    if (it == tokens_.end() || it->second != token) return;
    purges_[topic].insert(offsets.begin(), offsets.end());
  }
  cv_.notify_all();
}

void LogStartMover::Forget(const std::string& topic) {
  std::lock_guard run(run_mu_);
  std::lock_guard lock(mu_);
  tokens_.erase(topic);
  pending_.erase(topic);
  purges_.erase(topic);
  waiting_.erase(topic);
}

void LogStartMover::Flush() {
  std::unique_lock lock(mu_);
  ++flush_waiters_;
  cv_.notify_all();
  idle_cv_.wait(lock, [this] { return pending_.empty() && purges_.empty() && !running_; });
  --flush_waiters_;
}

void LogStartMover::Run() {
  std::unique_lock lock(mu_);
  auto work = [this] { return stopping_ || !pending_.empty() || !purges_.empty(); };
  for (;;) {
    if (waiting_.empty()) {
      cv_.wait(lock, work);
    } else if (!cv_.wait_for(lock, kPurgeRetry, work)) {
      // Purges that waited for their segment to roll: try again.
      for (auto& [topic, offsets] : waiting_) purges_[topic].insert(offsets.begin(), offsets.end());
      waiting_.clear();
    }
    if (pending_.empty() && purges_.empty()) {
      if (stopping_) return;  // nothing left (waiting purges are redone at the next load)
      continue;
    }
    // Let raises gather (a trimmed XADD raises on every append), unless
    // someone waits or we are stopping.
    if (!stopping_ && flush_waiters_ == 0) {
      cv_.wait_for(lock, kMinGap, [this] { return stopping_ || flush_waiters_ > 0; });
    }
    running_ = true;
    lock.unlock();
    for (;;) {
      // One topic at a time under run_mu_, so Forget can wait for it.
      std::unique_lock run(run_mu_);
      std::pair<std::string, int64_t> next;
      {
        std::lock_guard l(mu_);
        if (pending_.empty()) break;
        auto it = pending_.begin();
        next = {it->first, it->second};
        pending_.erase(it);
      }
      // Failures are left for the next raise or the stream's next load:
      // a topic deleted meanwhile (kNotFound), a full disk. The offset is
      // never past the end: the store only asks for offsets it committed.
      (void)log_->DeleteRecordsBefore(next.first, 0, next.second);
    }
    for (;;) {
      std::unique_lock run(run_mu_);
      std::string topic;
      std::vector<int64_t> offsets;
      {
        std::lock_guard l(mu_);
        if (purges_.empty()) break;
        auto it = purges_.begin();
        topic = it->first;
        offsets.assign(it->second.begin(), it->second.end());
        purges_.erase(it);
      }
      // A failure (topic deleted, disk full) drops them: the stream's next
      // load asks again for every deleted offset.
      auto not_yet = log_->PurgeRecords(topic, 0, offsets);
      if (not_yet.ok() && !not_yet->empty()) {
        std::lock_guard l(mu_);
        if (tokens_.count(topic)) waiting_[topic].insert(not_yet->begin(), not_yet->end());
      }
    }
    lock.lock();
    running_ = false;
    idle_cv_.notify_all();
  }
}

}  // namespace runnel::broker::streams
