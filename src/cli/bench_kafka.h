// `runnel bench kafka produce|consume|latency`: Kafka-protocol load from the
// tool's own client (kafka_bench_client.h), so the tool is not the
// bottleneck: one epoll loop per thread, prebuilt requests refreshed in place
// (see bench_kafka.cc for the workloads and how they are measured).
//
// The loops (bench_kafka_loops.cc) are declared here for bench_kafka.cc.
#pragma once

#include "cli/kafka_bench_client.h"
#include "cli/latency_histogram.h"
#include "cli/resp_client.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace runnel::cli {

// Adds `kafka` under `runnel bench` (cmd_bench.cc calls it).
void RegisterBenchKafka(CLI::App* bench);

struct KafkaBenchFlags {
  std::string target;
  bool tls = false;
  TlsOptions tls_options;
  std::string topic = "bench.kafka";
  int partitions = 2;
  int connections = 2;
  int in_flight = 4;    // produce: requests in flight per connection
  int records = 64;     // records per batch (one batch per partition per request)
  int64_t size = 1024;  // value bytes per record
  int acks = -1;
  double rate = 0;  // records/s on a fixed schedule (latency); 0 = closed loop
  double seconds = 5;
  int64_t max_records = 0;                // stop producing after this many (0 = no limit)
  bool fresh = false;                     // produce: delete and re-create the topic first
  int32_t fetch_max_bytes = 52428800;     // fetch.max.bytes, librdkafka's default
  int32_t partition_max_bytes = 1048576;  // max.partition.fetch.bytes
  int32_t max_wait_ms = 500;
  bool check_crc = false;
  bool json = false;
};

// One connection's share of the topic: connection c of C takes the
// partitions p with p % C == c, or, with more connections than partitions,
// partition c % P.
std::vector<int32_t> PartitionsOf(int connection, int connections, int partitions);

// Setup: writes one request and waits for its answer (correlation id
// checked) before `deadline`; *body is the answer after its header.
Status KafkaCall(RespConnection& conn, const std::string& request, int32_t correlation_id,
                 std::string* body, Deadline deadline);

// ---- Producing ------------------------------------------------------------------

struct ProduceStats {
  int64_t start_ns = 0;
  int64_t end_ns = 0;        // the last answer (or the last write, acks=0)
  int64_t sent_records = 0;  // in requests wholly written
  int64_t acked_records = 0;
  int64_t requests = 0;
  int64_t wire_bytes = 0;         // request frames written
  std::map<int, int64_t> errors;  // Kafka error code -> records
  int64_t max_lag_ns = 0;         // --rate: how far sending fell behind the schedule
  LatencyHistogram reply_latency{LatencyHistogram::kDefaultCapacity / 4};
  std::string error;  // a connection failed or the server broke the protocol
};

// Runs the producers over `conns` (already connected) until --seconds or
// --max-records, then waits (up to 10 s) for what is in flight.
void RunProduceLoop(const KafkaBenchFlags& f, std::vector<std::unique_ptr<RespConnection>> conns,
                    ProduceStats* stats);

// ---- Fetching -------------------------------------------------------------------

struct FetchStats {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // the last records received
  int64_t records = 0;
  int64_t batches = 0;
  int64_t bytes = 0;  // whole batches, as stored and sent
  int64_t fetches = 0;
  int64_t empty_fetches = 0;
  bool complete = false;  // consume: every partition read to its end
  // latency: records carrying a stamp of this run, end-to-end times, order
  int64_t delivered = 0;
  int64_t foreign = 0;
  uint64_t order_violations = 0;
  uint64_t last_sequence = 0;
  LatencyHistogram latency;
  std::string error;
};

// What the latency mode's producer tells its follower.
struct FollowShared {
  std::atomic<bool> producing_done{false};
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> done_ns{0};
};

// consume (shared == nullptr): reads every partition from `start_offsets`
// to the high watermark its first answer gives, within --seconds.
// latency: follows from `start_offsets`, decoding each record's stamp, until
// `shared` says producing is done and every acknowledged record arrived (or
// 1 s + max wait later).
void RunFetchLoop(const KafkaBenchFlags& f, std::vector<std::unique_ptr<RespConnection>> conns,
                  const std::vector<std::vector<int64_t>>& start_offsets, FollowShared* shared,
                  FetchStats* stats);

}  // namespace runnel::cli
