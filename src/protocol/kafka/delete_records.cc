#include "protocol/kafka/delete_records.h"

#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;  // v0-v1
}

bool DecodeDeleteRecords(std::string_view body, int16_t /*version*/, DeleteRecordsRequest* out) {
  Decoder d(body);
  // Smallest element sizes: a topic is a name length and a partition count,
  // a partition an int32 and an int64.
  const int32_t topics = d.ArrayCount(kFlex, 6);
  for (int32_t i = 0; i < topics && d.ok(); ++i) {
    auto& t = out->topics.emplace_back();
    t.name = d.String(kFlex);
    const int32_t parts = d.ArrayCount(kFlex, 12);
    for (int32_t j = 0; j < parts && d.ok(); ++j) {
      auto& p = t.partitions.emplace_back();
      p.index = d.Int32();
      p.offset = d.Int64();
    }
  }
  out->timeout_ms = d.Int32();
  return d.ok();
}

void EncodeDeleteRecords(const DeleteRecordsResponse& r, int16_t /*version*/, std::string* out) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms: no quotas
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int64(p.low_watermark);
      e.Int16(static_cast<int16_t>(p.error));
    }
  }
}

}  // namespace runnel::kafka
