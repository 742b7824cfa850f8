// Options for opening a data directory and configuring topics.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runnel/status.h"

namespace runnel {

class Env;  // file-system seam (src/util/env.h); tests pass a fault-injecting one

// When an append is acknowledged relative to the disk.
//   kAlways:   after fdatasync of the log (group commit amortises the sync).
//   kInterval: after write(); the log is fdatasync'ed every interval_ms.
//   kNever:    after write(); the OS decides when to flush.
// Under every policy an acknowledged record survives kill -9 of any process
// (it is in the page cache); only kAlways survives power loss.
enum class FsyncPolicy : uint8_t { kAlways, kInterval, kNever };

struct FsyncSpec {
  FsyncPolicy policy = FsyncPolicy::kInterval;
  int64_t interval_ms = 1000;

  // Parses "always", "never", "interval:MS" (also "interval=MS").
  static Result<FsyncSpec> Parse(std::string_view text);
  std::string ToString() const;
  bool operator==(const FsyncSpec&) const = default;
};

inline constexpr int32_t kMaxTopicNameBytes = 1024;
inline constexpr int32_t kDefaultMaxMessageBytes = 1 << 20;
inline constexpr int32_t kMaxPartitions = 10000;

struct TopicConfig {
  int32_t partitions = 1;
  int64_t retention_ms = -1;     // delete sealed segments older than this; -1 keeps forever
  int64_t retention_bytes = -1;  // per partition; -1 = unlimited
  bool compact = false;          // keep only the newest record per key
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // how long compaction keeps tombstones
  FsyncSpec fsync;
  int32_t max_message_bytes = kDefaultMaxMessageBytes;  // largest record, encoded alone in a batch
  int64_t segment_bytes = 128LL << 20;                  // roll the active segment at this size
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;          // ... or at this age

  Status Validate() const;
  bool operator==(const TopicConfig&) const = default;
};

struct Options {
  // Create the directory (or initialise an empty one) when it is not yet a
  // data directory; false: such a directory is kNotFound, nothing is written.
  bool create_if_missing = true;
  // Topic config used when a producer auto-creates a topic.
  TopicConfig default_topic_config;
  // The file-system layer. nullptr = the real POSIX one. Not owned; must
  // outlive the Log.
  Env* env = nullptr;
};

}  // namespace runnel
