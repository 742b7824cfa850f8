// The group state machine against a clock the test advances (Tick is called
// by hand; the timer thread is never started).
#include "protocol/kafka/group_coordinator.h"

#include <gtest/gtest.h>

#include <future>
#include <optional>

namespace runnel::kafka {
namespace {

using std::chrono::milliseconds;
using Protocols = std::vector<std::pair<std::string, std::string>>;

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() : c_(Settings()) {}
  static GroupSettings Settings() {
    GroupSettings s;
    s.initial_rebalance_delay_ms = 100;
    return s;
  }
  void Advance(int ms) {
    now_ += milliseconds(ms);
    c_.Tick(now_);
  }
  // A parked or immediate join; the slot is filled when answered.
  std::shared_ptr<std::optional<JoinResult>> Join(std::string member, int v = 5,
                                                  Protocols protocols = {{"range", "m"}},
                                                  int session_ms = 10000,
                                                  std::string type = "consumer") {
    auto slot = std::make_shared<std::optional<JoinResult>>();
    JoinRequest r;
    r.group_id = "g";
    r.member_id = std::move(member);
    r.client_id = "c";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = 30000;
    r.protocol_type = std::move(type);
    r.protocols = std::move(protocols);
    r.require_known_member_id = v >= 4;
    c_.Join(std::move(r), now_, [slot](JoinResult res) { *slot = std::move(res); });
    return slot;
  }
  // A JoinGroup v5 with group.instance.id (KIP-345).
  std::shared_ptr<std::optional<JoinResult>> JoinStatic(std::string member, std::string instance,
                                                        Protocols protocols = {{"range", ""}}) {
    auto slot = std::make_shared<std::optional<JoinResult>>();
    JoinRequest r;
    r.group_id = "g";
    r.member_id = std::move(member);
    r.client_id = "c";
    r.session_timeout_ms = 6000;
    r.rebalance_timeout_ms = 30000;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    r.require_known_member_id = true;
    r.group_instance_id = std::move(instance);
    c_.Join(std::move(r), now_, [slot](JoinResult res) { *slot = std::move(res); });
    return slot;
  }
  std::shared_ptr<std::optional<SyncResult>> Sync(const std::string& member, int32_t gen,
                                                  Protocols assignments = {}) {
    auto slot = std::make_shared<std::optional<SyncResult>>();
    c_.Sync("g", gen, member, std::nullopt, std::move(assignments), now_,
            [slot](SyncResult r) { *slot = std::move(r); });
    return slot;
  }
  // A new member through the v4+ MEMBER_ID_REQUIRED round trip.
  std::string NewMemberId() {
    auto first = Join("");
    EXPECT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, ErrorCode::kMemberIdRequired);
    return (*first)->member_id;
  }
  GroupState State() { return c_.Describe("g").state; }

  GroupClock::time_point now_{std::chrono::seconds(1000)};
  GroupCoordinator c_;
};

TEST_F(GroupCoordinatorTest, ThreeMembersJoiningTogetherFormOneGeneration) {
  std::string a = NewMemberId(), b = NewMemberId(), cc = NewMemberId();
  EXPECT_TRUE(a.starts_with("c-"));
  EXPECT_NE(a, b);
  auto ja = Join(a);
  Advance(50);
  auto jb = Join(b);
  Advance(50);
  auto jc = Join(cc);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  Advance(90);  // each joiner pushed the initial delay back by 100 ms
  EXPECT_FALSE(ja->has_value());
  Advance(20);
  ASSERT_TRUE(ja->has_value() && jb->has_value() && jc->has_value());
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
  EXPECT_EQ((*ja)->generation_id, 1);
  EXPECT_EQ((*jb)->generation_id, 1);
  EXPECT_EQ((*ja)->leader, a);  // the first member to join leads
  EXPECT_EQ((*ja)->protocol_name, "range");
  EXPECT_EQ((*ja)->members.size(), 3u);
  EXPECT_TRUE((*jb)->members.empty());

  auto sb = Sync(b, 1);
  auto sc = Sync(cc, 1);
  EXPECT_FALSE(sb->has_value());  // followers wait for the leader
  auto sa = Sync(a, 1, {{a, "A"}, {b, "B"}});
  ASSERT_TRUE(sa->has_value() && sb->has_value() && sc->has_value());
  EXPECT_EQ((*sa)->assignment, "A");
  EXPECT_EQ((*sb)->assignment, "B");
  EXPECT_EQ((*sc)->assignment, "");  // missing from the leader's map
  EXPECT_EQ(State(), GroupState::kStable);
  EXPECT_EQ(c_.Heartbeat("g", 1, b, std::nullopt, now_), ErrorCode::kNone);
  auto d = c_.Describe("g");
  EXPECT_EQ(d.members.size(), 3u);
  EXPECT_EQ(d.protocol, "range");
}

