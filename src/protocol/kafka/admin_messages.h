// Bodies of InitProducerId (22) v0-v1, CreatePartitions (37) v0-v1 and
// DescribeConfigs (32) v0-v2, none flexible (fields as in Kafka's message
// schemas; reference/kafka.md §5.12-5.13). Conventions as messages.h.
#pragma once

#include "protocol/kafka/api.h"
#include "protocol/kafka/messages.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

// ---- InitProducerId (22) v0-v1 ----------------------------------------------
struct InitProducerIdRequest {
  std::optional<std::string_view> transactional_id;
  int32_t transaction_timeout_ms = 0;
};
bool DecodeInitProducerId(std::string_view body, int16_t version, InitProducerIdRequest* out);

struct InitProducerIdResponse {
  ErrorCode error = ErrorCode::kNone;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};
void EncodeInitProducerId(const InitProducerIdResponse& r, int16_t version, std::string* out);

// ---- CreatePartitions (37) v0-v1 --------------------------------------------
struct CreatePartitionsRequest {
  struct Topic {
    std::string_view name;
    int32_t count = 0;
    int32_t assignments = -1;  // count of the new partitions' replica lists; -1 = null
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
};
bool DecodeCreatePartitions(std::string_view body, int16_t version, CreatePartitionsRequest* out);
// Same result shape as CreateTopics v1+ (name, error, message).
void EncodeCreatePartitions(const std::vector<TopicResult>& r, int16_t version, std::string* out);

// ---- DescribeConfigs (32) v0-v2 ---------------------------------------------
inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;

struct DescribeConfigsRequest {
  struct Resource {
    int8_t type = 0;
    std::string_view name;
    std::optional<std::vector<std::string_view>> keys;  // nullopt = all
  };
  std::vector<Resource> resources;
  bool include_synonyms = false;
};
bool DecodeDescribeConfigs(std::string_view body, int16_t version, DescribeConfigsRequest* out);

// ConfigSource values (v1+).
inline constexpr int8_t kSourceTopic = 1;         // DYNAMIC_TOPIC_CONFIG
inline constexpr int8_t kSourceStaticBroker = 4;  // STATIC_BROKER_CONFIG
inline constexpr int8_t kSourceDefault = 5;       // DEFAULT_CONFIG

struct DescribeConfigsResponse {
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    int8_t source = kSourceDefault;  // v0 sends is_default = (source == kSourceDefault)
    bool sensitive = false;
  };
  struct Result {
    ErrorCode error = ErrorCode::kNone;
    std::optional<std::string> message;
    int8_t type = 0;
    std::string name;
    std::vector<Config> configs;
  };
  std::vector<Result> results;
};
// Synonyms (v1+) are sent as each config's own value and source, when asked.
void EncodeDescribeConfigs(const DescribeConfigsResponse& r, int16_t version, bool synonyms,
                           std::string* out);

}  // namespace runnel::kafka
