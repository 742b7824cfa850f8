#include "cli/bench_sender.h"

#include "cli/cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace runnel::cli {

namespace {
constexpr size_t kReadChunk = 256 * 1024;
}

int64_t BenchNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t BenchCpuNs(int who) {
  rusage ru;
  getrusage(who, &ru);
  auto ns = [](const timeval& tv) {
    return int64_t{tv.tv_sec} * 1'000'000'000 + tv.tv_usec * 1000;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

std::string Fixed(double v, int digits) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void JsonLine::Key(const char* key) {
  out_ += out_.empty() ? "{\"" : ",\"";
  out_ += key;
  out_ += "\":";
}

JsonLine& JsonLine::Str(const char* key, std::string_view value) {
  Key(key);
  AppendJsonString(&out_, value);
  return *this;
}

JsonLine& JsonLine::Raw(const char* key, std::string_view value) {
  Key(key);
  out_ += value;
  return *this;
}

void JsonLine::Print() {
  out_ += out_.empty() ? "{}\n" : "}\n";
  fputs(out_.c_str(), stdout);
}

int64_t ReadScratch::Read(RespConnection& conn, const std::string& partial,
                          std::string_view* data) {
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

Result<std::unique_ptr<RespConnection>> OpenBenchConnection(int resp, const Endpoint& endpoint,
                                                            const std::shared_ptr<TlsContext>& tls,
                                                            Deadline deadline) {
  auto conn = RespConnection::Connect(endpoint, tls, deadline);
  if (!conn.ok()) return conn.status();
  if (resp == 3) {
    RespFrame reply;
    Status st = (*conn)->Call({"HELLO", "3"}, &reply, deadline);
    if (!st.ok()) return Status(st.code(), "RESP3 not available: " + st.message());
    if (reply.head.type != '%') {
      return Status::NotSupported("HELLO 3 did not switch the connection to RESP3");
    }
  }
  return conn;
}

void SetSenderCommand(Sender* s, std::initializer_list<std::string_view> args, int pipeline) {
  s->message.clear();
  AppendCommand(&s->message, args);
  const std::string_view payload = *(args.end() - 1);
  s->stamp_at = s->message.size() - 2 - payload.size();
  s->send_ns.assign(static_cast<size_t>(std::max(pipeline, 1)), 0);
}

SenderLoop::SenderLoop(const SenderFlags& f, std::vector<Sender>* senders)
    : f_(f), senders_(*senders), budget_(f.messages > 0 ? f.messages : INT64_MAX) {}

void SenderLoop::Run(SenderStats* stats) {
  stats_ = stats;
  const int64_t cpu0 = BenchCpuNs(RUSAGE_THREAD);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < senders_.size(); ++i) {
    senders_[i].watched = Wanted(senders_[i]);
    Watch(i, EPOLL_CTL_ADD, senders_[i].watched);
  }
  stats_->start_ns = BenchNowNs();
  stop_at_ = stats_->start_ns + static_cast<int64_t>(f_.seconds * 1e9);
  if (f_.rate > 0) {
    interval_ns_ = 1e9 / f_.rate;
    SendDue(stats_->start_ns);
  } else {
    for (Sender& p : senders_) TopUp(p);
  }
  FlushAll();
  std::vector<epoll_event> events(senders_.size());
  int64_t now = stats_->start_ns;
  while (stats_->error.empty()) {
    if (!stopping_ && (now >= stop_at_ || budget_ == 0)) {
      stopping_ = true;
      for (Sender& p : senders_) MarkDirty(p);  // --rate: now wait for replies
      FlushAll();
    }
    if (stopping_ && InFlight() == 0) break;
    if (stopping_ && now - std::max(stop_at_, last_reply_ns_) > kBenchDrainNs) {
      stats_->error = f_.verb + ": no reply to " + std::to_string(InFlight()) +
                      " commands within 1 s after the run";
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
    now = BenchNowNs();
    for (int i = 0; i < n; ++i) {
      Sender& p = senders_[events[static_cast<size_t>(i)].data.u64];
      const uint32_t ready = events[static_cast<size_t>(i)].events;
      if ((ready & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !ReadReplies(p)) break;
      if (f_.rate == 0 && !stopping_) TopUp(p);
      if (f_.rate > 0 || (ready & EPOLLOUT)) MarkDirty(p);
    }
    if (f_.rate > 0 && !stopping_) SendDue(now);
    FlushAll();
  }
  stats_->end_ns = last_reply_ns_ > 0 ? last_reply_ns_ : BenchNowNs();
  for (const Sender& p : senders_) {
    stats_->acked += p.acked;
    stats_->receivers += p.receivers;
  }
  close(ep_);
  stats_->cpu_ns = BenchCpuNs(RUSAGE_THREAD) - cpu0;
}

// epoll_pwait2 (Linux 5.11) takes a timespec; older kernels get
// epoll_wait's milliseconds, rounded up.
int SenderLoop::Wait(std::vector<epoll_event>& events, int64_t timeout_ns) {
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

void SenderLoop::Watch(size_t i, int op, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = i;
  epoll_ctl(ep_, op, senders_[i].conn->fd(), &ev);
}

int64_t SenderLoop::InFlight() const {
  int64_t n = 0;
  for (const Sender& p : senders_) n += p.in_flight;
  return n;
}

void SenderLoop::MarkDirty(Sender& p) {
  if (!p.dirty) {
    p.dirty = true;
    dirty_.push_back(&p);
  }
}

void SenderLoop::Append(Sender& p, int64_t now) {
  MarkDirty(p);
  p.out.append(p.message);
  WriteStamp(p.out.data() + p.out.size() - p.message.size() + p.stamp_at,
             Stamp{now, p.id, ++p.sent});
  p.send_ns[(p.send_head + static_cast<size_t>(p.in_flight)) % p.send_ns.size()] = now;
  ++p.in_flight;
  --budget_;
}

// Closed loop: keep `pipeline` commands in flight.
void SenderLoop::TopUp(Sender& p) {
  const int64_t now = BenchNowNs();
  while (p.in_flight < f_.pipeline && budget_ > 0) Append(p, now);
}

// The events a sender waits for. Under --rate replies are not waited for
// but picked up just before the sender's next send (one wake-up per message
// instead of two: at 10k msg/s wake-ups are most of the tool's CPU time),
// unless it is at --pipeline in flight or the run is ending.
uint32_t SenderLoop::Wanted(const Sender& p) const {
  uint32_t events = 0;
  if (f_.rate == 0 || stopping_ || p.in_flight >= f_.pipeline) events |= EPOLLIN;
  if (p.out_pos < p.out.size() || p.conn->HasUnsentOutput()) events |= EPOLLOUT;
  return events;
}

// Open loop: send every message whose time has come (message m is due at
// start + m * interval and belongs to sender m % P) and note when the next
// one is due. A sender already at --pipeline in flight holds the schedule
// back until its replies come.
void SenderLoop::SendDue(int64_t now) {
  next_due_ns_ = 0;
  for (;;) {
    if (budget_ == 0) return;
    const int64_t due = stats_->start_ns + static_cast<int64_t>(scheduled_ * interval_ns_);
    if (due >= stop_at_) return;  // a message due at the end is not in the run
    if (due > now) {
      next_due_ns_ = due;
      return;
    }
    Sender& p = senders_[scheduled_ % senders_.size()];
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

bool SenderLoop::ReadReplies(Sender& p) {
  for (;;) {
    std::string_view data;
    const int64_t n = scratch_.Read(*p.conn, p.partial, &data);
    if (n < 0) return Fail(f_.verb + " connection " + std::to_string(p.id) + ": " + p.conn->error());
    if (n == 0) return true;
    last_reply_ns_ = BenchNowNs();
    RespFrame frame;
    for (;;) {
      size_t used = 0;
      const ScanStatus st = ScanFrame(data, &frame, &used);
      if (st == ScanStatus::kIncomplete) break;
      if (st == ScanStatus::kError) return Fail(f_.verb + ": the server sent bytes that are not RESP");
      data.remove_prefix(used);
      if (frame.head.type == '>') continue;  // a RESP3 push, not our reply
      if (p.in_flight == 0) return Fail(f_.verb + ": a reply to a command never sent");
      // Replies come in command order, so the oldest send time is this one's.
      stats_->reply_latency.Record(last_reply_ns_ - p.send_ns[p.send_head]);
      p.send_head = (p.send_head + 1) % p.send_ns.size();
      --p.in_flight;
      if (frame.head.type == f_.reply_type) {
        ++p.acked;
        if (frame.head.type == ':') p.receivers += frame.head.integer;
      } else {
        ++stats_->errors;
        if (stats_->error.empty()) {
          stats_->error = f_.verb + ": " +
                          (frame.is_error() ? std::string(frame.head.str)
                                            : "unexpected reply type '" +
                                                  std::string(1, frame.head.type) + "'");
        }
      }
    }
    p.partial.assign(data);
    if (!p.conn->HasBufferedInput()) return true;
  }
}

// One write per sender per loop turn; what the socket refuses waits for
// EPOLLOUT. Then the sender's epoll events are brought up to date.
void SenderLoop::FlushAll() {
  for (Sender* p : dirty_) {
    p->dirty = false;
    if (p->out_pos < p->out.size()) {
      const int64_t n = p->conn->Write(p->out.data() + p->out_pos, p->out.size() - p->out_pos);
      if (n < 0) {
        Fail(f_.verb + " connection " + std::to_string(p->id) + ": " + p->conn->error());
        continue;
      }
      p->out_pos += static_cast<size_t>(n);
      if (p->out_pos == p->out.size()) {
        p->out.clear();
        p->out_pos = 0;
      }
    } else if (p->conn->HasUnsentOutput() && p->conn->Flush() < 0) {
      Fail(f_.verb + " connection " + std::to_string(p->id) + ": " + p->conn->error());
      continue;
    }
    const uint32_t wanted = Wanted(*p);
    if (wanted != p->watched) {
      p->watched = wanted;
      Watch(static_cast<size_t>(p - senders_.data()), EPOLL_CTL_MOD, wanted);
    }
  }
  dirty_.clear();
}

bool SenderLoop::Fail(const std::string& why) {
  if (stats_->error.empty()) stats_->error = why;
  return false;
}

}  // namespace runnel::cli
