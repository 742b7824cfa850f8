// `runnel bench pubsub --target HOST:PORT`: RESP pub/sub load, the same
// code against runnel's broker and against redis-server.
//
// Workloads (scripts/bench-pubsub runs these against both servers):
//   1->1 64 B          --pipeline 64                         publish/deliver ceiling
//   1->1 1 KiB         --size 1024 --pipeline 64             bytes, not messages
//   1->10 64 B         --subscribers 10                      fan-out on one channel
//   10->10 64 B        -p 10 -s 10 --channels 10             independent channels
//   10->10 patterns    as above with --pattern (PSUBSCRIBE)  the glob index
//   latency            --rate 10000                          p99 at a fixed load
//
// How it measures:
//  - S subscriber connections; subscriber i takes channel i % C, named
//    "bench.<c>.x" (with --pattern it PSUBSCRIBEs "bench.<c>.*"). Every
//    confirmation is awaited before the first PUBLISH, so every message
//    published has a known set of receivers.
//  - P publisher connections; publisher j publishes to channel j % C.
//    Closed loop: K commands in flight per connection, topped up as replies
//    arrive (one buffer, one write per read). Open loop (--rate R): message
//    m of the run is due at start + m/R and goes to publisher m % P; the
//    loop sleeps (epoll_pwait2, ns timeout) until the next due time. The
//    stamp carries the actual send time; how far sending fell behind the
//    schedule is reported.
//  - Publishers run on the calling thread, subscribers on a second one (this
//    machine has 2 cores); each thread has one epoll loop, reads 256 KiB at a
//    time and scans pushes in place (resp_client.h): about 40 ns of parsing
//    and bookkeeping per delivered message. Its CPU time is reported so a saturated tool
//    is visible rather than mistaken for a slow server.
//  - Latency = receive time (one clock read per read()) - send time, exact
//    percentiles over up to 2M samples (latency_histogram.h).
//  - After the last reply to PUBLISH, subscribers get up to 1 s to receive
//    what is still in flight. Loss = per publisher and subscriber, sent -
//    received; order violations = a message older than one already seen.
#include "cli/bench_pubsub.h"

#include "cli/bench_sender.h"

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/latency_histogram.h"
#include "cli/resp_client.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <errno.h>
#include <memory>
#include <string.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "bench pubsub";
constexpr auto kSetupTimeout = std::chrono::seconds(10);

struct PubsubFlags {
  std::string target;
  bool tls = false;
  TlsOptions tls_options;
  int publishers = 1;
  int subscribers = 1;
  int channels = 1;
  int64_t size = 64;
  int pipeline = 64;
  double rate = 0;
  double seconds = 5;
  int64_t messages = 0;
  bool pattern = false;
  int resp = 2;
  bool json = false;
};

std::string ChannelName(int c) { return "bench." + std::to_string(c) + ".x"; }
std::string PatternName(int c) { return "bench." + std::to_string(c) + ".*"; }

// ---- Subscribers ----------------------------------------------------------------

struct Subscriber {
  std::unique_ptr<RespConnection> conn;
  int channel = 0;
  std::string partial;  // an unfinished frame (see ReadScratch)
  SequenceTracker tracker;
  Subscriber(std::unique_ptr<RespConnection> c, int ch, size_t feeders)
      : conn(std::move(c)), channel(ch), tracker(feeders) {}
};

// What the publisher thread tells the subscriber thread.
struct Shared {
  std::atomic<bool> publish_done{false};
  std::atomic<int64_t> expected{0};  // deliveries owed once publishing is done
  std::atomic<int64_t> publish_end_ns{0};
};

struct SubscriberStats {
  int64_t delivered = 0;
  int64_t foreign = 0;  // not a stamp of this run's publishers for that channel
  int64_t last_delivery_ns = 0;
  int64_t cpu_ns = 0;
  LatencyHistogram latency;
  std::string error;
};

class SubscriberLoop {
 public:
  SubscriberLoop(const PubsubFlags& f, std::vector<Subscriber>* subs, Shared* shared)
      : f_(f), subs_(*subs), shared_(*shared) {}

