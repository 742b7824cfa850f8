// The log start offset: Log::DeleteRecordsBefore, readers, the steward.
#include "storage/data_dir.h"
#include "storage/log_start_file.h"
#include "storage/test_util.h"
#include "storage/verify.h"
#include "util/env.h"
#include "util/fault_injection_env.h"

#include "runnel/log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

// 4 KiB segments of 500-byte records: about 7 records per segment.
TopicConfig SmallSegments() {
  TopicConfig c;
  c.segment_bytes = 4096;
  c.fsync.policy = FsyncPolicy::kNever;
  return c;
}

void Fill(Log* log, const std::string& topic, int n) {
  auto p = log->NewProducer(topic);
  ASSERT_TRUE(p.ok());
  std::string v(500, 'x');
  for (int i = 0; i < n; ++i) ASSERT_TRUE((*p)->Append(0, ValueView(v)).ok());
  ASSERT_TRUE((*p)->Flush().ok());
}

std::vector<int64_t> SegmentBases(const std::string& data, const std::string& topic) {
  std::vector<int64_t> out;
  const std::string dir = storage::PartitionDir(storage::TopicDir(data, topic), 0);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto base =
        storage::ParseSegmentFileName(e.path().filename().string(), storage::SegmentFileKind::kLog);
    if (base) out.push_back(*base);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LogStartTest, ReadersStartAtTheLogStart) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 50);
  auto start = log->DeleteRecordsBefore("t", 0, 23);
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  EXPECT_EQ(*start, 23);

  auto all = ReadAll(log.get(), "t");
  ASSERT_EQ(all.size(), 27u);
  EXPECT_EQ(all.front().offset, 23);
  EXPECT_EQ(all.back().offset, 49);
  // Seeking below it, or to it, starts at it; above it is untouched.
  EXPECT_EQ(ReadAll(log.get(), "t", 0, StartPosition::Offset(5)).front().offset, 23);
  EXPECT_EQ(ReadAll(log.get(), "t", 0, StartPosition::Offset(23)).front().offset, 23);
  EXPECT_EQ(ReadAll(log.get(), "t", 0, StartPosition::Offset(30)).front().offset, 30);
  EXPECT_EQ(ReadAll(log.get(), "t", 0, StartPosition::Timestamp(0)).front().offset, 23);

  auto reader = log->NewReader("t", 0, StartPosition::Earliest());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->position(), 23);
  auto offsets = (*reader)->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->start_offset, 23);
  EXPECT_EQ(offsets->end_offset, 50);
  auto info = log->DescribeTopic("t");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->partitions[0].start_offset, 23);
}

TEST(LogStartTest, PersistsAcrossReopen) {
  TempDir tmp;
  {
    auto log = std::move(*Log::Open(tmp.path()));
    ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
    Fill(log.get(), "t", 30);
    ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, 12).ok());
  }
  auto log = std::move(*Log::Open(tmp.path()));
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 12);
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, 12);
  // Appending after the reopen keeps it.
  Fill(log.get(), "t", 5);
  auto all = ReadAll(log.get(), "t");
  EXPECT_EQ(all.front().offset, 12);
  EXPECT_EQ(all.back().offset, 34);
}

TEST(LogStartTest, NeverMovesBackwards) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 20);
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 10), 10);
  auto lower = log->DeleteRecordsBefore("t", 0, 4);
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(*lower, 10);  // the low watermark as it stays
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 10);
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 10), 10);
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 11), 11);
}

TEST(LogStartTest, OffsetPastTheEndIsOutOfRangeAndTheEndDeletesAll) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 8);
  auto past = log->DeleteRecordsBefore("t", 0, 9);
  ASSERT_FALSE(past.ok());
  EXPECT_TRUE(past.status().Is(StatusCode::kOutOfRange)) << past.status().ToString();
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 0);
  auto neg = log->DeleteRecordsBefore("t", 0, -1);
  EXPECT_TRUE(neg.status().Is(StatusCode::kInvalidArgument));
  EXPECT_TRUE(log->DeleteRecordsBefore("t", 1, 0).status().Is(StatusCode::kNotFound));
  EXPECT_TRUE(log->DeleteRecordsBefore("nope", 0, 0).status().Is(StatusCode::kNotFound));

  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 8), 8);
  EXPECT_TRUE(ReadAll(log.get(), "t").empty());
  // New records after it are readable.
  Fill(log.get(), "t", 2);
  auto all = ReadAll(log.get(), "t");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.front().offset, 8);
}

