// The embedded engine through its public API: topics, append, read, poll,
// several writers, rolling, seeking, recovery of damaged tails.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "runnel/log.h"
#include "storage/data_dir.h"
#include "storage/test_util.h"

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

TopicConfig SmallSegments(int64_t bytes = 4096) {
  TopicConfig c;
  c.segment_bytes = bytes;
  c.fsync.policy = FsyncPolicy::kNever;
  return c;
}

std::unique_ptr<Log> OpenOrDie(const std::string& dir, Options options = {}) {
  auto log = Log::Open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

TEST(LogTest, AppendedRecordsReadBackInOrderWithDenseOffsets) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  auto producer = log->NewProducer("t");
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 100; ++i) {
    std::string v = "value-" + std::to_string(i);
    auto offset = (*producer)->Append(0, ValueView(v));
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    EXPECT_EQ(*offset, i);
  }
  auto records = ReadAll(log.get(), "t");
  ASSERT_EQ(records.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(records[i].offset, i);
    EXPECT_EQ(*records[i].value, "value-" + std::to_string(i));
  }
}

TEST(LogTest, BatchAppendReturnsFirstOffsetAndKeepsOffsetsConsecutive) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  auto producer = log->NewProducer("auto-created");
  ASSERT_TRUE(producer.ok());
  std::vector<std::string> values(50, std::string(100, 'x'));
  std::vector<RecordView> views;
  for (auto& v : values) views.push_back(ValueView(v));
  EXPECT_EQ(*(*producer)->Append(0, views), 0);
  EXPECT_EQ(*(*producer)->Append(0, views), 50);
  EXPECT_EQ(ReadAll(log.get(), "auto-created").size(), 100u);
}

TEST(LogTest, BatchesLargerThanTheMessageLimitAreSplitButStayConsecutive) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  TopicConfig c;
  c.max_message_bytes = 1000;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto producer = log->NewProducer("t");
  std::vector<std::string> values(40, std::string(100, 'y'));
  std::vector<RecordView> views;
  for (auto& v : values) views.push_back(ValueView(v));
  EXPECT_EQ(*(*producer)->Append(0, views), 0);
  auto records = ReadAll(log.get(), "t");
  ASSERT_EQ(records.size(), 40u);
  EXPECT_EQ(records.back().offset, 39);
}

TEST(LogTest, OversizedRecordIsRejectedAndNothingIsAppended) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  TopicConfig c;
  c.max_message_bytes = 1000;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto producer = log->NewProducer("t");
  std::string small = "ok", big(2000, 'z');
  std::vector<RecordView> views = {ValueView(small), ValueView(big)};
  auto r = (*producer)->Append(0, views);
  EXPECT_TRUE(r.status().Is(StatusCode::kTooLarge)) << r.status().ToString();
  EXPECT_NE(r.status().message().find("record 1"), std::string::npos);
  EXPECT_TRUE(ReadAll(log.get(), "t").empty());
}

TEST(LogTest, TopicAdministrationRoundTrips) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  TopicConfig c;
  c.partitions = 3;
  c.retention_ms = 60000;
  c.compact = true;
  c.fsync = *FsyncSpec::Parse("interval:250");
  ASSERT_TRUE(log->CreateTopic("a/b c", c).ok());
  EXPECT_TRUE(log->CreateTopic("a/b c", c).Is(StatusCode::kAlreadyExists));
  auto info = log->DescribeTopic("a/b c");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->config, c);
  EXPECT_EQ(info->partitions.size(), 3u);
  // A second Log on the same directory (as another process would) sees it.
  auto other = OpenOrDie(tmp.path());
  auto list = other->ListTopics();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "a/b c");
  ASSERT_TRUE(other->DeleteTopic("a/b c").ok());
  EXPECT_TRUE(log->DescribeTopic("a/b c").status().Is(StatusCode::kNotFound));
  EXPECT_TRUE(log->DeleteTopic("a/b c").Is(StatusCode::kNotFound));
}

TEST(LogTest, TopicNamesAreValidatedAndAnyBytesAreStoredSafely) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  EXPECT_TRUE(log->CreateTopic("", {}).Is(StatusCode::kInvalidArgument));
  EXPECT_TRUE(log->CreateTopic(std::string(1025, 'n'), {}).Is(StatusCode::kTooLarge));
  EXPECT_TRUE(log->CreateTopic(std::string("a\0b", 3), {}).Is(StatusCode::kInvalidArgument));
  for (std::string name : {std::string(".."), std::string("."), std::string("../../etc"),
                           std::string("\xff\xfe"), std::string(1024, '%'), std::string("x/y")}) {
    ASSERT_TRUE(log->CreateTopic(name, {}).ok()) << name;
    auto p = log->NewProducer(name, false);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->Append(0, ValueView(name)).ok());
    auto records = ReadAll(log.get(), name);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(*records[0].value, name);
  }
  EXPECT_EQ(log->ListTopics()->size(), 6u);
}

