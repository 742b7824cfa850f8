// One consumer group's in-memory state as the GroupCoordinator keeps it
// (reference/kafka.md §6; docs/protocols/kafka.md "Consumer groups"): the
// members with their protocols and assignments, the generation, the chosen
// protocol, the leader, and the deadlines the coordinator's clock checks.
//
// Plain data plus pure helpers: the coordinator owns every Group and touches
// it only under its mutex (group_coordinator.h); nothing here locks.
#pragma once

#include "protocol/kafka/api.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::kafka {

using GroupClock = std::chrono::steady_clock;

// Kafka's GroupState names (DescribeGroups answers these strings).
enum class GroupState : uint8_t {
  kEmpty,
  kPreparingRebalance,
  kCompletingRebalance,
  kStable,
  kDead
};
std::string_view GroupStateName(GroupState s);

// What a JoinGroup is answered with (immediately or when the join phase ends).
struct JoinResult {
  struct Member {
    std::string member_id;
    std::optional<std::string> instance_id;  // static members (KIP-345)
    std::string metadata;
  };
  ErrorCode error = ErrorCode::kNone;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<Member> members;  // the leader's only
};
using JoinCallback = std::function<void(JoinResult)>;

struct SyncResult {
  ErrorCode error = ErrorCode::kNone;
  std::string assignment;
};
using SyncCallback = std::function<void(SyncResult)>;

struct GroupMember {
  std::string id;
  std::optional<std::string> instance_id;  // group.instance.id: a static member (KIP-345)
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, std::string>> protocols;  // name, metadata, by preference
  std::string assignment;
  uint64_t joined_seq = 0;  // order of first join: the leader falls to the oldest member
  GroupClock::time_point session_deadline{};
  JoinCallback awaiting_join;  // parked JoinGroup, if any
  SyncCallback awaiting_sync;  // parked SyncGroup, if any
  bool synced = false;         // sent SyncGroup in this generation

  // The metadata this member sent for `protocol` ("" if it did not list it).
  const std::string* MetadataFor(std::string_view protocol) const;
  bool SameProtocols(const std::vector<std::pair<std::string, std::string>>& other) const {
    return protocols == other;
  }
};

struct Group {
  std::string id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;  // set by the first member; "" while Empty
  std::string protocol;       // chosen in the last completed join ("" none)
  std::string leader;
  std::map<std::string, GroupMember, std::less<>> members;
  // JoinGroup v4+ members given an id with MEMBER_ID_REQUIRED, not yet
  // rejoined: id -> the time they are forgotten.
  std::map<std::string, GroupClock::time_point, std::less<>> pending;
  // Static members (KIP-345): group.instance.id -> the member id it holds now.
  std::map<std::string, std::string, std::less<>> static_members;
  // PreparingRebalance: when the join phase ends at the latest (the longest
  // rebalance timeout of the members). While `initial_delay` holds (the
  // group left Empty), the phase ends at `delay_until` instead, which each
  // new member pushes back by the configured delay up to `rebalance_deadline`.
  GroupClock::time_point rebalance_deadline{};
  bool initial_delay = false;
  GroupClock::time_point delay_until{};
  // CompletingRebalance: members that have not sent SyncGroup by then are
  // removed (Kafka's pending-sync timeout, the rebalance timeout).
  GroupClock::time_point sync_deadline{};

  bool AllMembersJoined() const;
  // Whether `instance_id` is held by a member other than `member_id` (the
  // caller is an older incarnation: FENCED_INSTANCE_ID). False when no
  // instance id is given or nobody holds it.
  bool IsFenced(std::string_view member_id,
                const std::optional<std::string_view>& instance_id) const;
  int32_t MaxRebalanceTimeoutMs() const;
  // The protocols every member supports; each member votes for the first
  // of those in its own list, and the most votes win (ties: the order in
  // the oldest member's list). Empty when the members share none.
  std::string SelectProtocol() const;
  // Whether a member listing `protocols` (of `type`) may join: an empty
  // group takes any non-empty type with at least one protocol; otherwise
  // the type must match and one of the protocols must be supported by every
  // other member (`self`, a rejoining member, does not count).
  bool AcceptsProtocols(std::string_view type,
                        const std::vector<std::pair<std::string, std::string>>& protocols,
                        std::string_view self) const;
};

}  // namespace runnel::kafka
