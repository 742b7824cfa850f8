// `runnel bench xadd|xread --target HOST:PORT`: Redis Streams load, the same
// code against runnel's broker and against redis-server.
//
// Workloads (scripts/bench-streams runs these against both servers, each at
// the same durability: runnel --fsync always vs redis appendfsync always,
// interval:1000 vs everysec):
//   xadd 64 B   -p 10 --pipeline 64                 append throughput
//   xread       --rate 10000 --readers 1            XREAD BLOCK end-to-end latency
//   memory      xadd --messages 10000000 --size 100, then the server's RSS
//
// How it measures:
//  - Writers: P connections; writer j appends to stream "bench.stream.<j % S>"
//    with `XADD key * v <payload>` (payload: the 16-byte stamp of
//    bench_pubsub.h, then filler up to --size). Closed loop (--pipeline
//    commands in flight per connection) or open loop (--rate); see
//    bench_sender.h. Reply latency = reply time - send time, per command.
//  - The streams are deleted first (DEL), unless --keep, so every run starts
//    from empty streams.
//  - xread adds R reader connections on a second thread; reader i follows
//    stream i % S with `XREAD COUNT c BLOCK ms STREAMS key <last id>`, one
//    command in flight, from 0-0 (so nothing appended after setup is
//    missed). End-to-end latency = receive time - the stamp's send time.
//    Loss = entries acknowledged by XADD minus entries read, per writer and
//    reader; order violations = an entry older than one already read.
//  - After the last XADD reply readers get up to 1 s to catch up.
#include "cli/bench_streams.h"

#include "cli/bench_pubsub.h"
#include "cli/bench_sender.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/latency_histogram.h"
#include "cli/resp_client.h"
#include "cli/xread_reply.h"

#include <CLI/CLI.hpp>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace runnel::cli {

namespace {

constexpr auto kSetupTimeout = std::chrono::seconds(10);

struct StreamFlags {
  std::string target;
  bool tls = false;
  TlsOptions tls_options;
  int resp = 2;
  int writers = 1;
  int streams = 1;
  int readers = 0;  // xread: default 1
  int64_t size = 64;
  int pipeline = 64;
  double rate = 0;
  double seconds = 5;
  int64_t messages = 0;
  int64_t count = 1000;   // XREAD COUNT
  int64_t block_ms = 1000;
  int64_t maxlen = 0;     // XADD MAXLEN ~ N (0 = no trimming)
  bool keep = false;
  bool json = false;
};

std::string StreamKey(int s) { return "bench.stream." + std::to_string(s); }

// ---- Readers --------------------------------------------------------------------

struct Reader {
  std::unique_ptr<RespConnection> conn;
  int stream = 0;
  std::string last_id = "0-0";
  std::string partial;
  SequenceTracker tracker;
  Reader(std::unique_ptr<RespConnection> c, int s, size_t feeders)
      : conn(std::move(c)), stream(s), tracker(feeders) {}
};

struct Shared {
  std::atomic<bool> writing_done{false};
  std::atomic<int64_t> expected{0};
  std::atomic<int64_t> writing_end_ns{0};
};

struct ReaderStats {
  int64_t delivered = 0;
  int64_t foreign = 0;
  int64_t empty_replies = 0;  // BLOCK timeouts
  int64_t last_delivery_ns = 0;
  int64_t cpu_ns = 0;
  LatencyHistogram latency;
  std::string error;
};

class ReaderLoop {
 public:
  ReaderLoop(const StreamFlags& f, std::vector<Reader>* readers, Shared* shared)
      : f_(f), readers_(*readers), shared_(*shared) {}