  void Run(SubscriberStats* stats) {
    stats_ = stats;
    const int64_t cpu0 = BenchCpuNs(RUSAGE_THREAD);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < subs_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, subs_[i].conn->fd(), &ev);
      // Bytes that arrived with the last subscribe confirmation.
      Subscriber& s = subs_[i];
      if (!s.partial.empty()) {
        const std::string early = std::move(s.partial);
        size_t used = 0;
        Parse(s, early, BenchNowNs(), &used);
        s.partial.assign(early, used);
      }
    }
    std::vector<epoll_event> events(std::max<size_t>(subs_.size(), 1));
    size_t open = subs_.size();
    while (open > 0) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
      for (int i = 0; i < n; ++i) {
        Subscriber& s = subs_[events[i].data.u64];
        if (!ReadSome(s)) {
          epoll_ctl(ep, EPOLL_CTL_DEL, s.conn->fd(), nullptr);
          --open;
        }
      }
      if (shared_.publish_done.load(std::memory_order_acquire)) {
        if (stats_->delivered >= shared_.expected.load()) break;
        if (BenchNowNs() - shared_.publish_end_ns.load() > kBenchDrainNs) break;
      }
    }
    close(ep);
    stats_->cpu_ns = BenchCpuNs(RUSAGE_THREAD) - cpu0;
  }

 private:
  // False when the connection is finished (closed or broken).
  bool ReadSome(Subscriber& s) {
    for (;;) {
      std::string_view data;
      const int64_t n = scratch_.Read(*s.conn, s.partial, &data);
      if (n < 0) {
        return Fail("subscriber " + std::to_string(&s - subs_.data()) + ": " + s.conn->error());
      }
      if (n == 0) return true;
      size_t used = 0;
      if (!Parse(s, data, BenchNowNs(), &used)) return false;
      s.partial.assign(data.substr(used));
      // Once per wake-up is fair to the other connections, but bytes
      // OpenSSL already holds would not wake us again.
      if (!s.conn->HasBufferedInput()) return true;
    }
  }

  // Handles every complete frame in `data`; `*used` = the bytes they took.
  bool Parse(Subscriber& s, std::string_view data, int64_t now, size_t* used) {
    RespFrame frame;
    size_t at = 0;
    for (;;) {
      *used = at;
      const std::string_view rest = data.substr(at);
      size_t n = 0;
      std::string_view pattern, channel, payload;
      switch (ScanMessage(rest, &pattern, &channel, &payload, &n)) {
        case MessageScan::kMessage:
          at += n;
          Deliver(s, payload, now);
          continue;
        case MessageScan::kIncomplete:
          return true;
        case MessageScan::kOther:
          break;
      }
      const ScanStatus st = ScanFrame(rest, &frame, &n);
      if (st == ScanStatus::kIncomplete) return true;
      if (st == ScanStatus::kError) {
        return Fail("subscriber: the server sent bytes that are not RESP");
      }
      at += n;
      const PubSubEvent ev = AsPubSubEvent(frame);
      if (ev.kind == PushKind::kMessage || ev.kind == PushKind::kPMessage) {
        Deliver(s, ev.payload, now);
      } else if (frame.is_error()) {
        return Fail("subscriber: " + std::string(frame.head.str));
      }
    }
  }

  void Deliver(Subscriber& s, std::string_view payload, int64_t now) {
    Stamp stamp;
    if (!ReadStamp(payload, &stamp) || stamp.publisher >= static_cast<uint32_t>(f_.publishers) ||
        static_cast<int>(stamp.publisher % f_.channels) != s.channel) {
      ++stats_->foreign;
      return;
    }
    ++stats_->delivered;
    stats_->last_delivery_ns = now;
    stats_->latency.Record(now - stamp.send_ns);
    s.tracker.Observe(stamp.publisher / f_.channels, stamp.sequence);
  }

  bool Fail(const std::string& why) {
    if (stats_->error.empty()) stats_->error = why;
    return false;
  }

  const PubsubFlags& f_;
  std::vector<Subscriber>& subs_;
  Shared& shared_;
  SubscriberStats* stats_ = nullptr;
  ReadScratch scratch_;
};

