// ProducerImpl: runnel::Producer over a topic's PartitionWriters.
//
// Records are validated and encoded on the caller's thread (so producers
// encode in parallel), split into batches of at most max_message_bytes, and
// handed to the partition's writer as one request, which keeps their offsets
// consecutive. Thread-safe.
#pragma once

#include <memory>

#include "runnel/log.h"
#include "storage/log_impl.h"

namespace runnel::storage {

class ProducerImpl final : public Producer {
 public:
  explicit ProducerImpl(std::shared_ptr<TopicHandle> topic) : topic_(std::move(topic)) {}

  Result<int64_t> Append(int32_t partition, std::span<const RecordView> records) override;
  void AppendAsync(int32_t partition, std::span<const RecordView> records,
                   AppendCallback done) override;
  void AppendRawAsync(int32_t partition, std::string batch, AppendCallback done) override;
  Status Flush() override;
  int32_t partitions() const override { return topic_->config.partitions; }
  int32_t max_message_bytes() const override { return topic_->config.max_message_bytes; }

 private:
  Result<int32_t> ChoosePartition(int32_t partition, std::span<const RecordView> records);

  std::shared_ptr<TopicHandle> topic_;
};

// Kafka's murmur2 (as its default partitioner uses), for key -> partition.
uint32_t Murmur2(std::string_view data);

}  // namespace runnel::storage
