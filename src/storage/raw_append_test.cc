// Producer::AppendRawAsync and Reader::ReadRawInto: Kafka batches stored as
// they arrived (only the base offset rewritten) and read back untouched;
// the append listener that wakes long-polling readers.
#include "storage/batch_format.h"
#include "storage/data_dir.h"
#include "storage/test_util.h"
#include "util/crc32c.h"

#include "runnel/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>

namespace runnel {
namespace {

using storage::BatchHeader;
using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A producer's batch: base offset 0, as a Kafka client sends it. (A
// timestamp older than segment_ms would roll a segment per commit.)
std::string ClientBatch(std::vector<std::string> values, int64_t ts = NowMs()) {
  std::vector<RecordView> views;
  for (auto& v : values) {
    RecordView r = ValueView(v);
    r.timestamp_ms = ts;
    views.push_back(r);
  }
  std::string out;
  storage::EncodeBatch(0, views, ts, &out);
  return out;
}

Result<int64_t> AppendRaw(Producer* p, int32_t partition, std::string batch) {
  std::promise<Result<int64_t>> done;
  auto f = done.get_future();
  p->AppendRawAsync(partition, std::move(batch),
                    [&done](Result<int64_t> r) { done.set_value(std::move(r)); });
  return f.get();
}

std::unique_ptr<Log> Open(const std::string& dir) {
  auto log = Log::Open(dir, {});
  EXPECT_TRUE(log.ok());
  return std::move(*log);
}

TEST(RawAppendTest, BatchesGetConsecutiveBaseOffsetsAndReadBackAsRecords) {
  TempDir tmp;
  auto log = Open(tmp.path());
  auto producer = log->NewProducer("k");
  ASSERT_TRUE(producer.ok());
  EXPECT_EQ(*AppendRaw(producer->get(), 0, ClientBatch({"a", "b", "c"})), 0);
  EXPECT_EQ(*(*producer)->Append(0, ValueView("d")), 3);
  EXPECT_EQ(*AppendRaw(producer->get(), 0, ClientBatch({"e"})), 4);
  auto records = ReadAll(log.get(), "k");
  ASSERT_EQ(records.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(records[i].offset, i);
    EXPECT_EQ(*records[i].value, std::string(1, static_cast<char>('a' + i)));
  }
}

TEST(RawAppendTest, ReadRawReturnsTheStoredBytesWithOnlyTheBaseOffsetChanged) {
  TempDir tmp;
  auto log = Open(tmp.path());
  auto producer = log->NewProducer("k");
  const std::string first = ClientBatch({"x", "y"});
  const std::string second = ClientBatch({"z"});
  ASSERT_TRUE(AppendRaw(producer->get(), 0, first).ok());
  ASSERT_TRUE(AppendRaw(producer->get(), 0, second).ok());
  auto reader = log->NewReader("k", 0, StartPosition::Earliest());
  ASSERT_TRUE(reader.ok());
  std::string out;
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1 << 20).ok());
  ASSERT_EQ(out.size(), first.size() + second.size());
  EXPECT_EQ(out.substr(8, first.size() - 8), first.substr(8));  // all but the base offset
  BatchHeader h;
  ASSERT_TRUE(storage::ParseBatchHeader(out.substr(first.size()), &h).ok());
  EXPECT_EQ(h.base_offset, 2);
  EXPECT_EQ((*reader)->position(), 3);
  out.clear();
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1 << 20).ok());
  EXPECT_TRUE(out.empty());  // caught up
  auto offsets = (*reader)->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->start_offset, 0);
  EXPECT_EQ(offsets->end_offset, 3);
}

TEST(RawAppendTest, ReadRawStartsAtTheBatchHoldingThePositionAndHonoursMaxBytes) {
  TempDir tmp;
  auto log = Open(tmp.path());
  auto producer = log->NewProducer("k");
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(AppendRaw(producer->get(), 0, ClientBatch({"1", "2", "3"})).ok());
  }
  auto reader = log->NewReader("k", 0, StartPosition::Offset(4));  // inside batch 1 (3..5)
  std::string out;
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1).ok());  // at least one batch
  BatchHeader h;
  ASSERT_TRUE(storage::ParseBatchHeader(out, &h).ok());
  EXPECT_EQ(h.base_offset, 3);
  EXPECT_EQ(out.size(), h.total_size());
  out.clear();
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1, /*at_least_one=*/false).ok());
  EXPECT_TRUE(out.empty());  // the next batch does not fit
  EXPECT_EQ((*reader)->position(), 6);
}

