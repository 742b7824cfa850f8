#include "storage/read_batch_builder.h"

namespace runnel {

void ReadBatchBuilder::Finish(int64_t next_offset) {
  batch_->records_.reserve(records_->size());
  const HeaderView* headers = batch_->headers_.data();
  for (const storage::DecodedRecord& d : *records_) {
    RecordView v;
    v.offset = d.offset;
    v.timestamp_ms = d.timestamp_ms;
    v.key = d.key;
    v.value = d.value;
    v.headers = std::span<const HeaderView>(headers + d.header_begin, d.header_count);
    batch_->records_.push_back(v);
  }
  batch_->next_offset_ = next_offset;
  records_->clear();
}

}  // namespace runnel
