// The Kafka client side `runnel bench kafka` needs, and nothing more: it
// ENCODES the requests (Metadata, CreateTopics, DeleteTopics, Produce, Fetch)
// and DECODES their responses, the mirror image of the server's codec
// (src/protocol/kafka/messages.h), over the same primitives
// (src/protocol/kafka/wire.h). No I/O here, so the unit tests
// (kafka_bench_client_test.cc) check it byte by byte.
//
// Versions are fixed, the ones librdkafka 2.0 negotiates with runnel
// (docs/protocols/kafka.md), none of them flexible: every request has header
// v1 and every response header v0 (size, correlation id).
//
// ProduceBatch keeps one magic-2 RecordBatch (storage/batch_format.h) that is
// built once and then refreshed in place for each send: timestamps, the
// records' stamps and the CRC-32C, so a producer sends real, valid batches at
// the cost of one CRC pass, not one encode, per batch.
#pragma once

#include "runnel/status.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::cli {

inline constexpr int16_t kKafkaProduceVersion = 7;
inline constexpr int16_t kKafkaFetchVersion = 11;
inline constexpr int16_t kKafkaMetadataVersion = 4;  // v4: auto-creation can be declined
inline constexpr int16_t kKafkaCreateTopicsVersion = 1;
inline constexpr int16_t kKafkaDeleteTopicsVersion = 0;

// Kafka error codes the tool acts on (the rest are only counted).
inline constexpr int16_t kKafkaNone = 0;
inline constexpr int16_t kKafkaUnknownTopicOrPartition = 3;
inline constexpr int16_t kKafkaTopicAlreadyExists = 36;

// ---- Requests -------------------------------------------------------------------
//
// Each Append* adds one whole frame (int32 size, header v1 with client id
// "runnel-bench", body) to *out.

void AppendMetadataRequest(std::string* out, int32_t correlation_id,
                           std::span<const std::string> topics);
void AppendCreateTopicsRequest(std::string* out, int32_t correlation_id, std::string_view topic,
                               int32_t partitions, int32_t timeout_ms);
void AppendDeleteTopicsRequest(std::string* out, int32_t correlation_id, std::string_view topic,
                               int32_t timeout_ms);

struct ProducePartition {
  int32_t partition = 0;
  std::string_view batch;  // one RecordBatch
};
void AppendProduceRequest(std::string* out, int32_t correlation_id, int16_t acks,
                          int32_t timeout_ms, std::string_view topic,
                          std::span<const ProducePartition> partitions);
// Where AppendProduceRequest puts partition i's batch, relative to the
// frame's start, for a request of these partitions' batch sizes: so a
// prebuilt request can be refreshed in place.
std::vector<size_t> ProduceBatchOffsets(std::string_view topic,
                                        std::span<const ProducePartition> partitions);
// Overwrites the correlation id of the frame at `frame` (written by Append*).
void SetCorrelationId(char* frame, int32_t correlation_id);

struct FetchPartition {
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
};
void AppendFetchRequest(std::string* out, int32_t correlation_id, int32_t max_wait_ms,
                        int32_t min_bytes, int32_t max_bytes, std::string_view topic,
                        std::span<const FetchPartition> partitions);

// ---- Responses ------------------------------------------------------------------

// The response frame at the front of `input`: kFrame sets *correlation_id,
// *body (after the header) and *used (bytes to drop); kNeedMore sets *used
// to the total bytes needed when the size is known (else 0); kBad: a size
// that is negative, too small or over max_bytes.
enum class ResponseFrame : uint8_t { kFrame, kNeedMore, kBad };
ResponseFrame NextResponse(std::string_view input, size_t max_bytes, int32_t* correlation_id,
                           std::string_view* body, size_t* used);

struct MetadataTopic {
  std::string name;
  int16_t error = 0;
  std::vector<int32_t> partitions;  // indexes, as listed
};
struct MetadataResult {
  std::vector<MetadataTopic> topics;
};
bool DecodeMetadataResponse(std::string_view body, MetadataResult* out);

struct TopicError {
  std::string name;
  int16_t error = 0;
  std::string message;  // CreateTopics v1; empty when null
};
bool DecodeCreateTopicsResponse(std::string_view body, std::vector<TopicError>* out);
bool DecodeDeleteTopicsResponse(std::string_view body, std::vector<TopicError>* out);

struct ProducedPartition {
  int32_t partition = 0;
  int16_t error = 0;
  int64_t base_offset = -1;
};
// One topic's partitions (the tool sends one topic per request); false if
// the body does not parse or names another topic or more than one.
bool DecodeProduceResponse(std::string_view body, std::string_view topic,
                           std::vector<ProducedPartition>* out);

struct FetchedPartition {
  int32_t partition = 0;
  int16_t error = 0;
  int64_t high_watermark = -1;
  std::string_view records;  // views into the body; empty when null
};
// The top-level error (v7+) in *error; one topic's partitions as above.
bool DecodeFetchResponse(std::string_view body, std::string_view topic, int16_t* error,
                         std::vector<FetchedPartition>* out);

// ---- Record batches ---------------------------------------------------------------

// One uncompressed RecordBatch of `count` records of `value_bytes` each
// (no key, no headers, timestamp deltas 0, offset deltas 0..count-1), base
// offset 0 (the broker assigns it).
class ProduceBatch {
 public:
  ProduceBatch(int32_t count, size_t value_bytes);

  std::string_view bytes() const { return bytes_; }
  int32_t count() const { return static_cast<int32_t>(value_at_.size()); }
  // Record i's value, to write a stamp into before Seal().
  char* value(int32_t i) { return bytes_.data() + value_at_[static_cast<size_t>(i)]; }

  // Sets the batch's timestamps to now_ms and recomputes its CRC-32C.
  // `batch` is where the batch lives (a copy inside a request buffer, or
  // bytes() itself): values written there are what the CRC covers.
  static void Seal(char* batch, size_t size, int64_t now_ms);
  // The offsets of the values relative to the batch start.
  std::span<const size_t> value_offsets() const { return value_at_; }

 private:
  std::string bytes_;
  std::vector<size_t> value_at_;
};

// What Walk() found in a partition's fetched records.
struct WalkResult {
  int64_t batches = 0;
  int64_t records = 0;
  int64_t bytes = 0;  // whole batches, as stored
};

// Walks the whole batches of `records` (a fetch may end inside a batch: that
// tail is ignored, as clients do), requiring each to start at *next_offset
// and moving it past each. Batches wholly before *next_offset are skipped (a
// fetch from inside a batch returns it whole). With `check_crc` each batch's
// CRC is verified. With `values` set, every record's value is decoded and
// handed to it (uncompressed batches only). kCorruption names the offset
// and the problem: a gap, a bad header, a bad CRC, a record that does not
// decode.
class ValueSink {
 public:
  virtual ~ValueSink() = default;
  virtual void Value(int64_t offset, std::string_view value) = 0;
};
Status WalkBatches(std::string_view records, bool check_crc, ValueSink* values,
                   int64_t* next_offset, WalkResult* result);

}  // namespace runnel::cli