  void Run(ReaderStats* stats) {
    stats_ = stats;
    const int64_t cpu0 = BenchCpuNs(RUSAGE_THREAD);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < readers_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, readers_[i].conn->fd(), &ev);
      if (!Send(readers_[i])) break;
    }
    std::vector<epoll_event> events(std::max<size_t>(readers_.size(), 1));
    while (stats_->error.empty()) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
      for (int i = 0; i < n && stats_->error.empty(); ++i) ReadSome(readers_[events[i].data.u64]);
      if (shared_.writing_done.load(std::memory_order_acquire)) {
        if (stats_->delivered >= shared_.expected.load()) break;
        if (BenchNowNs() - shared_.writing_end_ns.load() > kBenchDrainNs) break;
      }
    }
    close(ep);
    stats_->cpu_ns = BenchCpuNs(RUSAGE_THREAD) - cpu0;
  }

 private:
  bool Send(Reader& r) {
    cmd_.clear();
    const std::string count = std::to_string(f_.count), block = std::to_string(f_.block_ms);
    AppendCommand(&cmd_,
                  {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", StreamKey(r.stream), r.last_id});
    // One small command on an idle connection: the socket takes it whole.
    Status st = r.conn->WriteAll(cmd_, std::chrono::steady_clock::now() + kSetupTimeout);
    if (!st.ok()) return Fail("reader: " + st.message());
    return true;
  }

  void ReadSome(Reader& r) {
    for (;;) {
      std::string_view data;
      const int64_t n = scratch_.Read(*r.conn, r.partial, &data);
      if (n < 0) {
        Fail("reader: " + r.conn->error());
        return;
      }
      if (n == 0) return;
      const int64_t now = BenchNowNs();
      RespFrame frame;
      for (;;) {
        size_t used = 0;
        const ScanStatus st = ScanFrame(data, &frame, &used);
        if (st == ScanStatus::kIncomplete) break;
        if (st == ScanStatus::kError) {
          Fail("reader: the server sent bytes that are not RESP");
          return;
        }
        if (frame.head.type == '>') {  // a RESP3 push, not our reply
          data.remove_prefix(used);
          continue;
        }
        entries_.clear();
        std::string why;
        if (!ParseXReadReply(data.substr(0, used), &entries_, &why)) {
          Fail("XREAD: " + why);
          return;
        }
        if (entries_.empty()) ++stats_->empty_replies;
        for (const StreamEntryView& e : entries_) Deliver(r, e.value, now);
        if (!entries_.empty()) r.last_id.assign(entries_.back().id);
        data.remove_prefix(used);
        if (!Send(r)) return;
      }
      r.partial.assign(data);
      if (!r.conn->HasBufferedInput()) return;
    }
  }

  void Deliver(Reader& r, std::string_view payload, int64_t now) {
    Stamp stamp;
    if (!ReadStamp(payload, &stamp) || stamp.publisher >= static_cast<uint32_t>(f_.writers) ||
        static_cast<int>(stamp.publisher % f_.streams) != r.stream) {
      ++stats_->foreign;
      return;
    }
    ++stats_->delivered;
    stats_->last_delivery_ns = now;
    stats_->latency.Record(now - stamp.send_ns);
    r.tracker.Observe(stamp.publisher / f_.streams, stamp.sequence);
  }

  bool Fail(const std::string& why) {
    if (stats_->error.empty()) stats_->error = why;
    return false;
  }

  const StreamFlags& f_;
  std::vector<Reader>& readers_;
  Shared& shared_;
  ReaderStats* stats_ = nullptr;
  ReadScratch scratch_;
  std::string cmd_;
  std::vector<StreamEntryView> entries_;
};

// ---- Setup --------------------------------------------------------------------

Status DeleteStreams(const StreamFlags& f, const Endpoint& endpoint,
                     const std::shared_ptr<TlsContext>& tls, Deadline deadline) {
  auto conn = OpenBenchConnection(f.resp, endpoint, tls, deadline);
  if (!conn.ok()) return conn.status();
  for (int s = 0; s < f.streams; ++s) {
    RespFrame reply;
    Status st = (*conn)->Call({"DEL", StreamKey(s)}, &reply, deadline);
    if (!st.ok()) return Status(st.code(), "DEL " + StreamKey(s) + ": " + st.message());
  }
  return Status::OK();
}

Status SetUpWriters(const StreamFlags& f, const Endpoint& endpoint,
                    const std::shared_ptr<TlsContext>& tls, Deadline deadline,
                    std::vector<Sender>* writers) {
  const std::string filler(static_cast<size_t>(f.size), 'x');
  const std::string maxlen = std::to_string(f.maxlen);
  for (int j = 0; j < f.writers; ++j) {
    auto conn = OpenBenchConnection(f.resp, endpoint, tls, deadline);
    if (!conn.ok()) return conn.status();
    Sender& w = writers->emplace_back();
    w.conn = std::move(*conn);
    w.id = static_cast<uint32_t>(j);
    const std::string key = StreamKey(j % f.streams);
    if (f.maxlen > 0) {
      SetSenderCommand(&w, {"XADD", key, "MAXLEN", "~", maxlen, "*", "v", filler}, f.pipeline);
    } else {
      SetSenderCommand(&w, {"XADD", key, "*", "v", filler}, f.pipeline);
    }
  }
  return Status::OK();
}

Status SetUpReaders(const StreamFlags& f, const Endpoint& endpoint,
                    const std::shared_ptr<TlsContext>& tls, Deadline deadline,
                    std::vector<Reader>* readers) {
  const size_t feeders = static_cast<size_t>((f.writers + f.streams - 1) / f.streams);
  for (int i = 0; i < f.readers; ++i) {
    auto conn = OpenBenchConnection(f.resp, endpoint, tls, deadline);
    if (!conn.ok()) return conn.status();
    readers->emplace_back(std::move(*conn), i % f.streams, feeders);
  }
  return Status::OK();
}

// ---- Report -------------------------------------------------------------------

struct Summary {
  double write_secs = 0;
  int64_t written = 0, errors = 0;
  double write_rate = 0, write_mb_s = 0;
  double reply_p50_us = 0, reply_p99_us = 0, reply_p999_us = 0, reply_max_us = 0;
  int64_t delivered = 0, expected = 0, empty_replies = 0, foreign = 0;
  double deliver_rate = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
  int64_t samples = 0;
  uint64_t loss = 0, order_violations = 0;
  double max_lag_us = 0;
  double cpu_pct = 0;
};

void PrintJson(const char* mode, const StreamFlags& f, const Summary& s) {
  JsonLine j;
  j.Str("mode", mode);
  j.Str("target", f.target);
  j.Bool("tls", f.tls);
  j.Int("resp", f.resp);
  j.Int("writers", f.writers);
  j.Int("streams", f.streams);
  j.Int("readers", f.readers);
  j.Int("size", f.size);
  j.Int("pipeline", f.pipeline);
  j.Raw("rate", Fixed(f.rate, 0));
  j.Raw("seconds", Fixed(s.write_secs, 3));
  j.Int("written", s.written);
  j.Int("errors", s.errors);
  j.Raw("xadd_s", Fixed(s.write_rate, 0));
  j.Raw("xadd_mb_s", Fixed(s.write_mb_s, 2));
  j.Raw("reply_p50_us", Fixed(s.reply_p50_us, 1));
  j.Raw("reply_p99_us", Fixed(s.reply_p99_us, 1));
  j.Raw("reply_p999_us", Fixed(s.reply_p999_us, 1));
  j.Raw("reply_max_us", Fixed(s.reply_max_us, 1));
  j.Int("delivered", s.delivered);
  j.Int("expected", s.expected);
  j.Raw("deliver_s", Fixed(s.deliver_rate, 0));
  j.Raw("p50_us", Fixed(s.p50_us, 1));
  j.Raw("p99_us", Fixed(s.p99_us, 1));
  j.Raw("p999_us", Fixed(s.p999_us, 1));
  j.Raw("max_us", Fixed(s.max_us, 1));
  j.Raw("mean_us", Fixed(s.mean_us, 1));
  j.Int("latency_samples", s.samples);
  j.Int("loss", static_cast<int64_t>(s.loss));
  j.Int("order_violations", static_cast<int64_t>(s.order_violations));
  j.Int("foreign", s.foreign);
  j.Int("empty_replies", s.empty_replies);
  j.Raw("schedule_lag_max_us", Fixed(s.max_lag_us, 1));
  j.Raw("cpu_pct", Fixed(s.cpu_pct, 1));
  j.Print();
}

void PrintTable(const char* mode, const StreamFlags& f, const Summary& s) {
  std::printf("bench %s  %s%s  RESP%d  %d writer%s -> %d stream%s", mode, f.target.c_str(),
              f.tls ? " (TLS)" : "", f.resp, f.writers, f.writers == 1 ? "" : "s", f.streams,
              f.streams == 1 ? "" : "s");
  if (f.readers > 0) std::printf(" -> %d reader%s", f.readers, f.readers == 1 ? "" : "s");
  std::printf("  %lld B  %s\n", static_cast<long long>(f.size),
              f.rate > 0 ? ("rate " + Fixed(f.rate, 0) + " entries/s").c_str()
                         : ("pipeline " + std::to_string(f.pipeline)).c_str());
  std::printf("  XADD       %12lld entries  %12.0f entries/s  %.2f MB/s  in %.2f s\n",
              static_cast<long long>(s.written), s.write_rate, s.write_mb_s, s.write_secs);
  std::printf("  reply      p50 %.1f us  p99 %.1f us  p999 %.1f us  max %.1f us\n", s.reply_p50_us,
              s.reply_p99_us, s.reply_p999_us, s.reply_max_us);
  if (f.readers > 0) {
    std::printf("  XREAD      %12lld entries  %12.0f entries/s  (expected %lld)\n",
                static_cast<long long>(s.delivered), s.deliver_rate,
                static_cast<long long>(s.expected));
    std::printf("  latency    p50 %.1f us  p99 %.1f us  p999 %.1f us  max %.1f us  (%lld samples)\n",
                s.p50_us, s.p99_us, s.p999_us, s.max_us, static_cast<long long>(s.samples));
    std::printf("  loss       %llu    order violations %llu\n",
                static_cast<unsigned long long>(s.loss),
                static_cast<unsigned long long>(s.order_violations));
  }
  if (f.rate > 0) std::printf("  schedule   fell behind by at most %.1f us\n", s.max_lag_us);
  std::printf("  tool cpu   %.0f%% of one core\n", s.cpu_pct);
}

// ---- The commands ---------------------------------------------------------------

int RunBenchStreams(const char* mode, const StreamFlags& f) {
  const std::string verb = std::string("bench ") + mode;
  if (f.writers < 1 || static_cast<uint32_t>(f.writers) > kMaxPublishers - 1) {
    return ReportUsage(verb, "--writers must be 1.." + std::to_string(kMaxPublishers - 1));
  }
  if (f.streams < 1) return ReportUsage(verb, "--streams must be >= 1");
  if (f.readers < 0) return ReportUsage(verb, "--readers must be >= 0");
  if (f.size < static_cast<int64_t>(kStampBytes) || f.size > (int64_t{64} << 20)) {
    return ReportUsage(verb, "--size must be 16..64 MiB (16 bytes carry the stamp)");
  }
  if (f.pipeline < 1) return ReportUsage(verb, "--pipeline must be >= 1");
  if (f.rate < 0 || !std::isfinite(f.rate)) return ReportUsage(verb, "--rate must be >= 0");
  if (!(f.seconds > 0) || f.seconds > 86400) return ReportUsage(verb, "--seconds must be > 0");
  if (f.messages < 0) return ReportUsage(verb, "--messages must be >= 0");
  if (f.count < 1) return ReportUsage(verb, "--count must be >= 1");
  if (f.block_ms < 1) return ReportUsage(verb, "--block-ms must be >= 1");
  if (f.maxlen < 0) return ReportUsage(verb, "--maxlen must be >= 0");
  auto endpoint = ParseEndpoint(f.target);
  if (!endpoint.ok()) return ReportUsage(verb, "--target " + endpoint.status().message());

  std::shared_ptr<TlsContext> tls;
  if (f.tls) {
    auto ctx = TlsContext::Create(f.tls_options);
    if (!ctx.ok()) return ReportError(verb, ctx.status());
    tls = std::move(*ctx);
  }
  const Deadline deadline = std::chrono::steady_clock::now() + kSetupTimeout;
  std::vector<Sender> writers;
  std::vector<Reader> readers;
  writers.reserve(static_cast<size_t>(f.writers));
  readers.reserve(static_cast<size_t>(f.readers));
  Status st = f.keep ? Status::OK() : DeleteStreams(f, *endpoint, tls, deadline);
  if (st.ok()) st = SetUpReaders(f, *endpoint, tls, deadline, &readers);
  if (st.ok()) st = SetUpWriters(f, *endpoint, tls, deadline, &writers);
  if (!st.ok()) {
    std::fprintf(stderr, "runnel %s: %s\n", verb.c_str(), st.message().c_str());
    return kExitFailure;
  }

  Shared shared;
  ReaderStats reader_stats;
  SenderStats writer_stats;
  const SenderFlags send{f.pipeline, f.rate, f.seconds, f.messages, '$', "XADD"};
  const int64_t wall0 = BenchNowNs();
  const int64_t cpu0 = BenchCpuNs(RUSAGE_SELF);
  ReaderLoop reader_loop(f, &readers, &shared);
  std::thread reader_thread;
  if (!readers.empty()) reader_thread = std::thread([&] { reader_loop.Run(&reader_stats); });
  SenderLoop(send, &writers).Run(&writer_stats);

  std::vector<int64_t> on_stream(static_cast<size_t>(f.streams), 0);
  for (const Reader& r : readers) ++on_stream[static_cast<size_t>(r.stream)];
  int64_t expected = 0;
  for (const Sender& w : writers) {
    expected += w.acked * on_stream[w.id % static_cast<uint32_t>(f.streams)];
  }
  shared.expected.store(expected);
  shared.writing_end_ns.store(BenchNowNs());
  shared.writing_done.store(true, std::memory_order_release);
  if (reader_thread.joinable()) reader_thread.join();
  const int64_t wall = BenchNowNs() - wall0;
  const int64_t cpu = BenchCpuNs(RUSAGE_SELF) - cpu0;

  if (!writer_stats.error.empty() || !reader_stats.error.empty()) {
    const std::string& why = writer_stats.error.empty() ? reader_stats.error : writer_stats.error;
    std::fprintf(stderr, "runnel %s: %s\n", verb.c_str(), why.c_str());
    return kExitFailure;
  }

  Summary s;
  s.write_secs = static_cast<double>(writer_stats.end_ns - writer_stats.start_ns) / 1e9;
  s.written = writer_stats.acked;
  s.errors = writer_stats.errors;
  if (s.write_secs > 0) {
    s.write_rate = s.written / s.write_secs;
    s.write_mb_s = s.write_rate * static_cast<double>(f.size) / 1e6;
  }
  LatencyHistogram& rl = writer_stats.reply_latency;
  s.reply_p50_us = rl.Percentile(0.50) / 1e3;
  s.reply_p99_us = rl.Percentile(0.99) / 1e3;
  s.reply_p999_us = rl.Percentile(0.999) / 1e3;
  s.reply_max_us = rl.max() / 1e3;
  s.delivered = reader_stats.delivered;
  s.expected = expected;
  s.empty_replies = reader_stats.empty_replies;
  s.foreign = reader_stats.foreign;
  const double deliver_secs =
      static_cast<double>(reader_stats.last_delivery_ns - writer_stats.start_ns) / 1e9;
  if (s.delivered > 0 && deliver_secs > 0) s.deliver_rate = s.delivered / deliver_secs;
  LatencyHistogram& h = reader_stats.latency;
  s.p50_us = h.Percentile(0.50) / 1e3;
  s.p99_us = h.Percentile(0.99) / 1e3;
  s.p999_us = h.Percentile(0.999) / 1e3;
  s.max_us = h.max() / 1e3;
  s.mean_us = h.mean() / 1e3;
  s.samples = h.count();
  for (const Reader& r : readers) {
    s.order_violations += r.tracker.order_violations();
    for (int j = r.stream, k = 0; j < f.writers; j += f.streams, ++k) {
      s.loss += r.tracker.Lost(static_cast<size_t>(k),
                               static_cast<uint64_t>(writers[static_cast<size_t>(j)].acked));
    }
  }
  s.max_lag_us = writer_stats.max_lag_ns / 1e3;
  s.cpu_pct = 100.0 * cpu / wall;
  if (f.json) {
    PrintJson(mode, f, s);
  } else {
    PrintTable(mode, f, s);
  }
  std::fflush(stdout);
  return kExitOk;
}

// The flags both modes share.
void AddCommonFlags(CLI::App* cmd, StreamFlags* f) {
  cmd->add_option("--target", f->target, "Server address HOST:PORT")->required();
  cmd->add_flag("--tls", f->tls, "Connect with TLS");
  cmd->add_option("--tls-ca", f->tls_options.ca_file, "CA bundle to verify the server (--tls)");
  cmd->add_option("--tls-cert", f->tls_options.cert_file, "Client certificate, PEM (--tls)");
  cmd->add_option("--tls-key", f->tls_options.key_file, "Client private key, PEM (--tls)");
  cmd->add_flag("--tls-insecure", f->tls_options.insecure, "Do not verify the server (--tls)");
  cmd->add_option("-p,--writers", f->writers, "XADD connections")->capture_default_str();
  cmd->add_option("--streams", f->streams, "Streams (writer j appends to bench.stream.<j % S>)")
      ->capture_default_str();
  cmd->add_option("--size", f->size, "Field value bytes (>= 16)")->capture_default_str();
  cmd->add_option("--pipeline", f->pipeline, "XADD commands in flight per writer")
      ->capture_default_str();
  cmd->add_option("--rate", f->rate, "Total XADD/s on a fixed schedule (0 = as fast as possible)")
      ->capture_default_str();
  cmd->add_option("--seconds", f->seconds, "Writing time")->capture_default_str();
  cmd->add_option("--messages", f->messages, "Stop after this many entries (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--maxlen", f->maxlen, "XADD MAXLEN ~ N (0 = no trimming)")->capture_default_str();
  cmd->add_flag("--keep", f->keep, "Do not DEL the streams first");
  cmd->add_option("--resp", f->resp, "Protocol version (3 sends HELLO 3)")
      ->check(CLI::IsMember({2, 3}))
      ->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object on one line instead of the table");
}

}  // namespace

