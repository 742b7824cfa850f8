// Sequential scan of the batches in a .log file, for recovery, verification
// and compaction. Each batch's header is checked and its CRC verified.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runnel/status.h"
#include "storage/batch_format.h"

namespace runnel {
class File;
}

namespace runnel::storage {

class BatchScanner {
 public:
  enum class Outcome : uint8_t {
    kBatch,  // *header and *bytes describe a whole, valid batch
    kEnd,    // position() == limit: clean end
    kTorn,   // fewer bytes than a whole batch remain before the limit
    kBad,    // a header that fails its checks or a CRC mismatch at position()
    kError,  // the file could not be read (status())
  };

  // Scans [start, limit) of `file` (not owned; must outlive the scanner).
  BatchScanner(File* file, uint64_t start, uint64_t limit);

  // On kBatch, *bytes stays valid until the next call.
  Outcome Next(BatchHeader* header, std::string_view* bytes);

  // Start of the next batch, or of the torn/bad one after kTorn/kBad.
  uint64_t position() const { return position_; }
  const Status& status() const { return status_; }
  const std::string& problem() const { return problem_; }  // what kBad found

  // After kBad: looks for the next position in (position(), limit) where a
  // valid batch with base offset >= min_offset starts, byte by byte. Returns
  // false when there is none; otherwise the next Next() returns it.
  bool Resync(int64_t min_offset);

 private:
  // Makes buffer_ hold [pos, pos + n) if the file has it; false if shorter.
  bool Fill(uint64_t pos, size_t n);

  File* file_;
  uint64_t position_;
  uint64_t limit_;
  std::string buffer_;
  uint64_t buffer_start_ = 0;
  Status status_;
  std::string problem_;
};

// Checks the batch at the front of `bytes`: header sane and, if whole, CRC.
// Returns kBatch, kTorn (bytes too short) or kBad (problem set).
BatchScanner::Outcome CheckBatch(std::string_view bytes, BatchHeader* header,
                                 std::string* problem);

}  // namespace runnel::storage