TEST(LogTest, AWriterThatDiedRightAfterRollingDoesNotSplitTheOffsets) {
  // Another process rolled (created the next segment's empty files at the
  // published end) and was killed before publishing anything: the
  // generation did not move. This writer must append into that segment,
  // not go on in its old one.
  using storage::SegmentFileKind;
  using storage::SegmentPath;
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  auto producer = log->NewProducer("t");
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*producer)->Append(0, ValueView("before")).ok());
  const std::string pdir = storage::PartitionDir(storage::TopicDir(tmp.path(), "t"), 0);
  for (auto kind : {SegmentFileKind::kLog, SegmentFileKind::kIndex, SegmentFileKind::kTimeIndex}) {
    std::ofstream(SegmentPath(pdir, 10, kind));
  }
  // Enough to roll again: readers then cross from segment 0 to 10 to the next.
  const std::string value(100, 'a');
  for (int i = 0; i < 200; ++i) {
    auto offset = (*producer)->Append(0, ValueView(value));
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    EXPECT_EQ(*offset, 10 + i);
  }
  std::ifstream after(SegmentPath(pdir, 10, SegmentFileKind::kLog), std::ios::ate);
  EXPECT_GT(static_cast<int64_t>(after.tellg()), 0);  // the records went into the new segment
  auto fresh = OpenOrDie(tmp.path());  // as another process reads it
  auto records = ReadAll(fresh.get(), "t");
  ASSERT_EQ(records.size(), 210u);
  for (int i = 0; i < 210; ++i) {
    EXPECT_EQ(records[i].offset, i);
    EXPECT_EQ(*records[i].value, i < 10 ? std::string("before") : value);
  }
}

TEST(LogTest, DirectoryThatIsNotARunnelDirectoryIsRefused) {
  TempDir tmp;
  std::ofstream(tmp.Sub("precious.txt")) << "data";
  auto log = Log::Open(tmp.path());
  EXPECT_TRUE(log.status().Is(StatusCode::kInvalidArgument)) << log.status().ToString();
  EXPECT_NE(log.status().message().find("not a runnel data directory"), std::string::npos);
  Options o;
  o.create_if_missing = false;
  EXPECT_TRUE(Log::Open(tmp.Sub("missing"), o).status().Is(StatusCode::kNotFound));
}

TEST(LogTest, SegmentsRollAndReadersCrossThem) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  auto producer = log->NewProducer("t");
  std::string v(300, 'v');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE((*producer)->Append(0, ValueView(v)).ok());
  auto info = log->DescribeTopic("t");
  EXPECT_GT(info->partitions[0].segments, 10);
  EXPECT_EQ(info->partitions[0].end_offset, 200);
  auto records = ReadAll(log.get(), "t");
  ASSERT_EQ(records.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(records[i].offset, i);
  // Seeking into the middle of a later segment goes through the index.
  auto from = ReadAll(log.get(), "t", 0, StartPosition::Offset(137));
  ASSERT_EQ(from.size(), 63u);
  EXPECT_EQ(from[0].offset, 137);
}

TEST(LogTest, ReaderStartsAtLatestOrAtATimestamp) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  auto producer = log->NewProducer("t");
  std::string v(200, 'v');
  for (int i = 0; i < 100; ++i) {
    RecordView r = ValueView(v);
    r.timestamp_ms = 1000000 + i * 10;
    ASSERT_TRUE((*producer)->Append(0, r).ok());
  }
  EXPECT_TRUE(ReadAll(log.get(), "t", 0, StartPosition::Latest()).empty());
  auto at = ReadAll(log.get(), "t", 0, StartPosition::Timestamp(1000000 + 555));
  ASSERT_EQ(at.size(), 44u);
  EXPECT_EQ(at[0].offset, 56);
  EXPECT_TRUE(ReadAll(log.get(), "t", 0, StartPosition::Timestamp(2000000)).empty());
  EXPECT_EQ(ReadAll(log.get(), "t", 0, StartPosition::Timestamp(0)).size(), 100u);
}