void RegisterBenchStreams(CLI::App* bench) {
  auto xadd = std::make_shared<StreamFlags>();
  CLI::App* cmd = bench->add_subcommand("xadd", "Redis Streams append load: XADD rate and latency");
  cmd->footer(WrapText(
      "Writers keep --pipeline `XADD bench.stream.<j % S> * v <payload>` in flight (or with "
      "--rate send on a fixed schedule). The streams are deleted first unless --keep. Exit 1 if "
      "a connection or an XADD failed."));
  AddCommonFlags(cmd, xadd.get());
  cmd->callback([xadd] { ExitCode() = RunBenchStreams("xadd", *xadd); });

  auto xread = std::make_shared<StreamFlags>();
  xread->readers = 1;
  cmd = bench->add_subcommand(
      "xread", "Redis Streams tail load: XADD, and XREAD BLOCK readers' end-to-end latency");
  cmd->footer(WrapText(
      "As `bench xadd`, plus --readers connections; reader i follows bench.stream.<i % S> with "
      "XREAD COUNT --count BLOCK --block-ms from 0-0, one command in flight. Payload: 8-byte send "
      "time, 8-byte writer id and sequence, filler. After the run readers get 1 s to catch up. "
      "Exit 1 if a connection, an XADD or an XREAD failed."));
  AddCommonFlags(cmd, xread.get());
  cmd->add_option("-r,--readers", xread->readers, "XREAD BLOCK connections")->capture_default_str();
  cmd->add_option("--count", xread->count, "XREAD COUNT")->capture_default_str();
  cmd->add_option("--block-ms", xread->block_ms, "XREAD BLOCK milliseconds")->capture_default_str();
  cmd->callback([xread] { ExitCode() = RunBenchStreams("xread", *xread); });
}

}  // namespace runnel::cli