// ---- Setup --------------------------------------------------------------------

// Connects every subscriber and returns once each has its subscription
// confirmed, so nothing published afterwards can miss it.
Status SetUpSubscribers(const PubsubFlags& f, const Endpoint& endpoint,
                        const std::shared_ptr<TlsContext>& tls, Deadline deadline,
                        std::vector<Subscriber>* subs) {
  const size_t feeders = static_cast<size_t>((f.publishers + f.channels - 1) / f.channels);
  const char* verb = f.pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
  for (int i = 0; i < f.subscribers; ++i) {
    auto conn = OpenBenchConnection(f.resp, endpoint, tls, deadline);
    if (!conn.ok()) return conn.status();
    const int channel = i % f.channels;
    std::string cmd;
    AppendCommand(&cmd, {verb, f.pattern ? PatternName(channel) : ChannelName(channel)});
    if (Status st = (*conn)->WriteAll(cmd, deadline); !st.ok()) return st;
    subs->emplace_back(std::move(*conn), channel, feeders);
  }
  const PushKind confirmed = f.pattern ? PushKind::kPSubscribe : PushKind::kSubscribe;
  for (Subscriber& s : *subs) {
    for (;;) {
      RespFrame frame;
      if (Status st = s.conn->ReadFrame(&frame, deadline); !st.ok()) {
        return Status(st.code(), std::string(verb) + ": " + st.message());
      }
      if (frame.is_error()) {
        return Status::IoError(std::string(verb) + ": " + std::string(frame.head.str));
      }
      if (AsPubSubEvent(frame).kind == confirmed) break;
    }
    s.partial = s.conn->TakeBuffered();
  }
  return Status::OK();
}

Status SetUpPublishers(const PubsubFlags& f, const Endpoint& endpoint,
                       const std::shared_ptr<TlsContext>& tls, Deadline deadline,
                       std::vector<Sender>* pubs) {
  const std::string filler(static_cast<size_t>(f.size), 'x');
  for (int j = 0; j < f.publishers; ++j) {
    auto conn = OpenBenchConnection(f.resp, endpoint, tls, deadline);
    if (!conn.ok()) return conn.status();
    Sender& p = pubs->emplace_back();
    p.conn = std::move(*conn);
    p.id = static_cast<uint32_t>(j);
    SetSenderCommand(&p, {"PUBLISH", ChannelName(j % f.channels), filler}, f.pipeline);
  }
  return Status::OK();
}

// ---- Report -------------------------------------------------------------------

struct Summary {
  double publish_secs = 0;
  int64_t published = 0;
  int64_t delivered = 0;
  int64_t expected = 0;
  double publish_rate = 0;
  double deliver_rate = 0;
  double deliver_mb_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
  int64_t samples = 0;
  uint64_t loss = 0;
  uint64_t order_violations = 0;
  int64_t foreign = 0;
  int64_t receivers = 0;
  double max_lag_us = 0;
  double cpu_pct = 0, cpu_pub_pct = 0, cpu_sub_pct = 0;
  double cpu_us_per_msg = 0;  // the tool's CPU time per delivered message
};

