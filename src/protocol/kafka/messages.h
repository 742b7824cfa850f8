// Request bodies runnel decodes and response bodies it encodes, one struct
// per API at the versions of api.cc (fields and versions as in Kafka's
// message schemas, reference/kafka.md §5). Decoders return false on a body
// that does not parse; views point into the request frame. Encoders append
// the body (not the header) for `version`.
#pragma once

#include "protocol/kafka/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

// ---- ApiVersions (18) v0-v3 -------------------------------------------------
struct ApiVersionsResponse {
  ErrorCode error = ErrorCode::kNone;
  std::vector<ApiRange> apis;
};
void EncodeApiVersions(const ApiVersionsResponse& r, int16_t version, std::string* out);

// ---- Metadata (3) v0-v4 -----------------------------------------------------
struct MetadataRequest {
  std::optional<std::vector<std::string_view>> topics;  // nullopt = all
  bool allow_auto_topic_creation = true;
};
bool DecodeMetadata(std::string_view body, int16_t version, MetadataRequest* out);

struct MetadataResponse {
  struct Partition {
    ErrorCode error = ErrorCode::kNone;
    int32_t index = 0;
  };
  struct Topic {
    ErrorCode error = ErrorCode::kNone;
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  std::string cluster_id;
  std::vector<Topic> topics;
};
void EncodeMetadata(const MetadataResponse& r, int16_t version, std::string* out);

// ---- Produce (0) v0-v7 ------------------------------------------------------
// v0-v2 carry a legacy message set (legacy_message_set.h) and no
// transactional_id; the response gains throttle_time_ms in v1 and
// log_append_time_ms in v2.
struct ProduceRequest {
  struct Partition {
    int32_t index = 0;
    std::optional<std::string_view> records;
  };
  struct Topic {
    std::string_view name;
    std::vector<Partition> partitions;
  };
  std::optional<std::string_view> transactional_id;
  int16_t acks = -1;
  int32_t timeout_ms = 0;
  std::vector<Topic> topics;
};
bool DecodeProduce(std::string_view body, int16_t version, ProduceRequest* out);

struct ProduceResponse {
  struct Partition {
    int32_t index = 0;
    ErrorCode error = ErrorCode::kNone;
    int64_t base_offset = -1;
    int64_t log_start_offset = -1;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
void EncodeProduce(const ProduceResponse& r, int16_t version, std::string* out);

// ---- Fetch (1) v4-v11 -------------------------------------------------------
struct FetchRequest {
  struct Partition {
    int32_t index = 0;
    int64_t fetch_offset = 0;
    int32_t partition_max_bytes = 0;
  };
  struct Topic {
    std::string_view name;
    std::vector<Partition> partitions;
  };
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;
  int8_t isolation_level = 0;
  std::vector<Topic> topics;
};
bool DecodeFetch(std::string_view body, int16_t version, FetchRequest* out);

struct FetchResponse {
  struct Partition {
    int32_t index = 0;
    ErrorCode error = ErrorCode::kNone;
    int64_t high_watermark = -1;
    int64_t log_start_offset = -1;
    std::string records;  // whole stored batches
    // > 0: the records are instead this many bytes the caller sends from
    // files right after the records length (zero-copy), and `records` is
    // unused.
    uint64_t file_bytes = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
// For each partition with file_bytes, in order, *file_at gets the position
// in *out where its file bytes belong (they are not counted in out->size()).
void EncodeFetch(const FetchResponse& r, int16_t version, std::string* out,
                 std::vector<size_t>* file_at = nullptr);

// ---- ListOffsets (2) v1-v2 --------------------------------------------------
struct ListOffsetsRequest {
  struct Partition {
    int32_t index = 0;
    int64_t timestamp = 0;  // -1 latest, -2 earliest, else ms
  };
  struct Topic {
    std::string_view name;
    std::vector<Partition> partitions;
  };
  int8_t isolation_level = 0;
  std::vector<Topic> topics;
};
bool DecodeListOffsets(std::string_view body, int16_t version, ListOffsetsRequest* out);

struct ListOffsetsResponse {
  struct Partition {
    int32_t index = 0;
    ErrorCode error = ErrorCode::kNone;
    int64_t timestamp = -1;
    int64_t offset = -1;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
void EncodeListOffsets(const ListOffsetsResponse& r, int16_t version, std::string* out);

// ---- FindCoordinator (10) v0-v2 ---------------------------------------------
struct FindCoordinatorRequest {
  std::string_view key;
  int8_t key_type = 0;
};
bool DecodeFindCoordinator(std::string_view body, int16_t version, FindCoordinatorRequest* out);

struct FindCoordinatorResponse {
  ErrorCode error = ErrorCode::kNone;
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
};
void EncodeFindCoordinator(const FindCoordinatorResponse& r, int16_t version, std::string* out);

// ---- CreateTopics (19) v0-v4 ------------------------------------------------
struct CreateTopicsRequest {
  struct Config {
    std::string_view name;
    std::optional<std::string_view> value;
  };
  struct Topic {
    std::string_view name;
    int32_t num_partitions = -1;
    int16_t replication_factor = -1;
    int32_t assignments = 0;  // count only: a single node takes any replica list of itself
    std::vector<Config> configs;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
};
bool DecodeCreateTopics(std::string_view body, int16_t version, CreateTopicsRequest* out);

struct TopicResult {
  std::string name;
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
};
void EncodeCreateTopics(const std::vector<TopicResult>& r, int16_t version, std::string* out);

// ---- DeleteTopics (20) v0-v1 ------------------------------------------------
struct DeleteTopicsRequest {
  std::vector<std::string_view> names;
  int32_t timeout_ms = 0;
};
bool DecodeDeleteTopics(std::string_view body, int16_t version, DeleteTopicsRequest* out);
void EncodeDeleteTopics(const std::vector<TopicResult>& r, int16_t version, std::string* out);

}  // namespace runnel::kafka
