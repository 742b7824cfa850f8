// Builds a ReadBatch (include/runnel/record.h): collects the buffers that
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
  // Takes ownership of a buffer that decoded records will point into.
  void AddBuffer(std::unique_ptr<char[]> buffer) { batch_.buffers_.push_back(std::move(buffer)); }
  std::vector<storage::DecodedRecord>* records() { return &records_; }
  std::vector<HeaderView>* headers() { return &batch_.headers_; }
  size_t record_count() const { return records_.size(); }
  void AddBytes(size_t n) { batch_.bytes_ += n; }
  // Drops decoded records [from, end) (e.g. before the start offset).
  void Truncate(size_t from) { records_.resize(from); }
  void Erase(size_t index) { records_.erase(records_.begin() + static_cast<long>(index)); }

  ReadBatch Finish(int64_t next_offset);

 private:
  ReadBatch batch_;
  std::vector<storage::DecodedRecord> records_;
};

}  // namespace runnel
