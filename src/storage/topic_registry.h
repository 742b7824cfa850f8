// TopicRegistry: the topic configs of a data directory, kept in the internal
// compacted topic meta/topics (partition 0). See docs/format/meta.md.
//
// Record key = raw topic name; value = the config as "field=value\n" lines
// (null value = the topic was deleted). The registry replays that topic to
// learn what other processes created or deleted: CatchUp() reads whatever was
// published since the last call. Create and delete run under the admin lock
// (meta/admin.lock) so the check-then-append is atomic across processes.
//
// Thread safety: callers hold the Log's registry mutex.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "runnel/options.h"
#include "runnel/status.h"

namespace runnel {
class Env;
class FileLock;
}  // namespace runnel

namespace runnel::storage {

class CommitPool;
class PartitionReader;
class PartitionWriter;
class TailWatcher;

std::string EncodeTopicConfig(const TopicConfig& config);
Result<TopicConfig> DecodeTopicConfig(std::string_view text);

// Checks a topic name: 1..kMaxTopicNameBytes bytes, no NUL.
Status ValidateTopicName(std::string_view name);

class TopicRegistry {
 public:
  TopicRegistry(Env* env, std::string data_dir, CommitPool* pool,
                std::shared_ptr<TailWatcher> watcher);
  ~TopicRegistry();

  Status Open();
  // Reads meta records published since the last call.
  Status CatchUp();
  const std::map<std::string, TopicConfig, std::less<>>& topics() const { return topics_; }

  // The admin lock, held across a check-then-act on the topic set.
  Result<std::unique_ptr<FileLock>> LockAdmin();
  // Appends a config (or a tombstone when config is null) durably.
  Status Put(std::string_view name, const TopicConfig* config);

 private:
  Env* const env_;
  const std::string data_dir_;
  CommitPool* const pool_;
  std::shared_ptr<TailWatcher> watcher_;
  std::shared_ptr<PartitionWriter> writer_;
  std::unique_ptr<PartitionReader> reader_;
  std::map<std::string, TopicConfig, std::less<>> topics_;
};

}  // namespace runnel::storage
