// RespSession's moves to another io thread: the policy (FollowDeliveries)
// and the hand-over (CanMove, Detach, Reattach). See resp_session.h,
// "Moving", and net::Connection::RequestMove for the mechanics.
#include "protocol/resp/resp_session.h"

#include <algorithm>
#include <bit>

namespace runnel::resp {

namespace {

// Wake-ups in a row that must deliver to the same other thread, and
// nowhere else, before a move is asked for: enough to tell a steady
// publisher from one that happened to feed one thread for a moment.
constexpr uint32_t kFollowAfterWakeups = 16;
// At most one move per connection in this time, so a publisher whose
// subscribers spread over threads cannot bounce between them.
constexpr std::chrono::seconds kMoveInterval{1};

}  // namespace

void RespSession::SetOwner() {
  const std::function<void()> close = [weak = conn_.weak_from_this()] {
    if (auto c = weak.lock()) c->Close();
  };
  const broker::Router::Post post = broker_.post();
  const uint32_t thread = thread_;
  const bool killed = entry_->SetOwner(
      [post, thread](std::function<void()> fn) { post(thread, std::move(fn)); }, close);
  // A CLIENT KILL that reached the old thread while this connection was on
  // its way here: close now.
  if (killed) post(thread, close);
}

void RespSession::FollowDeliveries(uint64_t destinations) {
  if (destinations == 0) return;  // published nothing that reached anyone
  const uint64_t own = uint64_t{1} << std::min(thread_, 63u);
  if ((destinations & (destinations - 1)) != 0 || destinations == own ||
      (destinations >> 63) != 0) {
    follow_streak_ = 0;  // several threads, or its own: it is where it should be
    return;
  }
  const auto target = static_cast<uint32_t>(std::countr_zero(destinations));
  if (target != follow_thread_) {
    follow_thread_ = target;
    follow_streak_ = 0;
  }
  if (++follow_streak_ < kFollowAfterWakeups) return;
  follow_streak_ = 0;
  if (!broker_.settings().follow_subscribers.load(std::memory_order_relaxed) || !CanMove()) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (moved_at_ != std::chrono::steady_clock::time_point{} && now - moved_at_ < kMoveInterval) {
    return;
  }
  // Not onto a thread that already serves far more clients than this one:
  // ten publishers feeding one subscriber should not all end up on its
  // thread while the others idle.
  const size_t there = broker_.local(target).size(), here = broker_.local(thread_).size();
  if (there >= 2 * here + 2) return;
  conn_.RequestMove(static_cast<int>(target));
}

bool RespSession::CanMove() const {
  // alive_ has one owner unless a completion, timer or watcher still holds
  // a way back to this thread.
  return registered_ && !detached_ && !subscribed() && replies_.idle() && inflight_appends_ == 0 &&
         !paused_ && !waiting_appends_ && deferred_.empty() && pending_adds_.empty() && !blocked_ &&
         action_ == Action::kContinue && !close_pending_ && alive_.use_count() == 1;
}

void RespSession::Detach() {
  broker_.local(thread_).Remove(conn_.id());
  *alive_ = nullptr;
  detached_ = true;
}

std::unique_ptr<net::Session> RespSession::Reattach(net::Connection& conn) {
  auto s = std::make_unique<RespSession>(conn, ctx_);
  s->entry_ = std::move(entry_);
  s->registered_ = true;
  registered_ = false;  // this one's OnClose, if any, must not unregister it
  s->protocol_ = protocol_;
  s->authenticated_ = authenticated_;
  s->reply_mode_ = reply_mode_;
  s->unsubscribed_any_ = unsubscribed_any_;
  s->block_generation_ = block_generation_;
  s->moved_at_ = std::chrono::steady_clock::now();
  broker_.local(s->thread_).Add(conn.id(), s.get());
  s->SetOwner();
  broker_.stats().connections_moved.fetch_add(1, std::memory_order_relaxed);
  return s;
}

}  // namespace runnel::resp
