// The partition's log start offset: records below it are deleted
// (Log::DeleteRecordsBefore, Kafka DeleteRecords, stream trims), whatever
// segments still hold them. See docs/format/log-start.md.
//
//   0  4  magic "RNLS"
//   4  2  version = 1 (u16 BE)
//   6  2  flags = 0 (u16 BE)
//   8  8  log_start (i64 BE, >= 0)
//  16  4  CRC-32C of bytes 0..15
//
// Written only by the writer-lock holder, as <dir>/log_start.tmp: write,
// fsync, rename over log_start, fsync the directory. So a reader (any
// process) sees the old value or the new one, whole; after kill -9 or a
// power failure the last value whose rename completed survives. A missing
// file means 0. It only ever grows, except that a writer's first load
// lowers it to the log's end if the log itself lost its tail (power loss
// under fsync interval/never), so that new records are never hidden.
#pragma once

#include "runnel/status.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace runnel {
class Env;
}

namespace runnel::storage {

inline constexpr size_t kLogStartSize = 20;

std::string EncodeLogStart(int64_t log_start);
// kCorruption for a bad size, magic, version, CRC or a negative offset.
Status DecodeLogStart(std::string_view bytes, int64_t* log_start);

// The stored log start of the partition in `dir`: 0 when there is no file,
// kCorruption when it is damaged (readers and the steward then use 0 —
// hide and delete nothing more — and `runnel verify` reports it).
Result<int64_t> ReadLogStart(Env* env, const std::string& dir);
// ReadLogStart, with 0 for a damaged file.
int64_t ReadLogStartOrZero(Env* env, const std::string& dir);

// Replaces the file crash-safely (see above). Caller holds the writer lock.
Status WriteLogStart(Env* env, const std::string& dir, int64_t log_start);

}  // namespace runnel::storage
