// `runnel bench kafka produce|consume|latency --target HOST:PORT`: Kafka
// protocol load against a Kafka broker (runnel's, or any other).
//
// Workloads (scripts/bench-kafka runs these against `runnel serve` with
// --fsync interval:1000 and --fsync always):
//   produce   C connections × N Produce requests in flight, each one batch of
//             R records of S bytes per partition, acks -1      throughput
//   consume   the topic from offset 0 to its end, one Fetch in flight per
//             connection                                      throughput
//   latency   one producer at --rate records/s (batches of R, default 1), one
//             consumer long-polling Fetch                     end-to-end p99
//
// How it measures:
//  - produce: requests are built once per in-flight slot and refreshed in
//    place before each send (correlation id, each batch's timestamps, the
//    records' 16-byte stamps of bench_pubsub.h, CRC-32C), so every batch is a
//    real, valid one. records/s and MB/s count acknowledged records (error
//    code 0) over the time from the first send to the last answer; MB/s is
//    value bytes, wire MB/s the request frames written. Records answered
//    with an error are counted by Kafka error code. --fresh deletes and
//    re-creates the topic first, so each run starts empty.
//  - consume: each connection's partitions go in one Fetch (max bytes
//    --fetch-max-bytes, --partition-max-bytes each, like a client's
//    fetch.max.bytes / max.partition.fetch.bytes); the end of a partition is
//    the high watermark of its first answer. Batch headers are walked and
//    records counted; a gap in offsets fails the run; --crc checks every
//    batch's CRC-32C. MB/s counts whole batches as stored (what the broker
//    sends). Exit 1 if the end was not reached within --seconds.
//  - latency: the topic is deleted and re-created (one partition), the
//    consumer starts at offset 0 with max wait --max-wait-ms and min bytes
//    1; end-to-end latency is the time the consumer holds a record minus the
//    CLOCK_MONOTONIC time in its stamp (one process, one clock). Loss =
//    acknowledged records not received; order = a sequence number not above
//    the last one received. After the last answer the consumer gets 1 s +
//    max wait to catch up.
//  - tool cpu: the whole process, user + system, over the run's wall time.
#include "cli/bench_kafka.h"

#include "cli/bench_pubsub.h"
#include "cli/bench_sender.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <sys/resource.h>
#include <thread>

namespace runnel::cli {

namespace {

constexpr auto kSetupTimeout = std::chrono::seconds(15);
constexpr int32_t kAdminTimeoutMs = 10000;

// ---- Setup ------------------------------------------------------------------------

class Setup {
 public:
  Setup(const KafkaBenchFlags& f, Endpoint endpoint, std::shared_ptr<TlsContext> tls)
      : f_(f), endpoint_(std::move(endpoint)), tls_(std::move(tls)) {}

  Result<std::unique_ptr<RespConnection>> Connect() {
    return RespConnection::Connect(endpoint_, tls_, Until());
  }

  Status Open() {
    auto c = Connect();
    if (!c.ok()) return c.status();
    admin_ = std::move(*c);
    return Status::OK();
  }

  // The topic's partition count; kNotFound if it does not exist.
  Result<int> Partitions() {
    std::string req, body;
    AppendMetadataRequest(&req, ++corr_, std::vector<std::string>{f_.topic});
    Status st = KafkaCall(*admin_, req, corr_, &body, Until());
    if (!st.ok()) return st;
    MetadataResult m;
    if (!DecodeMetadataResponse(body, &m) || m.topics.size() != 1) {
      return Status::Corruption("a Metadata answer that does not decode");
    }
    if (m.topics[0].error == kKafkaUnknownTopicOrPartition) {
      return Status::NotFound("topic '" + f_.topic + "' does not exist");
    }
    if (m.topics[0].error != kKafkaNone) {
      return Status::IoError("Metadata for '" + f_.topic + "': Kafka error code " +
                             std::to_string(m.topics[0].error));
    }
    return static_cast<int>(m.topics[0].partitions.size());
  }

