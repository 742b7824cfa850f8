// GroupCoordinator: Kafka's classic consumer-group protocol for every group
// of the server (reference/kafka.md §6; docs/protocols/kafka.md "Consumer
// groups"). States Empty -> PreparingRebalance -> CompletingRebalance ->
// Stable (Dead is only ever reported, for a group that does not exist),
// generations, protocol selection by member votes, the leader, delayed
// JoinGroup/SyncGroup answers, session and rebalance timeouts, the initial
// rebalance delay, static members (KIP-345: an instance id that keeps its
// place across restarts, older incarnations fenced), group deletion, and the
// validation of offset commits. Committed offsets themselves live in
// OffsetStore.
//
// Threading: one object shared by every io thread, guarded by one mutex
// (`mu_`, a leaf lock: nothing else is taken while it is held). Each call
// holds it only for in-memory work on one group (no I/O, no allocation
// proportional to anything but that group). Answers — immediate or parked
// ones completed by another member's request or by the clock — are
// collected under the lock and their callbacks run after it is released,
// on the calling thread: an io thread, or the coordinator's timer thread.
// Callbacks must therefore be quick and thread-agnostic (the Kafka session
// posts the encoded answer to its own io thread) and must not call back
// into the coordinator.
//
// Time: every call takes `now`; Tick(now) applies whatever expired
// (session timeouts, the end of a join phase, pending members, the sync
// timeout). Start() runs a timer thread that calls Tick at the next
// deadline (woken early when a call may have set an earlier one), so io
// threads never wait on a timer. Unit tests call Tick with a clock of their
// own and never Start().
//
// Lifecycle: owned by the KafkaContext; the destructor stops the timer
// thread and drops parked callbacks without running them.
#pragma once

#include "protocol/kafka/group.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace runnel::kafka {

struct GroupSettings {
  int32_t min_session_timeout_ms = 6000;     // Kafka's group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;  // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 300;  // group.initial.rebalance.delay.ms (Kafka: 3000)
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;  // "" = new member
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, std::string>> protocols;
  // JoinGroup v4+: a new member is first given its id with MEMBER_ID_REQUIRED.
  bool require_known_member_id = false;
  // JoinGroup v5+ group.instance.id: a static member (KIP-345). It skips the
  // MEMBER_ID_REQUIRED round trip, and rejoining with an empty member id it
  // takes over the member id its instance holds.
  std::optional<std::string> group_instance_id;
};

using InstanceId = std::optional<std::string_view>;

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

struct GroupDescription {
  struct Member {
    std::string member_id, client_id, client_host, metadata, assignment;
  };
  std::string group_id;
  GroupState state = GroupState::kDead;  // Dead: no such group
  std::string protocol_type;
  std::string protocol;
  int32_t generation = 0;
  std::string leader;
  std::vector<Member> members;
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(GroupSettings settings);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Starts the timer thread (the server; tests drive Tick themselves).
  void Start();

