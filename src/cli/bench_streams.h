// `runnel bench xadd` and `runnel bench xread`: Redis Streams load, the same
// code against runnel's broker and against redis-server (bench_streams.cc).
#pragma once

namespace CLI {
class App;
}

namespace runnel::cli {

// Adds `xadd` and `xread` under `runnel bench` (cmd_bench.cc calls it).
void RegisterBenchStreams(CLI::App* bench);

}  // namespace runnel::cli
