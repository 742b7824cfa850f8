// The group state machine. Kafka's GroupCoordinator was read to learn the
// behaviour (reference/kafka.md §6 sums it up); the code is runnel's own.
#include "protocol/kafka/group_coordinator.h"

#include <algorithm>
#include <cstdio>

namespace runnel::kafka {
namespace {

std::chrono::milliseconds Ms(int64_t ms) { return std::chrono::milliseconds(ms); }

JoinResult JoinError(ErrorCode e, std::string member_id) {
  JoinResult r;
  r.error = e;
  r.member_id = std::move(member_id);
  return r;
}

}  // namespace

GroupCoordinator::GroupCoordinator(GroupSettings settings)
    : settings_(settings), rng_(std::random_device{}()) {}

GroupCoordinator::~GroupCoordinator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void GroupCoordinator::Start() {
  timer_ = std::thread([this] { TimerLoop(); });
}

void GroupCoordinator::TimerLoop() {
  for (;;) {
    const auto now = GroupClock::now();
    const auto next = Tick(now);
    std::unique_lock lock(mu_);
    if (stop_) return;
    // Wake at the next deadline, at least once a second, or when a call
    // may have set an earlier deadline.
    const auto until = std::min(next, now + std::chrono::seconds(1));
    cv_.wait_until(lock, until, [this] { return stop_ || woken_; });
    woken_ = false;
    if (stop_) return;
  }
}

std::string GroupCoordinator::NewMemberIdLocked(std::string_view client_id) {
  // client id + "-" + a random UUID, as Kafka names members.
  const uint64_t a = rng_(), b = rng_();
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(0x4000 | (a & 0x0fff)),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return std::string(client_id) + "-" + uuid;
}

void GroupCoordinator::Join(JoinRequest req, GroupClock::time_point now, JoinCallback done) {
  Fire fire;
  auto answer = [&](JoinResult r) {
    fire.push_back([done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    if (req.group_id.empty()) {
      answer(JoinError(ErrorCode::kInvalidGroupId, req.member_id));
    } else if (req.session_timeout_ms < settings_.min_session_timeout_ms ||
               req.session_timeout_ms > settings_.max_session_timeout_ms) {
      answer(JoinError(ErrorCode::kInvalidSessionTimeout, req.member_id));
    } else {
      auto it = groups_.find(req.group_id);
      bool created = false;
      if (it == groups_.end() && req.member_id.empty()) {
        it = groups_.emplace(req.group_id, Group{}).first;
        it->second.id = req.group_id;
        created = true;
      }
      // A static member rejoining with an empty member id stands for the
      // member id its instance holds (KIP-345).
      std::string static_holder;
      if (it != groups_.end() && req.member_id.empty() && req.group_instance_id) {
        auto s = it->second.static_members.find(*req.group_instance_id);
        if (s != it->second.static_members.end()) static_holder = s->second;
      }
      const InstanceId instance =
          req.group_instance_id ? InstanceId(*req.group_instance_id) : std::nullopt;
      if (it == groups_.end()) {
        answer(JoinError(ErrorCode::kUnknownMemberId, req.member_id));
      } else if (Group& g = it->second;
                 !g.AcceptsProtocols(req.protocol_type, req.protocols,
                                     static_holder.empty() ? req.member_id : static_holder)) {
        answer(JoinError(ErrorCode::kInconsistentGroupProtocol, req.member_id));
        if (created) groups_.erase(it);
      } else if (!static_holder.empty()) {
        ReplaceStaticMemberLocked(g, std::move(static_holder), req, now, done, &fire);
      } else if (req.member_id.empty()) {
        std::string id = NewMemberIdLocked(req.client_id);
        // A static member's id is bound to its instance id: no round trip.
        if (req.require_known_member_id && !req.group_instance_id) {
          // KIP-394: the member learns its id and must rejoin with it.
          g.pending[id] = now + Ms(req.session_timeout_ms);
          answer(JoinError(ErrorCode::kMemberIdRequired, std::move(id)));
        } else {
          AddMemberLocked(g, req, std::move(id), now, done, &fire);
        }
      } else if (g.IsFenced(req.member_id, instance)) {
        // An older incarnation of a static member that was replaced.
        answer(JoinError(ErrorCode::kFencedInstanceId, req.member_id));
      } else if (auto p = g.pending.find(req.member_id); p != g.pending.end()) {
        g.pending.erase(p);
        AddMemberLocked(g, req, req.member_id, now, done, &fire);
      } else if (auto m = g.members.find(req.member_id);
                 m == g.members.end() || (instance && !g.static_members.contains(*instance))) {
        // Unknown member id, or a static member whose instance is gone
        // (expired): it resets its member id and joins anew.
        answer(JoinError(ErrorCode::kUnknownMemberId, req.member_id));
      } else {
        GroupMember& member = m->second;
        const bool changed = !member.SameProtocols(req.protocols);
        auto update = [&] {
          member.protocols = req.protocols;
          member.client_id = req.client_id;
          member.client_host = req.client_host;
          member.session_timeout_ms = req.session_timeout_ms;
          member.rebalance_timeout_ms = req.rebalance_timeout_ms;
          if (member.awaiting_join) {  // a second join while one is parked replaces it
            auto old = std::move(member.awaiting_join);
            JoinResult r = JoinError(ErrorCode::kRebalanceInProgress, member.id);
            fire.push_back([old, r]() { old(r); });
          }
          member.awaiting_join = done;
        };
        member.session_deadline = now + Ms(req.session_timeout_ms);
        switch (g.state) {
          case GroupState::kPreparingRebalance:
            update();
            MaybeCompleteJoinLocked(g, now, &fire);
            break;
          case GroupState::kCompletingRebalance:
          case GroupState::kStable:
            // An unchanged follower learns the current generation again;
            // the leader or a member with new protocols starts a rebalance.
            if (!changed &&
                (g.state == GroupState::kCompletingRebalance || g.leader != member.id)) {
              answer(JoinResultLocked(g, member));
            } else {
              update();
              PrepareRebalanceLocked(g, now, &fire);
            }
            break;
          case GroupState::kEmpty:
          case GroupState::kDead:
            answer(JoinError(ErrorCode::kUnknownMemberId, req.member_id));
            break;
        }
      }
    }
  }
  cv_.notify_one();
  for (auto& f : fire) f();
}

void GroupCoordinator::AddMemberLocked(Group& g, const JoinRequest& req, std::string id,
                                       GroupClock::time_point now, JoinCallback done, Fire* fire) {
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  GroupMember& m = g.members[id];
  m.id = std::move(id);
  m.instance_id = req.group_instance_id;
  if (m.instance_id) g.static_members[*m.instance_id] = m.id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocol_type = req.protocol_type;
  m.protocols = req.protocols;
  m.joined_seq = ++next_seq_;
  m.session_deadline = now + Ms(req.session_timeout_ms);
  m.awaiting_join = std::move(done);
  switch (g.state) {
    case GroupState::kPreparingRebalance:
      if (g.initial_delay) {
        // Each newcomer while the group forms pushes the end of the delay
        // back, within the rebalance timeout.
        g.delay_until =
            std::min(now + Ms(settings_.initial_rebalance_delay_ms), g.rebalance_deadline);
      }
      MaybeCompleteJoinLocked(g, now, fire);
      break;
    default:
      PrepareRebalanceLocked(g, now, fire);
      break;
  }
}

void GroupCoordinator::ReplaceStaticMemberLocked(Group& g, std::string old_id,
                                                 const JoinRequest& req, GroupClock::time_point now,
                                                 JoinCallback done, Fire* fire) {
  auto node = g.members.extract(old_id);
  GroupMember& m = node.mapped();
  // The old incarnation's parked requests are answered: it is fenced.
  if (m.awaiting_join) {
    fire->push_back([cb = std::move(m.awaiting_join), old_id] {
      cb(JoinError(ErrorCode::kFencedInstanceId, old_id));
    });
    m.awaiting_join = nullptr;
  }
  if (m.awaiting_sync) {
    fire->push_back([cb = std::move(m.awaiting_sync)] { cb({ErrorCode::kFencedInstanceId, {}}); });
    m.awaiting_sync = nullptr;
  }
  const std::string old_leader = g.leader;
  std::string new_id = NewMemberIdLocked(req.client_id);
  if (g.leader == old_id) g.leader = new_id;
  node.key() = new_id;
  m.id = new_id;
  GroupMember& member = g.members.insert(std::move(node)).position->second;
  g.static_members[*req.group_instance_id] = new_id;
  member.protocols = req.protocols;
  member.client_id = req.client_id;
  member.client_host = req.client_host;
  member.session_timeout_ms = req.session_timeout_ms;
  member.rebalance_timeout_ms = req.rebalance_timeout_ms;
  member.session_deadline = now + Ms(req.session_timeout_ms);
  switch (g.state) {
    case GroupState::kStable:
      if (g.SelectProtocol() == g.protocol) {
        // No rebalance: the member keeps its assignment and learns the
        // current generation. The leader named is the one before the
        // replacement, so a rejoining leader does not take itself for the
        // leader and recompute an assignment that a Stable group would not
        // hand out; it reads its own with SyncGroup (Kafka does the same).
        JoinResult r;
        r.generation_id = g.generation;
        r.protocol_name = g.protocol;
        r.leader = old_leader;
        r.member_id = new_id;
        fire->push_back([done = std::move(done), r = std::move(r)] { done(r); });
        return;
      }
      member.awaiting_join = std::move(done);
      PrepareRebalanceLocked(g, now, fire);
      return;
    case GroupState::kCompletingRebalance:
      // The leader may be computing an assignment for the old member id:
      // a new round lets it see the new one.
      member.awaiting_join = std::move(done);
      PrepareRebalanceLocked(g, now, fire);
      return;
    case GroupState::kPreparingRebalance:
    case GroupState::kEmpty:
    case GroupState::kDead:
      member.awaiting_join = std::move(done);
      if (g.state == GroupState::kPreparingRebalance) {
        MaybeCompleteJoinLocked(g, now, fire);
      } else {
        PrepareRebalanceLocked(g, now, fire);
      }
      return;
  }
}

void GroupCoordinator::ForgetMemberLocked(Group& g, std::string_view member_id) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  if (it->second.instance_id) {
    auto s = g.static_members.find(*it->second.instance_id);
    if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
  }
  g.members.erase(it);
}

void GroupCoordinator::NotifyMembershipLocked(const Group& g, bool empty, Fire* fire) {
  if (!listener_ || g.protocol_type.empty()) return;
  fire->push_back([this, id = g.id, type = g.protocol_type, empty] { listener_(id, type, empty); });
}

void GroupCoordinator::PrepareRebalanceLocked(Group& g, GroupClock::time_point now, Fire* fire) {
  if (g.state == GroupState::kEmpty) NotifyMembershipLocked(g, false, fire);
  if (g.state == GroupState::kCompletingRebalance) {
    // The assignment being distributed is void: waiting followers rejoin.
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      if (m.awaiting_sync) {
        auto cb = std::move(m.awaiting_sync);
        m.awaiting_sync = nullptr;
        m.session_deadline = now + Ms(m.session_timeout_ms);  // its session runs again
        fire->push_back([cb] { cb({ErrorCode::kRebalanceInProgress, {}}); });
      }
    }
  }
  g.rebalance_deadline = now + Ms(g.MaxRebalanceTimeoutMs());
  g.initial_delay = g.state == GroupState::kEmpty && settings_.initial_rebalance_delay_ms > 0;
  if (g.initial_delay) {
    g.delay_until = std::min(now + Ms(settings_.initial_rebalance_delay_ms), g.rebalance_deadline);
  }
  g.state = GroupState::kPreparingRebalance;
  MaybeCompleteJoinLocked(g, now, fire);
}

void GroupCoordinator::MaybeCompleteJoinLocked(Group& g, GroupClock::time_point now, Fire* fire) {
  if (g.state != GroupState::kPreparingRebalance) return;
  const bool due =
      g.initial_delay ? now >= g.delay_until : g.AllMembersJoined() || now >= g.rebalance_deadline;
  if (due) CompleteJoinLocked(g, now, fire);
}

void GroupCoordinator::CompleteJoinLocked(Group& g, GroupClock::time_point now, Fire* fire) {
  // Members that did not rejoin in time are out of the new generation.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join) gone.push_back(id);
  }
  for (const std::string& id : gone) ForgetMemberLocked(g, id);
  g.initial_delay = false;
  g.generation++;
  if (g.members.empty()) {
    g.state = GroupState::kEmpty;
    g.protocol.clear();
    g.leader.clear();
    NotifyMembershipLocked(g, true, fire);
    return;
  }
  g.protocol = g.SelectProtocol();
  if (!g.members.contains(g.leader)) {
    const GroupMember* oldest = nullptr;
    for (const auto& [id, m] : g.members) {
      if (!oldest || m.joined_seq < oldest->joined_seq) oldest = &m;
    }
    g.leader = oldest->id;
  }
  g.state = GroupState::kCompletingRebalance;
  g.sync_deadline = now + Ms(g.MaxRebalanceTimeoutMs());
  for (auto& [id, m] : g.members) {
    m.synced = false;
    m.assignment.clear();
    m.session_deadline = now + Ms(m.session_timeout_ms);
    auto cb = std::move(m.awaiting_join);
    m.awaiting_join = nullptr;
    fire->push_back([cb, r = JoinResultLocked(g, m)]() { cb(r); });
  }
}

