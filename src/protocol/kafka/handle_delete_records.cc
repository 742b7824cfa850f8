// DeleteRecords (key 21) v0-v1: raises each partition's log start offset
// (Log::DeleteRecordsBefore), answering the new low watermark. Answered at
// once on the io thread, like CreateTopics and DeleteTopics: an admin call
// that waits for two fsyncs per partition (the log_start file and its
// directory); the segments below are freed by the next steward pass.
//
// Per partition (Kafka's ReplicaManager.deleteRecords semantics):
//   offset -1           -> the high watermark (delete everything)
//   offset < -1 or > HW -> OFFSET_OUT_OF_RANGE (1), low watermark -1
//   no such topic/partition, or an internal __runnel.* topic
//                       -> UNKNOWN_TOPIC_OR_PARTITION (3)
//   offset below the current low watermark -> no change, that watermark
// timeout_ms is not needed: the answer waits for the log start to be durable.
#include "protocol/kafka/delete_records.h"
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/names.h"

namespace runnel::kafka {

bool KafkaSession::HandleDeleteRecords(const RequestHeader& h, std::string_view body) {
  DeleteRecordsRequest req;
  if (!DecodeDeleteRecords(body, h.api_version, &req)) return false;
  DeleteRecordsResponse r;
  for (const auto& t : req.topics) {
    auto& rt = r.topics.emplace_back();
    rt.name = std::string(t.name);
    const bool servable = IsKafkaTopicName(t.name) && !t.name.starts_with("__runnel.");
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.index = p.index;
      if (!servable) {
        rp.error = ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      int64_t offset = p.offset;
      if (offset == -1) {
        Status st;
        Reader* reader = ReaderFor(rt.name, p.index, &st);
        if (!reader) {
          rp.error = ErrorCode::kUnknownTopicOrPartition;
          continue;
        }
        auto offsets = reader->Offsets();
        if (!offsets.ok()) {
          rp.error = ErrorFromStatus(offsets.status());
          continue;
        }
        offset = offsets->end_offset;
      } else if (offset < 0) {
        rp.error = ErrorCode::kOffsetOutOfRange;
        continue;
      }
      auto start = ctx_->log->DeleteRecordsBefore(rt.name, p.index, offset);
      if (!start.ok()) {
        rp.error = ErrorFromStatus(start.status());
        continue;
      }
      rp.low_watermark = *start;
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeDeleteRecords(r, h.api_version, out); });
  return true;
}

}  // namespace runnel::kafka
