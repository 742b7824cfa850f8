#include "cli/kafka_bench_client.h"

#include "protocol/kafka/frame.h"
#include "protocol/kafka/wire.h"
#include "storage/batch_format.h"
#include "util/crc32c.h"

#include <cstring>

namespace runnel::cli {

namespace {

using kafka::Decoder;
using kafka::Encoder;

constexpr bool kFlex = false;  // no served version the tool uses is flexible
constexpr std::string_view kClientId = "runnel-bench";
constexpr int16_t kApiProduce = 0, kApiFetch = 1, kApiMetadata = 3, kApiCreateTopics = 19,
                  kApiDeleteTopics = 20;

// Header v1: api key, version, correlation id, client id. Returns the
// frame's start (its size is patched by Finish).
size_t Begin(std::string* out, int16_t api_key, int16_t version, int32_t correlation_id) {
  const size_t start = out->size();
  Encoder e(out);
  e.Int32(0);
  e.Int16(api_key);
  e.Int16(version);
  e.Int32(correlation_id);
  e.String(kClientId, kFlex);
  return start;
}

void Finish(std::string* out, size_t start) {
  Encoder(out).PatchInt32(start, static_cast<int32_t>(out->size() - start - 4));
}

void PutBE32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
void PutBE64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}

void ProduceBody(std::string_view topic, int16_t acks, int32_t timeout_ms,
                 std::span<const ProducePartition> partitions, std::string* out,
                 std::vector<size_t>* batch_at, size_t frame_start) {
  Encoder e(out);
  e.NullableString(std::nullopt, kFlex);  // transactional_id
  e.Int16(acks);
  e.Int32(timeout_ms);
  e.ArrayCount(1, kFlex);
  e.String(topic, kFlex);
  e.ArrayCount(static_cast<int32_t>(partitions.size()), kFlex);
  for (const ProducePartition& p : partitions) {
    e.Int32(p.partition);
    e.Int32(static_cast<int32_t>(p.batch.size()));
    if (batch_at != nullptr) batch_at->push_back(out->size() - frame_start);
    e.Raw(p.batch);
  }
}

}  // namespace

// ---- Requests -------------------------------------------------------------------

void AppendMetadataRequest(std::string* out, int32_t correlation_id,
                           std::span<const std::string> topics) {
  const size_t start = Begin(out, kApiMetadata, kKafkaMetadataVersion, correlation_id);
  Encoder e(out);
  e.ArrayCount(static_cast<int32_t>(topics.size()), kFlex);
  for (const std::string& t : topics) e.String(t, kFlex);
  e.Bool(false);  // allow_auto_topic_creation: a benchmark never creates by asking
  Finish(out, start);
}

void AppendCreateTopicsRequest(std::string* out, int32_t correlation_id, std::string_view topic,
                               int32_t partitions, int32_t timeout_ms) {
  const size_t start = Begin(out, kApiCreateTopics, kKafkaCreateTopicsVersion, correlation_id);
  Encoder e(out);
  e.ArrayCount(1, kFlex);
  e.String(topic, kFlex);
  e.Int32(partitions);
  e.Int16(1);              // replication_factor
  e.ArrayCount(0, kFlex);  // assignments
  e.ArrayCount(0, kFlex);  // configs: the server's defaults (its --fsync)
  e.Int32(timeout_ms);
  e.Bool(false);  // validate_only (v1)
  Finish(out, start);
}

void AppendDeleteTopicsRequest(std::string* out, int32_t correlation_id, std::string_view topic,
                               int32_t timeout_ms) {
  const size_t start = Begin(out, kApiDeleteTopics, kKafkaDeleteTopicsVersion, correlation_id);
  Encoder e(out);
  e.ArrayCount(1, kFlex);
  e.String(topic, kFlex);
  e.Int32(timeout_ms);
  Finish(out, start);
}

