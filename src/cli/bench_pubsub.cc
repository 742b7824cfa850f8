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
constexpr size_t kReadChunk = 256 * 1024;
constexpr int64_t kDrainNs = 1'000'000'000;  // wait for in-flight deliveries / replies
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

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t CpuNs(int who) {
  rusage ru;
  getrusage(who, &ru);
  auto ns = [](const timeval& tv) {
    return int64_t{tv.tv_sec} * 1'000'000'000 + tv.tv_usec * 1000;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

std::string ChannelName(int c) { return "bench." + std::to_string(c) + ".x"; }
std::string PatternName(int c) { return "bench." + std::to_string(c) + ".*"; }

// Reads for all of a thread's connections go through one large buffer;
// each connection keeps only the bytes of its unfinished last frame. So a
// thousand idle subscribers cost a thousand short strings, not a thousand
// 256 KiB buffers.
class ReadScratch {
 public:
  // Reads once from `conn` and sets `*data` to `partial` followed by the new
  // bytes. Returns what Read() returned (bytes, 0 or -1).
  int64_t Read(RespConnection& conn, const std::string& partial, std::string_view* data) {
    const size_t k = partial.size();
    // Reading at least as much as is held makes a huge frame cost O(size)
    // copies in total, not O(size^2 / chunk).
    const size_t chunk = std::max(kReadChunk, k);
    if (buf_.size() < k + chunk) buf_.resize(k + chunk);
    memcpy(buf_.data(), partial.data(), k);
    const int64_t n = conn.Read(buf_.data() + k, chunk);
    if (n > 0) *data = std::string_view(buf_.data(), k + static_cast<size_t>(n));
    return n;
  }

 private:
  std::vector<char> buf_;
};

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
    const int64_t cpu0 = CpuNs(RUSAGE_THREAD);
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
        Parse(s, early, NowNs(), &used);
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
        if (NowNs() - shared_.publish_end_ns.load() > kDrainNs) break;
      }
    }
    close(ep);
    stats_->cpu_ns = CpuNs(RUSAGE_THREAD) - cpu0;
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
      if (!Parse(s, data, NowNs(), &used)) return false;
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

// ---- Publishers -----------------------------------------------------------------

struct Publisher {
  std::unique_ptr<RespConnection> conn;
  uint32_t id = 0;
  std::string message;  // one whole PUBLISH command; the stamp is patched in
  size_t stamp_at = 0;  // offset of the payload in `message`
  std::string out;      // bytes to write; [out_pos, size) not yet written
  size_t out_pos = 0;
  uint32_t watched = 0;  // the epoll events registered for it
  bool dirty = false;    // listed for this loop turn's FlushAll
  std::string partial;   // an unfinished reply (see ReadScratch)
  int64_t in_flight = 0;
  uint64_t sent = 0;  // sequence numbers used (1..sent)
  int64_t acked = 0;
  int64_t receivers = 0;  // sum of PUBLISH replies
};

struct PublisherStats {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // the last reply
  int64_t acked = 0;
  int64_t receivers = 0;
  int64_t errors = 0;
  int64_t max_lag_ns = 0;  // --rate: how far sending fell behind the schedule
  int64_t cpu_ns = 0;
  std::string error;
};

class PublisherLoop {
 public:
  PublisherLoop(const PubsubFlags& f, std::vector<Publisher>* pubs)
      : f_(f), pubs_(*pubs), budget_(f.messages > 0 ? f.messages : INT64_MAX) {}

