// DeleteRecords (API key 21) v0-v1, non-flexible (v2 is the first flexible
// version and is not served). Fields as in Kafka's DeleteRecordsRequest /
// DeleteRecordsResponse schemas (KIP-107); v1 differs from v0 only in quota
// behaviour (KIP-219), which runnel has none of.
//
//   request  = topics:[name:STRING partitions:[index:INT32 offset:INT64]] timeout_ms:INT32
//   response = throttle_time_ms:INT32
//              topics:[name:STRING partitions:[index:INT32 low_watermark:INT64 error:INT16]]
//
// offset -1 means "up to the high watermark". Served by
// handle_delete_records.cc over Log::DeleteRecordsBefore.
#pragma once

#include "protocol/kafka/api.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

struct DeleteRecordsRequest {
  struct Partition {
    int32_t index = 0;
    int64_t offset = 0;
  };
  struct Topic {
    std::string_view name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
};
bool DecodeDeleteRecords(std::string_view body, int16_t version, DeleteRecordsRequest* out);

struct DeleteRecordsResponse {
  struct Partition {
    int32_t index = 0;
    int64_t low_watermark = -1;
    ErrorCode error = ErrorCode::kNone;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
void EncodeDeleteRecords(const DeleteRecordsResponse& r, int16_t version, std::string* out);

}  // namespace runnel::kafka
