// LogStartMover: raises stream topics' log start offsets
// (Log::DeleteRecordsBefore) to their first live entry, on its own thread,
// so that the steward frees the segments that trims (XTRIM, XADD MAXLEN /
// MINID) and XDELs of the first entries left behind — without an io or
// storage writer thread ever waiting for the fsyncs that takes.
//
// The StreamStore asks for a raise only once the meta event that moved the
// stream's start is durable (docs/format/streams-meta.md), so the log never
// forgets records that the stream's durable state still counts as live.
// Raises are coalesced per topic (the largest offset wins) and applied at
// most every kMinGap, since the steward frees disk only every pass anyway.
//
// A stream is registered under a token when it is loaded; a raise carrying
// another token (a stream since deleted) is dropped. Forget(), called by DEL
// before the topic is deleted, also waits out a raise in progress for the
// name, so nothing of an old stream ever reaches a new topic of that name.
//
// Purges: XDEL of entries in the middle asks for their records to be
// removed for good (Log::PurgeRecords rewrites the sealed segments holding
// them), also once the XDEL event is durable. Offsets still in the active
// segment come back from the log and are asked again every kPurgeRetry;
// pending purges are not persisted — the stream's next load asks again for
// every deleted offset it knows.
//
// Threads: Register/Raise/Purge/Forget from any thread; Raise never waits for disk
// (it may be called from storage writer threads). Lock order: Stream::mu →
// run_mu_ → mu_. The destructor applies what is pending, then joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace runnel {
class Log;
}

namespace runnel::broker::streams {

class LogStartMover {
 public:
  static constexpr std::chrono::milliseconds kMinGap{100};
  static constexpr std::chrono::milliseconds kPurgeRetry{5000};

  // `log` must outlive the mover.
  explicit LogStartMover(Log* log);
  ~LogStartMover();
  LogStartMover(const LogStartMover&) = delete;
  LogStartMover& operator=(const LogStartMover&) = delete;

  // The live stream object of `topic` is now the one with `token`.
  void Register(const std::string& topic, uint64_t token);
  // Asks for topic's partition 0 to start at `offset` (no-op for a stale token).
  void Raise(const std::string& topic, uint64_t token, int64_t offset);
  // Asks for the records at `offsets` of topic's partition 0 to be removed
  // (no-op for a stale token).
  void Purge(const std::string& topic, uint64_t token, const std::vector<int64_t>& offsets);
  // Unregisters `topic`, drops its pending raise and waits for one in progress.
  void Forget(const std::string& topic);
  // Waits until every raise and purge asked before the call has been
  // applied (tests); purges waiting for their segment to roll excepted.
  void Flush();

 private:
  void Run();

  Log* const log_;
  std::mutex run_mu_;  // held while one raise runs
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, uint64_t> tokens_;  // guarded by mu_
  std::map<std::string, int64_t> pending_;            // guarded by mu_
  std::map<std::string, std::set<int64_t>> purges_;   // guarded by mu_: to do now
  std::map<std::string, std::set<int64_t>> waiting_;  // guarded by mu_: in an active segment
  bool stopping_ = false;
  bool running_ = false;  // a batch is being applied
  uint64_t flush_waiters_ = 0;
  std::condition_variable idle_cv_;
  std::thread thread_;
};

}  // namespace runnel::broker::streams
