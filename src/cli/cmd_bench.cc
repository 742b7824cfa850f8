// `runnel bench`: measurements of this build on this machine. Each kind of
// load is its own subcommand in its own file:
//   bench log      the embedded log (bench_log.cc, bench_log_tail.cc)
//   bench pubsub   a RESP pub/sub server, runnel's or redis-server (bench_pubsub.cc)
//   bench xadd     Redis Streams appends, runnel's or redis-server (bench_streams.cc)
//   bench xread    Redis Streams XREAD BLOCK tailing (bench_streams.cc)
//   bench kafka    Kafka produce, consume and end-to-end latency (bench_kafka.cc)
//   bench tcp      loopback TCP bandwidth, the ceiling of a consumer (bench_tcp.cc)
// scripts/bench runs them together with the machine's own limits and prints
// each result as a ratio to its limit (docs/benchmarks.md).
#include "cli/bench_kafka.h"
#include "cli/bench_log.h"
#include "cli/bench_pubsub.h"
#include "cli/bench_streams.h"
#include "cli/bench_tcp.h"
#include "cli/commands.h"

namespace runnel::cli {

void RegisterBenchCommand(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure throughput and latency on this machine");
  bench->require_subcommand(1);
  RegisterBenchLog(bench);
  RegisterBenchPubsub(bench);
  RegisterBenchStreams(bench);
  RegisterBenchKafka(bench);
  RegisterBenchTcp(bench);
}

}  // namespace runnel::cli
