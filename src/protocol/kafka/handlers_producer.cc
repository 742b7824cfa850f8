// InitProducerId: a new producer id, epoch 0, for an idempotent producer
// (docs/protocols/kafka.md "Idempotent producer"). The sequence checks
// themselves run in storage, at commit (ProducerStateTable), since they must
// be atomic with the append. Transactions are not served.
#include "protocol/kafka/admin_messages.h"
#include "protocol/kafka/kafka_session.h"

#include <spdlog/spdlog.h>

namespace runnel::kafka {

bool KafkaSession::HandleInitProducerId(const RequestHeader& h, std::string_view body) {
  InitProducerIdRequest req;
  if (!DecodeInitProducerId(body, h.api_version, &req)) return false;
  InitProducerIdResponse r;
  if (req.transactional_id) {
    // A transactional producer: not served (reference/kafka.md §5.12).
    r.error = ErrorCode::kTransactionalIdAuthorizationFailed;
  } else {
    // At most one small synced file write per ProducerIdAllocator::kBlockSize
    // ids, on this io thread.
    auto id = ctx_->producer_ids.Next();
    if (id.ok()) {
      r.producer_id = *id;
      r.producer_epoch = 0;
    } else {
      spdlog::warn("kafka: cannot hand out a producer id: {}", id.status().ToString());
      r.error = ErrorCode::kKafkaStorageError;
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeInitProducerId(r, h.api_version, out); });
  return true;
}

}  // namespace runnel::kafka