JoinResult GroupCoordinator::JoinResultLocked(const Group& g, const GroupMember& m) const {
  JoinResult r;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    for (const auto& [id, other] : g.members) {
      const std::string* md = other.MetadataFor(g.protocol);
      r.members.push_back({id, other.instance_id, md ? *md : std::string()});
    }
  }
  return r;
}

void GroupCoordinator::RemoveMemberLocked(Group& g, std::string_view member_id,
                                          GroupClock::time_point now, Fire* fire) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  GroupMember& m = it->second;
  if (m.awaiting_join) {
    fire->push_back([cb = std::move(m.awaiting_join), id = m.id] {
      cb(JoinError(ErrorCode::kUnknownMemberId, id));
    });
  }
  if (m.awaiting_sync) {
    fire->push_back([cb = std::move(m.awaiting_sync)] { cb({ErrorCode::kUnknownMemberId, {}}); });
  }
  ForgetMemberLocked(g, member_id);
  switch (g.state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      PrepareRebalanceLocked(g, now, fire);
      break;
    case GroupState::kPreparingRebalance:
      MaybeCompleteJoinLocked(g, now, fire);
      break;
    default:
      break;
  }
}

void GroupCoordinator::Sync(std::string_view group_id, int32_t generation,
                            std::string_view member_id, InstanceId instance,
                            std::vector<std::pair<std::string, std::string>> assignments,
                            GroupClock::time_point now, SyncCallback done) {
  Fire fire;
  auto answer = [&](ErrorCode e, std::string assignment = {}) {
    fire.push_back([done, e, a = std::move(assignment)] { done({e, a}); });
  };
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    auto it = groups_.find(group_id);
    GroupMember* m = nullptr;
    if (it != groups_.end()) {
      auto mit = it->second.members.find(member_id);
      if (mit != it->second.members.end()) m = &mit->second;
    }
    if (it != groups_.end() && it->second.IsFenced(member_id, instance)) {
      answer(ErrorCode::kFencedInstanceId);
    } else if (!m) {
      answer(ErrorCode::kUnknownMemberId);
    } else if (Group& g = it->second; generation != g.generation) {
      answer(ErrorCode::kIllegalGeneration);
    } else if (g.state == GroupState::kPreparingRebalance) {
      answer(ErrorCode::kRebalanceInProgress);
    } else if (g.state == GroupState::kStable) {
      m->session_deadline = now + Ms(m->session_timeout_ms);
      answer(ErrorCode::kNone, m->assignment);
    } else if (g.state == GroupState::kCompletingRebalance) {
      m->session_deadline = now + Ms(m->session_timeout_ms);
      m->synced = true;
      if (m->awaiting_sync) {
        fire.push_back([cb = std::move(m->awaiting_sync)] {
          cb({ErrorCode::kRebalanceInProgress, {}});
        });
      }
      m->awaiting_sync = done;
      if (m->id == g.leader) {
        std::map<std::string, std::string, std::less<>> by_member(
            std::make_move_iterator(assignments.begin()),
            std::make_move_iterator(assignments.end()));
        for (auto& [id, member] : g.members) {
          auto a = by_member.find(id);
          member.assignment = a != by_member.end() ? a->second : std::string();
        }
        g.state = GroupState::kStable;
        for (auto& [id, member] : g.members) {
          if (!member.awaiting_sync) continue;
          member.session_deadline = now + Ms(member.session_timeout_ms);
          fire.push_back([cb = std::move(member.awaiting_sync), a = member.assignment] {
            cb({ErrorCode::kNone, a});
          });
          member.awaiting_sync = nullptr;
        }
      }
    } else {
      answer(ErrorCode::kUnknownMemberId);
    }
  }
  cv_.notify_one();
  for (auto& f : fire) f();
}

