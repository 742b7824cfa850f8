// The event loops of `runnel bench kafka` (bench_kafka.h): producers that
// keep prebuilt Produce requests in flight, and fetchers with one Fetch in
// flight each. One thread and one epoll set per loop; every loop ends by
// time, budget or a drain limit.
#include "cli/bench_kafka.h"
#include "cli/bench_pubsub.h"
#include "cli/bench_sender.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

namespace runnel::cli {

namespace {

constexpr int64_t kProduceDrainNs = 10'000'000'000;  // answers still due after sending stops
constexpr int64_t kFollowDrainNs = 1'000'000'000;    // latency: late records after the last ack
constexpr size_t kReadRoom = 256 << 10;
constexpr size_t kMaxResponseBytes = size_t{256} << 20;
constexpr int32_t kProduceTimeoutMs = 30000;

int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// Correlation ids count requests per connection (kept positive).
int32_t Correlation(uint64_t seq) { return static_cast<int32_t>(seq & 0x7fffffff); }

// A connection's unparsed input: reads append, frames are consumed from the
// front; the bytes of one unfinished frame move to the front when room runs
// out, so a 50 MiB fetch answer is read straight into place.
class InBuffer {
 public:
  // Reads once, with at least `room` bytes free. Returns Read()'s result.
  int64_t ReadFrom(RespConnection& conn, size_t room) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (buf_.size() - end_ < room) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (buf_.size() - end_ < room) buf_.resize(end_ + room);
    }
    const int64_t n = conn.Read(buf_.data() + end_, buf_.size() - end_);
    if (n > 0) end_ += static_cast<size_t>(n);
    return n;
  }
  std::string_view data() const { return {buf_.data() + begin_, end_ - begin_}; }
  void Consume(size_t n) { begin_ += n; }