  // `done` runs exactly once unless the coordinator is destroyed first:
  // before Join returns when the answer is due now, or later from another
  // call or from Tick.
  void Join(JoinRequest req, GroupClock::time_point now, JoinCallback done);
  // `instance` (SyncGroup v3, Heartbeat v3, OffsetCommit v7, LeaveGroup v3)
  // is the caller's group.instance.id: when another member id holds it the
  // caller was replaced and gets FENCED_INSTANCE_ID.
  //
  // `assignments` (member id -> bytes) is read only from the leader.
  void Sync(std::string_view group_id, int32_t generation, std::string_view member_id,
            InstanceId instance, std::vector<std::pair<std::string, std::string>> assignments,
            GroupClock::time_point now, SyncCallback done);
  ErrorCode Heartbeat(std::string_view group_id, int32_t generation, std::string_view member_id,
                      InstanceId instance, GroupClock::time_point now);
  // Removes the member (LeaveGroup). With an instance id and an empty member
  // id, whichever member holds that instance leaves (LeaveGroup v3, as the
  // admin client removes static members).
  ErrorCode Leave(std::string_view group_id, std::string_view member_id, InstanceId instance,
                  GroupClock::time_point now);
  // Whether an OffsetCommit by (generation, member) may be stored now
  // (reference/kafka.md §6.4). A commit with generation < 0 and no member to
  // a group that does not exist creates it, Empty.
  ErrorCode ValidateCommit(std::string_view group_id, int32_t generation,
                           std::string_view member_id, InstanceId instance,
                           GroupClock::time_point now);
  // A group known from committed offsets at start: exists, Empty, with the
  // protocol type it had ("" for standalone commits only).
  void AddEmptyGroup(std::string_view group_id, std::string_view protocol_type = "");
  // DeleteGroups (API 42): forgets an Empty group. GROUP_ID_NOT_FOUND when
  // there is none, NON_EMPTY_GROUP while it has members (or members told
  // MEMBER_ID_REQUIRED). The caller deletes the group's offsets.
  ErrorCode DeleteGroup(std::string_view group_id);
  // OffsetDelete (API 47): whether the offsets of a group may be deleted:
  // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP while it has members (the broker does
  // not know their subscriptions, so it cannot tell which topics are unused).
  ErrorCode CanDeleteOffsets(std::string_view group_id);
  // Whether the group has no members (true when it does not exist): its
  // offsets may then expire (offset_retention.h).
  bool IsEmpty(std::string_view group_id);

  // Told (group id, protocol type, empty) when a group with a protocol type
  // leaves Empty (its first member joins: empty = false) or becomes Empty
  // again (its last member is gone). Runs after the lock is released, on the
  // thread of the call or Tick that made the change. Set before Start().
  using MembershipListener =
      std::function<void(const std::string& group, const std::string& protocol_type, bool empty)>;
  void SetMembershipListener(MembershipListener listener) { listener_ = std::move(listener); }

  std::vector<GroupListing> List();
  GroupDescription Describe(std::string_view group_id);

  // Applies every deadline that passed by `now`; returns the next one
  // (time_point::max() when none).
  GroupClock::time_point Tick(GroupClock::time_point now);

  const GroupSettings& settings() const { return settings_; }

 private:
  using Fire = std::vector<std::function<void()>>;

  std::string NewMemberIdLocked(std::string_view client_id);
  void AddMemberLocked(Group& g, const JoinRequest& req, std::string id, GroupClock::time_point now,
                       JoinCallback done, Fire* fire);
  void PrepareRebalanceLocked(Group& g, GroupClock::time_point now, Fire* fire);
  void MaybeCompleteJoinLocked(Group& g, GroupClock::time_point now, Fire* fire);
  void CompleteJoinLocked(Group& g, GroupClock::time_point now, Fire* fire);
  void RemoveMemberLocked(Group& g, std::string_view member_id, GroupClock::time_point now,
                          Fire* fire);
  // The member `m` (holding instance `instance`) rejoins under a new member
  // id; answers or parks `done` as Kafka does (group_coordinator.cc).
  void ReplaceStaticMemberLocked(Group& g, std::string old_id, const JoinRequest& req,
                                 GroupClock::time_point now, JoinCallback done, Fire* fire);
  void ForgetMemberLocked(Group& g, std::string_view member_id);
  void NotifyMembershipLocked(const Group& g, bool empty, Fire* fire);
  JoinResult JoinResultLocked(const Group& g, const GroupMember& m) const;
  GroupClock::time_point TickGroupLocked(Group& g, GroupClock::time_point now, Fire* fire);
  void Wake();
  void TimerLoop();

  const GroupSettings settings_;
  MembershipListener listener_;
  std::mutex mu_;
  std::map<std::string, Group, std::less<>> groups_;
  uint64_t next_seq_ = 0;
  std::mt19937_64 rng_;
  // Timer thread.
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread timer_;
};

}  // namespace runnel::kafka
