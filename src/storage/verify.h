// Offline integrity check of a whole data directory (`runnel verify`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runnel/status.h"

namespace runnel {
class Env;
}

namespace runnel::storage {

// One damaged byte range.
struct Damage {
  std::string file;     // path of the damaged file
  uint64_t begin = 0;   // first damaged byte
  uint64_t end = 0;     // one past the last damaged byte (file size if unknown)
  std::string problem;  // e.g. "CRC mismatch", "offset 17 not after 20", "index entry 3 ..."
};

struct VerifyReport {
  int64_t topics = 0;
  int64_t partitions = 0;
  int64_t segments = 0;
  int64_t batches = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  std::vector<Damage> damage;
  bool clean() const { return damage.empty(); }
};

// Reads every segment, index and time index under `dir` (topics and meta):
// each batch's header and CRC, that offsets increase across batches and
// segments, that every index entry points at the batch it names, that a
// partition's log_start file (if any) is whole. Never
// modifies anything. Errors only when the directory itself cannot be read.
Result<VerifyReport> VerifyDirectory(Env* env, const std::string& dir);

}  // namespace runnel::storage