void AppendProduceRequest(std::string* out, int32_t correlation_id, int16_t acks,
                          int32_t timeout_ms, std::string_view topic,
                          std::span<const ProducePartition> partitions) {
  const size_t start = Begin(out, kApiProduce, kKafkaProduceVersion, correlation_id);
  ProduceBody(topic, acks, timeout_ms, partitions, out, nullptr, start);
  Finish(out, start);
}

std::vector<size_t> ProduceBatchOffsets(std::string_view topic,
                                        std::span<const ProducePartition> partitions) {
  // Encodes the request with empty stand-ins of the same sizes: offsets only
  // depend on the sizes.
  std::vector<std::string> stand_ins;
  std::vector<ProducePartition> sized;
  stand_ins.reserve(partitions.size());
  for (const ProducePartition& p : partitions) {
    stand_ins.emplace_back(p.batch.size(), '\0');
    sized.push_back({p.partition, stand_ins.back()});
  }
  std::string frame;
  std::vector<size_t> at;
  const size_t start = Begin(&frame, kApiProduce, kKafkaProduceVersion, 0);
  ProduceBody(topic, 0, 0, sized, &frame, &at, start);
  return at;
}

void SetCorrelationId(char* frame, int32_t correlation_id) {
  PutBE32(frame + 8, static_cast<uint32_t>(correlation_id));  // size, key, version, then it
}

void AppendFetchRequest(std::string* out, int32_t correlation_id, int32_t max_wait_ms,
                        int32_t min_bytes, int32_t max_bytes, std::string_view topic,
                        std::span<const FetchPartition> partitions) {
  const size_t start = Begin(out, kApiFetch, kKafkaFetchVersion, correlation_id);
  Encoder e(out);
  e.Int32(-1);  // replica_id: a consumer
  e.Int32(max_wait_ms);
  e.Int32(min_bytes);
  e.Int32(max_bytes);
  e.Int8(0);    // isolation_level: read uncommitted
  e.Int32(0);   // session_id: no fetch session (KIP-227)
  e.Int32(-1);  // session_epoch: a full fetch request
  e.ArrayCount(1, kFlex);
  e.String(topic, kFlex);
  e.ArrayCount(static_cast<int32_t>(partitions.size()), kFlex);
  for (const FetchPartition& p : partitions) {
    e.Int32(p.partition);
    e.Int32(-1);  // current_leader_epoch: unknown
    e.Int64(p.offset);
    e.Int64(-1);  // log_start_offset: followers only
    e.Int32(p.max_bytes);
  }
  e.ArrayCount(0, kFlex);  // forgotten_topics_data
  e.String("", kFlex);     // rack_id
  Finish(out, start);
}

// ---- Responses ------------------------------------------------------------------

ResponseFrame NextResponse(std::string_view input, size_t max_bytes, int32_t* correlation_id,
                           std::string_view* body, size_t* used) {
  std::string_view frame;
  size_t need = 0;
  switch (kafka::NextFrame(input, max_bytes, &frame, &need, /*min_bytes=*/4)) {
    case kafka::FrameStatus::kBad:
      return ResponseFrame::kBad;
    case kafka::FrameStatus::kNeedMore:
      *used = need > 4 ? need : 0;
      return ResponseFrame::kNeedMore;
    case kafka::FrameStatus::kFrame:
      break;
  }
  Decoder d(frame);
  *correlation_id = d.Int32();
  *body = frame.substr(4);
  *used = 4 + frame.size();
  return ResponseFrame::kFrame;
}

