// Power loss and failing disks, simulated through FaultInjectionEnv: bytes
// not made durable by fdatasync (and files whose directory entry was never
// synced) vanish, as they would when the machine loses power.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "runnel/log.h"
#include "storage/verify.h"
#include "storage/test_util.h"
#include "util/fault_injection_env.h"

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

TEST(FaultInjectionTest, AcknowledgedRecordsSurvivePowerLossUnderFsyncAlways) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  TopicConfig config;
  config.fsync.policy = FsyncPolicy::kAlways;
  config.segment_bytes = 8192;  // power loss across segment rolls too
  std::map<int64_t, std::string> acked;
  std::mt19937 rng(42);
  for (int round = 0; round < 15; ++round) {
    {
      auto log = Log::Open(tmp.path(), options);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      if (round == 0) {
        ASSERT_TRUE((*log)->CreateTopic("t", config).ok());
      }
      auto producer = (*log)->NewProducer("t", false);
      ASSERT_TRUE(producer.ok()) << producer.status().ToString();
      int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        std::string v = "round" + std::to_string(round) + "-" + std::to_string(i) +
                        std::string(rng() % 300, 'p');
        auto offset = (*producer)->Append(0, ValueView(v));
        ASSERT_TRUE(offset.ok()) << offset.status().ToString();
        acked[*offset] = v;
      }
      // The process "dies" with the machine: nothing else is flushed.
      // (Destroying the Log syncs nothing under `always` beyond what was acked.)
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto log = Log::Open(tmp.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    auto records = ReadAll(log->get(), "t");
    ASSERT_EQ(records.size(), acked.size()) << "round " << round;
    for (const Record& r : records) {
      ASSERT_TRUE(acked.count(r.offset)) << "unexpected offset " << r.offset;
      EXPECT_EQ(*r.value, acked[r.offset]);
    }
    auto report = storage::VerifyDirectory(&env, tmp.path());
    ASSERT_TRUE(report.ok());
    for (const auto& d : report->damage) ADD_FAILURE() << d.file << ": " << d.problem;
  }
}

TEST(FaultInjectionTest, PowerLossUnderFsyncNeverLosesOnlyATailAndKeepsTheLogWhole) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  TopicConfig config;
  config.fsync.policy = FsyncPolicy::kNever;
  config.segment_bytes = 8192;
  {
    auto log = Log::Open(tmp.path(), options);
    ASSERT_TRUE((*log)->CreateTopic("t", config).ok());
    auto producer = (*log)->NewProducer("t", false);
    for (int i = 0; i < 200; ++i) {
      std::string v = "v" + std::to_string(i);
      ASSERT_TRUE((*producer)->Append(0, ValueView(v)).ok());
    }
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto log = Log::Open(tmp.path(), options);
  ASSERT_TRUE(log.ok());
  auto records = ReadAll(log->get(), "t");
  // Whatever survived is a prefix of what was written, offsets dense.
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(*records[i].value, "v" + std::to_string(i));
  }
  // And the log accepts appends right after the surviving prefix.
  auto producer = (*log)->NewProducer("t", false);
  auto next = (*producer)->Append(0, ValueView("after"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, static_cast<int64_t>(records.size()));
}

TEST(FaultInjectionTest, FullDiskFailsTheAppendAndLosesNothingAcknowledged) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  auto log = Log::Open(tmp.path(), options);
  ASSERT_TRUE(log.ok());
  auto producer = (*log)->NewProducer("t");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*producer)->Append(0, ValueView("before")).ok());
  env.SetWriteError(StatusCode::kNoSpace);
  auto failed = (*producer)->Append(0, ValueView("lost"));
  EXPECT_TRUE(failed.status().Is(StatusCode::kNoSpace)) << failed.status().ToString();
  env.ClearErrors();
  auto next = (*producer)->Append(0, ValueView("after"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 10);
  auto records = ReadAll(log->get(), "t");
  ASSERT_EQ(records.size(), 11u);
  EXPECT_EQ(*records[10].value, "after");
}

TEST(FaultInjectionTest, FailedSyncFencesThePartitionUntilReopened) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  options.default_topic_config.fsync.policy = FsyncPolicy::kAlways;
  {
    auto log = Log::Open(tmp.path(), options);
    auto producer = (*log)->NewProducer("t");
    ASSERT_TRUE((*producer)->Append(0, ValueView("ok")).ok());
    env.SetSyncError(StatusCode::kIoError);
    EXPECT_FALSE((*producer)->Append(0, ValueView("unsynced")).ok());
    env.ClearErrors();
    auto fenced = (*producer)->Append(0, ValueView("fenced"));
    EXPECT_TRUE(fenced.status().Is(StatusCode::kClosed)) << fenced.status().ToString();
  }
  auto log = Log::Open(tmp.path(), options);
  auto producer = (*log)->NewProducer("t");
  EXPECT_TRUE((*producer)->Append(0, ValueView("reopened")).ok());
}

}  // namespace
}  // namespace runnel
