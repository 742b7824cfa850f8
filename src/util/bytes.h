// Big-endian fixed-width encoding, as Kafka's wire and log formats use.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace runnel {

inline void PutBE16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
inline void PutBE32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v);
}
inline void PutBE64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v);
}
inline uint16_t GetBE16(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline uint32_t GetBE32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint64_t GetBE64(const char* p) {
  return (uint64_t{GetBE32(p)} << 32) | GetBE32(p + 4);
}

inline void AppendBE16(std::string* s, uint16_t v) {
  char b[2];
  PutBE16(b, v);
  s->append(b, 2);
}
inline void AppendBE32(std::string* s, uint32_t v) {
  char b[4];
  PutBE32(b, v);
  s->append(b, 4);
}
inline void AppendBE64(std::string* s, uint64_t v) {
  char b[8];
  PutBE64(b, v);
  s->append(b, 8);
}

}  // namespace runnel
