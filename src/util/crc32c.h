// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of
// Kafka RecordBatch v2. Uses the SSE4.2 crc32 instruction when the CPU has it
// (checked once, on first use), a table-driven fallback otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace runnel::crc32c {

// Returns the CRC of data[0, n) continuing from `init` (the CRC of whatever
// came before; 0 for a fresh start). Extend(Extend(0, a), b) == Value(a + b).
uint32_t Extend(uint32_t init, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// Whether the hardware path is in use (for benchmarks and logs).
bool IsHardwareAccelerated();

}  // namespace runnel::crc32c
