// The two CRC-32C implementations behind crc32c::Extend, exposed so tests can
// check that they agree and benchmarks can time each. Not for other callers:
// crc32c::Extend already picks the right one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace runnel::crc32c::internal {

// Same contract as crc32c::Extend. The software path runs on any CPU.
uint32_t ExtendSoftware(uint32_t init, const char* data, size_t n);

// SSE4.2 path. Call only when CpuHasSse42() is true; on other builds and
// CPUs it is absent and this falls back to ExtendSoftware.
uint32_t ExtendHardware(uint32_t init, const char* data, size_t n);

// Whether this CPU (and this build's target) can run ExtendHardware.
bool CpuHasSse42();

}  // namespace runnel::crc32c::internal
