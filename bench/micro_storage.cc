// Micro-benchmarks for the batch format (src/storage/batch_format.h): what
// the producer pays to encode an append and the reader to check and decode
// it, per batch shape `runnel bench log` uses (655 x 100 B, 64 x 1 KiB,
// 1 x 64 KiB: about 64 KiB of values each).
//
//   runnel_micro --benchmark_filter=Batch
//
// bytes/s counts encoded batch bytes; items/s counts records.
#include "storage/batch_format.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace runnel::storage {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;

struct Shape {
  std::string value;
  std::vector<RecordView> records;
};

// state.range(0) records of state.range(1) value bytes, keyless.
Shape MakeShape(const benchmark::State& state) {
  Shape s;
  s.value.assign(static_cast<size_t>(state.range(1)), 'v');
  s.records.resize(static_cast<size_t>(state.range(0)));
  for (RecordView& r : s.records) r.value = s.value;
  return s;
}

void SetCounts(benchmark::State& state, size_t batch_bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BatchShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"records", "value"})->Args({655, 100})->Args({64, 1024})->Args({1, 65536});
}

// What ProducerImpl does per append: size check, then encode with CRC.
void BM_BatchEncode(benchmark::State& state) {
  const Shape s = MakeShape(state);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(EncodedBatchSize(s.records, kNowMs));
    EncodeBatch(0, s.records, kNowMs, &out);
    benchmark::DoNotOptimize(out.data());
  }
  SetCounts(state, out.size());
}
BENCHMARK(BM_BatchEncode)->Apply(BatchShapes);

// What the reader does per stored batch: header checks, CRC, record decode.
void BM_BatchDecode(benchmark::State& state) {
  const Shape s = MakeShape(state);
  std::string batch;
  EncodeBatch(0, s.records, kNowMs, &batch);
  std::vector<DecodedRecord> records;
  std::vector<HeaderView> headers;
  for (auto _ : state) {
    BatchHeader h;
    if (!ParseBatchHeader(batch, &h).ok() || !BatchCrcMatches(batch, h)) {
      state.SkipWithError("batch does not check");
      return;
    }
    records.clear();
    headers.clear();
    if (!DecodeRecords(batch, h, &records, &headers).ok()) {
      state.SkipWithError("batch does not decode");
      return;
    }
    benchmark::DoNotOptimize(records.data());
  }
  SetCounts(state, batch.size());
}
BENCHMARK(BM_BatchDecode)->Apply(BatchShapes);

}  // namespace
}  // namespace runnel::storage