ErrorCode GroupCoordinator::Heartbeat(std::string_view group_id, int32_t generation,
                                      std::string_view member_id, InstanceId instance,
                                      GroupClock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return ErrorCode::kUnknownMemberId;
  Group& g = it->second;
  if (g.IsFenced(member_id, instance)) return ErrorCode::kFencedInstanceId;
  auto m = g.members.find(member_id);
  if (m == g.members.end()) return ErrorCode::kUnknownMemberId;
  if (generation != g.generation) return ErrorCode::kIllegalGeneration;
  m->second.session_deadline = now + Ms(m->second.session_timeout_ms);
  if (g.state == GroupState::kPreparingRebalance) return ErrorCode::kRebalanceInProgress;
  return ErrorCode::kNone;
}

ErrorCode GroupCoordinator::Leave(std::string_view group_id, std::string_view member_id,
                                  InstanceId instance, GroupClock::time_point now) {
  Fire fire;
  ErrorCode e = ErrorCode::kNone;
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
      e = ErrorCode::kUnknownMemberId;
    } else if (auto p = it->second.pending.find(member_id); p != it->second.pending.end()) {
      it->second.pending.erase(p);
      MaybeCompleteJoinLocked(it->second, now, &fire);
    } else if (!member_id.empty() && it->second.IsFenced(member_id, instance)) {
      e = ErrorCode::kFencedInstanceId;
    } else if (it->second.members.contains(member_id)) {
      RemoveMemberLocked(it->second, member_id, now, &fire);
    } else if (auto s = instance && member_id.empty() ? it->second.static_members.find(*instance)
                                                      : it->second.static_members.end();
               s != it->second.static_members.end()) {
      const std::string holder = s->second;  // RemoveMemberLocked erases `s`
      RemoveMemberLocked(it->second, holder, now, &fire);
    } else {
      e = ErrorCode::kUnknownMemberId;
    }
  }
  cv_.notify_one();
  for (auto& f : fire) f();
  return e;
}

