// Wall-clock and monotonic time helpers.
#pragma once

#include <chrono>
#include <cstdint>

namespace runnel {

// Milliseconds since the Unix epoch (record timestamps).
inline int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Monotonic nanoseconds (latency measurement, comparable across processes
// on one host: CLOCK_MONOTONIC).
inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace runnel
