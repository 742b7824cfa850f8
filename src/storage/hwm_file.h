// The partition's published end (high-water mark), shared across processes.
// See docs/format/hwm.md.
//
//   0  4  magic "RNHW"
//   4  2  version = 1 (u16 BE)
//   6  2  flags (bit 0: topic deleted)
//   8  8  generation: +1 per commit by any writer (u64 BE)
//  16  8  next_offset (i64 BE): offsets below it are readable
//  24  8  segment_base (i64 BE): the active segment
//  32  8  segment_size (u64 BE): readable bytes of the active segment
//  40  4  CRC-32C of bytes 0..39
//
// Written with one pwrite at position 0 under the writer lock, after the
// commit's durability point and before any acknowledgement. Never synced:
// after power loss recovery recomputes it from the log. A reader that sees a
// bad CRC (a torn read racing a write) reads again.
#pragma once

#include <cstdint>
#include <string>

#include "runnel/status.h"

namespace runnel {
class File;
}

namespace runnel::storage {

inline constexpr size_t kHwmSize = 44;
inline constexpr uint16_t kHwmFlagDeleted = 1;

struct Hwm {
  uint16_t flags = 0;
  uint64_t generation = 0;
  int64_t next_offset = 0;
  int64_t segment_base = 0;
  uint64_t segment_size = 0;

  bool deleted() const { return (flags & kHwmFlagDeleted) != 0; }
  bool operator==(const Hwm&) const = default;
};

std::string EncodeHwm(const Hwm& hwm);
// kNotFound for an empty file, kCorruption for a bad magic/version/CRC.
Status DecodeHwm(std::string_view bytes, Hwm* out);
// Reads, retrying a few times on a torn read.
Result<Hwm> ReadHwm(File* file);

}  // namespace runnel::storage
