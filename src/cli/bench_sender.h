// The sending side of the RESP load generators (`runnel bench pubsub`,
// `bench xadd`, `bench xread`): connections that each repeat one command
// (PUBLISH or XADD) with a stamp patched into its payload, closed loop (K in
// flight per connection) or open loop (--rate, a fixed schedule), and count
// the replies. One thread, one epoll loop for all of them.
//
// Also the small pieces every RESP load mode shares: clocks, the read
// scratch buffer, number formatting.
#pragma once

#include "cli/bench_pubsub.h"
#include "cli/latency_histogram.h"
#include "cli/resp_client.h"

#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::cli {

inline constexpr int64_t kBenchDrainNs = 1'000'000'000;  // wait for what is in flight

int64_t BenchNowNs();          // CLOCK_MONOTONIC
int64_t BenchCpuNs(int who);   // RUSAGE_SELF or RUSAGE_THREAD, user + system
std::string Fixed(double v, int digits);

// One JSON object on one line, the `--json` output of the RESP load modes:
// fields in the order added, the first one opening the object.
class JsonLine {
 public:
  JsonLine& Str(const char* key, std::string_view value);  // escaped
  JsonLine& Raw(const char* key, std::string_view value);  // a number or literal as written
  JsonLine& Int(const char* key, int64_t value) { return Raw(key, std::to_string(value)); }
  JsonLine& Bool(const char* key, bool value) { return Raw(key, value ? "true" : "false"); }
  void Print();  // closes the object and writes it (and a newline) to stdout

 private:
  void Key(const char* key);
  std::string out_;
};

// Reads for all of a thread's connections go through one large buffer;
// each connection keeps only the bytes of its unfinished last frame. So a
// thousand idle connections cost a thousand short strings, not a thousand
// 256 KiB buffers.
class ReadScratch {
 public:
  // Reads once from `conn` and sets `*data` to `partial` followed by the new
  // bytes. Returns what Read() returned (bytes, 0 or -1).
  int64_t Read(RespConnection& conn, const std::string& partial, std::string_view* data);

 private:
  std::vector<char> buf_;
};

// How the senders run and what a good reply looks like.
struct SenderFlags {
  int pipeline = 64;     // commands in flight per connection
  double rate = 0;       // total commands/s on a schedule; 0 = closed loop
  double seconds = 5;    // sending time
  int64_t messages = 0;  // stop after this many (0 = no limit)
  char reply_type = ':';  // the RESP type of a successful reply (':' PUBLISH, '$' XADD)
  std::string verb;       // for error messages: "PUBLISH", "XADD"
};

struct Sender {
  std::unique_ptr<RespConnection> conn;
  uint32_t id = 0;
  std::string message;  // one whole command; the stamp is patched in
  size_t stamp_at = 0;  // offset of the payload in `message`
  std::string out;      // bytes to write; [out_pos, size) not yet written
  size_t out_pos = 0;
  uint32_t watched = 0;  // the epoll events registered for it
  bool dirty = false;    // listed for this loop turn's FlushAll
  std::string partial;   // an unfinished reply (see ReadScratch)
  int64_t in_flight = 0;
  uint64_t sent = 0;  // sequence numbers used (1..sent)
  int64_t acked = 0;
  int64_t receivers = 0;           // sum of integer replies (PUBLISH: receivers)
  std::vector<int64_t> send_ns;    // ring of the in-flight commands' send times
  size_t send_head = 0;            // the oldest in-flight command's slot
};

struct SenderStats {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // the last reply
  int64_t acked = 0;
  int64_t receivers = 0;
  int64_t errors = 0;
  int64_t max_lag_ns = 0;  // --rate: how far sending fell behind the schedule
  int64_t cpu_ns = 0;
  LatencyHistogram reply_latency{LatencyHistogram::kDefaultCapacity / 4};  // command -> reply
  std::string error;
};

class SenderLoop {
 public:
  SenderLoop(const SenderFlags& f, std::vector<Sender>* senders);
  void Run(SenderStats* stats);

 private:
  int Wait(std::vector<epoll_event>& events, int64_t timeout_ns);
  void Watch(size_t i, int op, uint32_t events);
  int64_t InFlight() const;
  void MarkDirty(Sender& p);
  void Append(Sender& p, int64_t now);
  void TopUp(Sender& p);
  uint32_t Wanted(const Sender& p) const;
  void SendDue(int64_t now);
  bool ReadReplies(Sender& p);
  void FlushAll();
  bool Fail(const std::string& why);

  const SenderFlags& f_;
  std::vector<Sender>& senders_;
  SenderStats* stats_ = nullptr;
  int ep_ = -1;
  int64_t budget_;
  bool stopping_ = false;
  int64_t last_reply_ns_ = 0;
  ReadScratch scratch_;
  double interval_ns_ = 0;
  uint64_t scheduled_ = 0;
  int64_t stop_at_ = 0;
  int64_t next_due_ns_ = 0;  // --rate: when the next message is due (0: none pending)
  bool have_pwait2_ = true;
  std::vector<Sender*> dirty_;
};

// Opens one connection (HELLO 3 first when `resp` is 3).
Result<std::unique_ptr<RespConnection>> OpenBenchConnection(int resp, const Endpoint& endpoint,
                                                            const std::shared_ptr<TlsContext>& tls,
                                                            Deadline deadline);

// Makes `s` repeat `args` (the last one is the payload: --size bytes whose
// first kStampBytes carry the stamp).
void SetSenderCommand(Sender* s, std::initializer_list<std::string_view> args, int pipeline);

}  // namespace runnel::cli