ErrorCode GroupCoordinator::ValidateCommit(std::string_view group_id, int32_t generation,
                                           std::string_view member_id, InstanceId instance,
                                           GroupClock::time_point now) {
  std::lock_guard lock(mu_);
  if (group_id.empty()) return ErrorCode::kInvalidGroupId;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    if (generation >= 0) return ErrorCode::kIllegalGeneration;
    // A standalone consumer's commit (no group management) creates the group.
    Group& g = groups_[std::string(group_id)];
    g.id = std::string(group_id);
    return ErrorCode::kNone;
  }
  Group& g = it->second;
  if (generation < 0 && member_id.empty()) {
    return g.members.empty() ? ErrorCode::kNone : ErrorCode::kUnknownMemberId;
  }
  if (g.IsFenced(member_id, instance)) return ErrorCode::kFencedInstanceId;
  auto m = g.members.find(member_id);
  if (m == g.members.end()) return ErrorCode::kUnknownMemberId;
  if (generation != g.generation) return ErrorCode::kIllegalGeneration;
  if (g.state == GroupState::kCompletingRebalance) return ErrorCode::kRebalanceInProgress;
  m->second.session_deadline = now + Ms(m->second.session_timeout_ms);
  return ErrorCode::kNone;
}

void GroupCoordinator::AddEmptyGroup(std::string_view group_id, std::string_view protocol_type) {
  std::lock_guard lock(mu_);
  if (groups_.contains(group_id)) return;
  Group& g = groups_[std::string(group_id)];
  g.id = std::string(group_id);
  g.protocol_type = std::string(protocol_type);
}

