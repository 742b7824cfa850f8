// Request body decoders. None of the versions served is flexible except
// ApiVersions v3, whose request body runnel does not need to read.
#include "protocol/kafka/messages.h"
#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;
}

bool DecodeMetadata(std::string_view body, int16_t version, MetadataRequest* out) {
  Decoder d(body);
  int32_t n = d.ArrayCount(kFlex, 2);
  if (n >= 0) {
    out->topics.emplace();
    for (int32_t i = 0; i < n && d.ok(); ++i) out->topics->push_back(d.String(kFlex));
    // v0: an empty list means all topics (v1+ says that with null).
    if (version == 0 && n == 0) out->topics.reset();
  } else if (version == 0) {
    return false;
  }
  out->allow_auto_topic_creation = version >= 4 ? d.Bool() : true;
  return d.ok();
}

bool DecodeProduce(std::string_view body, int16_t version, ProduceRequest* out) {
  Decoder d(body);
  if (version >= 3) out->transactional_id = d.NullableString(kFlex);
  out->acks = d.Int16();
  out->timeout_ms = d.Int32();
  int32_t topics = d.ArrayCount(kFlex, 6);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    ProduceRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 8);
    for (int32_t p = 0; p < parts && d.ok(); ++p) {
      ProduceRequest::Partition& part = topic.partitions.emplace_back();
      part.index = d.Int32();
      part.records = d.NullableBytes(kFlex);
    }
  }
  return d.ok();
}

bool DecodeFetch(std::string_view body, int16_t version, FetchRequest* out) {
  Decoder d(body);
  d.Int32();  // replica_id (-1 for consumers)
  out->max_wait_ms = d.Int32();
  out->min_bytes = d.Int32();
  out->max_bytes = d.Int32();
  out->isolation_level = d.Int8();
  if (version >= 7) {
    d.Int32();  // session_id: runnel declines fetch sessions (KIP-227) by answering 0
    d.Int32();  // session_epoch
  }
  int32_t topics = d.ArrayCount(kFlex, 6);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    FetchRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 16);
    for (int32_t p = 0; p < parts && d.ok(); ++p) {
      FetchRequest::Partition& part = topic.partitions.emplace_back();
      part.index = d.Int32();
      if (version >= 9) d.Int32();  // current_leader_epoch
      part.fetch_offset = d.Int64();
      if (version >= 5) d.Int64();  // log_start_offset (followers only)
      part.partition_max_bytes = d.Int32();
    }
  }
  if (version >= 7) {
    int32_t forgotten = d.ArrayCount(kFlex, 6);
    for (int32_t t = 0; t < forgotten && d.ok(); ++t) {
      d.String(kFlex);
      int32_t parts = d.ArrayCount(kFlex, 4);
      for (int32_t p = 0; p < parts && d.ok(); ++p) d.Int32();
    }
  }
  if (version >= 11) d.String(kFlex);  // rack_id
  return d.ok();
}

bool DecodeListOffsets(std::string_view body, int16_t version, ListOffsetsRequest* out) {
  Decoder d(body);
  d.Int32();  // replica_id
  if (version >= 2) out->isolation_level = d.Int8();
  int32_t topics = d.ArrayCount(kFlex, 6);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    ListOffsetsRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 12);
    for (int32_t p = 0; p < parts && d.ok(); ++p) {
      ListOffsetsRequest::Partition& part = topic.partitions.emplace_back();
      part.index = d.Int32();
      part.timestamp = d.Int64();
    }
  }
  return d.ok();
}

bool DecodeFindCoordinator(std::string_view body, int16_t version, FindCoordinatorRequest* out) {
  Decoder d(body);
  out->key = d.String(kFlex);
  if (version >= 1) out->key_type = d.Int8();
  return d.ok();
}

bool DecodeCreateTopics(std::string_view body, int16_t version, CreateTopicsRequest* out) {
  Decoder d(body);
  int32_t topics = d.ArrayCount(kFlex, 14);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    CreateTopicsRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    topic.num_partitions = d.Int32();
    topic.replication_factor = d.Int16();
    topic.assignments = d.ArrayCount(kFlex, 8);
    for (int32_t a = 0; a < topic.assignments && d.ok(); ++a) {
      d.Int32();  // partition_index
      int32_t brokers = d.ArrayCount(kFlex, 4);
      for (int32_t b = 0; b < brokers && d.ok(); ++b) d.Int32();
    }
    int32_t configs = d.ArrayCount(kFlex, 4);
    for (int32_t c = 0; c < configs && d.ok(); ++c) {
      CreateTopicsRequest::Config& config = topic.configs.emplace_back();
      config.name = d.String(kFlex);
      config.value = d.NullableString(kFlex);
    }
  }
  out->timeout_ms = d.Int32();
  if (version >= 1) out->validate_only = d.Bool();
  return d.ok();
}

bool DecodeDeleteTopics(std::string_view body, int16_t /*version*/, DeleteTopicsRequest* out) {
  Decoder d(body);
  int32_t n = d.ArrayCount(kFlex, 2);
  for (int32_t i = 0; i < n && d.ok(); ++i) out->names.push_back(d.String(kFlex));
  out->timeout_ms = d.Int32();
  return d.ok();
}

}  // namespace runnel::kafka
