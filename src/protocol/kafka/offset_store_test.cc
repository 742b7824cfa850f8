// OffsetStore: commits are visible once durable and survive a reopen of the
// log (the records of `__runnel.kafka_offsets` are replayed).
#include "protocol/kafka/offset_store.h"

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
  EXPECT_EQ(store_->Groups(), (std::vector<std::string>{"g", "other"}));
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

}  // namespace
}  // namespace runnel::kafka