  Status Delete() {
    std::string req, body;
    AppendDeleteTopicsRequest(&req, ++corr_, f_.topic, kAdminTimeoutMs);
    Status st = KafkaCall(*admin_, req, corr_, &body, Until());
    if (!st.ok()) return st;
    std::vector<TopicError> r;
    if (!DecodeDeleteTopicsResponse(body, &r) || r.size() != 1) {
      return Status::Corruption("a DeleteTopics answer that does not decode");
    }
    if (r[0].error != kKafkaNone && r[0].error != kKafkaUnknownTopicOrPartition) {
      return Status::IoError("DeleteTopics '" + f_.topic + "': Kafka error code " +
                             std::to_string(r[0].error));
    }
    return Status::OK();
  }

  // Creates the topic with `partitions`, or checks that the existing one
  // has that many.
  Status Ensure(int partitions) {
    std::string req, body;
    AppendCreateTopicsRequest(&req, ++corr_, f_.topic, partitions, kAdminTimeoutMs);
    Status st = KafkaCall(*admin_, req, corr_, &body, Until());
    if (!st.ok()) return st;
    std::vector<TopicError> r;
    if (!DecodeCreateTopicsResponse(body, &r) || r.size() != 1) {
      return Status::Corruption("a CreateTopics answer that does not decode");
    }
    if (r[0].error == kKafkaNone) return Status::OK();
    if (r[0].error != kKafkaTopicAlreadyExists) {
      return Status::IoError("CreateTopics '" + f_.topic + "': Kafka error code " +
                             std::to_string(r[0].error) +
                             (r[0].message.empty() ? "" : " (" + r[0].message + ")"));
    }
    auto have = Partitions();
    if (!have.ok()) return have.status();
    if (*have != partitions) {
      return Status::InvalidArgument("topic '" + f_.topic + "' exists with " +
                                     std::to_string(*have) + " partitions, not " +
                                     std::to_string(partitions) + " (use --fresh)");
    }
    return Status::OK();
  }

  Status ConnectAll(int n, std::vector<std::unique_ptr<RespConnection>>* out) {
    for (int i = 0; i < n; ++i) {
      auto c = Connect();
      if (!c.ok()) return c.status();
      out->push_back(std::move(*c));
    }
    return Status::OK();
  }

 private:
  static Deadline Until() { return std::chrono::steady_clock::now() + kSetupTimeout; }

