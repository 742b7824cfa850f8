#include "util/crc32c.h"

#include "util/crc32c_internal.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

// Both paths work on the raw CRC register, i.e. the finalised CRC xor ~0:
// Extend() inverts on the way in and out, which is what makes
// Extend(Extend(0, a), b) == Value(a + b).

namespace runnel::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // 0x1EDC6F41 bit-reversed

// ---- Software path: slicing-by-8 --------------------------------------------
//
// t[0] is the classic byte table; t[k][i] is the register contribution of byte
// i followed by k zero bytes, so eight input bytes fold in with eight lookups.

struct SliceTables {
  uint32_t t[8][256];
};

constexpr SliceTables MakeSliceTables() {
  SliceTables s{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ (kPoly & (0u - (c & 1)));
    s.t[0][i] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (int i = 0; i < 256; ++i) {
      s.t[k][i] = (s.t[k - 1][i] >> 8) ^ s.t[0][s.t[k - 1][i] & 0xff];
    }
  }
  return s;
}

constexpr SliceTables kSlice = MakeSliceTables();
static_assert(kSlice.t[0][1] == 0xF26B8303, "CRC-32C byte table is wrong");

// Byte-wise little-endian loads: correct on any host, a single mov on x86.
inline uint32_t Load32LE(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

uint32_t SoftwareRaw(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kSlice.t;
  while (n >= 8) {
    const uint32_t lo = Load32LE(p) ^ crc;
    const uint32_t hi = Load32LE(p + 4);
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)

// ---- Hardware path: SSE4.2 crc32, three streams ------------------------------
//
// The crc32 instruction has a latency of 3 cycles but issues every cycle, so
// one dependent chain uses a third of the unit. Large inputs are cut into three
// equal blocks whose CRCs run interleaved; the register is linear over GF(2),
// so crc(A|B) = Shift_len(B)(crc(A)) ^ crc0(B), where crc0 starts from zero and
// Shift_len advances a register over len zero bytes. Shift is a 32x32 bit
// matrix, applied as four 256-entry tables (the approach of Mark Adler's
// crc32c.c, tables built here at compile time).

constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;

// A linear map on the 32-bit register: column[i] is the image of bit i.
struct Gf2Matrix {
  uint32_t column[32];
};

constexpr uint32_t Apply(const Gf2Matrix& m, uint32_t v) {
  uint32_t out = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    if (v & 1) out ^= m.column[i];
  }
  return out;
}

constexpr Gf2Matrix Compose(const Gf2Matrix& a, const Gf2Matrix& b) {  // a after b
  Gf2Matrix out{};
  for (int i = 0; i < 32; ++i) out.column[i] = Apply(a, b.column[i]);
  return out;
}

// The map that advances the register over `len` zero bytes.
constexpr Gf2Matrix ZeroBytesOperator(size_t len) {
  Gf2Matrix one_byte{};
  for (int i = 0; i < 32; ++i) {
    const uint32_t bit = uint32_t{1} << i;
    one_byte.column[i] = (bit >> 8) ^ kSlice.t[0][bit & 0xff];
  }
  Gf2Matrix result{};
  for (int i = 0; i < 32; ++i) result.column[i] = uint32_t{1} << i;
  for (Gf2Matrix power = one_byte; len != 0; len >>= 1, power = Compose(power, power)) {
    if (len & 1) result = Compose(power, result);
  }
  return result;
}

struct ShiftTables {
  uint32_t t[4][256];
};

constexpr ShiftTables MakeShiftTables(size_t len) {
  const Gf2Matrix op = ZeroBytesOperator(len);
  ShiftTables s{};
  for (int k = 0; k < 4; ++k) {
    for (uint32_t i = 0; i < 256; ++i) s.t[k][i] = Apply(op, i << (8 * k));
  }
  return s;
}

constexpr ShiftTables kLongShift = MakeShiftTables(kLongBlock);
constexpr ShiftTables kShortShift = MakeShiftTables(kShortBlock);

inline uint32_t Shift(const ShiftTables& s, uint32_t crc) {
  return s.t[0][crc & 0xff] ^ s.t[1][(crc >> 8) & 0xff] ^ s.t[2][(crc >> 16) & 0xff] ^
         s.t[3][crc >> 24];
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One round of three interleaved `block`-byte streams over 3 * block bytes.
__attribute__((target("sse4.2"))) inline uint64_t ThreeWay(uint64_t c0, const uint8_t* p,
                                                           size_t block, const ShiftTables& shift) {
  uint64_t c1 = 0;
  uint64_t c2 = 0;
  for (const uint8_t* end = p + block; p < end; p += 8) {
    c0 = _mm_crc32_u64(c0, Load64(p));
    c1 = _mm_crc32_u64(c1, Load64(p + block));
    c2 = _mm_crc32_u64(c2, Load64(p + 2 * block));
  }
  c0 = Shift(shift, static_cast<uint32_t>(c0)) ^ c1;
  return Shift(shift, static_cast<uint32_t>(c0)) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t HardwareRaw(uint32_t crc, const uint8_t* p, size_t n) {
  // Aligned 8-byte loads never straddle a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  uint64_t c = crc;
  for (; n >= 3 * kLongBlock; p += 3 * kLongBlock, n -= 3 * kLongBlock) {
    c = ThreeWay(c, p, kLongBlock, kLongShift);
  }
  for (; n >= 3 * kShortBlock; p += 3 * kShortBlock, n -= 3 * kShortBlock) {
    c = ThreeWay(c, p, kShortBlock, kShortShift);
  }
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, Load64(p));
  crc = static_cast<uint32_t>(c);
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

#else

uint32_t HardwareRaw(uint32_t crc, const uint8_t* p, size_t n) { return SoftwareRaw(crc, p, n); }

#endif

using RawFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

// Chosen once, on first use rather than in a namespace-scope initialiser, so a
// static initialiser elsewhere that computes a CRC cannot see it unset.
RawFn ChosenRaw() {
  static const RawFn fn = internal::CpuHasSse42() ? HardwareRaw : SoftwareRaw;
  return fn;
}

inline const uint8_t* Bytes(const char* data) { return reinterpret_cast<const uint8_t*>(data); }

}  // namespace

uint32_t Extend(uint32_t init, const char* data, size_t n) {
  return ~ChosenRaw()(~init, Bytes(data), n);
}

bool IsHardwareAccelerated() { return ChosenRaw() != SoftwareRaw; }

namespace internal {

uint32_t ExtendSoftware(uint32_t init, const char* data, size_t n) {
  return ~SoftwareRaw(~init, Bytes(data), n);
}

uint32_t ExtendHardware(uint32_t init, const char* data, size_t n) {
  if (!CpuHasSse42()) return ExtendSoftware(init, data, n);
  return ~HardwareRaw(~init, Bytes(data), n);
}

bool CpuHasSse42() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();  // needed if we run before libgcc's own constructor
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace internal
}  // namespace runnel::crc32c
