// Codec of admin_messages.h.
#include "protocol/kafka/admin_messages.h"
#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;
int16_t Code(ErrorCode e) { return static_cast<int16_t>(e); }
std::optional<std::string_view> View(const std::optional<std::string>& s) {
  return s ? std::optional<std::string_view>(*s) : std::nullopt;
}
}  // namespace

bool DecodeInitProducerId(std::string_view body, int16_t /*version*/, InitProducerIdRequest* out) {
  Decoder d(body);
  out->transactional_id = d.NullableString(kFlex);
  out->transaction_timeout_ms = d.Int32();
  return d.ok();
}

void EncodeInitProducerId(const InitProducerIdResponse& r, int16_t /*version*/, std::string* out) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms
  e.Int16(Code(r.error));
  e.Int64(r.producer_id);
  e.Int16(r.producer_epoch);
}

bool DecodeCreatePartitions(std::string_view body, int16_t /*version*/,
                            CreatePartitionsRequest* out) {
  Decoder d(body);
  int32_t topics = d.ArrayCount(kFlex, 10);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    CreatePartitionsRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    topic.count = d.Int32();
    topic.assignments = d.ArrayCount(kFlex, 4);
    for (int32_t a = 0; a < topic.assignments && d.ok(); ++a) {
      int32_t brokers = d.ArrayCount(kFlex, 4);
      for (int32_t b = 0; b < brokers && d.ok(); ++b) d.Int32();
    }
  }
  out->timeout_ms = d.Int32();
  out->validate_only = d.Bool();
  return d.ok();
}

void EncodeCreatePartitions(const std::vector<TopicResult>& r, int16_t /*version*/,
                            std::string* out) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms
  e.ArrayCount(static_cast<int32_t>(r.size()), kFlex);
  for (const auto& t : r) {
    e.String(t.name, kFlex);
    e.Int16(Code(t.error));
    e.NullableString(View(t.message), kFlex);
  }
}

bool DecodeDescribeConfigs(std::string_view body, int16_t version, DescribeConfigsRequest* out) {
  Decoder d(body);
  int32_t n = d.ArrayCount(kFlex, 7);
  for (int32_t i = 0; i < n && d.ok(); ++i) {
    DescribeConfigsRequest::Resource& r = out->resources.emplace_back();
    r.type = d.Int8();
    r.name = d.String(kFlex);
    int32_t keys = d.ArrayCount(kFlex, 2);
    if (keys >= 0) {
      r.keys.emplace();
      for (int32_t k = 0; k < keys && d.ok(); ++k) r.keys->push_back(d.String(kFlex));
    }
  }
  if (version >= 1) out->include_synonyms = d.Bool();
  return d.ok();
}

void EncodeDescribeConfigs(const DescribeConfigsResponse& r, int16_t version, bool synonyms,
                           std::string* out) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms
  e.ArrayCount(static_cast<int32_t>(r.results.size()), kFlex);
  for (const auto& res : r.results) {
    e.Int16(Code(res.error));
    e.NullableString(View(res.message), kFlex);
    e.Int8(res.type);
    e.String(res.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(res.configs.size()), kFlex);
    for (const auto& c : res.configs) {
      e.String(c.name, kFlex);
      e.NullableString(View(c.value), kFlex);
      e.Bool(c.read_only);
      if (version == 0) {
        e.Bool(c.source == kSourceDefault);  // is_default
      } else {
        e.Int8(c.source);
      }
      e.Bool(c.sensitive);
      if (version >= 1) {
        if (synonyms) {
          e.ArrayCount(1, kFlex);
          e.String(c.name, kFlex);
          e.NullableString(View(c.value), kFlex);
          e.Int8(c.source);
        } else {
          e.ArrayCount(0, kFlex);
        }
      }
    }
  }
}

}  // namespace runnel::kafka