TEST(LogStartTest, StewardDeletesOnlySegmentsWhollyBelowIt) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 60);
  const std::vector<int64_t> before = SegmentBases(tmp.path(), "t");
  ASSERT_GE(before.size(), 5u);
  // Into the middle of the third segment: the first two go, the third stays.
  const int64_t lso = before[2] + 1;
  ASSERT_LT(lso, before[3]);
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, lso).ok());
  EXPECT_EQ(SegmentBases(tmp.path(), "t"), before);  // nothing freed before the steward
  const int64_t bytes_before = log->DescribeTopic("t")->partitions[0].bytes;
  ASSERT_TRUE(log->RunSteward().ok());
  std::vector<int64_t> after = SegmentBases(tmp.path(), "t");
  EXPECT_EQ(after, std::vector<int64_t>(before.begin() + 2, before.end()));
  auto info = log->DescribeTopic("t");
  EXPECT_LT(info->partitions[0].bytes, bytes_before);
  EXPECT_EQ(info->partitions[0].start_offset, lso);
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, lso);

  // Exactly at a segment boundary: the segment below it goes too.
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, before[3]).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  EXPECT_EQ(SegmentBases(tmp.path(), "t").front(), before[3]);

  // Everything: the active segment always stays.
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, 60).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  EXPECT_EQ(SegmentBases(tmp.path(), "t"), std::vector<int64_t>{before.back()});
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 60);

  auto report = storage::VerifyDirectory(Env::Default(), tmp.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean()) << report->damage.front().problem;
}

TEST(LogStartTest, CompactionLeavesTheStartAlone) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c = SmallSegments();
  c.compact = true;
  c.delete_retention_ms = 0;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  std::string v(500, 'k');
  for (int i = 0; i < 60; ++i) {
    RecordView r = ValueView(v);
    std::string key = "k" + std::to_string(i % 3);
    r.key = key;
    ASSERT_TRUE((*p)->Append(0, r).ok());
  }
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, 20).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  auto all = ReadAll(log.get(), "t");
  ASSERT_FALSE(all.empty());
  EXPECT_GE(all.front().offset, 20);
  EXPECT_EQ(all.back().offset, 59);
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 20);
}

TEST(LogStartTest, RetentionPastTheLogStartIsReportedAndItNeverGoesBack) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c = SmallSegments();
  c.retention_bytes = 8192;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  Fill(log.get(), "t", 60);
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, 3).ok());
  ASSERT_TRUE(log->RunSteward().ok());
  const int64_t start = log->DescribeTopic("t")->partitions[0].start_offset;
  EXPECT_GT(start, 3);  // retention went further
  auto again = log->DeleteRecordsBefore("t", 0, 5);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, start);
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, start);
}

TEST(LogStartTest, ADamagedFileHidesNothingAndVerifyReportsIt) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 10);
  ASSERT_TRUE(log->DeleteRecordsBefore("t", 0, 4).ok());
  const std::string file =
      storage::PartitionDir(storage::TopicDir(tmp.path(), "t"), 0) + "/log_start";
  {
    auto f = Env::Default()->OpenFile(file, OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(9, "\x7f").ok());
  }
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, 0);
  auto report = storage::VerifyDirectory(Env::Default(), tmp.path());
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->damage.size(), 1u);
  EXPECT_EQ(report->damage[0].file, file);
  // Raising it again repairs the file.
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 6), 6);
  EXPECT_TRUE(storage::VerifyDirectory(Env::Default(), tmp.path())->clean());
}

TEST(LogStartTest, FileFormatRoundTripsAndRejectsDamage) {
  int64_t v = -1;
  std::string enc = storage::EncodeLogStart(1234567890123);
  ASSERT_EQ(enc.size(), storage::kLogStartSize);
  EXPECT_EQ(enc.substr(0, 4), "RNLS");
  ASSERT_TRUE(storage::DecodeLogStart(enc, &v).ok());
  EXPECT_EQ(v, 1234567890123);
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] ^= 0x10;
    EXPECT_TRUE(storage::DecodeLogStart(bad, &v).Is(StatusCode::kCorruption)) << i;
  }
  EXPECT_TRUE(storage::DecodeLogStart(enc.substr(0, 19), &v).Is(StatusCode::kCorruption));
}

