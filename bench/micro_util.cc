// Micro-benchmarks for the util layer: CRC-32C (both paths) and varints.
//
//   runnel_micro --benchmark_filter=Crc32c
//
// The CRC rows report bytes/s; the varint rows report values/s over a mix of
// encoded lengths like a record batch's (mostly short, a few 5-10 bytes).

#include "util/crc32c.h"
#include "util/crc32c_internal.h"
#include "util/varint.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace runnel {
namespace {

std::string RandomBytes(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

template <uint32_t (*kExtend)(uint32_t, const char*, size_t)>
void BM_Crc32c(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::string buf = RandomBytes(n);
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = kExtend(crc, buf.data(), n);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32cHardware(benchmark::State& state) {
  if (!crc32c::internal::CpuHasSse42()) {
    state.SkipWithError("CPU has no SSE4.2");
    return;
  }
  BM_Crc32c<crc32c::internal::ExtendHardware>(state);
}

BENCHMARK(BM_Crc32cHardware)->Arg(100)->Arg(1 << 10)->Arg(64 << 10);
BENCHMARK(BM_Crc32c<crc32c::internal::ExtendSoftware>)
    ->Name("BM_Crc32cSoftware")
    ->Arg(100)
    ->Arg(1 << 10)
    ->Arg(64 << 10);
BENCHMARK(BM_Crc32c<crc32c::Extend>)->Name("BM_Crc32cDispatched")->Arg(100)->Arg(64 << 10);

// Values whose encodings are 1 byte (60%), 2-3 bytes (30%) or 4-10 bytes.
std::vector<uint64_t> MixedValues() {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> v(4096);
  for (uint64_t& x : v) {
    const uint64_t pick = rng() % 10;
    const int bits = pick < 6 ? 7 : pick < 9 ? 21 : 64;
    x = bits == 64 ? rng() : rng() & ((uint64_t{1} << bits) - 1);
  }
  return v;
}

void BM_VarintEncode(benchmark::State& state) {
  const std::vector<uint64_t> values = MixedValues();
  std::string buf(values.size() * kMaxVarint64Bytes, '\0');
  for (auto _ : state) {
    char* p = buf.data();
    for (uint64_t v : values) p = PutUVarint64(p, v);
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values.size()));
}
BENCHMARK(BM_VarintEncode);

void BM_VarintDecode(benchmark::State& state) {
  const std::vector<uint64_t> values = MixedValues();
  std::string buf(values.size() * kMaxVarint64Bytes, '\0');
  char* end = buf.data();
  for (uint64_t v : values) end = PutUVarint64(end, v);
  for (auto _ : state) {
    const char* p = buf.data();
    uint64_t sum = 0;
    while (p != nullptr && p < end) {
      uint64_t v;
      p = GetUVarint64(p, end, &v);
      sum += v;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values.size()));
}
BENCHMARK(BM_VarintDecode);

}  // namespace
}  // namespace runnel
