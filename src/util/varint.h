// Variable-length integers as Kafka RecordBatch v2 uses them: unsigned LEB128
// (7 bits per byte, low groups first), and signed values zigzag-encoded first
// (0,-1,1,-2 -> 0,1,2,3). See docs/format/log.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace runnel {

inline constexpr int kMaxVarint32Bytes = 5;
inline constexpr int kMaxVarint64Bytes = 10;

inline uint32_t ZigZag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
inline uint64_t ZigZag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int32_t UnZigZag32(uint32_t v) {
  return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
}
inline int64_t UnZigZag64(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

// Writes v at p (which has room for kMaxVarint64Bytes) and returns the byte
// just past it.
inline char* PutUVarint64(char* p, uint64_t v) {
  auto* u = reinterpret_cast<uint8_t*>(p);
  while (v >= 0x80) {
    *u++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *u++ = static_cast<uint8_t>(v);
  return reinterpret_cast<char*>(u);
}
inline char* PutVarint32(char* p, int32_t v) { return PutUVarint64(p, ZigZag32(v)); }
inline char* PutVarint64(char* p, int64_t v) { return PutUVarint64(p, ZigZag64(v)); }

inline int UVarintLength(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline int Varint32Length(int32_t v) { return UVarintLength(ZigZag32(v)); }
inline int Varint64Length(int64_t v) { return UVarintLength(ZigZag64(v)); }

inline void AppendVarint32(std::string* s, int32_t v) {
  char b[kMaxVarint64Bytes];
  s->append(b, PutVarint32(b, v) - b);
}
inline void AppendVarint64(std::string* s, int64_t v) {
  char b[kMaxVarint64Bytes];
  s->append(b, PutVarint64(b, v) - b);
}

// Decoders read from [p, limit). They return the byte past the value, or
// nullptr when the input ends early or the value does not fit (a 32-bit
// varint longer than 5 bytes, a 64-bit one longer than 10): the caller treats
// that as corruption.
const char* GetUVarint64(const char* p, const char* limit, uint64_t* v);
const char* GetUVarint32(const char* p, const char* limit, uint32_t* v);
inline const char* GetVarint32(const char* p, const char* limit, int32_t* v) {
  uint32_t u;
  p = GetUVarint32(p, limit, &u);
  if (p) *v = UnZigZag32(u);
  return p;
}
inline const char* GetVarint64(const char* p, const char* limit, int64_t* v) {
  uint64_t u;
  p = GetUVarint64(p, limit, &u);
  if (p) *v = UnZigZag64(u);
  return p;
}

}  // namespace runnel