TEST(LogStartTest, SurvivesPowerLoss) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  {
    auto log = std::move(*Log::Open(tmp.path(), options));
    TopicConfig c = SmallSegments();
    c.fsync.policy = FsyncPolicy::kAlways;
    ASSERT_TRUE(log->CreateTopic("t", c).ok());
    Fill(log.get(), "t", 30);
    ASSERT_EQ(*log->DeleteRecordsBefore("t", 0, 12), 12);
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto log = std::move(*Log::Open(tmp.path(), options));
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 12);
  auto all = ReadAll(log.get(), "t");
  ASSERT_EQ(all.size(), 18u);
  EXPECT_EQ(all.front().offset, 12);
  EXPECT_TRUE(storage::VerifyDirectory(&env, tmp.path())->clean());
}

TEST(LogStartTest, AFailedSyncLeavesTheOldStartAndARetryWorks) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  auto log = std::move(*Log::Open(tmp.path(), options));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 20);
  ASSERT_EQ(*log->DeleteRecordsBefore("t", 0, 5), 5);
  env.SetSyncError(StatusCode::kIoError);
  auto failed = log->DeleteRecordsBefore("t", 0, 9);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().Is(StatusCode::kIoError)) << failed.status().ToString();
  env.ClearErrors();
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 5);
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, 5);
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 9), 9);
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, 9);
}

// Under fsync=never the log may lose records that the (synced) log start
// already passed: the offsets are assigned again and the new records must
// not be hidden.
TEST(LogStartTest, ALogThatLostItsTailLowersItSoNewRecordsAreSeen) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  {
    auto log = std::move(*Log::Open(tmp.path(), options));
    ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());  // fsync never
    Fill(log.get(), "t", 30);
    ASSERT_EQ(*log->DeleteRecordsBefore("t", 0, 30), 30);  // everything
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto log = std::move(*Log::Open(tmp.path(), options));
  auto info = log->DescribeTopic("t");
  ASSERT_TRUE(info.ok());
  const int64_t end = info->partitions[0].end_offset;
  ASSERT_LT(end, 30);  // at least the active segment's appends were never synced
  EXPECT_EQ(info->partitions[0].start_offset, end);
  Fill(log.get(), "t", 5);  // the writer's first load notices
  auto all = ReadAll(log.get(), "t");
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().offset, end);
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, end);
}

// The other process: this test binary run again (a fresh exec, not a fork
// of a process with threads) with only the helper below selected.
constexpr char kChildDirEnv[] = "RUNNEL_LOG_START_CHILD_DIR";

TEST(LogStartTest, ChildProcessHelper) {
  const char* dir = std::getenv(kChildDirEnv);
  if (dir == nullptr) GTEST_SKIP() << "only run as the child of AnotherProcessRaisesIt...";
  auto log = Log::Open(dir);
  ASSERT_TRUE(log.ok());
  auto r = (*log)->DeleteRecordsBefore("t", 0, 17);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(*r, 17);
}

int RunChild(const std::string& dir) {
  std::string self(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  if (n <= 0) return -1;
  self.resize(static_cast<size_t>(n));
  std::string filter = "--gtest_filter=LogStartTest.ChildProcessHelper";
  std::string env_dir = std::string(kChildDirEnv) + "=" + dir;
  std::vector<char*> argv = {self.data(), filter.data(), nullptr};
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(env_dir.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(LogStartTest, AnotherProcessRaisesItAndReadersHereSeeIt) {
  TempDir tmp;
  {
    auto log = std::move(*Log::Open(tmp.path()));
    ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
    Fill(log.get(), "t", 40);
  }
  // A reader and a writer open here before the other process moves the start.
  auto log = std::move(*Log::Open(tmp.path()));
  auto early = log->NewReader("t", 0, StartPosition::Earliest());
  ASSERT_TRUE(early.ok());
  ASSERT_EQ((*early)->position(), 0);
  Fill(log.get(), "t", 1);

  ASSERT_EQ(RunChild(tmp.path()), 0);

  EXPECT_EQ((*early)->Offsets()->start_offset, 17);
  ASSERT_TRUE((*early)->Seek(StartPosition::Earliest()).ok());
  EXPECT_EQ((*early)->position(), 17);
  EXPECT_EQ(ReadAll(log.get(), "t").front().offset, 17);
  EXPECT_EQ(log->DescribeTopic("t")->partitions[0].start_offset, 17);
  // This process's writer agrees, and appends go on after it.
  EXPECT_EQ(*log->DeleteRecordsBefore("t", 0, 2), 17);
  Fill(log.get(), "t", 1);
  ASSERT_TRUE(log->RunSteward().ok());
  auto all = ReadAll(log.get(), "t");
  EXPECT_EQ(all.front().offset, 17);
  EXPECT_EQ(all.back().offset, 41);
}

}  // namespace
}  // namespace runnel
