// `runnel bench tcp`: loopback TCP bandwidth on this machine, the ceiling a
// consumer that reads from a broker over 127.0.0.1 can reach (bench_tcp.cc).
#pragma once

namespace CLI {
class App;
}

namespace runnel::cli {

// Adds `tcp` under `runnel bench` (cmd_bench.cc calls it).
void RegisterBenchTcp(CLI::App* bench);

}  // namespace runnel::cli
