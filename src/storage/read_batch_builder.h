// Fills a ReadBatch (include/runnel/record.h): collects the buffers that
// hold stored batches and the records decoded from them, then fixes up each
// record's header span once the header vector has stopped growing.
#pragma once

#include <memory>
#include <vector>

#include "runnel/record.h"
#include "storage/batch_format.h"

namespace runnel {

class ReadBatchBuilder {
 public:
  // Clears *batch and fills it; `scratch` holds decoded records until
  // Finish (the reader keeps it, so its capacity is reused). Neither is owned.
  ReadBatchBuilder(ReadBatch* batch, std::vector<storage::DecodedRecord>* scratch)
      : batch_(batch), records_(scratch) {
    batch_->Clear();
    records_->clear();
  }

  // Keeps alive a buffer that decoded records point into.
  void AddBuffer(std::shared_ptr<const void> buffer) {
    batch_->buffers_.push_back(std::move(buffer));
  }
  std::vector<storage::DecodedRecord>* records() { return records_; }
  std::vector<HeaderView>* headers() { return &batch_->headers_; }
  size_t record_count() const { return records_->size(); }
  void AddBytes(size_t n) { batch_->bytes_ += n; }
  // Drops decoded records [from, end).
  void Truncate(size_t from) { records_->resize(from); }

  void Finish(int64_t next_offset);

 private:
  ReadBatch* batch_;
  std::vector<storage::DecodedRecord>* records_;
};

}  // namespace runnel
