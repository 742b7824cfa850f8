// StewardLoop: the broker's background steward (DESIGN §4 "Steward"). One
// thread that runs Log::RunSteward() — retention, compaction and freeing
// the segments below each partition's log start offset (DeleteRecords,
// stream trims) — every `interval`, first one interval after start. A
// failed pass is logged and retried at the next interval. Each pass works
// under each partition's writer lock, next to appends in any process.
//
// Owned by the Server; destroyed (stopping and joining the thread, after
// any pass in progress ends) before the Log. Stop() may be called from any
// thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace runnel {
class Log;
}

namespace runnel::server {

class StewardLoop {
 public:
  // `log` must outlive the loop. interval must be > 0.
  StewardLoop(Log* log, std::chrono::milliseconds interval);
  ~StewardLoop();
  StewardLoop(const StewardLoop&) = delete;
  StewardLoop& operator=(const StewardLoop&) = delete;

  void Stop();

 private:
  void Run();

  Log* const log_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace runnel::server