 private:
  std::string buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace

std::vector<int32_t> PartitionsOf(int connection, int connections, int partitions) {
  std::vector<int32_t> out;
  if (connections > partitions) {
    out.push_back(connection % partitions);
    return out;
  }
  for (int p = connection; p < partitions; p += connections) out.push_back(p);
  return out;
}

Status KafkaCall(RespConnection& conn, const std::string& request, int32_t correlation_id,
                 std::string* body, Deadline deadline) {
  Status st = conn.WriteAll(request, deadline);
  if (!st.ok()) return st;
  InBuffer in;
  for (;;) {
    int32_t corr = 0;
    std::string_view b;
    size_t used = 0;
    const ResponseFrame r = NextResponse(in.data(), kMaxResponseBytes, &corr, &b, &used);
    if (r == ResponseFrame::kBad) return Status::Corruption("the server sent a bad frame size");
    if (r == ResponseFrame::kFrame) {
      if (corr != correlation_id) {
        return Status::Corruption("answer to request " + std::to_string(corr) + ", expected " +
                                  std::to_string(correlation_id));
      }
      body->assign(b);
      return Status::OK();
    }
    const int64_t n = in.ReadFrom(conn, kReadRoom);
    if (n < 0) return Status::IoError(conn.error());
    if (n > 0 || conn.HasBufferedInput()) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::IoError("no answer from the server in time");
    pollfd p{conn.fd(), POLLIN, 0};
    poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
}

// ---- Producing ------------------------------------------------------------------

namespace {

struct Producer {
  std::unique_ptr<RespConnection> conn;
  uint32_t id = 0;
  std::vector<int32_t> partitions;
  std::vector<std::string> slots;  // the ring of prebuilt requests
  std::vector<size_t> batch_at;    // where each partition's batch sits in a slot
  std::vector<int64_t> sent_ns;    // per slot: when it was prepared
  uint64_t prepared = 0;           // requests 0..prepared-1 were refreshed for sending
  uint64_t written = 0;            // ... wholly written
  uint64_t answered = 0;           // ... answered (acks=0: written)
  size_t write_pos = 0;            // bytes of the slot being written
  uint64_t sequence = 0;           // the last stamp's sequence number
  bool want_out = false;           // waiting for EPOLLOUT
  InBuffer in;
};

class ProduceLoop {
 public:
  ProduceLoop(const KafkaBenchFlags& f, ProduceStats* stats)
      : f_(f), stats_(*stats), batch_(f.records, static_cast<size_t>(f.size)) {}

  void Run(std::vector<std::unique_ptr<RespConnection>> conns) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    producers_.resize(conns.size());
    for (size_t i = 0; i < conns.size(); ++i) {
      Producer& p = producers_[i];
      p.conn = std::move(conns[i]);
      p.id = static_cast<uint32_t>(i);
      p.partitions =
          PartitionsOf(static_cast<int>(i), static_cast<int>(conns.size()), f_.partitions);
      Build(p);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep_, EPOLL_CTL_ADD, p.conn->fd(), &ev);
    }
    std::vector<epoll_event> events(producers_.size());
    stats_.start_ns = BenchNowNs();
    const int64_t stop_at = stats_.start_ns + static_cast<int64_t>(f_.seconds * 1e9);
    const double interval_ns =
        f_.rate > 0
            ? 1e9 * f_.records * static_cast<double>(producers_[0].partitions.size()) / f_.rate
            : 0;
    uint64_t scheduled = 0;
    int64_t stopped_at = 0;
    while (stats_.error.empty()) {
      const int64_t now = BenchNowNs();
      if (stopped_at == 0 && (now >= stop_at || OverBudget())) stopped_at = now;
      int64_t next_due = 0;
      if (stopped_at == 0 && f_.rate > 0) {
        for (;;) {
          next_due = stats_.start_ns + static_cast<int64_t>(scheduled * interval_ns);
          if (next_due > now || OverBudget()) break;
          Producer& p = producers_[scheduled % producers_.size()];
          if (!HasRoom(p)) {              // all slots in flight: the schedule slips (max_lag_ns)
            next_due = now + 10'000'000;  // an answer wakes the wait; no spinning meanwhile
            break;
          }
          stats_.max_lag_ns = std::max(stats_.max_lag_ns, now - next_due);
          Prepare(p, now);
          ++scheduled;
        }
      } else if (stopped_at == 0) {
        for (Producer& p : producers_) {
          while (HasRoom(p) && !OverBudget()) Prepare(p, now);
        }
      }
      for (Producer& p : producers_) {
        if (p.written < p.prepared && !p.want_out) Flush(p);
      }
      if (stopped_at != 0) {
        bool drained = true;
        for (const Producer& p : producers_) drained = drained && p.answered == p.prepared;
        if (drained) break;
        if (now - stopped_at > kProduceDrainNs) {
          Fail("requests still unanswered 10 s after sending stopped");
          break;
        }
      }
      int64_t timeout_ns = 10'000'000;
      if (stopped_at == 0 && f_.rate > 0)
        timeout_ns = std::clamp<int64_t>(next_due - now, 0, timeout_ns);
      const int n = Wait(events, timeout_ns);
      for (int i = 0; i < n && stats_.error.empty(); ++i) {
        Producer& p = producers_[events[i].data.u64];
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadAnswers(p);
        if ((events[i].events & EPOLLOUT) && stats_.error.empty()) {
          SetWantOut(p, false);
          Flush(p);
        }
      }
    }
    close(ep_);
  }

 private:
  // The same N requests, each one batch per partition, correlation ids and
  // batches refreshed before each send.
  void Build(Producer& p) {
    std::vector<ProducePartition> parts;
    for (int32_t partition : p.partitions) parts.push_back({partition, batch_.bytes()});
    p.batch_at = ProduceBatchOffsets(f_.topic, parts);
    p.slots.resize(static_cast<size_t>(f_.in_flight));
    p.sent_ns.assign(p.slots.size(), 0);
    for (std::string& s : p.slots) {
      AppendProduceRequest(&s, 0, static_cast<int16_t>(f_.acks), kProduceTimeoutMs, f_.topic,
                           parts);
    }
  }

  bool HasRoom(const Producer& p) const { return p.prepared - p.answered < p.slots.size(); }
  bool OverBudget() const { return f_.max_records > 0 && prepared_records_ >= f_.max_records; }

  void Prepare(Producer& p, int64_t now) {
    const size_t slot = p.prepared % p.slots.size();
    std::string& s = p.slots[slot];
    SetCorrelationId(s.data(), Correlation(p.prepared));
    const int64_t now_ms = WallMs();
    const bool stamp = f_.size >= static_cast<int64_t>(kStampBytes);
    for (size_t at : p.batch_at) {
      char* b = s.data() + at;
      if (stamp) {
        for (size_t v : batch_.value_offsets()) WriteStamp(b + v, {now, p.id, ++p.sequence});
      }
      ProduceBatch::Seal(b, batch_.bytes().size(), now_ms);
    }
    p.sent_ns[slot] = now;
    ++p.prepared;
    prepared_records_ += static_cast<int64_t>(f_.records) * static_cast<int64_t>(p.batch_at.size());
  }

  void Flush(Producer& p) {
    // TLS records an earlier Write sealed go first (Write flushes them too,
    // but there may be nothing left to write).
    if (p.conn->HasUnsentOutput() && !Progressed(p, p.conn->Flush())) return;
    while (p.written < p.prepared) {
      const std::string& s = p.slots[p.written % p.slots.size()];
      const int64_t n = p.conn->Write(s.data() + p.write_pos, s.size() - p.write_pos);
      if (!Progressed(p, n)) return;
      stats_.wire_bytes += n;
      p.write_pos += static_cast<size_t>(n);
      if (p.write_pos < s.size()) continue;
      p.write_pos = 0;
      ++p.written;
      ++stats_.requests;
      stats_.sent_records +=
          static_cast<int64_t>(f_.records) * static_cast<int64_t>(p.batch_at.size());
      if (f_.acks == 0) {  // never answered: done once written
        ++p.answered;
        stats_.end_ns = BenchNowNs();
      }
    }
    if (p.conn->HasUnsentOutput()) SetWantOut(p, true);
  }

  // What Write or Flush returned: false when nothing more goes out now,
  // the failure recorded (n < 0) or writability waited for (n == 0).
  bool Progressed(Producer& p, int64_t n) {
    if (n < 0) {
      Fail("produce connection: " + p.conn->error());
      return false;
    }
    if (n == 0) {
      SetWantOut(p, true);
      return false;
    }
    return true;
  }

  void SetWantOut(Producer& p, bool want) {
    if (p.want_out == want) return;
    p.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = p.id;
    epoll_ctl(ep_, EPOLL_CTL_MOD, p.conn->fd(), &ev);
  }

  void ReadAnswers(Producer& p) {
    for (;;) {
      const int64_t n = p.in.ReadFrom(*p.conn, kReadRoom);
      if (n < 0) {
        Fail("produce connection: " + p.conn->error());
        return;
      }
      const int64_t now = BenchNowNs();
      for (;;) {
        int32_t corr = 0;
        std::string_view body;
        size_t used = 0;
        const ResponseFrame r = NextResponse(p.in.data(), kMaxResponseBytes, &corr, &body, &used);
        if (r == ResponseFrame::kBad) {
          Fail("the server sent a bad frame size");
          return;
        }
        if (r == ResponseFrame::kNeedMore) break;
        if (f_.acks == 0 || p.answered >= p.written) {
          Fail("an answer to a Produce request that was not sent");
          return;
        }
        if (corr != Correlation(p.answered)) {
          Fail("Produce answer " + std::to_string(corr) + " out of order (expected " +
               std::to_string(Correlation(p.answered)) + ")");
          return;
        }
        parsed_.clear();
        if (!DecodeProduceResponse(body, f_.topic, &parsed_) ||
            parsed_.size() != p.partitions.size()) {
          Fail("a Produce answer that does not decode (or lists other partitions)");
          return;
        }
        for (const ProducedPartition& pp : parsed_) {
          if (pp.error == kKafkaNone) {
            stats_.acked_records += f_.records;
          } else {
            stats_.errors[pp.error] += f_.records;
          }
        }
        stats_.reply_latency.Record(now - p.sent_ns[p.answered % p.slots.size()]);
        ++p.answered;
        stats_.end_ns = now;
        p.in.Consume(used);
      }
      if (n == 0 && !p.conn->HasBufferedInput()) return;
    }
  }

  int Wait(std::vector<epoll_event>& events, int64_t timeout_ns) {
    const int max = static_cast<int>(events.size());
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                static_cast<long>(timeout_ns % 1'000'000'000)};
    const int n = epoll_pwait2(ep_, events.data(), max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n < 0 ? 0 : n;
    return std::max(0, epoll_wait(ep_, events.data(), max,
                                  static_cast<int>((timeout_ns + 999'999) / 1'000'000)));
  }

  void Fail(const std::string& why) {
    if (stats_.error.empty()) stats_.error = why;
  }

  const KafkaBenchFlags& f_;
  ProduceStats& stats_;
  ProduceBatch batch_;
  std::vector<Producer> producers_;
  std::vector<ProducedPartition> parsed_;
  int64_t prepared_records_ = 0;
  int ep_ = -1;
};

}  // namespace

void RunProduceLoop(const KafkaBenchFlags& f, std::vector<std::unique_ptr<RespConnection>> conns,
                    ProduceStats* stats) {
  ProduceLoop(f, stats).Run(std::move(conns));
}

// ---- Fetching -------------------------------------------------------------------

namespace {

struct FetchPart {
  int32_t partition = 0;
  int64_t next = 0;
  int64_t end = -1;  // consume: the first answer's high watermark
  bool done = false;
};

struct Fetcher {
  std::unique_ptr<RespConnection> conn;
  std::vector<FetchPart> parts;
  InBuffer in;
  std::string request;
  int32_t correlation = 0;
  bool in_flight = false;
};

// latency: each record's stamp -> end-to-end time, order, loss.
class StampSink : public ValueSink {
 public:
  explicit StampSink(FetchStats* stats) : stats_(*stats) {}
  void set_now(int64_t now) { now_ = now; }
  void Value(int64_t /*offset*/, std::string_view value) override {
    Stamp s;
    if (!ReadStamp(value, &s) || s.publisher != 0) {
      ++stats_.foreign;
      return;
    }
    ++stats_.delivered;
    stats_.latency.Record(now_ - s.send_ns);
    if (s.sequence <= stats_.last_sequence) {
      ++stats_.order_violations;
    } else {
      stats_.last_sequence = s.sequence;
    }
  }

 private:
  FetchStats& stats_;
  int64_t now_ = 0;
};

class FetchLoop {
 public:
  FetchLoop(const KafkaBenchFlags& f, FollowShared* shared, FetchStats* stats)
      : f_(f), shared_(shared), stats_(*stats), sink_(stats) {}

  void Run(std::vector<std::unique_ptr<RespConnection>> conns,
           const std::vector<std::vector<int64_t>>& start_offsets) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    fetchers_.resize(conns.size());
    stats_.start_ns = BenchNowNs();
    for (size_t i = 0; i < conns.size(); ++i) {
      Fetcher& fr = fetchers_[i];
      fr.conn = std::move(conns[i]);
      const std::vector<int32_t> mine =
          PartitionsOf(static_cast<int>(i), static_cast<int>(conns.size()), f_.partitions);
      for (size_t k = 0; k < mine.size(); ++k) {
        fr.parts.push_back({mine[k], start_offsets[i][k], -1, false});
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, fr.conn->fd(), &ev);
      Send(fr);
    }
    const int64_t deadline =
        stats_.start_ns + static_cast<int64_t>(f_.seconds * 1e9) +
        (shared_ != nullptr ? 30'000'000'000 : 0);  // latency: the producer's time bounds it
    std::vector<epoll_event> events(fetchers_.size());
    while (stats_.error.empty()) {
      const int64_t now = BenchNowNs();
      if (shared_ == nullptr) {
        bool all_done = true;
        for (const Fetcher& fr : fetchers_) {
          for (const FetchPart& p : fr.parts) all_done = all_done && p.done;
        }
        if (all_done) {
          stats_.complete = true;
          break;
        }
      } else if (shared_->producing_done.load(std::memory_order_acquire)) {
        if (stats_.delivered >= shared_->acked.load()) break;
        if (now - shared_->done_ns.load() > kFollowDrainNs + f_.max_wait_ms * int64_t{1'000'000}) {
          break;
        }
      }
      if (now > deadline) break;
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
      for (int i = 0; i < n && stats_.error.empty(); ++i) ReadSome(fetchers_[events[i].data.u64]);
    }
    close(ep);
  }

 private:
  void Send(Fetcher& fr) {
    parts_.clear();
    for (const FetchPart& p : fr.parts) {
      if (!p.done) parts_.push_back({p.partition, p.next, f_.partition_max_bytes});
    }
    if (parts_.empty()) return;
    fr.request.clear();
    AppendFetchRequest(&fr.request, ++fr.correlation, f_.max_wait_ms, 1, f_.fetch_max_bytes,
                       f_.topic, parts_);
    // One small request on a connection with nothing else outstanding.
    Status st =
        fr.conn->WriteAll(fr.request, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    if (!st.ok()) {
      Fail("fetch connection: " + st.message());
      return;
    }
    fr.in_flight = true;
    ++stats_.fetches;
  }

  void ReadSome(Fetcher& fr) {
    for (;;) {
      const int64_t n = fr.in.ReadFrom(*fr.conn, room_);
      if (n < 0) {
        Fail("fetch connection: " + fr.conn->error());
        return;
      }
      const int64_t now = BenchNowNs();
      for (;;) {
        int32_t corr = 0;
        std::string_view body;
        size_t used = 0;
        const ResponseFrame r = NextResponse(fr.in.data(), kMaxResponseBytes, &corr, &body, &used);
        if (r == ResponseFrame::kBad) {
          Fail("the server sent a bad frame size");
          return;
        }
        if (r == ResponseFrame::kNeedMore) {
          // Read the rest of a big answer straight into place.
          const size_t have = fr.in.data().size();
          room_ = used > have ? std::max(kReadRoom, used - have) : kReadRoom;
          break;
        }
        room_ = kReadRoom;
        if (!OnAnswer(fr, corr, body, now)) return;
        fr.in.Consume(used);
        Send(fr);
      }
      if (n == 0 && !fr.conn->HasBufferedInput()) return;
    }
  }

  bool OnAnswer(Fetcher& fr, int32_t corr, std::string_view body, int64_t now) {
    if (!fr.in_flight || corr != fr.correlation) {
      return Fail("a Fetch answer to a request that was not sent");
    }
    fr.in_flight = false;
    int16_t top = 0;
    parsed_.clear();
    if (!DecodeFetchResponse(body, f_.topic, &top, &parsed_)) {
      return Fail("a Fetch answer that does not decode");
    }
    if (top != kKafkaNone) return Fail("Fetch failed: Kafka error code " + std::to_string(top));
    bool any = false;
    sink_.set_now(now);
    for (const FetchedPartition& fp : parsed_) {
      auto it = std::find_if(fr.parts.begin(), fr.parts.end(),
                             [&](const FetchPart& p) { return p.partition == fp.partition; });
      if (it == fr.parts.end()) {
        return Fail("a Fetch answer for partition " + std::to_string(fp.partition) +
                    ", which was not asked for");
      }
      const std::string where = "partition " + std::to_string(fp.partition);
      if (fp.error != kKafkaNone) {
        return Fail(where + ": Kafka error code " + std::to_string(fp.error));
      }
      if (shared_ == nullptr && it->end < 0) it->end = fp.high_watermark;
      WalkResult w;
      Status st = WalkBatches(fp.records, f_.check_crc, shared_ != nullptr ? &sink_ : nullptr,
                              &it->next, &w);
      if (!st.ok()) return Fail(where + ": " + st.message());
      stats_.batches += w.batches;
      stats_.records += w.records;
      stats_.bytes += w.bytes;
      if (w.records > 0) {
        any = true;
        stats_.end_ns = now;
      }
      if (shared_ == nullptr && it->next >= it->end) it->done = true;
    }
    if (!any) ++stats_.empty_fetches;
    return true;
  }

  bool Fail(const std::string& why) {
    if (stats_.error.empty()) stats_.error = why;
    return false;
  }

  const KafkaBenchFlags& f_;
  FollowShared* shared_;
  FetchStats& stats_;
  StampSink sink_;
  std::vector<Fetcher> fetchers_;
  std::vector<FetchPartition> parts_;
  std::vector<FetchedPartition> parsed_;
  size_t room_ = kReadRoom;
};

}  // namespace

void RunFetchLoop(const KafkaBenchFlags& f, std::vector<std::unique_ptr<RespConnection>> conns,
                  const std::vector<std::vector<int64_t>>& start_offsets, FollowShared* shared,
                  FetchStats* stats) {
  FetchLoop(f, shared, stats).Run(std::move(conns), start_offsets);
}

}  // namespace runnel::cli
