// `runnel bench log`: throughput and tail latency of the embedded log, through
// the public API only (see bench_log.cc for the workloads).
//
// This header also holds the pieces that need no disk — flag parsing, the
// arithmetic of a cell and of a result (bench_log_params.cc) — so
// bench_log_test.cc can check them alone; the runs themselves are in
// bench_log.cc (append, read) and bench_log_tail.cc (cross-process tail).
#pragma once

#include "runnel/options.h"
#include "runnel/status.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace runnel::cli {

// Adds `log` (and the hidden `log-tail-child`) under `runnel bench`.
void RegisterBenchLog(CLI::App* bench);

// Records per append when --batch is 0: about this many value bytes, so a
// 100 B record goes out 655 to an append and a 64 KiB one alone. 64 KiB is
// big enough that the per-append cost (a callback, a queue entry) vanishes
// next to the copy, and small enough that 64 in flight stay in L2/L3.
inline constexpr int64_t kAutoBatchBytes = 64 << 10;

// "100,1024,64k,1m": positive byte counts, k = KiB, m = MiB.
Result<std::vector<int64_t>> ParseSizeList(std::string_view text);
// "1,8": positive integers.
Result<std::vector<int>> ParseCountList(std::string_view text);
// "always,interval:1000,never" (each as FsyncSpec::Parse takes it).
Result<std::vector<FsyncSpec>> ParseFsyncList(std::string_view text);
// "append,read,tail" (any subset, any order, no repeats).
Result<std::vector<std::string>> ParseWorkloadList(std::string_view text);

// Records per append: `batch` if positive, else about kAutoBatchBytes worth.
int64_t RecordsPerAppend(int64_t batch, int64_t record_size);

// How many appends producer i of n keeps in flight so the total is
// `in_flight` (the first in_flight % n get one more); at least 1 each.
std::vector<int> SplitInFlight(int in_flight, int producers);

// Bounds the appends one thread keeps in flight: Acquire() before each
// AppendAsync, Release() from its callback (on a writer thread). A mutex and
// a condition variable rather than std::atomic::wait, whose spinning with
// sched_yield took a core from the writer on a 2-core machine; and Release()
// notifies under the lock, so the window may be destroyed as soon as
// WaitEmpty() has returned.
class InFlightWindow {
 public:
  explicit InFlightWindow(int limit) : limit_(limit < 1 ? 1 : limit) {}
  InFlightWindow(const InFlightWindow&) = delete;
  InFlightWindow& operator=(const InFlightWindow&) = delete;

  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ < limit_; });
    ++in_flight_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();  // the one waiter is Acquire or WaitEmpty
  }
  void WaitEmpty() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
  }
  int in_flight() {
    std::lock_guard lock(mu_);
    return in_flight_;
  }

 private:
  const int limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
};

// What one run of one cell measured.
struct Throughput {
  int64_t records = 0;
  int64_t value_bytes = 0;  // sum of the record values (the user's payload)
  double seconds = 0;

  double records_per_second() const { return seconds > 0 ? records / seconds : 0; }
  // Megabytes (10^6 bytes) of values per second, as fio and dd count.
  double megabytes_per_second() const { return seconds > 0 ? value_bytes / seconds / 1e6 : 0; }
};

}  // namespace runnel::cli
