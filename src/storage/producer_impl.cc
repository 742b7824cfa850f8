#include "storage/producer_impl.h"

#include <future>

#include "storage/batch_format.h"
#include "storage/partition_writer.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace runnel {

size_t EncodedRecordBytes(const RecordView& record) {
  return storage::EncodedBatchSize(std::span<const RecordView>(&record, 1), 0);
}

}  // namespace runnel

namespace runnel::storage {
namespace {

// A record's share of a multi-record batch is at most its size alone minus
// the batch header, plus room for larger offset and timestamp deltas.
constexpr size_t kDeltaSlack = 4 + 9;

}  // namespace

uint32_t Murmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  auto length = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28c ^ length;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t i = 0;
  for (; i + 4 <= data.size(); i += 4) {
    uint32_t k = uint32_t{p[i]} | (uint32_t{p[i + 1]} << 8) | (uint32_t{p[i + 2]} << 16) |
                 (uint32_t{p[i + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (data.size() - i) {
    case 3:
      h ^= uint32_t{p[i + 2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{p[i + 1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t{p[i]};
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

Result<int32_t> ProducerImpl::ChoosePartition(int32_t partition,
                                              std::span<const RecordView> records) {
  const int32_t n = topic_->config.partitions;
  if (partition >= 0) {
    if (partition >= n) {
      return Status::NotFound("topic has " + std::to_string(n) + " partitions; no partition " +
                              std::to_string(partition));
    }
    return partition;
  }
  if (partition != -1) return Status::InvalidArgument("partition must be >= 0 or -1");
  if (!records.empty() && records[0].key) {
    return static_cast<int32_t>((Murmur2(*records[0].key) & 0x7fffffff) % static_cast<uint32_t>(n));
  }
  return static_cast<int32_t>(topic_->round_robin.fetch_add(1) % static_cast<uint32_t>(n));
}

void ProducerImpl::AppendAsync(int32_t partition, std::span<const RecordView> records,
                               AppendCallback done) {
  auto fail = [&](Status st) {
    if (done) done(std::move(st));
  };
  if (records.empty()) return fail(Status::InvalidArgument("append of zero records"));
  auto p = ChoosePartition(partition, records);
  if (!p.ok()) return fail(p.status());
  const size_t limit = static_cast<size_t>(topic_->config.max_message_bytes);
  const int64_t now = WallMillis();

  PartitionWriter& writer = *topic_->writers[static_cast<size_t>(*p)];
  AppendRequest req;
  req.bytes = writer.TakeBuffer();
  size_t group_start = 0, group_bytes = kBatchHeaderSize;
  auto close_group = [&](size_t end) {
    auto position = static_cast<uint32_t>(req.bytes.size());
    EncodeBatch(0, records.subspan(group_start, end - group_start), now, &req.bytes);
    req.batches.push_back({position, static_cast<int32_t>(end - group_start)});
    group_start = end;
    group_bytes = kBatchHeaderSize;
  };
  for (size_t i = 0; i < records.size(); ++i) {
    size_t alone = EncodedBatchSize(records.subspan(i, 1), now);
    if (alone > limit) {
      return fail(Status::TooLarge("record " + std::to_string(i) + " takes " +
                                   std::to_string(alone) + " bytes; topic '" + topic_->name +
                                   "' allows " + std::to_string(limit) +
                                   " (max_message_bytes); nothing was appended"));
    }
    size_t share = alone - kBatchHeaderSize + kDeltaSlack;
    if (i > group_start && group_bytes + share > limit) close_group(i);
    group_bytes += share;
  }
  close_group(records.size());
  req.done = std::move(done);
  writer.Submit(std::move(req));
}

void ProducerImpl::AppendRawAsync(int32_t partition, std::string batch, AppendCallback done) {
  auto fail = [&](Status st) {
    if (done) done(std::move(st));
  };
  if (partition < 0 || partition >= topic_->config.partitions) {
    return fail(Status::NotFound("topic '" + topic_->name + "' has no partition " +
                                 std::to_string(partition)));
  }
  // The limit is on a record encoded alone; a batch of several may be bigger
  // by its header, as Kafka's message.max.bytes (1048588) exceeds 1 MiB.
  const size_t limit = static_cast<size_t>(topic_->config.max_message_bytes) + kBatchHeaderSize;
  BatchHeader h;
  Status st = ValidateProducedBatch(batch, limit, &h);
  if (!st.ok()) return fail(std::move(st));
  AppendRequest req;
  req.bytes = std::move(batch);
  req.batches.push_back({0, h.last_offset_delta + 1});
  req.producer = ProducerBatch::From(h);
  if (req.producer.idempotent() && (req.producer.epoch < 0 || req.producer.first_seq < 0)) {
    return fail(Status::InvalidArgument("batch has producer id " +
                                        std::to_string(h.producer_id) +
                                        " but no epoch or base sequence"));
  }
  req.done = std::move(done);
  topic_->writers[static_cast<size_t>(partition)]->Submit(std::move(req));
}

Result<int64_t> ProducerImpl::Append(int32_t partition, std::span<const RecordView> records) {
  std::promise<Result<int64_t>> promise;
  auto future = promise.get_future();
  AppendAsync(partition, records, [&promise](Result<int64_t> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Status ProducerImpl::Flush() {
  for (auto& w : topic_->writers) w->Flush();
  return Status::OK();
}

}  // namespace runnel::storage
