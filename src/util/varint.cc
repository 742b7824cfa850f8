#include "util/varint.h"

namespace runnel {

// Both decoders accept non-minimal encodings (0x80 0x00 for 0), as Kafka's
// readers do, but never more groups than the type can hold: the last allowed
// byte must have no continuation bit and no bits above the type's width, so
// every accepted input decodes to exactly one value with nothing dropped.

const char* GetUVarint64(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; p < limit; shift += 7) {
    const uint64_t byte = static_cast<uint8_t>(*p++);
    if (byte < 0x80) {
      if (shift == 63 && byte > 1) return nullptr;  // 10th byte carries 1 bit
      *v = result | (byte << shift);
      return p;
    }
    if (shift == 63) return nullptr;  // an 11th byte would follow
    result |= (byte & 0x7f) << shift;
  }
  return nullptr;
}

const char* GetUVarint32(const char* p, const char* limit, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; p < limit; shift += 7) {
    const uint32_t byte = static_cast<uint8_t>(*p++);
    if (byte < 0x80) {
      if (shift == 28 && byte > 0x0f) return nullptr;  // 5th byte carries 4 bits
      *v = result | (byte << shift);
      return p;
    }
    if (shift == 28) return nullptr;  // a 6th byte would follow
    result |= (byte & 0x7f) << shift;
  }
  return nullptr;
}

}  // namespace runnel