bool DecodeMetadataResponse(std::string_view body, MetadataResult* out) {
  // v4: throttle_time_ms, brokers [node_id, host, port, rack], cluster_id,
  // controller_id, topics [error, name, is_internal, partitions [error,
  // index, leader, replicas, isr]].
  Decoder d(body);
  d.Int32();
  const int32_t brokers = d.ArrayCount(kFlex, 10);
  for (int32_t b = 0; b < brokers && d.ok(); ++b) {
    d.Int32();
    d.String(kFlex);
    d.Int32();
    d.NullableString(kFlex);
  }
  d.NullableString(kFlex);  // cluster_id
  d.Int32();                // controller_id
  const int32_t topics = d.ArrayCount(kFlex, 9);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    MetadataTopic& topic = out->topics.emplace_back();
    topic.error = d.Int16();
    topic.name = std::string(d.String(kFlex));
    d.Bool();
    const int32_t parts = d.ArrayCount(kFlex, 18);
    for (int32_t p = 0; p < parts && d.ok(); ++p) {
      d.Int16();  // per-partition error: runnel's partitions have a leader or none exist
      topic.partitions.push_back(d.Int32());
      d.Int32();
      for (int k = 0; k < 2; ++k) {  // replicas, isr
        const int32_t n = d.ArrayCount(kFlex, 4);
        for (int32_t i = 0; i < n && d.ok(); ++i) d.Int32();
      }
    }
  }
  return d.ok() && d.remaining() == 0;
}

namespace {

bool DecodeTopicErrors(std::string_view body, bool with_message, std::vector<TopicError>* out) {
  Decoder d(body);
  const int32_t n = d.ArrayCount(kFlex, 4);
  for (int32_t i = 0; i < n && d.ok(); ++i) {
    TopicError& t = out->emplace_back();
    t.name = std::string(d.String(kFlex));
    t.error = d.Int16();
    if (with_message) t.message = std::string(d.NullableString(kFlex).value_or(""));
  }
  return d.ok() && d.remaining() == 0;
}

}  // namespace

bool DecodeCreateTopicsResponse(std::string_view body, std::vector<TopicError>* out) {
  return DecodeTopicErrors(body, kKafkaCreateTopicsVersion >= 1, out);
}

bool DecodeDeleteTopicsResponse(std::string_view body, std::vector<TopicError>* out) {
  return DecodeTopicErrors(body, false, out);
}

bool DecodeProduceResponse(std::string_view body, std::string_view topic,
                           std::vector<ProducedPartition>* out) {
  // v7: responses [name, partitions [index, error, base_offset,
  // log_append_time_ms, log_start_offset]], throttle_time_ms.
  Decoder d(body);
  if (d.ArrayCount(kFlex, 6) != 1) return false;
  if (d.String(kFlex) != topic) return false;
  const int32_t parts = d.ArrayCount(kFlex, 30);
  for (int32_t p = 0; p < parts && d.ok(); ++p) {
    ProducedPartition& r = out->emplace_back();
    r.partition = d.Int32();
    r.error = d.Int16();
    r.base_offset = d.Int64();
    d.Int64();
    d.Int64();
  }
  d.Int32();
  return d.ok() && d.remaining() == 0;
}

bool DecodeFetchResponse(std::string_view body, std::string_view topic, int16_t* error,
                         std::vector<FetchedPartition>* out) {
  // v11: throttle_time_ms, error_code, session_id, responses [topic,
  // partitions [index, error, high_watermark, last_stable_offset,
  // log_start_offset, aborted_transactions, preferred_read_replica,
  // records]].
  Decoder d(body);
  d.Int32();
  *error = d.Int16();
  d.Int32();
  const int32_t topics = d.ArrayCount(kFlex, 6);
  if (topics > 1) return false;
  if (topics == 1 && d.String(kFlex) != topic) return false;
  const int32_t parts = topics == 1 ? d.ArrayCount(kFlex, 42) : 0;
  for (int32_t p = 0; p < parts && d.ok(); ++p) {
    FetchedPartition& r = out->emplace_back();
    r.partition = d.Int32();
    r.error = d.Int16();
    r.high_watermark = d.Int64();
    d.Int64();
    d.Int64();
    const int32_t aborted = d.ArrayCount(kFlex, 16);
    for (int32_t a = 0; a < aborted && d.ok(); ++a) {
      d.Int64();
      d.Int64();
    }
    d.Int32();
    r.records = d.NullableBytes(kFlex).value_or(std::string_view());
  }
  return d.ok() && d.remaining() == 0;
}