void PrintJson(const PubsubFlags& f, const Summary& s) {
  JsonLine j;
  j.Str("target", f.target);
  j.Bool("tls", f.tls);
  j.Int("resp", f.resp);
  j.Int("publishers", f.publishers);
  j.Int("subscribers", f.subscribers);
  j.Int("channels", f.channels);
  j.Bool("pattern", f.pattern);
  j.Int("size", f.size);
  j.Int("pipeline", f.pipeline);
  j.Raw("rate", Fixed(f.rate, 0));
  j.Raw("seconds", Fixed(s.publish_secs, 3));
  j.Int("published", s.published);
  j.Int("delivered", s.delivered);
  j.Int("expected", s.expected);
  j.Raw("publish_msg_s", Fixed(s.publish_rate, 0));
  j.Raw("deliver_msg_s", Fixed(s.deliver_rate, 0));
  j.Raw("deliver_mb_s", Fixed(s.deliver_mb_s, 2));
  j.Raw("p50_us", Fixed(s.p50_us, 1));
  j.Raw("p99_us", Fixed(s.p99_us, 1));
  j.Raw("p999_us", Fixed(s.p999_us, 1));
  j.Raw("max_us", Fixed(s.max_us, 1));
  j.Raw("mean_us", Fixed(s.mean_us, 1));
  j.Int("latency_samples", s.samples);
  j.Int("loss", static_cast<int64_t>(s.loss));
  j.Int("order_violations", static_cast<int64_t>(s.order_violations));
  j.Int("foreign", s.foreign);
  j.Int("server_receivers", s.receivers);
  j.Raw("schedule_lag_max_us", Fixed(s.max_lag_us, 1));
  j.Raw("cpu_pct", Fixed(s.cpu_pct, 1));
  j.Raw("cpu_pub_pct", Fixed(s.cpu_pub_pct, 1));
  j.Raw("cpu_sub_pct", Fixed(s.cpu_sub_pct, 1));
  j.Raw("cpu_us_per_msg", Fixed(s.cpu_us_per_msg, 3));
  j.Print();
}

