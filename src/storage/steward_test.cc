// Retention and compaction through Log::RunSteward.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "runnel/log.h"
#include "storage/test_util.h"
#include "storage/verify.h"
#include "util/env.h"

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

TEST(StewardTest, RetentionByBytesDeletesOldestSealedSegments) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c;
  c.segment_bytes = 4096;
  c.retention_bytes = 16384;
  c.fsync.policy = FsyncPolicy::kNever;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::string v(500, 'r');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE((*p)->Append(0, ValueView(v)).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  auto info = log->DescribeTopic("t");
  EXPECT_LE(info->partitions[0].bytes, 16384 + 4096);
  EXPECT_GT(info->partitions[0].start_offset, 0);
  auto records = ReadAll(log.get(), "t");
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().offset, info->partitions[0].start_offset);
  EXPECT_EQ(records.back().offset, 199);
  // A reader asking for an offset that retention removed starts at the log start.
  auto from_zero = ReadAll(log.get(), "t", 0, StartPosition::Offset(0));
  EXPECT_EQ(from_zero.front().offset, info->partitions[0].start_offset);
}

TEST(StewardTest, RetentionByTimeDeletesSegmentsWhoseNewestRecordIsTooOld) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c;
  c.segment_bytes = 4096;
  c.retention_ms = 60000;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  std::string v(500, 'o');
  const int64_t old_ts = 1000;  // 1970: far past retention
  for (int i = 0; i < 40; ++i) {
    RecordView r = ValueView(v);
    r.timestamp_ms = old_ts;
    ASSERT_TRUE((*p)->Append(0, r).ok());
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*p)->Append(0, ValueView(v)).ok());  // now
  ASSERT_TRUE(log->RunSteward().ok());
  auto records = ReadAll(log.get(), "t");
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().offset, 59);
  for (const Record& r : records) {
    // Old records may survive only in a segment shared with new ones.
    if (r.timestamp_ms == old_ts) {
      EXPECT_GE(r.offset, 32);
    }
  }
  EXPECT_LT(records.size(), 60u);
}

TEST(StewardTest, CompactionKeepsNewestValuePerKeyWithOriginalOffsets) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c;
  c.segment_bytes = 4096;
  c.compact = true;
  c.delete_retention_ms = 0;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  std::map<std::string, std::pair<int64_t, std::optional<std::string>>> newest;
  std::string pad(100, '.');
  for (int i = 0; i < 400; ++i) {
    std::string key = "k" + std::to_string(i % 17);
    std::string value = "v" + std::to_string(i) + pad;
    RecordView r;
    r.key = key;
    if (i % 50 != 49) r.value = value;  // some tombstones
    r.timestamp_ms = 1000 + i;
    auto o = (*p)->Append(0, r);
    ASSERT_TRUE(o.ok());
    newest[key] = {*o, r.value ? std::optional<std::string>(value) : std::nullopt};
  }
  auto before = ReadAll(log.get(), "t");
  ASSERT_TRUE(log->RunSteward().ok());
  auto after = ReadAll(log.get(), "t");
  EXPECT_LT(after.size(), before.size() / 2);
  std::map<int64_t, Record> by_offset;
  for (const Record& r : before) by_offset[r.offset] = r;
  int64_t prev = -1;
  for (const Record& r : after) {
    EXPECT_GT(r.offset, prev);
    prev = r.offset;
    EXPECT_EQ(r, by_offset[r.offset]) << "record changed at offset " << r.offset;
  }
  // Every key's newest live record is still there.
  for (const auto& [key, last] : newest) {
    if (!last.second) continue;
    bool found = false;
    for (const Record& r : after) found |= r.offset == last.first && *r.value == *last.second;
    EXPECT_TRUE(found) << key;
  }
  auto report = storage::VerifyDirectory(Env::Default(), tmp.path());
  ASSERT_TRUE(report.ok());
  for (const auto& d : report->damage) ADD_FAILURE() << d.file << ": " << d.problem;
  // Appends go on after the last offset.
  EXPECT_EQ(*(*p)->Append(0, ValueView("tail")), 400);
}

TEST(StewardTest, PurgeRecordsRemovesThemFromSealedSegmentsKeepingOffsets) {
  TempDir tmp;
  std::vector<int64_t> left;
  {
    auto log = std::move(*Log::Open(tmp.path()));
    TopicConfig c;
    c.segment_bytes = 4096;
    c.fsync.policy = FsyncPolicy::kNever;
    ASSERT_TRUE(log->CreateTopic("t", c).ok());
    auto p = log->NewProducer("t");
    std::string v(300, 'p');
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE((*p)->Append(0, ValueView(v + std::to_string(i))).ok());
    }
    auto info = log->DescribeTopic("t");
    ASSERT_GT(info->partitions[0].segments, 3);
    const std::vector<int64_t> purge = {0, 3, 4, 50, 99, 99, 500};
    auto r = log->PurgeRecords("t", 0, purge);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    left = *r;
    // 99 is in the active segment; 500 was never written: only 99 waits.
    EXPECT_EQ(left, (std::vector<int64_t>{99, 500}));
    auto records = ReadAll(log.get(), "t");
    ASSERT_EQ(records.size(), 96u);
    std::vector<int64_t> offsets;
    for (const Record& rec : records) {
      offsets.push_back(rec.offset);
      EXPECT_EQ(*rec.value, v + std::to_string(rec.offset)) << "record moved at " << rec.offset;
    }
    for (int64_t gone : {0, 3, 4, 50}) {
      EXPECT_EQ(std::count(offsets.begin(), offsets.end(), gone), 0) << gone;
    }
    EXPECT_EQ(offsets.back(), 99);
    // Appends go on after the last offset; a second purge is a no-op.
    EXPECT_EQ(*(*p)->Append(0, ValueView("tail")), 100);
    auto again = log->PurgeRecords("t", 0, purge);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(ReadAll(log.get(), "t").size(), 97u);
    EXPECT_FALSE(log->PurgeRecords("missing", 0, purge).ok());
    EXPECT_FALSE(log->PurgeRecords("t", 1, purge).ok());
  }
  auto report = storage::VerifyDirectory(Env::Default(), tmp.path());
  ASSERT_TRUE(report.ok());
  for (const auto& d : report->damage) ADD_FAILURE() << d.file << ": " << d.problem;
  auto log = std::move(*Log::Open(tmp.path()));  // reopen: the purge stuck
  EXPECT_EQ(ReadAll(log.get(), "t").size(), 97u);
}

TEST(StewardTest, PassRemovesWhatAnInterruptedRewriteLeft) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c;
  c.segment_bytes = 4096;
  c.compact = true;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*p)->Append(0, ValueView(std::string(200, 'x'))).ok());
  Env* env = Env::Default();
  const std::string dir = tmp.path() + "/topics/t/0";
  const std::vector<std::string> leftovers = {"00000000000000000000.index.tmp",
                                              "00000000000000000000.timeindex.tmp",
                                              "00000000000000000017.log.compacting"};
  const std::string unrelated = dir + "/notes.tmp";  // not a segment file: not ours to delete
  for (const std::string& name : leftovers) ASSERT_TRUE(env->OpenFile(dir + "/" + name, OpenMode::kCreate).ok());
  ASSERT_TRUE(env->OpenFile(unrelated, OpenMode::kCreate).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  for (const std::string& name : leftovers) EXPECT_FALSE(env->FileExists(dir + "/" + name)) << name;
  EXPECT_TRUE(env->FileExists(unrelated));
  EXPECT_EQ(ReadAll(log.get(), "t").size(), 100u);
}

}  // namespace
}  // namespace runnel