// ---- Record batches ---------------------------------------------------------------

ProduceBatch::ProduceBatch(int32_t count, size_t value_bytes) {
  const std::string filler(value_bytes, 'x');
  std::vector<RecordView> records(static_cast<size_t>(count));
  for (RecordView& r : records) {
    r.timestamp_ms = 0;
    r.value = filler;
  }
  storage::EncodeBatch(0, records, 0, &bytes_);
  // Find the values with the project's own decoder rather than re-deriving
  // the record layout here.
  storage::BatchHeader header;
  std::vector<storage::DecodedRecord> decoded;
  std::vector<HeaderView> headers;
  if (storage::ParseBatchHeader(bytes_, &header).ok() &&
      storage::DecodeRecords(bytes_, header, &decoded, &headers).ok()) {
    for (const storage::DecodedRecord& r : decoded) {
      value_at_.push_back(static_cast<size_t>(r.value->data() - bytes_.data()));
    }
  }
}

void ProduceBatch::Seal(char* batch, size_t size, int64_t now_ms) {
  // base_timestamp and max_timestamp: every record has delta 0.
  PutBE64(batch + 27, static_cast<uint64_t>(now_ms));
  PutBE64(batch + 35, static_cast<uint64_t>(now_ms));
  const uint32_t crc =
      crc32c::Value(batch + storage::kAttributesOffset, size - storage::kAttributesOffset);
  PutBE32(batch + storage::kCrcOffset, crc);
}

Status WalkBatches(std::string_view records, bool check_crc, ValueSink* values,
                   int64_t* next_offset, WalkResult* result) {
  std::vector<storage::DecodedRecord> decoded;
  std::vector<HeaderView> headers;
  while (records.size() >= storage::kBatchHeaderSize) {
    storage::BatchHeader h;
    Status st = storage::ParseBatchHeader(records, &h);
    if (!st.ok()) {
      return Status::Corruption("batch after offset " + std::to_string(*next_offset) + ": " +
                                st.message());
    }
    if (records.size() < h.total_size()) break;  // the fetch ended inside this batch
    const std::string_view batch = records.substr(0, h.total_size());
    records.remove_prefix(h.total_size());
    if (h.next_offset() <= *next_offset) continue;  // already seen (fetched from inside it)
    if (h.base_offset != *next_offset) {
      return Status::Corruption("gap: expected offset " + std::to_string(*next_offset) +
                                ", the next batch starts at " + std::to_string(h.base_offset));
    }
    if (h.records_count != h.last_offset_delta + 1) {
      return Status::Corruption("batch at offset " + std::to_string(h.base_offset) + " holds " +
                                std::to_string(h.records_count) + " records for " +
                                std::to_string(h.last_offset_delta + 1) + " offsets");
    }
    if (check_crc && !storage::BatchCrcMatches(batch, h)) {
      return Status::Corruption("batch at offset " + std::to_string(h.base_offset) +
                                ": CRC-32C does not match");
    }
    if (values != nullptr) {
      decoded.clear();
      headers.clear();
      st = storage::DecodeRecords(batch, h, &decoded, &headers);
      if (!st.ok()) {
        return Status::Corruption("batch at offset " + std::to_string(h.base_offset) + ": " +
                                  st.message());
      }
      for (const storage::DecodedRecord& r : decoded) {
        values->Value(r.offset, r.value.value_or(std::string_view()));
      }
    }
    ++result->batches;
    result->records += h.records_count;
    result->bytes += static_cast<int64_t>(batch.size());
    *next_offset = h.next_offset();
  }
  return Status::OK();
}

}  // namespace runnel::cli