TEST_F(GroupCoordinatorTest, JoinV3AddsAtOnceAndEmptyIdV4NeedsTheRoundTrip) {
  auto j = Join("", 3);
  EXPECT_FALSE(j->has_value());
  Advance(100);
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, ErrorCode::kNone);
  EXPECT_EQ((*j)->generation_id, 1);
  EXPECT_EQ((*j)->leader, (*j)->member_id);
}

TEST_F(GroupCoordinatorTest, ValidationErrors) {
  EXPECT_EQ((*Join("", 5, {{"range", ""}}, 1000))->error, ErrorCode::kInvalidSessionTimeout);
  EXPECT_EQ((*Join("nobody"))->error, ErrorCode::kUnknownMemberId);
  EXPECT_EQ((*Join("", 5, {}))->error, ErrorCode::kInconsistentGroupProtocol);
  std::string a = NewMemberId();
  auto ja = Join(a);
  Advance(100);
  ASSERT_TRUE(ja->has_value());
  // Another member with no protocol in common, or another protocol type.
  std::string b = NewMemberId();
  EXPECT_EQ((*Join(b, 5, {{"roundrobin", ""}}))->error, ErrorCode::kInconsistentGroupProtocol);
  EXPECT_EQ((*Join("", 3, {{"range", ""}}, 10000, "connect"))->error,
            ErrorCode::kInconsistentGroupProtocol);
  // Heartbeat and SyncGroup errors.
  EXPECT_EQ(c_.Heartbeat("g", 1, "stranger", std::nullopt, now_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(c_.Heartbeat("nogroup", 1, a, std::nullopt, now_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(c_.Heartbeat("g", 7, a, std::nullopt, now_), ErrorCode::kIllegalGeneration);
  EXPECT_EQ((*Sync("stranger", 1))->error, ErrorCode::kUnknownMemberId);
  EXPECT_EQ((*Sync(a, 2))->error, ErrorCode::kIllegalGeneration);
  EXPECT_EQ(c_.Leave("g", "stranger", std::nullopt, now_), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupCoordinatorTest, ProtocolChosenByVotesAmongThoseAllSupport) {
  std::string a = NewMemberId(), b = NewMemberId(), cc = NewMemberId();
  auto ja = Join(a, 5, {{"range", ""}, {"roundrobin", ""}, {"sticky", ""}});
  auto jb = Join(b, 5, {{"roundrobin", ""}, {"range", ""}});
  auto jc = Join(cc, 5, {{"sticky", ""}, {"roundrobin", ""}, {"range", ""}});
  Advance(200);
  ASSERT_TRUE(ja->has_value());
  // sticky is not supported by b; among range/roundrobin: a votes range,
  // b roundrobin, c roundrobin (its first supported candidate).
  EXPECT_EQ((*ja)->protocol_name, "roundrobin");
}

class StableGroupTest : public GroupCoordinatorTest {
 protected:
  void SetUp() override {
    a_ = NewMemberId();
    b_ = NewMemberId();
    auto ja = Join(a_, 5, {{"range", ""}}, 6000);
    auto jb = Join(b_, 5, {{"range", ""}}, 6000);
    Advance(150);
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    auto sb = Sync(b_, 1);
    auto sa = Sync(a_, 1, {{a_, "A"}, {b_, "B"}});
    ASSERT_TRUE(sb->has_value());
    ASSERT_EQ(State(), GroupState::kStable);
  }
  std::string a_, b_;
};

TEST_F(StableGroupTest, NewMemberRebalancesAndHeartbeatsSayRebalanceInProgress) {
  std::string n = NewMemberId();
  auto jn = Join(n);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  EXPECT_EQ(c_.Heartbeat("g", 1, a_, std::nullopt, now_), ErrorCode::kRebalanceInProgress);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  EXPECT_FALSE(jn->has_value());  // b has not rejoined yet
  auto jb = Join(b_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(jn->has_value() && ja->has_value() && jb->has_value());
  EXPECT_EQ((*jn)->generation_id, 2);
  EXPECT_EQ((*ja)->leader, a_);
  EXPECT_EQ((*ja)->members.size(), 3u);
  EXPECT_EQ(c_.Heartbeat("g", 1, a_, std::nullopt, now_), ErrorCode::kIllegalGeneration);
}

TEST_F(StableGroupTest, MemberThatDoesNotRejoinIsDroppedAtTheRebalanceTimeout) {
  std::string n = NewMemberId();
  auto jn = Join(n);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  // b keeps heartbeating but never rejoins: the join phase ends at the
  // rebalance timeout (30 s) without it.
  for (int i = 0; i < 29; ++i) {
    Advance(1000);
    EXPECT_EQ(c_.Heartbeat("g", 1, b_, std::nullopt, now_), ErrorCode::kRebalanceInProgress);
  }
  EXPECT_FALSE(ja->has_value());
  Advance(1000);
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->members.size(), 2u);
  EXPECT_EQ(c_.Heartbeat("g", 2, b_, std::nullopt, now_), ErrorCode::kUnknownMemberId);
}

TEST_F(StableGroupTest, SilentMemberExpiresAfterItsSessionTimeout) {
  for (int i = 0; i < 5; ++i) {
    Advance(1000);
    EXPECT_EQ(c_.Heartbeat("g", 1, a_, std::nullopt, now_), ErrorCode::kNone);
  }
  Advance(1001);  // b silent for 6 s
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  EXPECT_EQ(c_.Heartbeat("g", 1, b_, std::nullopt, now_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(c_.Heartbeat("g", 1, a_, std::nullopt, now_), ErrorCode::kRebalanceInProgress);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(ja->has_value());  // the only member left has rejoined
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*ja)->members.size(), 1u);
}

TEST_F(StableGroupTest, LeaveRebalancesAndTheLastLeaveEmptiesTheGroup) {
  EXPECT_EQ(c_.Leave("g", b_, std::nullopt, now_), ErrorCode::kNone);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ(c_.Leave("g", a_, std::nullopt, now_), ErrorCode::kNone);
  EXPECT_EQ(State(), GroupState::kEmpty);
  auto d = c_.Describe("g");
  EXPECT_EQ(d.generation, 3);
  EXPECT_TRUE(d.members.empty());
}

TEST_F(StableGroupTest, RejoinDuringCompletingRebalanceAndSyncWhilePreparing) {
  std::string n = NewMemberId();
  auto jn = Join(n);
  EXPECT_EQ((*Sync(a_, 1))->error, ErrorCode::kRebalanceInProgress);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  auto jb = Join(b_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
  // An unchanged follower joining again gets the same generation at once.
  auto again = Join(b_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->generation_id, 2);
  // A follower parked in SyncGroup is told to rejoin when a member leaves.
  auto sb = Sync(b_, 2);
  EXPECT_FALSE(sb->has_value());
  EXPECT_EQ(c_.Leave("g", n, std::nullopt, now_), ErrorCode::kNone);
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, ErrorCode::kRebalanceInProgress);
}

TEST_F(StableGroupTest, OffsetCommitValidation) {
  EXPECT_EQ(c_.ValidateCommit("g", 1, a_, std::nullopt, now_), ErrorCode::kNone);
  EXPECT_EQ(c_.ValidateCommit("g", 0, a_, std::nullopt, now_), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(c_.ValidateCommit("g", 1, "x", std::nullopt, now_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(c_.ValidateCommit("g", -1, "", std::nullopt, now_),
            ErrorCode::kUnknownMemberId);  // not empty
  EXPECT_EQ(c_.ValidateCommit("solo", 3, "", std::nullopt, now_), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(c_.ValidateCommit("solo", -1, "", std::nullopt, now_), ErrorCode::kNone);
  EXPECT_EQ(c_.Describe("solo").state, GroupState::kEmpty);  // created by the simple commit
  EXPECT_EQ(c_.ValidateCommit("solo", -1, "", std::nullopt, now_), ErrorCode::kNone);
  auto listed = c_.List();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].group_id, "g");
  EXPECT_EQ(listed[0].protocol_type, "consumer");
}

TEST_F(StableGroupTest, LeaderThatNeverSyncsIsRemovedAtTheRebalanceTimeout) {
  std::string n = NewMemberId();
  auto jn = Join(n);
  auto ja = Join(a_, 5, {{"range", ""}}, 6000);
  auto jb = Join(b_, 5, {{"range", ""}}, 6000);
  ASSERT_TRUE(jb->has_value());
  auto sb = Sync(b_, 2);
  auto sn = Sync(n, 2);
  for (int i = 0; i < 30; ++i) {
    Advance(1000);
    (void)c_.Heartbeat("g", 2, a_, std::nullopt, now_);  // alive, but the leader never syncs
  }
  Advance(10);
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(c_.Heartbeat("g", 2, a_, std::nullopt, now_), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupCoordinatorTest, PendingMemberThatNeverRejoinsIsForgotten) {
  std::string a = NewMemberId();
  Advance(10001);
  EXPECT_EQ((*Join(a))->error, ErrorCode::kUnknownMemberId);
}

TEST(GroupCoordinatorTimerTest, TheTimerThreadEndsTheInitialDelayAndExpiresSessions) {
  GroupSettings s;
  s.initial_rebalance_delay_ms = 50;
  s.min_session_timeout_ms = 100;
  GroupCoordinator c(s);
  c.Start();
  std::promise<JoinResult> joined;
  JoinRequest r;
  r.group_id = "g";
  r.client_id = "c";
  r.session_timeout_ms = 200;
  r.rebalance_timeout_ms = 1000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", ""}};
  const auto start = GroupClock::now();
  c.Join(r, start, [&](JoinResult res) { joined.set_value(std::move(res)); });
  auto f = joined.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  JoinResult res = f.get();
  EXPECT_EQ(res.generation_id, 1);
  EXPECT_GE(GroupClock::now() - start, std::chrono::milliseconds(50));
  // Never syncs nor heartbeats: removed after its 200 ms session, and the
  // group (no member left) goes back to Empty.
  const auto deadline = GroupClock::now() + std::chrono::seconds(5);
  while (c.Describe("g").state != GroupState::kEmpty && GroupClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(c.Describe("g").state, GroupState::kEmpty);
  EXPECT_EQ(c.Heartbeat("g", 1, res.member_id, std::nullopt, GroupClock::now()),
            ErrorCode::kUnknownMemberId);
}

// Two static members "ia" (a_, the leader) and "ib" (b_), Stable in
// generation 1 with assignments "A" and "B".
class StaticGroupTest : public GroupCoordinatorTest {
 protected:
  void SetUp() override {
    c_.SetMembershipListener([this](const std::string& g, const std::string& type, bool empty) {
      events_.push_back(g + "/" + type + (empty ? "/empty" : "/members"));
    });
    auto ja = JoinStatic("", "ia");  // no MEMBER_ID_REQUIRED round trip for static members
    auto jb = JoinStatic("", "ib");
    Advance(150);
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    a_ = (*ja)->member_id;
    b_ = (*jb)->member_id;
    ASSERT_EQ((*ja)->leader, a_);
    ASSERT_EQ((*ja)->members.size(), 2u);
    EXPECT_EQ((*ja)->members[0].instance_id.has_value(), true);
    auto sb = Sync(b_, 1);
    auto sa = Sync(a_, 1, {{a_, "A"}, {b_, "B"}});
    ASSERT_TRUE(sb->has_value());
    ASSERT_EQ(State(), GroupState::kStable);
  }
  std::string a_, b_;
  std::vector<std::string> events_;
};

TEST_F(StaticGroupTest, FollowerRestartingWithinItsSessionTakesItsPlaceWithoutARebalance) {
  Advance(3000);  // b_'s process restarts: it sends nothing for a while
  EXPECT_EQ(c_.Heartbeat("g", 1, a_, "ia", now_), ErrorCode::kNone);
  auto jb = JoinStatic("", "ib");
  ASSERT_TRUE(jb->has_value());  // answered at once
  EXPECT_EQ((*jb)->error, ErrorCode::kNone);
  EXPECT_EQ((*jb)->generation_id, 1);
  EXPECT_EQ((*jb)->leader, a_);
  EXPECT_NE((*jb)->member_id, b_);
  EXPECT_TRUE((*jb)->members.empty());
  const std::string nb = (*jb)->member_id;
  EXPECT_EQ(State(), GroupState::kStable);
  auto sb = Sync(nb, 1);
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, ErrorCode::kNone);
  EXPECT_EQ((*sb)->assignment, "B");                                  // its old assignment
  EXPECT_EQ(c_.Heartbeat("g", 1, a_, "ia", now_), ErrorCode::kNone);  // a_ saw no rebalance
  EXPECT_EQ(c_.Heartbeat("g", 1, nb, "ib", now_), ErrorCode::kNone);
  // The old incarnation is fenced wherever it shows up with its instance id.
  EXPECT_EQ(c_.Heartbeat("g", 1, b_, "ib", now_), ErrorCode::kFencedInstanceId);
  EXPECT_EQ((*Sync(b_, 1))->error, ErrorCode::kUnknownMemberId);  // without it: unknown
  EXPECT_EQ(c_.ValidateCommit("g", 1, b_, "ib", now_), ErrorCode::kFencedInstanceId);
  EXPECT_EQ((*JoinStatic(b_, "ib"))->error, ErrorCode::kFencedInstanceId);
  EXPECT_EQ(c_.Leave("g", b_, "ib", now_), ErrorCode::kFencedInstanceId);
  EXPECT_EQ(c_.ValidateCommit("g", 1, nb, "ib", now_), ErrorCode::kNone);
  EXPECT_EQ(c_.Describe("g").members.size(), 2u);
}

TEST_F(StaticGroupTest, LeaderRejoiningIsToldTheOldLeaderSoItDoesNotReassign) {
  auto ja = JoinStatic("", "ia");
  ASSERT_TRUE(ja->has_value());
  const std::string na = (*ja)->member_id;
  EXPECT_EQ((*ja)->leader, a_);  // not na: it acts as a follower and reads its assignment
  EXPECT_TRUE((*ja)->members.empty());
  EXPECT_EQ(c_.Describe("g").leader, na);  // it does lead the next generation
  auto sa = Sync(na, 1);
  ASSERT_TRUE(sa->has_value());
  EXPECT_EQ((*sa)->assignment, "A");
  EXPECT_EQ(State(), GroupState::kStable);
}

TEST_F(StaticGroupTest, RestartDuringCompletingRebalanceFencesTheOldSyncAndRebalances) {
  auto ja = JoinStatic(a_, "ia");  // the leader rejoining while Stable starts a rebalance
  EXPECT_FALSE(ja->has_value());
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  auto jb = JoinStatic(b_, "ib");
  ASSERT_TRUE(ja->has_value() && jb->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
  // b restarts before the leader's SyncGroup: its parked join is fenced, and
  // the group rebalances so the leader sees the new member id.
  auto sb_old = Sync(b_, 2);
  auto jb2 = JoinStatic("", "ib");
  ASSERT_TRUE(sb_old->has_value());
  EXPECT_EQ((*sb_old)->error, ErrorCode::kFencedInstanceId);
  EXPECT_FALSE(jb2->has_value());
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
}

TEST_F(GroupCoordinatorTest, StaticRejoinThatChangesTheSelectedProtocolRebalances) {
  const Protocols both = {{"range", ""}, {"roundrobin", ""}};
  auto ja = JoinStatic("", "ia", both);
  auto jb = JoinStatic("", "ib", both);
  Advance(150);
  ASSERT_TRUE(ja->has_value() && jb->has_value());
  EXPECT_EQ((*ja)->protocol_name, "range");
  auto sb = Sync((*jb)->member_id, 1);
  auto sa = Sync((*ja)->member_id, 1, {});
  ASSERT_EQ(State(), GroupState::kStable);
  // a restarts listing only roundrobin: the group's choice would change.
  auto ja2 = JoinStatic("", "ia", {{"roundrobin", ""}});
  EXPECT_FALSE(ja2->has_value());
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  auto jb2 = JoinStatic((*jb)->member_id, "ib", both);
  ASSERT_TRUE(ja2->has_value() && jb2->has_value());
  EXPECT_EQ((*ja2)->generation_id, 2);
  EXPECT_EQ((*ja2)->protocol_name, "roundrobin");
}

TEST_F(StaticGroupTest, SessionExpiryRemovesAStaticMemberAndRebalances) {
  for (int i = 0; i < 7; ++i) {
    Advance(1000);
    (void)c_.Heartbeat("g", 1, a_, "ia", now_);  // b_ stays away past its 6 s session
  }
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  EXPECT_EQ(c_.Heartbeat("g", 1, b_, "ib", now_), ErrorCode::kUnknownMemberId);
  auto ja = JoinStatic(a_, "ia");
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*ja)->members.size(), 1u);
  // Its known member id is no use now (the instance is gone); as a new
  // static member it joins, and the group rebalances again.
  EXPECT_EQ((*JoinStatic(b_, "ib"))->error, ErrorCode::kUnknownMemberId);
  auto jb = JoinStatic("", "ib");
  EXPECT_FALSE(jb->has_value());
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
}

TEST_F(StaticGroupTest, LeaveByInstanceIdAndMembershipEvents) {
  EXPECT_EQ(events_, (std::vector<std::string>{"g/consumer/members"}));
  EXPECT_EQ(c_.Leave("g", "", "nobody", now_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(c_.Leave("g", "", "ib", now_), ErrorCode::kNone);  // admin removal (LeaveGroup v3)
  EXPECT_EQ(c_.Describe("g").members.size(), 1u);
  EXPECT_EQ(c_.DeleteGroup("g"), ErrorCode::kNonEmptyGroup);
  EXPECT_FALSE(c_.IsEmpty("g"));
  EXPECT_EQ(c_.Leave("g", a_, "ia", now_), ErrorCode::kNone);
  Advance(1);
  EXPECT_EQ(State(), GroupState::kEmpty);
  EXPECT_EQ(events_, (std::vector<std::string>{"g/consumer/members", "g/consumer/empty"}));
  EXPECT_TRUE(c_.IsEmpty("g"));
  EXPECT_EQ(c_.DeleteGroup("g"), ErrorCode::kNone);
  EXPECT_EQ(State(), GroupState::kDead);
  EXPECT_EQ(c_.DeleteGroup("g"), ErrorCode::kGroupIdNotFound);
  // The instance ids are free again: a new group forms.
  auto ja = JoinStatic("", "ia");
  Advance(150);
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 1);
}

}  // namespace
}  // namespace runnel::kafka
