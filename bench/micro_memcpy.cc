// memcpy bandwidth: one of the machine limits scripts/bench sets results
// against (a read from the page cache is at best a copy; so is an append's
// encode). 64 KiB stays in cache; 64 MiB measures memory.
//
//   runnel_micro --benchmark_filter=Memcpy
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

namespace runnel {
namespace {

void BM_Memcpy(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<char> src(n, 's'), dst(n, 'd');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Memcpy)->Arg(64 << 10)->Arg(64 << 20);

}  // namespace
}  // namespace runnel
