#include "protocol/resp/resp_session.h"

#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_util.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace runnel::resp {

namespace {

ParserLimits LimitsFrom(const broker::Settings& s) {
  ParserLimits limits;
  limits.max_bulk_len = s.proto_max_bulk_len.load();
  limits.max_multibulk_len = s.max_multibulk_len.load();
  return limits;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The subscribers on this thread that OnInput's deliveries reached, written
// after the publisher's own replies; `collecting` while it hands them out.
struct LocalWrites {
  bool collecting = false;
  std::vector<std::shared_ptr<net::Connection>> connections;
};
thread_local LocalWrites t_local_writes;

// A delivery batch this large comes from a busy publisher (a pipelined
// window): its write waits for the thread's idle point, so the next
// windows' deliveries share it (net/idle_flush.h). A smaller one — sparse
// traffic, where a wait would only add latency — is written at once, and
// so is everything once kDeferBelowBytes are queued.
constexpr uint64_t kDeferBatchBytes = 2 << 10;
constexpr size_t kDeferBelowBytes = 64 << 10;

}  // namespace

RespSession::RespSession(net::Connection& conn, RespContext* ctx)
    : conn_(conn),
      ctx_(ctx),
      broker_(*ctx->broker),
      thread_(static_cast<uint32_t>(conn.thread_index())),
      parser_(LimitsFrom(ctx->broker->settings())),
      alive_(std::make_shared<RespSession*>(this)) {
  authenticated_ = !broker_.settings().auth_required();
}

RespSession::~RespSession() = default;

net::Session::Action RespSession::OnOpen() {
  entry_ = std::make_shared<broker::ClientEntry>();
  entry_->id = conn_.id();
  entry_->protocol = "resp";
  entry_->addr = conn_.remote_address();
  entry_->laddr = conn_.local_address();
  entry_->last_command_ms = NowMs();
  SetOwner();
  if (!broker_.clients().Add(entry_)) {
    // Logged at most once a second: a flood of refused clients must not
    // flood the log too.
    static std::atomic<int64_t> last_logged_ms{0};
    const int64_t now = NowMs();
    if (now - last_logged_ms.exchange(now) >= 1000) {
      spdlog::warn("max clients ({}) reached: refusing {} ({} refused so far)",
                   broker_.clients().max_clients(), conn_.remote_address(),
                   broker_.clients().rejected());
    }
    conn_.out().Append("-ERR max number of clients reached\r\n");
    return Action::kCloseAfterFlush;
  }
  registered_ = true;
  broker_.local(thread_).Add(conn_.id(), this);
  return Action::kContinue;
}

net::Session::Action RespSession::OnInput(std::string_view input, size_t* consumed,
                                          size_t* need_at_least) {
  const size_t out_before = conn_.out().size();
  size_t pos = 0;
  if (paused_ || !deferred_.empty()) {
    // Kept input runs first, in order. Bounded as Redis' query buffer.
    deferred_.append(input);
    pos = input.size();
    *need_at_least = 0;
    if (deferred_.size() > (1ULL << 30)) {
      spdlog::warn("closing client id={} addr={}: over 1 GiB of commands queued while paused",
                   conn_.id(), conn_.remote_address());
      return Action::kCloseNow;
    }
    if (!paused_) RunDeferred(/*from_input=*/true);
  } else {
    pos = Process(input, need_at_least);
  }
  // Everything this wake-up published goes out now, one hand-off per
  // destination thread. Queued before this client's replies leave, so a
  // client that saw PUBLISH's reply finds the message ahead of anything it
  // then asks a subscriber to do; but this client's own write goes first,
  // so a pipelining publisher sends its next commands while the
  // subscribers on this thread are written to.
  t_local_writes.collecting = true;
  FollowDeliveries(broker_.router().FlushOutbox(thread_));
  t_local_writes.collecting = false;
  if (action_ == Action::kContinue) conn_.Flush();
  for (const std::shared_ptr<net::Connection>& c : t_local_writes.connections) c->Flush();
  t_local_writes.connections.clear();
  *consumed = pos;
  // Counters shared by all threads are touched once per wake-up, not once
  // per command: a shared cache line bounced per command costs more than
  // the command.
  broker::Stats& stats = broker_.stats();
  if (executed_ > 0) {
    stats.commands.fetch_add(executed_, std::memory_order_relaxed);
    entry_->last_command_ms.store(NowMs(), std::memory_order_relaxed);
    executed_ = 0;
  }
  stats.net_input_bytes.fetch_add(pos, std::memory_order_relaxed);
  const size_t out_after = conn_.out().size();
  if (out_after > out_before) {
    stats.net_output_bytes.fetch_add(out_after - out_before, std::memory_order_relaxed);
  }
  entry_->input_bytes.store(input.size() - pos + deferred_.size(), std::memory_order_relaxed);
  entry_->output_bytes.store(out_after, std::memory_order_relaxed);
  if (subscribed()) CheckOutputLimits(std::chrono::steady_clock::now());
  if (close_pending_) return Action::kCloseNow;
  return action_;
}

size_t RespSession::Process(std::string_view input, size_t* need_at_least) {
  // PUBLISH lends the router views into this input (Publish, "borrowed"):
  // every caller flushes the outbox before the input goes.
  const std::string_view outer = input_;
  input_ = input;
  struct Restore {
    std::string_view& slot;
    std::string_view value;
    ~Restore() { slot = value; }
  } restore{input_, outer};
  size_t pos = 0;
  ParseResult r;
  while (action_ == Action::kContinue) {
    // Before AUTH, Redis' tighter limits apply and commands go one at a
    // time, since AUTH changes them (resp_parser.h).
    const bool limited = !authenticated_;
    parser_.set_auth_required(limited && broker_.settings().auth_required());
    r = parser_.Parse(input.substr(pos), &batch_, limited ? 1 : std::numeric_limits<size_t>::max());
    for (size_t i = 0; i < batch_.size(); ++i) {
      Execute(batch_[i]);
      if (paused_) {
        // Keep the rest of this batch and of the input for the resume.
        SaveRest(rerun_current_ ? i : i + 1);
        rerun_current_ = false;
        batch_.clear();
        deferred_.append(input.substr(pos + r.consumed));
        FlushAdds();  // (already empty: the pausing command flushed them)
        *need_at_least = 0;
        return input.size();
      }
      if (action_ != Action::kContinue) break;
    }
    batch_.clear();
    pos += r.consumed;
    if (!r.ok()) {
      if (action_ == Action::kContinue) {
        broker_.stats().protocol_errors.fetch_add(1, std::memory_order_relaxed);
        const std::string text = ErrorText(r);
        spdlog::info("Protocol error from client id={} addr={}: {}", conn_.id(),
                     conn_.remote_address(), text);
        ReplyError(text);
        action_ = Action::kCloseAfterFlush;
      }
      break;
    }
    // Stopped after one command while limited: go on with the rest.
    if (!limited || r.consumed == 0 || r.need_at_least != 0 || pos == input.size()) break;
  }
  FlushAdds();
  *need_at_least = r.need_at_least > 0 ? r.need_at_least : 0;
  return pos;
}

void RespSession::SaveRest(size_t from) {
  // Re-encoded as RESP multibulk: the parser reads it back unchanged.
  std::string rest;
  for (size_t i = from; i < batch_.size(); ++i) {
    Command argv = batch_[i];
    rest += "*" + std::to_string(argv.size()) + "\r\n";
    for (std::string_view a : argv) {
      rest += "$" + std::to_string(a.size()) + "\r\n";
      rest.append(a);
      rest += "\r\n";
    }
  }
  deferred_ = std::move(rest);
}

void RespSession::RunDeferred(bool from_input) {
  if (!paused_ && !deferred_.empty() && action_ == Action::kContinue) {
    std::string buf = std::move(deferred_);
    deferred_.clear();
    size_t need = 0;
    const size_t n = Process(buf, &need);
    if (!paused_) deferred_ = buf.substr(n);  // a partial command waits for more input
    // Deliveries may point into buf (PublishBorrowed): out before it goes.
    broker_.router().FlushOutbox(thread_);
  }
  if (from_input) return;  // OnInput finishes the wake-up
  broker_.router().FlushOutbox(thread_);
  if (executed_ > 0) {
    broker_.stats().commands.fetch_add(executed_, std::memory_order_relaxed);
    executed_ = 0;
  }
  if (action_ == Action::kCloseNow || close_pending_) {
    conn_.Close();
  } else if (action_ == Action::kCloseAfterFlush) {
    conn_.CloseAfterFlush();
  } else {
    conn_.Flush();
  }
}

void RespSession::Completion::operator()(std::string bytes) const {
  post(thread, [alive = alive, seq = seq, suppressed = suppressed, append = append,
                bytes = std::move(bytes)]() mutable {
    if (RespSession* s = *alive)
      s->FillReply(seq, suppressed ? std::string() : std::move(bytes), append);
  });
}

RespSession::Completion RespSession::Later(bool append) {
  if (append) ++inflight_appends_;
  return Completion{
      broker_.post(), thread_, alive_, replies_.Reserve(), reply_mode_ != ReplyMode::kOn, append};
}

void RespSession::FillReply(uint64_t seq, std::string bytes, bool append) {
  if (conn_.closed()) return;
  PlaceReply(seq, std::move(bytes), append);
  AfterReplies();
}

void RespSession::PlaceReply(uint64_t seq, std::string bytes, bool append) {
  size_t moved = 0;
  replies_.Fill(seq, std::move(bytes), [&](std::string&& b) {
    moved += b.size();
    conn_.out().Append(b);
  });
  broker_.stats().net_output_bytes.fetch_add(moved, std::memory_order_relaxed);
  if (append) --inflight_appends_;
}

void RespSession::AfterReplies() {
  if (inflight_appends_ == 0 && waiting_appends_) {
    waiting_appends_ = false;
    paused_ = false;
    RunDeferred(/*from_input=*/false);
    return;
  }
  conn_.FlushSoon();  // completions arrive one by one: one write for a burst
}

std::function<void(std::function<void(RespSession&)>)> RespSession::Poster() {
  return [post = broker_.post(), thread = thread_,
          alive = alive_](std::function<void(RespSession&)> fn) {
    post(thread, [alive, fn = std::move(fn)] {
      if (RespSession* s = *alive) fn(*s);
    });
  };
}

void RespSession::OnClose() {
  if (blocked_) EndBlock();
  *alive_ = nullptr;
  UnsubscribeAll();
  if (registered_) {
    if (!detached_) broker_.local(thread_).Remove(conn_.id());
    broker_.clients().Remove(conn_.id());
    registered_ = false;
  }
}

void RespSession::Execute(Command argv) {
  ++executed_;
  if (reply_mode_ == ReplyMode::kSkipNext) {
    reply_mode_ = ReplyMode::kSkipThis;
  } else if (reply_mode_ == ReplyMode::kSkipThis) {
    reply_mode_ = ReplyMode::kOn;
  }
  const CommandSpec* spec = FindCommand(argv[0]);
  // Queued XADDs go to the store before anything else runs (so a command
  // that waits for this connection's appends cannot wait for them forever).
  if (!pending_adds_.empty() && (spec == nullptr || spec->handler != &RespSession::XAdd)) {
    FlushAdds();
  }
  if (spec == nullptr) {
    ReplyError(UnknownCommandError(argv));
    return;
  }
  if ((spec->arity > 0 && static_cast<int>(argv.size()) != spec->arity) ||
      (static_cast<int>(argv.size()) < -spec->arity)) {
    ReplyError("ERR wrong number of arguments for '" + std::string(spec->name) + "' command");
    return;
  }
  if (!spec->subcommands.empty() && argv.size() >= 2) {
    const CommandSpec* sub = FindSubcommand(*spec, argv[1]);
    if (sub == nullptr) {
      ReplyError("ERR unknown subcommand '" + Truncate(argv[1], 128) + "'. Try " +
                 Upper(spec->name) + " HELP.");
      return;
    }
    if ((sub->arity > 0 && static_cast<int>(argv.size()) != sub->arity) ||
        (static_cast<int>(argv.size()) < -sub->arity)) {
      ReplyError("ERR wrong number of arguments for '" + std::string(sub->name) + "' command");
      return;
    }
    spec = sub;
  }
  if (!authenticated_ && !(spec->flags & kNoAuth)) {
    ReplyError("NOAUTH Authentication required.");
    return;
  }
  if (protocol_ == Protocol::kResp2 && subscribed() && !(spec->flags & kPubSubOk)) {
    ReplyError("ERR Can't execute '" + std::string(spec->name) +
               "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
               "this context");
    return;
  }
  if ((spec->flags & kSeesAppends) && inflight_appends_ > 0) {
    // Runs again once this connection's appends are acknowledged.
    paused_ = true;
    waiting_appends_ = true;
    rerun_current_ = true;
    --executed_;
    if (reply_mode_ == ReplyMode::kSkipThis) reply_mode_ = ReplyMode::kSkipNext;
    return;
  }
  current_ = spec;
  entry_->SetLastCommand(&spec->name);
  (this->*(spec->handler))(argv);
  current_ = nullptr;
}

void RespSession::ReplyError(std::string_view text) {
  Reply([&](RespWriter& w) { w.Error(text); });
}

void RespSession::Deliver(const broker::Delivery& d) {
  const broker::Message& m = *d.message;
  // A message published before this client unsubscribed can still be on its
  // way from another io thread. Redis never sends a message for a channel
  // after confirming the unsubscribe, so once the client has unsubscribed
  // anything, check each delivery against what it still holds.
  if (unsubscribed_any_ && !StillSubscribed(d)) return;
  const size_t before = conn_.out().size();
  conn_.out().AppendWith([&](std::string& s) {
    RespWriter w(&s, protocol_);
    switch (d.kind) {
      case broker::MatchKind::kPattern:
        w.PMessage(*d.subscription, m.channel, m.payload);
        break;
      case broker::MatchKind::kShard:
        w.SMessage(m.channel, m.payload);
        break;
      default:
        w.Message(m.channel, m.payload);
        break;
    }
  });
  delivered_bytes_ += conn_.out().size() - before;
}

void RespSession::EndDeliveries() {
  broker_.stats().net_output_bytes.fetch_add(delivered_bytes_, std::memory_order_relaxed);
  const uint64_t batch_bytes = std::exchange(delivered_bytes_, 0);
  CheckOutputLimits(std::chrono::steady_clock::now());
  if (close_pending_) {
    conn_.Close();  // OnClose unregisters us
    return;
  }
  entry_->output_bytes.store(conn_.out().size(), std::memory_order_relaxed);
  if (batch_bytes >= kDeferBatchBytes && conn_.out().size() < kDeferBelowBytes) {
    conn_.FlushAtIdle();
  } else if (t_local_writes.collecting) {
    t_local_writes.connections.push_back(conn_.shared_from_this());
  } else {
    conn_.Flush();
  }
}

void RespSession::CheckOutputLimits(std::chrono::steady_clock::time_point now) {
  if (close_pending_ || !subscribed()) return;
  const broker::Settings& s = broker_.settings();
  const uint64_t queued = conn_.out().size();
  const uint64_t hard = s.pubsub_hard_bytes.load(std::memory_order_relaxed);
  const uint64_t soft = s.pubsub_soft_bytes.load(std::memory_order_relaxed);
  if (hard > 0 && queued >= hard) {
    CloseSoon("hard");
    return;
  }
  if (soft > 0 && queued >= soft) {
    if (soft_since_ == std::chrono::steady_clock::time_point{}) {
      soft_since_ = now;
    } else if (now - soft_since_ >
               std::chrono::seconds(s.pubsub_soft_seconds.load(std::memory_order_relaxed))) {
      CloseSoon("soft");
    }
  } else {
    soft_since_ = {};
  }
}

void RespSession::CloseSoon(const char* which) {
  close_pending_ = true;
  broker_.stats().output_limit_disconnections.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn(
      "Client id={} addr={} name={} scheduled to be closed ASAP for overcoming of output buffer "
      "limits ({} limit, {} bytes queued).",
      conn_.id(), conn_.remote_address(), entry_->name(), which, conn_.out().size());
}

void RespSession::Cron(std::chrono::steady_clock::time_point now) {
  if (conn_.closed()) return;
  CheckOutputLimits(now);
  if (close_pending_) {
    conn_.Close();
    return;
  }
  // As Redis: pub/sub clients are never idle-timed-out.
  const int64_t timeout = broker_.settings().timeout_seconds.load(std::memory_order_relaxed);
  if (timeout > 0 && !subscribed() && now - conn_.last_activity() > std::chrono::seconds(timeout)) {
    broker_.stats().idle_timeouts.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("Closing idle client id={} addr={} (timeout {} s)", conn_.id(),
                 conn_.remote_address(), timeout);
    conn_.Close();
  }
}

void RespSession::UpdateEntryCounts() {
  entry_->subscriptions.store(static_cast<int32_t>(channels_.size()), std::memory_order_relaxed);
  entry_->patterns.store(static_cast<int32_t>(patterns_.size()), std::memory_order_relaxed);
  entry_->shard_subscriptions.store(static_cast<int32_t>(shard_channels_.size()),
                                    std::memory_order_relaxed);
}

bool RespSession::StillSubscribed(const broker::Delivery& d) const {
  switch (d.kind) {
    case broker::MatchKind::kChannel:
      return channels_.find(d.message->channel) != channels_.end();
    case broker::MatchKind::kPattern:
      return patterns_.find(*d.subscription) != patterns_.end();
    case broker::MatchKind::kShard:
      return shard_channels_.find(d.message->channel) != shard_channels_.end();
    default:
      return true;
  }
}

void RespSession::UnsubscribeAll() {
  if (subscribed()) unsubscribed_any_ = true;
  broker::Router& router = broker_.router();
  for (const std::string& c : channels_) router.Unsubscribe(self(), c);
  for (const std::string& p : patterns_) router.PUnsubscribe(self(), p);
  for (const std::string& c : shard_channels_) router.SUnsubscribe(self(), c);
  channels_.clear();
  patterns_.clear();
  shard_channels_.clear();
  soft_since_ = {};
  if (entry_) UpdateEntryCounts();
}

}  // namespace runnel::resp
