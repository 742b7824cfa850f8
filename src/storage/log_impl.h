// LogImpl: runnel::Log over a data directory (include/runnel/log.h).
//
// Owns the commit pool, the tail watcher, the topic registry and one
// PartitionWriter per partition that this process has produced to. A
// background thread ticks interval fsyncs.
//
// Locking: mu_ guards topics_ and the registry. It is never held while
// waiting for a commit, except in CreateTopic/DeleteTopic, which also hold
// the cross-process admin lock (taken after mu_; see docs/locking.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runnel/log.h"

namespace runnel::storage {

class CommitPool;
class PartitionWriter;
class ProducerStateTable;
class TailWatcher;
class TopicRegistry;

// What a Producer holds: the topic's config and its partitions' writers.
struct TopicHandle {
  std::string name;
  std::string dir;
  TopicConfig config;
  std::vector<std::shared_ptr<PartitionWriter>> writers;
  std::atomic<uint32_t> round_robin{0};
};

class LogImpl final : public Log {
 public:
  LogImpl(Env* env, std::string dir, Options options);
  ~LogImpl() override;

  Status Init();

  Status CreateTopic(std::string_view name, const TopicConfig& config) override;
  Status CreatePartitions(std::string_view name, int32_t new_total) override;
  Result<std::vector<TopicInfo>> ListTopics() override;
  Result<TopicInfo> DescribeTopic(std::string_view name) override;
  Status DeleteTopic(std::string_view name) override;
  Result<std::unique_ptr<Producer>> NewProducer(std::string_view topic, bool auto_create) override;
  Result<std::unique_ptr<Reader>> NewReader(std::string_view topic, int32_t partition,
                                            StartPosition start) override;
  Result<std::vector<int64_t>> PurgeRecords(std::string_view topic, int32_t partition,
                                            std::span<const int64_t> offsets) override;
  Result<int64_t> DeleteRecordsBefore(std::string_view topic, int32_t partition,
                                      int64_t offset) override;
  void SetAppendListener(AppendListener listener) override;
  Status RunSteward() override;
  const std::string& dir() const override { return dir_; }

 private:
  Status CreateTopicLocked(std::string_view name, const TopicConfig& config);
  Result<std::shared_ptr<TopicHandle>> HandleLocked(std::string_view name);
  Result<TopicConfig> ConfigLocked(std::string_view name);
  void TickLoop();

  Env* const env_;
  const std::string dir_;
  const Options options_;
  std::unique_ptr<CommitPool> pool_;
  std::shared_ptr<TailWatcher> watcher_;

  // The append listener, shared with every writer's publish hook.
  struct ListenerSlot {
    std::mutex mu;
    AppendListener fn;
  };
  std::shared_ptr<ListenerSlot> listener_ = std::make_shared<ListenerSlot>();

  std::mutex mu_;
  std::unique_ptr<TopicRegistry> registry_;
  std::map<std::string, std::shared_ptr<TopicHandle>, std::less<>> handles_;
  // Idempotent-producer state by partition directory: one table per
  // partition whichever TopicHandle's writer commits (a handle is replaced
  // when the topic's config changes). Dropped with the topic.
  std::map<std::string, std::shared_ptr<ProducerStateTable>> producer_states_;

  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace runnel::storage