  void Run(PublisherStats* stats) {
    stats_ = stats;
    const int64_t cpu0 = CpuNs(RUSAGE_THREAD);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < pubs_.size(); ++i) {
      pubs_[i].watched = Wanted(pubs_[i]);
      Watch(i, EPOLL_CTL_ADD, pubs_[i].watched);
    }
    stats_->start_ns = NowNs();
    stop_at_ = stats_->start_ns + static_cast<int64_t>(f_.seconds * 1e9);
    if (f_.rate > 0) {
      interval_ns_ = 1e9 / f_.rate;
      SendDue(stats_->start_ns);
    } else {
      for (Publisher& p : pubs_) TopUp(p);
    }
    FlushAll();
    std::vector<epoll_event> events(pubs_.size());
    int64_t now = stats_->start_ns;
    while (stats_->error.empty()) {
      if (!stopping_ && (now >= stop_at_ || budget_ == 0)) {
        stopping_ = true;
        for (Publisher& p : pubs_) MarkDirty(p);  // --rate: now wait for replies
        FlushAll();
      }
      if (stopping_ && InFlight() == 0) break;
      if (stopping_ && now - std::max(stop_at_, last_reply_ns_) > kDrainNs) {
        stats_->error = "publisher: no reply to " + std::to_string(InFlight()) +
                        " PUBLISH commands within 1 s after the run";
        break;
      }
      // Sleep until a reply, the next scheduled message or the end, in
      // nanoseconds: a millisecond timeout would bunch --rate sends up.
      int64_t wake = now + 10'000'000;
      if (!stopping_) {
        wake = std::min(wake, stop_at_);
        if (next_due_ns_ > 0) wake = std::min(wake, next_due_ns_);
      }
      const int n = Wait(events, std::max<int64_t>(wake - now, 0));
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        Publisher& p = pubs_[events[static_cast<size_t>(i)].data.u64];
        const uint32_t ready = events[static_cast<size_t>(i)].events;
        if ((ready & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !ReadReplies(p)) break;
        if (f_.rate == 0 && !stopping_) TopUp(p);
        if (f_.rate > 0 || (ready & EPOLLOUT)) MarkDirty(p);
      }
      if (f_.rate > 0 && !stopping_) SendDue(now);
      FlushAll();
    }
    stats_->end_ns = last_reply_ns_ > 0 ? last_reply_ns_ : NowNs();
    for (const Publisher& p : pubs_) {
      stats_->acked += p.acked;
      stats_->receivers += p.receivers;
    }
    close(ep_);
    stats_->cpu_ns = CpuNs(RUSAGE_THREAD) - cpu0;
  }

 private:
  // epoll_pwait2 (Linux 5.11) takes a timespec; older kernels get
  // epoll_wait's milliseconds, rounded up.
  int Wait(std::vector<epoll_event>& events, int64_t timeout_ns) {
    const int max = static_cast<int>(events.size());
    if (have_pwait2_) {
      timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                  static_cast<long>(timeout_ns % 1'000'000'000)};
      const int n = epoll_pwait2(ep_, events.data(), max, &ts, nullptr);
      if (n >= 0 || errno != ENOSYS) return n < 0 ? 0 : n;
      have_pwait2_ = false;
    }
    const int n =
        epoll_wait(ep_, events.data(), max, static_cast<int>((timeout_ns + 999'999) / 1'000'000));
    return n < 0 ? 0 : n;
  }

  void Watch(size_t i, int op, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    epoll_ctl(ep_, op, pubs_[i].conn->fd(), &ev);
  }

  int64_t InFlight() const {
    int64_t n = 0;
    for (const Publisher& p : pubs_) n += p.in_flight;
    return n;
  }

  void MarkDirty(Publisher& p) {
    if (!p.dirty) {
      p.dirty = true;
      dirty_.push_back(&p);
    }
  }

  void Append(Publisher& p, int64_t now) {
    MarkDirty(p);
    p.out.append(p.message);
    WriteStamp(p.out.data() + p.out.size() - p.message.size() + p.stamp_at,
               Stamp{now, p.id, ++p.sent});
    ++p.in_flight;
    --budget_;
  }

  // Closed loop: keep `pipeline` commands in flight.
  void TopUp(Publisher& p) {
    const int64_t now = NowNs();
    while (p.in_flight < f_.pipeline && budget_ > 0) Append(p, now);
  }

  // The events a publisher waits for. Under --rate replies are not waited
  // for but picked up just before the publisher's next send (one wake-up per
  // message instead of two: at 10k msg/s wake-ups are most of the tool's
  // CPU time), unless it is at --pipeline in flight or the run is ending.
  uint32_t Wanted(const Publisher& p) const {
    uint32_t events = 0;
    if (f_.rate == 0 || stopping_ || p.in_flight >= f_.pipeline) events |= EPOLLIN;
    if (p.out_pos < p.out.size()) events |= EPOLLOUT;
    return events;
  }

  // Open loop: send every message whose time has come (message m is due at
  // start + m * interval and belongs to publisher m % P) and note when the
  // next one is due. A publisher already at --pipeline in flight holds the
  // schedule back until its replies come.
  void SendDue(int64_t now) {
    next_due_ns_ = 0;
    for (;;) {
      if (budget_ == 0) return;
      const int64_t due = stats_->start_ns + static_cast<int64_t>(scheduled_ * interval_ns_);
      if (due >= stop_at_) return;  // a message due at the end is not in the run
      if (due > now) {
        next_due_ns_ = due;
        return;
      }
      Publisher& p = pubs_[scheduled_ % pubs_.size()];
      if (p.in_flight > 0 && !ReadReplies(p)) return;
      if (p.in_flight >= f_.pipeline) {
        MarkDirty(p);  // FlushAll makes it wait for replies
        return;
      }
      stats_->max_lag_ns = std::max(stats_->max_lag_ns, now - due);
      Append(p, now);
      ++scheduled_;
    }
  }

  bool ReadReplies(Publisher& p) {
    for (;;) {
      std::string_view data;
      const int64_t n = scratch_.Read(*p.conn, p.partial, &data);
      if (n < 0) return Fail("publisher " + std::to_string(p.id) + ": " + p.conn->error());
      if (n == 0) return true;
      last_reply_ns_ = NowNs();
      RespFrame frame;
      for (;;) {
        size_t used = 0;
        const ScanStatus st = ScanFrame(data, &frame, &used);
        if (st == ScanStatus::kIncomplete) break;
        if (st == ScanStatus::kError) {
          return Fail("publisher: the server sent bytes that are not RESP");
        }
        data.remove_prefix(used);
        if (frame.head.type == '>') continue;  // a RESP3 push, not our reply
        --p.in_flight;
        if (frame.head.type == ':') {
          ++p.acked;
          p.receivers += frame.head.integer;
        } else {
          ++stats_->errors;
          if (stats_->error.empty()) {
            stats_->error =
                "PUBLISH: " + (frame.is_error() ? std::string(frame.head.str)
                                                : "unexpected reply type '" +
                                                      std::string(1, frame.head.type) + "'");
          }
        }
      }
      p.partial.assign(data);
      if (!p.conn->HasBufferedInput()) return true;
    }
  }

  // One write per publisher per loop turn; what the socket refuses waits
  // for EPOLLOUT. Then the publisher's epoll events are brought up to date.
  void FlushAll() {
    for (Publisher* p : dirty_) {
      p->dirty = false;
      if (p->out_pos < p->out.size()) {
        const int64_t n = p->conn->Write(p->out.data() + p->out_pos, p->out.size() - p->out_pos);
        if (n < 0) {
          Fail("publisher " + std::to_string(p->id) + ": " + p->conn->error());
          continue;
        }
        p->out_pos += static_cast<size_t>(n);
        if (p->out_pos == p->out.size()) {
          p->out.clear();
          p->out_pos = 0;
        }
      }
      const uint32_t wanted = Wanted(*p);
      if (wanted != p->watched) {
        p->watched = wanted;
        Watch(static_cast<size_t>(p - pubs_.data()), EPOLL_CTL_MOD, wanted);
      }
    }
    dirty_.clear();
  }

  bool Fail(const std::string& why) {
    if (stats_->error.empty()) stats_->error = why;
    return false;
  }

  const PubsubFlags& f_;
  std::vector<Publisher>& pubs_;
  PublisherStats* stats_ = nullptr;
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
  std::vector<Publisher*> dirty_;
};

// ---- Setup --------------------------------------------------------------------

Result<std::unique_ptr<RespConnection>> Open(const PubsubFlags& f, const Endpoint& endpoint,
                                             const std::shared_ptr<TlsContext>& tls,
                                             Deadline deadline) {
  auto conn = RespConnection::Connect(endpoint, tls, deadline);
  if (!conn.ok()) return conn.status();
  if (f.resp == 3) {
    RespFrame reply;
    Status st = (*conn)->Call({"HELLO", "3"}, &reply, deadline);
    if (!st.ok()) return Status(st.code(), "RESP3 not available: " + st.message());
    if (reply.head.type != '%') {
      return Status::NotSupported("HELLO 3 did not switch the connection to RESP3");
    }
  }
  return conn;
}

// Connects every subscriber and returns once each has its subscription
// confirmed, so nothing published afterwards can miss it.
Status SetUpSubscribers(const PubsubFlags& f, const Endpoint& endpoint,
                        const std::shared_ptr<TlsContext>& tls, Deadline deadline,
                        std::vector<Subscriber>* subs) {
  const size_t feeders = static_cast<size_t>((f.publishers + f.channels - 1) / f.channels);
  const char* verb = f.pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
  for (int i = 0; i < f.subscribers; ++i) {
    auto conn = Open(f, endpoint, tls, deadline);
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
                       std::vector<Publisher>* pubs) {
  const std::string filler(static_cast<size_t>(f.size), 'x');
  for (int j = 0; j < f.publishers; ++j) {
    auto conn = Open(f, endpoint, tls, deadline);
    if (!conn.ok()) return conn.status();
    Publisher& p = pubs->emplace_back();
    p.conn = std::move(*conn);
    p.id = static_cast<uint32_t>(j);
    AppendCommand(&p.message, {"PUBLISH", ChannelName(j % f.channels), filler});
    p.stamp_at = p.message.size() - 2 - filler.size();
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
};

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void PrintJson(const PubsubFlags& f, const Summary& s) {
  std::string o = "{\"target\":";
  AppendJsonString(&o, f.target);
  auto num = [&o](const char* key, const std::string& v) {
    o += ",\"";
    o += key;
    o += "\":";
    o += v;
  };
  auto i64 = [&](const char* key, int64_t v) { num(key, std::to_string(v)); };
  num("tls", f.tls ? "true" : "false");
  i64("resp", f.resp);
  i64("publishers", f.publishers);
  i64("subscribers", f.subscribers);
  i64("channels", f.channels);
  num("pattern", f.pattern ? "true" : "false");
  i64("size", f.size);
  i64("pipeline", f.pipeline);
  num("rate", Fixed(f.rate, 0));
  num("seconds", Fixed(s.publish_secs, 3));
  i64("published", s.published);
  i64("delivered", s.delivered);
  i64("expected", s.expected);
  num("publish_msg_s", Fixed(s.publish_rate, 0));
  num("deliver_msg_s", Fixed(s.deliver_rate, 0));
  num("deliver_mb_s", Fixed(s.deliver_mb_s, 2));
  num("p50_us", Fixed(s.p50_us, 1));
  num("p99_us", Fixed(s.p99_us, 1));
  num("p999_us", Fixed(s.p999_us, 1));
  num("max_us", Fixed(s.max_us, 1));
  num("mean_us", Fixed(s.mean_us, 1));
  i64("latency_samples", s.samples);
  i64("loss", static_cast<int64_t>(s.loss));
  i64("order_violations", static_cast<int64_t>(s.order_violations));
  i64("foreign", s.foreign);
  i64("server_receivers", s.receivers);
  num("schedule_lag_max_us", Fixed(s.max_lag_us, 1));
  num("cpu_pct", Fixed(s.cpu_pct, 1));
  num("cpu_pub_pct", Fixed(s.cpu_pub_pct, 1));
  num("cpu_sub_pct", Fixed(s.cpu_sub_pct, 1));
  o += "}\n";
  std::fputs(o.c_str(), stdout);
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
  std::printf("  tool cpu   %.0f%% of one core (publishers %.0f%%, subscribers %.0f%%)\n",
              s.cpu_pct, s.cpu_pub_pct, s.cpu_sub_pct);
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
  std::vector<Publisher> pubs;
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
  PublisherStats pub_stats;
  const int64_t wall0 = NowNs();
  const int64_t cpu0 = CpuNs(RUSAGE_SELF);
  SubscriberLoop sub_loop(f, &subs, &shared);
  std::thread sub_thread([&] { sub_loop.Run(&sub_stats); });
  PublisherLoop(f, &pubs).Run(&pub_stats);

  std::vector<int64_t> on_channel(static_cast<size_t>(f.channels), 0);
  for (const Subscriber& s : subs) ++on_channel[static_cast<size_t>(s.channel)];
  int64_t expected = 0;
  for (const Publisher& p : pubs) {
    expected += static_cast<int64_t>(p.sent) * on_channel[p.id % static_cast<uint32_t>(f.channels)];
  }
  shared.expected.store(expected);
  shared.publish_end_ns.store(NowNs());
  shared.publish_done.store(true, std::memory_order_release);
  sub_thread.join();
  const int64_t wall = NowNs() - wall0;
  const int64_t cpu = CpuNs(RUSAGE_SELF) - cpu0;

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