  const KafkaBenchFlags& f_;
  Endpoint endpoint_;
  std::shared_ptr<TlsContext> tls_;
  std::unique_ptr<RespConnection> admin_;
  int32_t corr_ = 0;
};

// ---- Report -------------------------------------------------------------------------

std::string ErrorsJson(const std::map<int, int64_t>& errors) {
  std::string out = "{";
  for (const auto& [code, n] : errors) {
    if (out.size() > 1) out += ",";
    out += "\"" + std::to_string(code) + "\":" + std::to_string(n);
  }
  return out + "}";
}

std::string ErrorsText(const std::map<int, int64_t>& errors) {
  if (errors.empty()) return "none";
  std::string out;
  for (const auto& [code, n] : errors) {
    if (!out.empty()) out += ", ";
    out += "code " + std::to_string(code) + ": " + std::to_string(n) + " records";
  }
  return out;
}

double Secs(int64_t from, int64_t to) {
  return to > from ? static_cast<double>(to - from) / 1e9 : 0;
}
double PerSec(double n, double secs) { return secs > 0 ? n / secs : 0; }

void AddProduceJson(JsonLine& j, const KafkaBenchFlags& f, ProduceStats& s) {
  const double secs = Secs(s.start_ns, s.end_ns);
  j.Int("partitions", f.partitions);
  j.Int("in_flight", f.in_flight);
  j.Int("records", f.records);
  j.Int("size", f.size);
  j.Int("acks", f.acks);
  j.Raw("rate", Fixed(f.rate, 0));
  j.Raw("seconds", Fixed(secs, 3));
  j.Int("sent", s.sent_records);
  j.Int("acked", s.acked_records);
  j.Int("requests", s.requests);
  j.Raw("records_s", Fixed(PerSec(static_cast<double>(s.acked_records), secs), 0));
  j.Raw("mb_s", Fixed(PerSec(static_cast<double>(s.acked_records * f.size), secs) / 1e6, 1));
  j.Raw("wire_mb_s", Fixed(PerSec(static_cast<double>(s.wire_bytes), secs) / 1e6, 1));
  j.Raw("errors", ErrorsJson(s.errors));
  j.Raw("reply_p50_us", Fixed(s.reply_latency.Percentile(0.50) / 1e3, 1));
  j.Raw("reply_p99_us", Fixed(s.reply_latency.Percentile(0.99) / 1e3, 1));
  j.Raw("reply_max_us", Fixed(s.reply_latency.max() / 1e3, 1));
  j.Raw("schedule_lag_max_us", Fixed(s.max_lag_ns / 1e3, 1));
}

void PrintProduceTable(const KafkaBenchFlags& f, ProduceStats& s) {
  const double secs = Secs(s.start_ns, s.end_ns);
  const double rate = PerSec(static_cast<double>(s.acked_records), secs);
  std::printf(
      "  produced   %lld records acked  %.0f records/s  %.1f MB/s of values  "
      "%.1f MB/s on the wire  in %.2f s\n",
      static_cast<long long>(s.acked_records), rate, rate * f.size / 1e6,
      PerSec(static_cast<double>(s.wire_bytes), secs) / 1e6, secs);
  std::printf("  sent       %lld records in %lld requests; errors: %s\n",
              static_cast<long long>(s.sent_records), static_cast<long long>(s.requests),
              ErrorsText(s.errors).c_str());
  if (f.acks != 0) {
    std::printf("  answer     p50 %.1f us  p99 %.1f us  max %.1f us\n",
                s.reply_latency.Percentile(0.50) / 1e3, s.reply_latency.Percentile(0.99) / 1e3,
                s.reply_latency.max() / 1e3);
  }
  if (f.rate > 0) std::printf("  schedule   fell behind by at most %.1f us\n", s.max_lag_ns / 1e3);
}

void PrintHeader(const char* mode, const KafkaBenchFlags& f, int connections) {
  std::printf("bench kafka %s  %s%s  topic %s  %d partition%s  %d connection%s", mode,
              f.target.c_str(), f.tls ? " (TLS)" : "", f.topic.c_str(), f.partitions,
              f.partitions == 1 ? "" : "s", connections, connections == 1 ? "" : "s");
  if (std::string_view(mode) != "consume") {
    std::printf("  %d in flight  %d × %lld B per batch  acks %d", f.in_flight, f.records,
                static_cast<long long>(f.size), f.acks);
    if (f.rate > 0) std::printf("  rate %.0f records/s", f.rate);
  }
  std::printf("\n");
}

// ---- The commands --------------------------------------------------------------------

int Usage(const std::string& verb, const KafkaBenchFlags& f, bool produces) {
  if (f.connections < 1 || f.connections > 1024)
    return ReportUsage(verb, "--connections must be 1..1024");
  if (f.partitions < 1 || f.partitions > 10000)
    return ReportUsage(verb, "--partitions must be 1..10000");
  if (!(f.seconds > 0) || f.seconds > 86400) return ReportUsage(verb, "--seconds must be > 0");
  if (f.topic.empty()) return ReportUsage(verb, "--topic must not be empty");
  if (produces) {
    if (f.in_flight < 1 || f.in_flight > 4096)
      return ReportUsage(verb, "--in-flight must be 1..4096");
    if (f.records < 1 || f.records > 1'000'000)
      return ReportUsage(verb, "--records must be 1..1000000");
    if (f.size < 0 || f.size > (int64_t{1} << 20))
      return ReportUsage(verb, "--size must be 0..1 MiB");
    if (f.records * (f.size + 16) > (int64_t{60} << 20)) {
      return ReportUsage(verb, "--records × --size must stay under 60 MiB per batch");
    }
    if (f.acks != -1 && f.acks != 0 && f.acks != 1)
      return ReportUsage(verb, "--acks must be -1, 0 or 1");
    if (f.rate < 0 || !std::isfinite(f.rate)) return ReportUsage(verb, "--rate must be >= 0");
    if (f.max_records < 0) return ReportUsage(verb, "--max-records must be >= 0");
  }
  if (f.fetch_max_bytes < 1 || f.partition_max_bytes < 1) {
    return ReportUsage(verb, "--fetch-max-bytes and --partition-max-bytes must be >= 1");
  }
  if (f.max_wait_ms < 0) return ReportUsage(verb, "--max-wait-ms must be >= 0");
  return kExitOk;
}

int Failed(const std::string& verb, const std::string& why) {
  std::fprintf(stderr, "runnel %s: %s\n", verb.c_str(), why.c_str());
  return kExitFailure;
}

int RunBenchKafka(const std::string& mode, KafkaBenchFlags f) {
  const std::string verb = "bench kafka " + mode;
  const bool produces = mode != "consume";
  if (mode == "latency") {
    f.partitions = 1;
    f.connections = 1;
  }
  if (int rc = Usage(verb, f, produces); rc != kExitOk) return rc;
  if (mode == "latency" && f.size < static_cast<int64_t>(kStampBytes)) {
    return ReportUsage(verb, "--size must be >= 16 (the stamp)");
  }
  auto endpoint = ParseEndpoint(f.target);
  if (!endpoint.ok()) return ReportUsage(verb, "--target " + endpoint.status().message());
  std::shared_ptr<TlsContext> tls;
  if (f.tls) {
    auto ctx = TlsContext::Create(f.tls_options);
    if (!ctx.ok()) return ReportError(verb, ctx.status());
    tls = std::move(*ctx);
  }

  Setup setup(f, *endpoint, tls);
  Status st = setup.Open();
  if (st.ok() && (f.fresh || mode == "latency")) st = setup.Delete();
  if (st.ok() && produces) st = setup.Ensure(f.partitions);
  if (st.ok() && !produces) {
    auto n = setup.Partitions();
    if (n.ok()) {
      f.partitions = *n;
    } else {
      st = n.status();
    }
  }
  std::vector<std::unique_ptr<RespConnection>> producers, fetchers;
  const int fetch_conns = std::min(f.connections, f.partitions);
  if (st.ok() && produces) st = setup.ConnectAll(f.connections, &producers);
  if (st.ok() && mode != "produce") st = setup.ConnectAll(fetch_conns, &fetchers);
  if (!st.ok()) {
    if (st.code() == StatusCode::kInvalidArgument) return ReportUsage(verb, st.message());
    return Failed(verb, st.message());
  }
  std::vector<std::vector<int64_t>> start_offsets;
  for (int i = 0; i < fetch_conns; ++i) {
    start_offsets.emplace_back(PartitionsOf(i, fetch_conns, f.partitions).size(), 0);
  }

  const int64_t wall0 = BenchNowNs();
  const int64_t cpu0 = BenchCpuNs(RUSAGE_SELF);
  ProduceStats ps;
  FetchStats fs;
  FollowShared shared;
  if (mode == "produce") {
    RunProduceLoop(f, std::move(producers), &ps);
  } else if (mode == "consume") {
    RunFetchLoop(f, std::move(fetchers), start_offsets, nullptr, &fs);
  } else {
    std::thread follower(
        [&] { RunFetchLoop(f, std::move(fetchers), start_offsets, &shared, &fs); });
    RunProduceLoop(f, std::move(producers), &ps);
    shared.acked.store(ps.acked_records);
    shared.done_ns.store(BenchNowNs());
    shared.producing_done.store(true, std::memory_order_release);
    follower.join();
  }
  const int64_t wall = BenchNowNs() - wall0;
  const double cpu_pct =
      100.0 * static_cast<double>(BenchCpuNs(RUSAGE_SELF) - cpu0) / static_cast<double>(wall);
  if (!ps.error.empty()) return Failed(verb, ps.error);
  if (!fs.error.empty()) return Failed(verb, fs.error);

  const double fetch_secs = Secs(fs.start_ns, fs.end_ns);
  const int64_t loss = std::max<int64_t>(0, ps.acked_records - fs.delivered);
  if (f.json) {
    JsonLine j;
    j.Str("mode", mode);
    j.Str("target", f.target);
    j.Str("topic", f.topic);
    j.Int("connections", mode == "consume" ? fetch_conns : f.connections);
    if (produces) AddProduceJson(j, f, ps);
    if (mode == "consume") {
      j.Int("partitions", f.partitions);
      j.Raw("seconds", Fixed(fetch_secs, 3));
      j.Int("records", fs.records);
      j.Int("batches", fs.batches);
      j.Int("bytes", fs.bytes);
      j.Int("fetches", fs.fetches);
      j.Int("empty_fetches", fs.empty_fetches);
      j.Raw("records_s", Fixed(PerSec(static_cast<double>(fs.records), fetch_secs), 0));
      j.Raw("mb_s", Fixed(PerSec(static_cast<double>(fs.bytes), fetch_secs) / 1e6, 1));
      j.Bool("crc_checked", f.check_crc);
      j.Bool("complete", fs.complete);
    }
    if (mode == "latency") {
      j.Int("delivered", fs.delivered);
      j.Int("loss", loss);
      j.Int("order_violations", static_cast<int64_t>(fs.order_violations));
      j.Int("foreign", fs.foreign);
      j.Raw("p50_us", Fixed(fs.latency.Percentile(0.50) / 1e3, 1));
      j.Raw("p99_us", Fixed(fs.latency.Percentile(0.99) / 1e3, 1));
      j.Raw("p999_us", Fixed(fs.latency.Percentile(0.999) / 1e3, 1));
      j.Raw("max_us", Fixed(fs.latency.max() / 1e3, 1));
      j.Raw("mean_us", Fixed(fs.latency.mean() / 1e3, 1));
      j.Int("fetches", fs.fetches);
      j.Int("empty_fetches", fs.empty_fetches);
    }
    j.Raw("cpu_pct", Fixed(cpu_pct, 1));
    j.Print();
  } else {
    PrintHeader(mode.c_str(), f, mode == "consume" ? fetch_conns : f.connections);
    if (produces) PrintProduceTable(f, ps);
    if (mode == "consume") {
      std::printf(
          "  consumed   %lld records  %.0f records/s  %.1f MB/s of batches  in %.2f s"
          "  (%lld batches, %lld fetches%s)\n",
          static_cast<long long>(fs.records), PerSec(static_cast<double>(fs.records), fetch_secs),
          PerSec(static_cast<double>(fs.bytes), fetch_secs) / 1e6, fetch_secs,
          static_cast<long long>(fs.batches), static_cast<long long>(fs.fetches),
          f.check_crc ? ", CRC checked" : "");
      if (!fs.complete) std::printf("  INCOMPLETE: the end was not reached in %.0f s\n", f.seconds);
    }
    if (mode == "latency") {
      std::printf(
          "  latency    p50 %.1f us  p99 %.1f us  p999 %.1f us  max %.1f us  "
          "(%lld records)\n",
          fs.latency.Percentile(0.50) / 1e3, fs.latency.Percentile(0.99) / 1e3,
          fs.latency.Percentile(0.999) / 1e3, fs.latency.max() / 1e3,
          static_cast<long long>(fs.delivered));
      std::printf("  loss       %lld    order violations %llu    foreign %lld\n",
                  static_cast<long long>(loss),
                  static_cast<unsigned long long>(fs.order_violations),
                  static_cast<long long>(fs.foreign));
    }
    std::printf("  tool cpu   %.0f%% of one core\n", cpu_pct);
  }
  std::fflush(stdout);
  if (!ps.errors.empty()) return Failed(verb, "records were refused: " + ErrorsText(ps.errors));
  if (mode == "consume" && !fs.complete)
    return Failed(verb, "the end of the topic was not reached");
  if (mode == "latency" && (loss > 0 || fs.order_violations > 0)) {
    return Failed(verb, std::to_string(loss) + " records lost, " +
                            std::to_string(fs.order_violations) + " out of order");
  }
  return kExitOk;
}

void AddCommonFlags(CLI::App* cmd, KafkaBenchFlags* f) {
  cmd->add_option("--target", f->target, "Kafka listener HOST:PORT")->required();
  cmd->add_flag("--tls", f->tls, "Connect with TLS");
  cmd->add_option("--tls-ca", f->tls_options.ca_file, "CA bundle to verify the server (--tls)");
  cmd->add_flag("--tls-insecure", f->tls_options.insecure, "Do not verify the server (--tls)");
  cmd->add_option("--topic", f->topic, "Topic")->capture_default_str();
  cmd->add_option("--seconds", f->seconds, "Time limit")->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object on one line instead of the table");
}

void AddProduceFlags(CLI::App* cmd, KafkaBenchFlags* f) {
  cmd->add_option("--in-flight", f->in_flight, "Produce requests in flight per connection")
      ->capture_default_str();
  cmd->add_option("--records", f->records,
                  "Records per batch (one batch per partition per request)")
      ->capture_default_str();
  cmd->add_option("--size", f->size, "Value bytes per record")->capture_default_str();
  cmd->add_option("--acks", f->acks, "-1 (all), 1 or 0 (no answer)")->capture_default_str();
  cmd->add_option("--max-records", f->max_records, "Stop after this many records (0 = no limit)")
      ->capture_default_str();
}

void AddFetchFlags(CLI::App* cmd, KafkaBenchFlags* f) {
  cmd->add_option("--fetch-max-bytes", f->fetch_max_bytes, "Fetch max_bytes")
      ->capture_default_str();
  cmd->add_option("--partition-max-bytes", f->partition_max_bytes, "Fetch partition_max_bytes")
      ->capture_default_str();
  cmd->add_option("--max-wait-ms", f->max_wait_ms, "Fetch max_wait_ms")->capture_default_str();
}

}  // namespace

void RegisterBenchKafka(CLI::App* bench) {
  CLI::App* kafka =
      bench->add_subcommand("kafka", "Kafka protocol load: produce, consume, latency");
  kafka->require_subcommand(1);

  auto produce = std::make_shared<KafkaBenchFlags>();
  CLI::App* cmd = kafka->add_subcommand("produce", "Produce throughput (records/s, MB/s)");
  cmd->footer(WrapText(
      "Connections keep --in-flight Produce requests in flight, each holding one batch of "
      "--records records of --size bytes for each of the connection's partitions (partition p "
      "goes to connection p % C). The topic is created with --partitions if missing. Exit 1 if a "
      "connection failed or records were refused (counted by Kafka error code)."));
  AddCommonFlags(cmd, produce.get());
  AddProduceFlags(cmd, produce.get());
  cmd->add_option("-c,--connections", produce->connections, "Producer connections")
      ->capture_default_str();
  cmd->add_option("-P,--partitions", produce->partitions, "Partitions of the topic")
      ->capture_default_str();
  cmd->add_flag("--fresh", produce->fresh, "Delete and re-create the topic first");
  cmd->callback([produce] { ExitCode() = RunBenchKafka("produce", *produce); });

  auto consume = std::make_shared<KafkaBenchFlags>();
  consume->seconds = 60;
  cmd = kafka->add_subcommand("consume", "Consume throughput: the topic from offset 0 to its end");
  cmd->footer(WrapText(
      "Connections (at most one per partition) each keep one Fetch in flight for their "
      "partitions, from offset 0 to the high watermark of the first answer, walking batch "
      "headers. Exit 1 on a gap in offsets, a bad batch, a bad CRC (--crc) or if the end is not "
      "reached within --seconds."));
  AddCommonFlags(cmd, consume.get());
  AddFetchFlags(cmd, consume.get());
  cmd->add_option("-c,--connections", consume->connections, "Fetch connections")
      ->capture_default_str();
  cmd->add_flag("--crc", consume->check_crc, "Check every batch's CRC-32C");
  cmd->callback([consume] { ExitCode() = RunBenchKafka("consume", *consume); });

  auto latency = std::make_shared<KafkaBenchFlags>();
  latency->topic = "bench.kafka.latency";
  latency->rate = 10000;
  latency->records = 1;
  latency->in_flight = 1000;
  latency->size = 1024;
  cmd = kafka->add_subcommand("latency", "Produce-to-consume latency at a fixed rate");
  cmd->footer(WrapText(
      "The topic is deleted and re-created with one partition. One producer sends --rate "
      "records/s in batches of --records (a request every --records/--rate s, on a fixed "
      "schedule); one consumer long-polls Fetch from offset 0. Each value carries its send "
      "time. Exit 1 if a record was lost or reordered."));
  AddCommonFlags(cmd, latency.get());
  AddProduceFlags(cmd, latency.get());
  AddFetchFlags(cmd, latency.get());
  cmd->add_option("--rate", latency->rate, "Records/s")->capture_default_str();
  cmd->callback([latency] { ExitCode() = RunBenchKafka("latency", *latency); });
}

}  // namespace runnel::cli
