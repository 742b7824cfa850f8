// The cross-process tail-latency workload of `runnel bench log` (see
// bench_log_tail.cc): this process appends, a child process of the same
// binary follows the topic and measures append -> observe.
#pragma once

#include "runnel/log.h"
#include "runnel/options.h"
#include "runnel/status.h"

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace runnel::cli {

struct TailParams {
  std::string dir;  // an empty directory of our own for the run's Log
  FsyncSpec fsync;
  int64_t size = 100;   // record value bytes, >= kStampBytes
  double rate = 10000;  // records per second, one record per append
  double seconds = 2;
};

struct TailResult {
  int64_t sent = 0;
  int64_t received = 0;  // by the child, within its deadline
  int64_t p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  // How far behind its schedule the appending loop fell at worst: when this
  // is large, the producer (not the log) limited the rate.
  int64_t max_behind_ns = 0;
};

// Runs one tail cell; the child is this binary (/proc/self/exe).
Result<TailResult> RunTailLatency(const TailParams& params);

// Adds the hidden `log-tail-child` under `runnel bench`: what RunTailLatency
// starts in the second process.
void RegisterBenchLogTailChild(CLI::App* bench);

}  // namespace runnel::cli