TEST(RawAppendTest, BadBatchesAreRefusedAndNothingIsAppended) {
  TempDir tmp;
  auto log = Open(tmp.path());
  auto producer = log->NewProducer("k");
  std::string bad_crc = ClientBatch({"a"});
  bad_crc.back() ^= 1;
  EXPECT_TRUE(AppendRaw(producer->get(), 0, bad_crc).status().Is(StatusCode::kCorruption));
  std::string short_batch = ClientBatch({"a"}).substr(0, 40);
  EXPECT_TRUE(AppendRaw(producer->get(), 0, short_batch).status().Is(StatusCode::kCorruption));
  std::string two = ClientBatch({"a"}) + ClientBatch({"b"});
  EXPECT_TRUE(AppendRaw(producer->get(), 0, two).status().Is(StatusCode::kCorruption));
  std::string magic1 = ClientBatch({"a"});
  magic1[16] = 1;
  EXPECT_TRUE(AppendRaw(producer->get(), 0, magic1).status().Is(StatusCode::kInvalidArgument));
  // A record count that disagrees with last_offset_delta (CRC recomputed).
  std::string count = ClientBatch({"a", "b"});
  count[57 + 3] = 3;
  uint32_t crc = crc32c::Value(count.data() + 21, count.size() - 21);
  for (int i = 0; i < 4; ++i) count[17 + i] = static_cast<char>(crc >> (24 - 8 * i));
  EXPECT_TRUE(AppendRaw(producer->get(), 0, count).status().Is(StatusCode::kInvalidArgument));
  EXPECT_TRUE(AppendRaw(producer->get(), 5, ClientBatch({"a"})).status().Is(StatusCode::kNotFound));
  std::string big = ClientBatch({std::string(kDefaultMaxMessageBytes + 100, 'x')});
  EXPECT_TRUE(AppendRaw(producer->get(), 0, big).status().Is(StatusCode::kTooLarge));
  EXPECT_TRUE(ReadAll(log.get(), "k").empty());
}

TEST(RawAppendTest, AppendListenerHearsEveryKindOfAppend) {
  TempDir tmp;
  auto log = Open(tmp.path());
  std::atomic<int> heard{0};
  log->SetAppendListener([&heard](std::string_view topic, int32_t partition) {
    if (topic == "k" && partition == 0) heard++;
  });
  auto producer = log->NewProducer("k");
  ASSERT_TRUE((*producer)->Append(0, ValueView("a")).ok());
  ASSERT_TRUE(AppendRaw(producer->get(), 0, ClientBatch({"b"})).ok());
  EXPECT_EQ(heard.load(), 2);
  log->SetAppendListener(nullptr);
  ASSERT_TRUE((*producer)->Append(0, ValueView("c")).ok());
  EXPECT_EQ(heard.load(), 2);
}

TEST(RawAppendTest, ReadRawCrossesSegmentRolls) {
  TempDir tmp;
  auto log = Open(tmp.path());
  TopicConfig c;
  c.segment_bytes = 4096;
  c.fsync.policy = FsyncPolicy::kNever;
  ASSERT_TRUE(log->CreateTopic("k", c).ok());
  auto producer = log->NewProducer("k");
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(AppendRaw(producer->get(), 0, ClientBatch({std::string(200, 'a' + i % 26)})).ok());
  }
  auto reader = log->NewReader("k", 0, StartPosition::Earliest());
  std::string out;
  int64_t expect = 0;
  for (;;) {
    out.clear();
    ASSERT_TRUE((*reader)->ReadRawInto(&out, 1000).ok());
    if (out.empty()) break;
    for (size_t at = 0; at < out.size();) {
      BatchHeader h;
      ASSERT_TRUE(storage::ParseBatchHeader(std::string_view(out).substr(at), &h).ok());
      EXPECT_EQ(h.base_offset, expect++);
      at += h.total_size();
    }
  }
  EXPECT_EQ(expect, 60);
}

TEST(RawAppendTest, DamageIsReportedOnceAndReadingContinuesAfterIt) {
  TempDir tmp;
  std::string batch = ClientBatch({std::string(100, 'x')});
  {
    auto log = Open(tmp.path());
    auto producer = log->NewProducer("k");
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendRaw(producer->get(), 0, batch).ok());
  }
  // Flip a byte inside the second batch's records: its CRC no longer matches.
  const std::string path =
      storage::SegmentPath(storage::PartitionDir(storage::TopicDir(tmp.path(), "k"), 0), 0,
                           storage::SegmentFileKind::kLog);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekp(static_cast<std::streamoff>(batch.size() + 80));
    f.put('!');
  }
  auto log = Open(tmp.path());
  auto reader = log->NewReader("k", 0, StartPosition::Earliest());
  std::string out;
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1 << 20).ok());
  EXPECT_EQ(out.size(), batch.size());  // the good batch before the damage
  out.clear();
  Status st = (*reader)->ReadRawInto(&out, 1 << 20);
  EXPECT_TRUE(st.Is(StatusCode::kCorruption)) << st.ToString();
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE((*reader)->ReadRawInto(&out, 1 << 20).ok());
  BatchHeader h;
  ASSERT_TRUE(storage::ParseBatchHeader(out, &h).ok());
  EXPECT_EQ(h.base_offset, 2);
}

}  // namespace
}  // namespace runnel