ErrorCode GroupCoordinator::DeleteGroup(std::string_view group_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return ErrorCode::kGroupIdNotFound;
  if (it->second.state != GroupState::kEmpty) return ErrorCode::kNonEmptyGroup;
  groups_.erase(it);
  return ErrorCode::kNone;
}

ErrorCode GroupCoordinator::CanDeleteOffsets(std::string_view group_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return ErrorCode::kGroupIdNotFound;
  return it->second.state == GroupState::kEmpty ? ErrorCode::kNone : ErrorCode::kNonEmptyGroup;
}

bool GroupCoordinator::IsEmpty(std::string_view group_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  return it == groups_.end() || it->second.state == GroupState::kEmpty;
}

std::vector<GroupListing> GroupCoordinator::List() {
  std::lock_guard lock(mu_);
  std::vector<GroupListing> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) out.push_back({id, g.protocol_type, g.state});
  return out;
}

GroupDescription GroupCoordinator::Describe(std::string_view group_id) {
  std::lock_guard lock(mu_);
  GroupDescription d;
  d.group_id = std::string(group_id);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return d;  // Dead
  const Group& g = it->second;
  d.state = g.state;
  d.protocol_type = g.protocol_type;
  // Kafka names the protocol and hands out metadata and assignments only
  // once a generation has been formed.
  const bool formed = g.state == GroupState::kStable || g.state == GroupState::kCompletingRebalance;
  if (formed) d.protocol = g.protocol;
  d.generation = g.generation;
  d.leader = g.leader;
  for (const auto& [id, m] : g.members) {
    GroupDescription::Member& dm = d.members.emplace_back();
    dm.member_id = id;
    dm.client_id = m.client_id;
    dm.client_host = m.client_host;
    if (formed) {
      const std::string* md = m.MetadataFor(g.protocol);
      if (md) dm.metadata = *md;
      dm.assignment = m.assignment;
    }
  }
  return d;
}

