// RESP parser and writer on the pub/sub hot path: a pipeline of 64
// PUBLISH commands (as redis-benchmark -P 64 sends), and 64 message pushes
// (one subscriber's share of a fan-out). items/s counts commands or frames;
// ns per item = 1e9 / items_per_second.
//
//   runnel_micro --benchmark_filter=Resp
#include "protocol/resp/resp_parser.h"
#include "protocol/resp/resp_writer.h"

#include <benchmark/benchmark.h>

#include <string>

namespace runnel::resp {
namespace {

constexpr int kPipeline = 64;

std::string PublishPipeline() {
  std::string payload(64, 'p');
  std::string one = "*3\r\n$7\r\nPUBLISH\r\n$4\r\nchan\r\n$64\r\n" + payload + "\r\n";
  std::string all;
  for (int i = 0; i < kPipeline; ++i) all += one;
  return all;
}

void BM_RespParsePublishPipeline(benchmark::State& state) {
  const std::string input = PublishPipeline();
  RespParser parser;
  CommandBatch batch;
  for (auto _ : state) {
    batch.clear();
    ParseResult r = parser.Parse(input, &batch);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(batch[kPipeline - 1][2].data());
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
  state.SetBytesProcessed(state.iterations() * input.size());
}
BENCHMARK(BM_RespParsePublishPipeline);

// The same pipeline arriving in 1460-byte TCP segments: the parser stalls
// mid-command and resumes from its saved position each time.
void BM_RespParsePublishPipelineSegmented(benchmark::State& state) {
  const std::string input = PublishPipeline();
  constexpr size_t kSegment = 1460;
  RespParser parser;
  CommandBatch batch;
  std::string buf;
  buf.reserve(input.size() + kSegment);
  for (auto _ : state) {
    buf.clear();
    for (size_t at = 0; at < input.size(); at += kSegment) {
      buf.append(input, at, kSegment);
      ParseResult r = parser.Parse(buf, &batch);
      batch.clear();
      buf.erase(0, r.consumed);
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
}
BENCHMARK(BM_RespParsePublishPipelineSegmented);

void BM_RespWriteMessages(benchmark::State& state) {
  const Protocol protocol = state.range(0) == 3 ? Protocol::kResp3 : Protocol::kResp2;
  const std::string payload(64, 'p');
  std::string out;
  out.reserve(16 << 10);
  for (auto _ : state) {
    out.clear();
    RespWriter w(&out, protocol);
    for (int i = 0; i < kPipeline; ++i) w.Message("chan", payload);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
  state.SetBytesProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_RespWriteMessages)->Arg(2)->Arg(3);

// The generic calls a reply without a fast path would make.
void BM_RespWriteMessagesGeneric(benchmark::State& state) {
  const std::string payload(64, 'p');
  std::string out;
  out.reserve(16 << 10);
  for (auto _ : state) {
    out.clear();
    RespWriter w(&out, Protocol::kResp3);
    for (int i = 0; i < kPipeline; ++i) {
      w.PushHeader(3);
      w.Bulk("message");
      w.Bulk("chan");
      w.Bulk(payload);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
}
BENCHMARK(BM_RespWriteMessagesGeneric);

}  // namespace
}  // namespace runnel::resp