void PrintTable(const PubsubFlags& f, const Summary& s) {
  auto plural = [](int n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  std::printf("bench pubsub  %s%s  RESP%d  %s -> %s  %s%s  %lld B  %s\n", f.target.c_str(),
              f.tls ? " (TLS)" : "", f.resp, plural(f.publishers, "publisher").c_str(),
              plural(f.subscribers, "subscriber").c_str(), plural(f.channels, "channel").c_str(),
              f.pattern ? " (patterns)" : "", static_cast<long long>(f.size),
              f.rate > 0 ? ("rate " + Fixed(f.rate, 0) + " msg/s").c_str()
                         : ("pipeline " + std::to_string(f.pipeline)).c_str());
  std::printf("  published  %12lld msgs  %12.0f msg/s  in %.2f s\n",
              static_cast<long long>(s.published), s.publish_rate, s.publish_secs);
  std::printf("  delivered  %12lld msgs  %12.0f msg/s  %.2f MB/s  (expected %lld)\n",
              static_cast<long long>(s.delivered), s.deliver_rate, s.deliver_mb_s,
              static_cast<long long>(s.expected));
  std::printf("  latency    p50 %.1f us  p99 %.1f us  p999 %.1f us  max %.1f us  (%lld samples)\n",
              s.p50_us, s.p99_us, s.p999_us, s.max_us, static_cast<long long>(s.samples));
  std::printf("  loss       %llu    order violations %llu", static_cast<unsigned long long>(s.loss),
              static_cast<unsigned long long>(s.order_violations));
  if (s.foreign > 0) std::printf("    foreign messages %lld", static_cast<long long>(s.foreign));
  std::printf("\n");
  if (f.rate > 0) std::printf("  schedule   fell behind by at most %.1f us\n", s.max_lag_us);
  std::printf(
      "  tool cpu   %.0f%% of one core (publishers %.0f%%, subscribers %.0f%%), %.3f us per "
      "delivered message\n",
      s.cpu_pct, s.cpu_pub_pct, s.cpu_sub_pct, s.cpu_us_per_msg);
}

// ---- The command --------------------------------------------------------------

int RunBenchPubsub(const PubsubFlags& f) {
  if (f.publishers < 1 || static_cast<uint32_t>(f.publishers) > kMaxPublishers - 1) {
    return ReportUsage(kVerb, "--publishers must be 1.." + std::to_string(kMaxPublishers - 1));
  }
  if (f.subscribers < 0) return ReportUsage(kVerb, "--subscribers must be >= 0");
  if (f.channels < 1) return ReportUsage(kVerb, "--channels must be >= 1");
  if (f.size < static_cast<int64_t>(kStampBytes) || f.size > (int64_t{64} << 20)) {
    return ReportUsage(kVerb, "--size must be 16..64 MiB (16 bytes carry the stamp)");
  }
  if (f.pipeline < 1) return ReportUsage(kVerb, "--pipeline must be >= 1");
  if (f.rate < 0 || !std::isfinite(f.rate)) return ReportUsage(kVerb, "--rate must be >= 0");
  if (!(f.seconds > 0) || f.seconds > 86400) return ReportUsage(kVerb, "--seconds must be > 0");
  if (f.messages < 0) return ReportUsage(kVerb, "--messages must be >= 0");
  auto endpoint = ParseEndpoint(f.target);
  if (!endpoint.ok()) return ReportUsage(kVerb, "--target " + endpoint.status().message());

  std::shared_ptr<TlsContext> tls;
  if (f.tls) {
    auto ctx = TlsContext::Create(f.tls_options);
    if (!ctx.ok()) return ReportError(kVerb, ctx.status());
    tls = std::move(*ctx);
  }
  const Deadline deadline = std::chrono::steady_clock::now() + kSetupTimeout;
  std::vector<Subscriber> subs;
  std::vector<Sender> pubs;
  subs.reserve(static_cast<size_t>(f.subscribers));
  pubs.reserve(static_cast<size_t>(f.publishers));
  Status st = SetUpSubscribers(f, *endpoint, tls, deadline, &subs);
  if (st.ok()) st = SetUpPublishers(f, *endpoint, tls, deadline, &pubs);
  // Setup failures are runtime failures (exit 1) whatever their code: the
  // flags were fine, the server was not reachable or refused.
  if (!st.ok()) {
    std::fprintf(stderr, "runnel %s: %s\n", kVerb, st.message().c_str());
    return kExitFailure;
  }

  Shared shared;
  SubscriberStats sub_stats;
  SenderStats pub_stats;
  SenderFlags send{f.pipeline, f.rate, f.seconds, f.messages, ':', "PUBLISH"};
  const int64_t wall0 = BenchNowNs();
  const int64_t cpu0 = BenchCpuNs(RUSAGE_SELF);
  SubscriberLoop sub_loop(f, &subs, &shared);
  std::thread sub_thread([&] { sub_loop.Run(&sub_stats); });
  SenderLoop(send, &pubs).Run(&pub_stats);

  std::vector<int64_t> on_channel(static_cast<size_t>(f.channels), 0);
  for (const Subscriber& s : subs) ++on_channel[static_cast<size_t>(s.channel)];
  int64_t expected = 0;
  for (const Sender& p : pubs) {
    expected += static_cast<int64_t>(p.sent) * on_channel[p.id % static_cast<uint32_t>(f.channels)];
  }
  shared.expected.store(expected);
  shared.publish_end_ns.store(BenchNowNs());
  shared.publish_done.store(true, std::memory_order_release);
  sub_thread.join();
  const int64_t wall = BenchNowNs() - wall0;
  const int64_t cpu = BenchCpuNs(RUSAGE_SELF) - cpu0;

  if (!pub_stats.error.empty() || !sub_stats.error.empty()) {
    const std::string& why = pub_stats.error.empty() ? sub_stats.error : pub_stats.error;
    std::fprintf(stderr, "runnel %s: %s\n", kVerb, why.c_str());
    return kExitFailure;
  }

  Summary s;
  s.publish_secs = static_cast<double>(pub_stats.end_ns - pub_stats.start_ns) / 1e9;
  s.published = pub_stats.acked;
  s.delivered = sub_stats.delivered;
  s.expected = expected;
  s.publish_rate = s.publish_secs > 0 ? s.published / s.publish_secs : 0;
  const double deliver_secs =
      static_cast<double>(sub_stats.last_delivery_ns - pub_stats.start_ns) / 1e9;
  if (s.delivered > 0 && deliver_secs > 0) {
    s.deliver_rate = s.delivered / deliver_secs;
    s.deliver_mb_s = s.deliver_rate * static_cast<double>(f.size) / 1e6;
  }
  LatencyHistogram& h = sub_stats.latency;
  s.p50_us = h.Percentile(0.50) / 1e3;
  s.p99_us = h.Percentile(0.99) / 1e3;
  s.p999_us = h.Percentile(0.999) / 1e3;
  s.max_us = h.max() / 1e3;
  s.mean_us = h.mean() / 1e3;
  s.samples = h.count();
  for (const Subscriber& sub : subs) {
    s.order_violations += sub.tracker.order_violations();
    for (int j = sub.channel, k = 0; j < f.publishers; j += f.channels, ++k) {
      s.loss += sub.tracker.Lost(static_cast<size_t>(k), pubs[static_cast<size_t>(j)].sent);
    }
  }
  s.foreign = sub_stats.foreign;
  s.receivers = pub_stats.receivers;
  s.max_lag_us = pub_stats.max_lag_ns / 1e3;
  s.cpu_pct = 100.0 * cpu / wall;
  s.cpu_pub_pct = 100.0 * pub_stats.cpu_ns / wall;
  s.cpu_sub_pct = 100.0 * sub_stats.cpu_ns / wall;
  if (s.delivered > 0) s.cpu_us_per_msg = static_cast<double>(cpu) / 1e3 / s.delivered;
  if (f.json) {
    PrintJson(f, s);
  } else {
    PrintTable(f, s);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void RegisterBenchPubsub(CLI::App* bench) {
  auto f = std::make_shared<PubsubFlags>();
  CLI::App* cmd = bench->add_subcommand(
      "pubsub", "RESP pub/sub load: publish rate, delivery rate, end-to-end latency, loss, order");
  cmd->footer(WrapText(
      "Subscribers (channel i % C, named bench.<c>.x; --pattern: PSUBSCRIBE bench.<c>.*) are "
      "confirmed before publishing starts. Publishers keep --pipeline PUBLISH commands in flight, "
      "or with --rate send on a fixed schedule. Payload: 8-byte send time, 8-byte publisher id "
      "and sequence, filler. After --seconds (or --messages) subscribers get 1 s to drain. "
      "Exit 1 if a connection, subscription or PUBLISH failed."));
  cmd->add_option("--target", f->target, "Server address HOST:PORT")->required();
  cmd->add_flag("--tls", f->tls, "Connect with TLS");
  cmd->add_option("--tls-ca", f->tls_options.ca_file, "CA bundle to verify the server (--tls)");
  cmd->add_option("--tls-cert", f->tls_options.cert_file, "Client certificate, PEM (--tls)");
  cmd->add_option("--tls-key", f->tls_options.key_file, "Client private key, PEM (--tls)");
  cmd->add_flag("--tls-insecure", f->tls_options.insecure, "Do not verify the server (--tls)");
  cmd->add_option("-p,--publishers", f->publishers, "Publisher connections")->capture_default_str();
  cmd->add_option("-s,--subscribers", f->subscribers, "Subscriber connections")
      ->capture_default_str();
  cmd->add_option("-c,--channels", f->channels, "Channels")->capture_default_str();
  cmd->add_option("--size", f->size, "Payload bytes (>= 16)")->capture_default_str();
  cmd->add_option("--pipeline", f->pipeline, "PUBLISH commands in flight per publisher")
      ->capture_default_str();
  cmd->add_option("--rate", f->rate, "Total msg/s on a fixed schedule (0 = as fast as possible)")
      ->capture_default_str();
  cmd->add_option("--seconds", f->seconds, "Publishing time")->capture_default_str();
  cmd->add_option("--messages", f->messages, "Stop after this many messages (0 = no limit)")
      ->capture_default_str();
  cmd->add_flag("--pattern", f->pattern, "PSUBSCRIBE to bench.<c>.* instead of SUBSCRIBE");
  cmd->add_option("--resp", f->resp, "Protocol version (3 sends HELLO 3)")
      ->check(CLI::IsMember({2, 3}))
      ->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object on one line instead of the table");
  cmd->callback([f] { ExitCode() = RunBenchPubsub(*f); });
}

}  // namespace runnel::cli
