// `runnel bench tcp`: one sender thread writes --chunk bytes at a time into
// a loopback TCP connection for --seconds, one receiver thread reads them
// with --chunk sized reads and drops them. The result (MB/s received) is the
// physical limit the Kafka consume goal is set against (scripts/bench-kafka):
// a broker's Fetch answer crosses the same loopback path.
#include "cli/bench_tcp.h"

#include "cli/bench_sender.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace runnel::cli {

namespace {

struct TcpFlags {
  double seconds = 2;
  int64_t chunk = 1 << 20;
  bool json = false;
};

// A listening socket on 127.0.0.1 and a connection to it: {sender, receiver}.
bool ConnectedPair(int* sender, int* receiver, std::string* why) {
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    *why = std::string("listen on 127.0.0.1: ") + std::strerror(errno);
    if (l >= 0) close(l);
    return false;
  }
  *sender = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*sender < 0 || connect(*sender, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *why = std::string("connect to 127.0.0.1: ") + std::strerror(errno);
    close(l);
    return false;
  }
  *receiver = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  close(l);
  if (*receiver < 0) {
    *why = std::string("accept: ") + std::strerror(errno);
    close(*sender);
    return false;
  }
  return true;
}

int RunBenchTcp(const TcpFlags& f) {
  const std::string verb = "bench tcp";
  if (!(f.seconds > 0) || f.seconds > 3600) return ReportUsage(verb, "--seconds must be > 0");
  if (f.chunk < 1 || f.chunk > (int64_t{64} << 20))
    return ReportUsage(verb, "--chunk must be 1..64 MiB");
  int tx = -1, rx = -1;
  std::string why;
  if (!ConnectedPair(&tx, &rx, &why)) {
    std::fprintf(stderr, "runnel %s: %s\n", verb.c_str(), why.c_str());
    return kExitFailure;
  }
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> last_ns{0};
  const int64_t start = BenchNowNs();
  const int64_t cpu0 = BenchCpuNs(RUSAGE_SELF);
  std::thread reader([&] {
    std::vector<char> buf(static_cast<size_t>(f.chunk));
    int64_t total = 0;
    for (;;) {
      const ssize_t n = read(rx, buf.data(), buf.size());
      if (n <= 0) break;
      total += n;
    }
    received.store(total);
    last_ns.store(BenchNowNs());
  });
  std::vector<char> buf(static_cast<size_t>(f.chunk), 'x');
  const int64_t stop = start + static_cast<int64_t>(f.seconds * 1e9);
  int64_t sent = 0;
  while (BenchNowNs() < stop) {
    const ssize_t n = write(tx, buf.data(), buf.size());
    if (n <= 0) break;
    sent += n;
  }
  shutdown(tx, SHUT_WR);
  reader.join();
  close(tx);
  close(rx);
  const int64_t wall = last_ns.load() - start;
  const double mb_s = wall > 0 ? static_cast<double>(received.load()) / (wall / 1e9) / 1e6 : 0;
  const double cpu_pct = 100.0 * static_cast<double>(BenchCpuNs(RUSAGE_SELF) - cpu0) / wall;
  if (received.load() != sent) {
    std::fprintf(stderr, "runnel %s: sent %lld bytes, received %lld\n", verb.c_str(),
                 static_cast<long long>(sent), static_cast<long long>(received.load()));
    return kExitFailure;
  }
  if (f.json) {
    JsonLine j;
    j.Str("mode", "tcp");
    j.Int("chunk", f.chunk);
    j.Raw("seconds", Fixed(wall / 1e9, 3));
    j.Int("bytes", received.load());
    j.Raw("mb_s", Fixed(mb_s, 1));
    j.Raw("cpu_pct", Fixed(cpu_pct, 1));
    j.Print();
  } else {
    std::printf("bench tcp  127.0.0.1, %lld-byte writes and reads\n",
                static_cast<long long>(f.chunk));
    std::printf("  received   %.1f MB/s  (%lld bytes in %.2f s)\n", mb_s,
                static_cast<long long>(received.load()), wall / 1e9);
    std::printf("  tool cpu   %.0f%% of one core\n", cpu_pct);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void RegisterBenchTcp(CLI::App* bench) {
  auto f = std::make_shared<TcpFlags>();
  CLI::App* cmd = bench->add_subcommand("tcp", "Loopback TCP bandwidth (one connection)");
  cmd->add_option("--seconds", f->seconds, "Sending time")->capture_default_str();
  cmd->add_option("--chunk", f->chunk, "Bytes per write and per read")->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object on one line instead of the table");
  cmd->callback([f] { ExitCode() = RunBenchTcp(*f); });
}

}  // namespace runnel::cli
