// ProducerIdAllocator: hands out Kafka producer ids (InitProducerId) that are
// never reused, across restarts, crashes and processes sharing the data
// directory (docs/format/producer-state.md).
//
// Ids are taken in blocks of kBlockSize. The file <data>/meta/kafka_producer_ids
// holds the first id of the next unclaimed block ("RNPI", version, int64,
// CRC-32C). Claiming a block = under the flock <data>/meta/kafka_producer_ids.lock,
// read it, write it back advanced by one block (a .tmp renamed over it,
// synced with its directory), then use the block. A crash wastes at most the
// rest of the block in hand; ids are never handed out twice.
//
// Thread safety: Next() from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "runnel/status.h"

namespace runnel::kafka {

class ProducerIdAllocator {
 public:
  static constexpr int64_t kBlockSize = 1000;

  explicit ProducerIdAllocator(std::string data_dir) : dir_(std::move(data_dir)) {}

  Result<int64_t> Next();

 private:
  Status ClaimBlock();

  const std::string dir_;
  std::mutex mu_;
  int64_t next_ = 0;
  int64_t end_ = 0;  // next_ == end_: no block in hand
};

}  // namespace runnel::kafka