GroupClock::time_point GroupCoordinator::Tick(GroupClock::time_point now) {
  Fire fire;
  GroupClock::time_point next = GroupClock::time_point::max();
  {
    std::lock_guard lock(mu_);
    for (auto& [id, g] : groups_) next = std::min(next, TickGroupLocked(g, now, &fire));
  }
  for (auto& f : fire) f();
  return next;
}

GroupClock::time_point GroupCoordinator::TickGroupLocked(Group& g, GroupClock::time_point now,
                                                         Fire* fire) {
  bool pending_gone = false;
  for (auto it = g.pending.begin(); it != g.pending.end();) {
    if (it->second <= now) {
      it = g.pending.erase(it);
      pending_gone = true;
    } else {
      ++it;
    }
  }
  if (pending_gone) MaybeCompleteJoinLocked(g, now, fire);
  // A member parked in JoinGroup or SyncGroup is waiting on the group, not
  // silent: its session runs again once it is answered.
  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.awaiting_sync && m.session_deadline <= now) expired.push_back(id);
  }
  for (const std::string& id : expired) RemoveMemberLocked(g, id, now, fire);
  MaybeCompleteJoinLocked(g, now, fire);
  if (g.state == GroupState::kCompletingRebalance && now >= g.sync_deadline) {
    std::vector<std::string> silent;
    for (const auto& [id, m] : g.members) {
      if (!m.synced) silent.push_back(id);
    }
    for (const std::string& id : silent) RemoveMemberLocked(g, id, now, fire);
  }

  GroupClock::time_point next = GroupClock::time_point::max();
  for (const auto& [id, deadline] : g.pending) next = std::min(next, deadline);
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.awaiting_sync) next = std::min(next, m.session_deadline);
  }
  if (g.state == GroupState::kPreparingRebalance) {
    next = std::min(next, g.initial_delay ? g.delay_until : g.rebalance_deadline);
  } else if (g.state == GroupState::kCompletingRebalance) {
    next = std::min(next, g.sync_deadline);
  }
  return next;
}

}  // namespace runnel::kafka
