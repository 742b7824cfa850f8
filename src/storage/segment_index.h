// The two sparse indexes of a segment. See docs/format/index.md.
//
// .index      8-byte entries: relative offset u32 BE | file position u32 BE.
//             Entry (r, p): the batch whose base offset is segment_base + r
//             starts at byte p of the .log. Appended about every
//             kIndexIntervalBytes of log; strictly increasing in r and p.
// .timeindex  12-byte entries: timestamp i64 BE | relative offset u32 BE.
//             Entry (t, r): every record before offset segment_base + r has a
//             timestamp <= t. t never decreases. A sealed segment ends with an
//             entry whose r is its next offset, so its last t is the
//             segment's largest timestamp.
//
// Indexes are hints: they are not synced with the log, and a reader checks
// that the batch an entry names is really there before trusting it. A short
// trailing entry is ignored; a non-increasing entry ends the usable prefix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runnel/status.h"

namespace runnel {
class Env;
class File;
}  // namespace runnel

namespace runnel::storage {

inline constexpr size_t kIndexEntrySize = 8;
inline constexpr size_t kTimeIndexEntrySize = 12;
inline constexpr uint64_t kIndexIntervalBytes = 4096;

struct IndexEntry {
  uint32_t relative_offset;
  uint32_t position;
};

struct TimeIndexEntry {
  int64_t timestamp;
  uint32_t relative_offset;
};

struct LoadedOffsetIndex {
  std::vector<IndexEntry> entries;  // the usable prefix
  uint64_t file_bytes = 0;
  bool damaged = false;             // something after the usable prefix was bad
};

struct LoadedTimeIndex {
  std::vector<TimeIndexEntry> entries;
  uint64_t file_bytes = 0;
  bool damaged = false;
};

// Reads an index file; a missing file is an empty, undamaged index with
// file_bytes 0. Entries pointing at or past log_size end the usable prefix.
Result<LoadedOffsetIndex> LoadOffsetIndex(Env* env, const std::string& path, uint64_t log_size);
Result<LoadedTimeIndex> LoadTimeIndex(Env* env, const std::string& path);

// The entry with the largest relative offset <= target_relative; {0, 0} when none.
IndexEntry FloorEntry(const std::vector<IndexEntry>& entries, int64_t target_relative);

// The relative offset from which to scan for the first record with
// timestamp >= target: that of the last entry with timestamp < target, else 0.
uint32_t TimeLookup(const std::vector<TimeIndexEntry>& entries, int64_t target);

std::string EncodeIndexEntry(IndexEntry e);
std::string EncodeTimeIndexEntry(TimeIndexEntry e);

}  // namespace runnel::storage
