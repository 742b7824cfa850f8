// OffsetStore: commits are visible once durable and survive a reopen of the
// log (the records of `__runnel.kafka_offsets` are replayed).
#include "protocol/kafka/offset_store.h"

#include "util/clock.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <unistd.h>

namespace runnel::kafka {
namespace {

class OffsetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("offset_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    log_.reset();
    auto log = Log::Open(dir_.string(), {});
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(*log);
    auto store = OffsetStore::Open(log_.get(), FsyncSpec{FsyncPolicy::kNever, 0});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  Status Expire(int64_t now_ms, bool empty, std::vector<std::string>* emptied = nullptr) {
    std::promise<Status> p;
    auto gone = store_->Expire(
        now_ms, kRetention, [empty](const std::string&) { return empty; },
        [&](Status st) { p.set_value(st); });
    if (emptied) *emptied = std::move(gone);
    return p.get_future().get();
  }
  Status DeleteGroup(const std::string& group) {
    std::promise<Status> p;
    store_->DeleteGroup(group, [&](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  static constexpr int64_t kRetention = 60000;

  Status Commit(const std::string& group, std::vector<OffsetCommitEntry> entries) {
    std::promise<Status> p;
    store_->Commit(group, std::move(entries), [&](Status st) { p.set_value(st); });
    return p.get_future().get();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<OffsetStore> store_;
};

TEST_F(OffsetStoreTest, CommitsAreFetchedAndSurviveReopen) {
  EXPECT_FALSE(store_->Fetch("g", "t", 0).has_value());
  ASSERT_TRUE(Commit("g", {{"t", 0, {5, "meta", 0}}, {"t", 1, {7, std::nullopt, 0}}}).ok());
  ASSERT_TRUE(Commit("g", {{"t", 0, {9, "newer", 0}}}).ok());
  ASSERT_TRUE(Commit("other", {{"u", 3, {1, "", 0}}}).ok());
  auto c = store_->Fetch("g", "t", 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->offset, 9);
  EXPECT_EQ(c->metadata, "newer");
  EXPECT_GT(c->commit_time_ms, 0);
  Reopen();
  c = store_->Fetch("g", "t", 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->offset, 9);
  EXPECT_EQ(c->metadata, "newer");
  auto all = store_->FetchAll("g");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].partition, 1);
  EXPECT_EQ(all[1].value.offset, 7);
  EXPECT_FALSE(all[1].value.metadata.has_value());
  auto groups = store_->Groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group_id, "g");
  EXPECT_EQ(groups[1].group_id, "other");
  EXPECT_EQ(groups[0].protocol_type, "");
  EXPECT_FALSE(store_->Fetch("g", "t", 2).has_value());
  EXPECT_FALSE(store_->Fetch("gg", "t", 0).has_value());
}

TEST_F(OffsetStoreTest, RecordLayoutRoundTripsAndRejectsOtherVersions) {
  std::string g, t;
  int32_t p = 0;
  std::string key = OffsetStore::EncodeKey("grp", "topic", 4);
  ASSERT_TRUE(OffsetStore::DecodeKey(key, &g, &t, &p));
  EXPECT_EQ(g, "grp");
  EXPECT_EQ(t, "topic");
  EXPECT_EQ(p, 4);
  key[1] = 2;  // format version 2 is unknown
  EXPECT_FALSE(OffsetStore::DecodeKey(key, &g, &t, &p));
  CommittedOffset v;
  ASSERT_TRUE(OffsetStore::DecodeValue(OffsetStore::EncodeValue({42, "m", 1234}), &v));
  EXPECT_EQ(v.offset, 42);
  EXPECT_EQ(v.metadata, "m");
  EXPECT_EQ(v.commit_time_ms, 1234);
  EXPECT_FALSE(OffsetStore::DecodeValue("\x00\x01", &v));
}

TEST_F(OffsetStoreTest, ConsumerGroupOffsetsExpireTogetherRetentionAfterTheGroupEmptied) {
  store_->SetGroupState("g", "consumer", false, 0);
  ASSERT_TRUE(Commit("g", {{"t", 0, {5, "", 0}}, {"t", 1, {6, "", 0}}}).ok());
  const int64_t t0 = WallMillis() + 3600000;  // the group empties an hour later
  ASSERT_TRUE(Expire(t0 + 10 * kRetention, /*empty=*/false).ok());  // members: kept
  EXPECT_TRUE(store_->Fetch("g", "t", 0).has_value());
  store_->SetGroupState("g", "consumer", true, t0);
  std::vector<std::string> emptied;
  ASSERT_TRUE(Expire(t0 + kRetention - 1, true, &emptied).ok());
  EXPECT_TRUE(emptied.empty());
  Reopen();  // the Empty clock survives a restart
  auto groups = store_->Groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].protocol_type, "consumer");
  ASSERT_TRUE(Expire(t0 + kRetention - 1, true, &emptied).ok());
  EXPECT_TRUE(store_->Fetch("g", "t", 1).has_value());
  ASSERT_TRUE(Expire(t0 + kRetention, true, &emptied).ok());
  EXPECT_EQ(emptied, (std::vector<std::string>{"g"}));
  EXPECT_FALSE(store_->Fetch("g", "t", 0).has_value());
  EXPECT_FALSE(store_->Fetch("g", "t", 1).has_value());
  Reopen();  // the tombstones are durable
  EXPECT_FALSE(store_->Fetch("g", "t", 0).has_value());
  EXPECT_TRUE(store_->Groups().empty());
}

TEST_F(OffsetStoreTest, StandaloneOffsetsExpireOneByOneRetentionAfterTheirCommit) {
  ASSERT_TRUE(Commit("solo", {{"t", 0, {5, "", 0}}}).ok());
  const int64_t c0 = store_->Fetch("solo", "t", 0)->commit_time_ms;
  std::vector<std::string> emptied;
  ASSERT_TRUE(Expire(c0 + kRetention - 1, true, &emptied).ok());
  EXPECT_TRUE(store_->Fetch("solo", "t", 0).has_value());
  ASSERT_TRUE(Expire(c0 + kRetention, true, &emptied).ok());
  EXPECT_FALSE(store_->Fetch("solo", "t", 0).has_value());
  EXPECT_EQ(emptied, (std::vector<std::string>{"solo"}));
  // A commit after the expiry is a new one: it stays, also after a restart.
  ASSERT_TRUE(Commit("solo", {{"t", 0, {9, "", 0}}}).ok());
  Reopen();
  ASSERT_TRUE(store_->Fetch("solo", "t", 0).has_value());
  EXPECT_EQ(store_->Fetch("solo", "t", 0)->offset, 9);
}

TEST_F(OffsetStoreTest, ExplicitRetentionTimeIsKeptAcrossRestartAndWins) {
  CommittedOffset v{5, "", 0};
  v.expire_time_ms = 1000;  // OffsetCommit v2-v4 RetentionTimeMs: a duration
  ASSERT_TRUE(Commit("solo", {{"t", 0, v}, {"t", 1, {6, "", 0}}}).ok());
  auto c = store_->Fetch("solo", "t", 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expire_time_ms, c->commit_time_ms + 1000);
  Reopen();
  c = store_->Fetch("solo", "t", 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expire_time_ms, c->commit_time_ms + 1000);
  ASSERT_TRUE(Expire(c->commit_time_ms + 1000, true).ok());
  EXPECT_FALSE(store_->Fetch("solo", "t", 0).has_value());
  EXPECT_TRUE(store_->Fetch("solo", "t", 1).has_value());  // the server's retention: not yet
}

TEST_F(OffsetStoreTest, GroupThatHadMembersAtShutdownCountsFromTheRestart) {
  store_->SetGroupState("g", "consumer", true, 1);   // long Empty...
  store_->SetGroupState("g", "consumer", false, 2);  // ...then members again
  ASSERT_TRUE(Commit("g", {{"t", 0, {5, "", 0}}}).ok());
  const int64_t before = WallMillis();
  Reopen();  // the server stopped with members in the group
  ASSERT_TRUE(Expire(before + kRetention - 1, true).ok());
  EXPECT_TRUE(store_->Fetch("g", "t", 0).has_value());
  ASSERT_TRUE(Expire(WallMillis() + kRetention, true).ok());
  EXPECT_FALSE(store_->Fetch("g", "t", 0).has_value());
}

TEST_F(OffsetStoreTest, DeleteGroupTombstonesEveryOffsetDurably) {
  store_->SetGroupState("g", "consumer", true, 1);
  ASSERT_TRUE(Commit("g", {{"t", 0, {5, "", 0}}, {"u", 2, {6, "", 0}}}).ok());
  ASSERT_TRUE(Commit("other", {{"t", 0, {7, "", 0}}}).ok());
  ASSERT_TRUE(DeleteGroup("g").ok());
  EXPECT_TRUE(store_->FetchAll("g").empty());
  Reopen();
  EXPECT_TRUE(store_->FetchAll("g").empty());
  auto groups = store_->Groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group_id, "other");
  EXPECT_EQ(store_->Fetch("other", "t", 0)->offset, 7);
}

}  // namespace
}  // namespace runnel::kafka
