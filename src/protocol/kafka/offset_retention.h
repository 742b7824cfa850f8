// OffsetRetention: Kafka's offsets retention (offsets.retention.minutes,
// KIP-211) as a periodic check, like Kafka's offsets.retention.check.interval.ms.
// Each pass asks the OffsetStore to expire what has run out (the rules are
// in OffsetStore::Expire) using the coordinator's view of which groups are
// Empty, and then forgets in the coordinator every group left with no
// offsets (an Empty group without offsets is gone, as in Kafka).
//
// Threading: Start() runs one thread that sleeps between passes; RunOnce may
// be called from any thread (tests call it with a clock of their own and
// never Start()). Lock order: the store's append lock, then the
// coordinator's (offset_store.h).
//
// Lifecycle: `store` and `groups` must outlive it; the destructor stops the
// thread.
#pragma once

#include "protocol/kafka/group_coordinator.h"
#include "protocol/kafka/offset_store.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace runnel::kafka {

struct RetentionSettings {
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes = 10080
  int64_t check_interval_ms = 600000;             // offsets.retention.check.interval.ms
};

class OffsetRetention {
 public:
  OffsetRetention(OffsetStore* store, GroupCoordinator* groups, RetentionSettings settings)
      : store_(store), groups_(groups), settings_(settings) {}
  ~OffsetRetention();
  OffsetRetention(const OffsetRetention&) = delete;
  OffsetRetention& operator=(const OffsetRetention&) = delete;

  void Start();
  // One pass at wall-clock `now_ms`; returns the groups it forgot.
  std::vector<std::string> RunOnce(int64_t now_ms);

 private:
  OffsetStore* const store_;
  GroupCoordinator* const groups_;
  const RetentionSettings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runnel::kafka