TEST(LogTest, PollWakesWhenAnotherLogInstanceAppends) {
  TempDir tmp;
  auto writer_log = OpenOrDie(tmp.path());
  ASSERT_TRUE(writer_log->CreateTopic("t", {}).ok());
  auto reader_log = OpenOrDie(tmp.path());
  auto reader = reader_log->NewReader("t", 0, StartPosition::Earliest());
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->Poll(std::chrono::milliseconds(50)).Is(StatusCode::kTimedOut));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto p = writer_log->NewProducer("t");
    ASSERT_TRUE((*p)->Append(0, ValueView("wake")).ok());
  });
  auto start = std::chrono::steady_clock::now();
  Status st = (*reader)->Poll(std::chrono::seconds(10));
  auto waited = std::chrono::steady_clock::now() - start;
  t.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(waited, std::chrono::seconds(5));
  auto batch = (*reader)->Read(1 << 20);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ(*(*batch)[0].value, "wake");
}

TEST(LogTest, TwoWritersInterleaveWithoutLosingOrDuplicatingOffsets) {
  TempDir tmp;
  auto a = OpenOrDie(tmp.path());
  ASSERT_TRUE(a->CreateTopic("t", SmallSegments(16384)).ok());
  auto b = OpenOrDie(tmp.path());
  auto pa = a->NewProducer("t");
  auto pb = b->NewProducer("t");
  auto run = [](Producer* p, const std::string& tag, std::vector<int64_t>* offsets) {
    for (int i = 0; i < 300; ++i) {
      std::string v = tag + std::to_string(i);
      auto o = p->Append(0, ValueView(v));
      ASSERT_TRUE(o.ok()) << o.status().ToString();
      offsets->push_back(*o);
    }
  };
  std::vector<int64_t> oa, ob;
  std::thread ta(run, pa->get(), "a", &oa), tb(run, pb->get(), "b", &ob);
  ta.join();
  tb.join();
  auto records = ReadAll(a.get(), "t");
  ASSERT_EQ(records.size(), 600u);
  for (int i = 0; i < 600; ++i) EXPECT_EQ(records[i].offset, i);
  for (size_t i = 0; i < oa.size(); ++i) {
    EXPECT_EQ(*records[oa[i]].value, "a" + std::to_string(i));
    EXPECT_EQ(*records[ob[i]].value, "b" + std::to_string(i));
  }
}

TEST(LogTest, TornTailIsTruncatedOnReopenAndOffsetsContinue) {
  TempDir tmp;
  std::string log_path;
  {
    auto log = OpenOrDie(tmp.path());
    auto p = log->NewProducer("t");
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*p)->Append(0, ValueView("r")).ok());
    log_path = storage::SegmentPath(storage::PartitionDir(storage::TopicDir(tmp.path(), "t"), 0),
                                    0, storage::SegmentFileKind::kLog);
  }
  // Half a batch at the end, as a crash mid-write leaves it.
  {
    std::ofstream f(log_path, std::ios::app | std::ios::binary);
    std::string junk(40, '\0');
    junk[16] = 2;
    f << junk;
  }
  auto log = OpenOrDie(tmp.path());
  EXPECT_EQ(ReadAll(log.get(), "t").size(), 10u);
  auto p = log->NewProducer("t");
  EXPECT_EQ(*(*p)->Append(0, ValueView("after")), 10);
  auto records = ReadAll(log.get(), "t");
  ASSERT_EQ(records.size(), 11u);
  EXPECT_EQ(*records[10].value, "after");
}

TEST(LogTest, AsyncAppendsCompleteInOrder) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  TopicConfig c;
  c.fsync.policy = FsyncPolicy::kAlways;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  std::mutex mu;
  std::vector<int64_t> got;
  std::string v = "x";
  for (int i = 0; i < 500; ++i) {
    RecordView r = ValueView(v);
    (*p)->AppendAsync(0, std::span<const RecordView>(&r, 1), [&](Result<int64_t> o) {
      std::lock_guard l(mu);
      got.push_back(o.ok() ? *o : -1);
    });
  }
  ASSERT_TRUE((*p)->Flush().ok());
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], i);
}

TEST(LogTest, KeyedRecordsGoToTheSamePartition) {
  TempDir tmp;
  auto log = OpenOrDie(tmp.path());
  TopicConfig c;
  c.partitions = 4;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  auto p = log->NewProducer("t");
  for (int i = 0; i < 20; ++i) {
    RecordView r = ValueView("v");
    r.key = "same-key";
    ASSERT_TRUE((*p)->Append(-1, r).ok());
  }
  int non_empty = 0;
  for (int part = 0; part < 4; ++part) non_empty += !ReadAll(log.get(), "t", part).empty();
  EXPECT_EQ(non_empty, 1);
  EXPECT_TRUE((*p)->Append(7, ValueView("v")).status().Is(StatusCode::kNotFound));
}

}  // namespace
}  // namespace runnel
