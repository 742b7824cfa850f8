// Response body encoders, field by field in schema order (ThrottleTimeMs is
// always 0: runnel has no quotas).
#include "protocol/kafka/messages.h"
#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;
int16_t Code(ErrorCode e) { return static_cast<int16_t>(e); }
}  // namespace

void EncodeApiVersions(const ApiVersionsResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  const bool flex = version >= 3;
  e.Int16(Code(r.error));
  e.ArrayCount(static_cast<int32_t>(r.apis.size()), flex);
  for (const ApiRange& a : r.apis) {
    e.Int16(static_cast<int16_t>(a.key));
    e.Int16(a.min);
    e.Int16(a.max);
    if (flex) e.EmptyTaggedFields();
  }
  if (version >= 1) e.Int32(0);  // throttle_time_ms
  if (flex) e.EmptyTaggedFields();
}

void EncodeMetadata(const MetadataResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 3) e.Int32(0);  // throttle_time_ms
  e.ArrayCount(1, kFlex);        // brokers: this one
  e.Int32(r.node_id);
  e.String(r.host, kFlex);
  e.Int32(r.port);
  if (version >= 1) e.NullableString(std::nullopt, kFlex);  // rack
  if (version >= 2) e.NullableString(r.cluster_id, kFlex);
  if (version >= 1) e.Int32(r.node_id);  // controller_id
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.Int16(Code(t.error));
    e.String(t.name, kFlex);
    if (version >= 1) e.Bool(false);  // is_internal
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int16(Code(p.error));
      e.Int32(p.index);
      e.Int32(r.node_id);  // leader
      e.ArrayCount(1, kFlex);
      e.Int32(r.node_id);  // replicas
      e.ArrayCount(1, kFlex);
      e.Int32(r.node_id);  // isr
    }
  }
}

void EncodeProduce(const ProduceResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int16(Code(p.error));
      e.Int64(p.base_offset);
      if (version >= 2) e.Int64(-1);  // log_append_time_ms: CreateTime topics
      if (version >= 5) e.Int64(p.log_start_offset);
    }
  }
  if (version >= 1) e.Int32(0);  // throttle_time_ms (last in Produce)
}

void EncodeFetch(const FetchResponse& r, int16_t version, std::string* out,
                 std::vector<size_t>* file_at) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms
  if (version >= 7) {
    e.Int16(0);  // error_code
    e.Int32(0);  // session_id: no fetch session
  }
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int16(Code(p.error));
      e.Int64(p.high_watermark);
      e.Int64(p.high_watermark);  // last_stable_offset: no transactions
      if (version >= 5) e.Int64(p.log_start_offset);
      e.ArrayCount(-1, kFlex);         // aborted_transactions: null
      if (version >= 11) e.Int32(-1);  // preferred_read_replica
      if (p.file_bytes > 0 && file_at) {
        e.Int32(static_cast<int32_t>(p.file_bytes));  // the bytes follow from files
        file_at->push_back(out->size());
      } else {
        e.Bytes(std::string_view(p.records), kFlex);
      }
    }
  }
}

void EncodeListOffsets(const ListOffsetsResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 2) e.Int32(0);  // throttle_time_ms
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int16(Code(p.error));
      e.Int64(p.timestamp);
      e.Int64(p.offset);
    }
  }
}

void EncodeFindCoordinator(const FindCoordinatorResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);  // throttle_time_ms
  e.Int16(Code(r.error));
  if (version >= 1) e.NullableString(std::nullopt, kFlex);  // error_message
  e.Int32(r.node_id);
  e.String(r.host, kFlex);
  e.Int32(r.port);
}

void EncodeCreateTopics(const std::vector<TopicResult>& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 2) e.Int32(0);  // throttle_time_ms
  e.ArrayCount(static_cast<int32_t>(r.size()), kFlex);
  for (const auto& t : r) {
    e.String(t.name, kFlex);
    e.Int16(Code(t.error));
    if (version >= 1) {
      e.NullableString(t.message ? std::optional<std::string_view>(*t.message) : std::nullopt,
                       kFlex);
    }
  }
}

void EncodeDeleteTopics(const std::vector<TopicResult>& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);  // throttle_time_ms
  e.ArrayCount(static_cast<int32_t>(r.size()), kFlex);
  for (const auto& t : r) {
    e.String(t.name, kFlex);
    e.Int16(Code(t.error));
  }
}

}  // namespace runnel::kafka
