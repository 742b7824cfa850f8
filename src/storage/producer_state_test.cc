// ProducerStateTable's sequence rules (Kafka's ProducerStateManager), its
// snapshot format, and the idempotent append path through the Log: a
// duplicate gets the original offset and is stored once, also after a
// clean reopen (snapshot) and after a crash (rebuild from the log).
#include "storage/producer_state.h"

#include "storage/batch_format.h"
#include "storage/data_dir.h"
#include "storage/test_util.h"
#include "util/bytes.h"
#include "util/crc32c.h"

#include "runnel/log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <future>

namespace runnel::storage {
namespace {

using V = ProducerStateTable::Verdict;
using testing::ReadAll;
using testing::TempDir;

ProducerBatch B(int64_t id, int16_t epoch, int32_t first, int32_t count = 1) {
  BatchHeader h;
  h.producer_id = id;
  h.producer_epoch = epoch;
  h.base_sequence = first;
  h.last_offset_delta = count - 1;
  return ProducerBatch::From(h);
}

TEST(ProducerStateTest, UnknownProducerMustStartAtSequenceZero) {
  ProducerStateTable t;
  EXPECT_EQ(t.Check(B(1, 0, 0)).verdict, V::kAppend);
  EXPECT_EQ(t.Check(B(1, 0, 5)).verdict, V::kUnknownProducer);
  EXPECT_TRUE(ProducerStateTable::ToStatus(t.Check(B(1, 0, 5)), B(1, 0, 5))
                  .Is(StatusCode::kUnknownProducer));
}

TEST(ProducerStateTest, InSequenceAppendsAndGapsAreOutOfOrder) {
  ProducerStateTable t;
  t.Record(B(1, 0, 0, 3), 100);  // sequences 0..2
  EXPECT_EQ(t.Check(B(1, 0, 3)).verdict, V::kAppend);
  EXPECT_EQ(t.Check(B(1, 0, 4)).verdict, V::kOutOfOrder);
  EXPECT_EQ(t.Check(B(1, 0, 1)).verdict, V::kOutOfOrder);  // overlaps, not a cached batch
  EXPECT_TRUE(ProducerStateTable::ToStatus(t.Check(B(1, 0, 4)), B(1, 0, 4))
                  .Is(StatusCode::kOutOfOrderSequence));
}

TEST(ProducerStateTest, DuplicateOfOneOfTheLastFiveGetsItsOffset) {
  ProducerStateTable t;
  for (int i = 0; i < 7; ++i) t.Record(B(1, 0, i * 2, 2), 1000 + i * 2);
  // Batches 2..6 are cached; 0 and 1 have been forgotten.
  for (int i = 2; i < 7; ++i) {
    auto d = t.Check(B(1, 0, i * 2, 2));
    EXPECT_EQ(d.verdict, V::kDuplicate) << i;
    EXPECT_EQ(d.duplicate_offset, 1000 + i * 2);
  }
  EXPECT_EQ(t.Check(B(1, 0, 2, 2)).verdict, V::kOutOfOrder);
  // Same first sequence but another last one is not a duplicate.
  EXPECT_EQ(t.Check(B(1, 0, 12, 1)).verdict, V::kOutOfOrder);
}

TEST(ProducerStateTest, EpochRules) {
  ProducerStateTable t;
  t.Record(B(1, 3, 0, 1), 10);
  EXPECT_EQ(t.Check(B(1, 2, 1)).verdict, V::kStaleEpoch);
  EXPECT_TRUE(ProducerStateTable::ToStatus(t.Check(B(1, 2, 1)), B(1, 2, 1))
                  .Is(StatusCode::kStaleEpoch));
  EXPECT_EQ(t.Check(B(1, 4, 0)).verdict, V::kAppend);      // a new epoch restarts at 0
  EXPECT_EQ(t.Check(B(1, 4, 1)).verdict, V::kOutOfOrder);  // ... and only at 0
  t.Record(B(1, 4, 0), 11);
  EXPECT_EQ(t.Check(B(1, 3, 1)).verdict, V::kStaleEpoch);
  EXPECT_EQ(t.Check(B(1, 4, 0)).verdict, V::kDuplicate);
}

TEST(ProducerStateTest, SequencesWrapAtInt32Max) {
  ProducerStateTable t;
  t.Record(B(1, 0, 0), 0);
  ProducerBatch wrap = B(1, 0, INT32_MAX - 1, 3);  // INT32_MAX-1, INT32_MAX, 0
  EXPECT_EQ(wrap.last_seq, 0);
  t.Put(1, ProducerStateTable::Entry{0, {{INT32_MAX - 3, INT32_MAX - 2, 5}}, 5});
  EXPECT_EQ(t.Check(wrap).verdict, V::kAppend);
  t.Record(wrap, 6);
  EXPECT_EQ(t.Check(B(1, 0, 1)).verdict, V::kAppend);
}

TEST(ProducerStateTest, ProducersAreIndependentAndBounded) {
  ProducerStateTable t;
  t.Record(B(1, 0, 0), 0);
  EXPECT_EQ(t.Check(B(2, 0, 0)).verdict, V::kAppend);
  for (int64_t id = 10; id < 10 + static_cast<int64_t>(ProducerStateTable::kMaxProducers); ++id) {
    t.Record(B(id, 0, 0), id);
  }
  EXPECT_EQ(t.size(), ProducerStateTable::kMaxProducers);
  EXPECT_FALSE(t.Get(1).has_value());  // the least recently appended was forgotten
}

TEST(ProducerStateTest, SnapshotRoundTripsAndRejectsDamage) {
  ProducerStateTable t;
  for (int i = 0; i < 7; ++i) t.Record(B(7, 2, i, 1), 50 + i);
  t.Record(B(9, 0, 0, 4), 70);
  t.set_end_offset(74);
  std::string bytes = t.Encode();
  ProducerStateTable u;
  ASSERT_TRUE(u.Decode(bytes).ok());
  EXPECT_EQ(u.end_offset(), 74);
  EXPECT_EQ(u.Check(B(7, 2, 6)).duplicate_offset, 56);
  EXPECT_EQ(u.Check(B(9, 0, 0, 4)).duplicate_offset, 70);
  EXPECT_EQ(u.Check(B(9, 0, 4)).verdict, V::kAppend);
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    EXPECT_FALSE(u.Decode(bytes.substr(0, cut)).ok()) << cut;
  }
  std::string flipped = bytes;
  flipped[20] ^= 1;
  EXPECT_TRUE(u.Decode(flipped).Is(StatusCode::kCorruption));
  // A count that claims more producers than the bytes hold is refused
  // before anything is sized from it.
  std::string huge = bytes;
  PutBE32(huge.data() + 14, 0xFFFFFFFF);
  PutBE32(huge.data() + huge.size() - 4, crc32c::Value(huge.data(), huge.size() - 4));
  EXPECT_TRUE(u.Decode(huge).Is(StatusCode::kCorruption));
}

// ---- through the Log --------------------------------------------------------

std::string IdemBatch(std::vector<std::string> values, int64_t pid, int16_t epoch, int32_t seq) {
  std::vector<RecordView> views;
  for (auto& v : values) views.push_back(testing::ValueView(v));
  std::string out;
  // Now: an old timestamp would roll a segment per commit (segment_ms).
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EncodeBatch(0, views, now, &out);
  PutBE64(out.data() + 43, static_cast<uint64_t>(pid));
  PutBE16(out.data() + 51, static_cast<uint16_t>(epoch));
  PutBE32(out.data() + 53, static_cast<uint32_t>(seq));
  PutBE32(out.data() + kCrcOffset,
          crc32c::Value(out.data() + kAttributesOffset, out.size() - kAttributesOffset));
  return out;
}

Result<int64_t> AppendRaw(Producer* p, std::string batch) {
  std::promise<Result<int64_t>> done;
  auto f = done.get_future();
  p->AppendRawAsync(0, std::move(batch), [&done](Result<int64_t> r) { done.set_value(std::move(r)); });
  return f.get();
}

std::unique_ptr<Log> OpenLog(const std::string& dir) {
  auto log = Log::Open(dir, {});
  EXPECT_TRUE(log.ok());
  return std::move(*log);
}

TEST(IdempotentAppendTest, DuplicateIsAcknowledgedWithTheOriginalOffsetAndStoredOnce) {
  TempDir dir;
  auto log = OpenLog(dir.path());
  ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  auto p = log->NewProducer("t", false);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(AppendRaw(p->get(), IdemBatch({"plain"}, -1, -1, -1)).ok());
  auto a = AppendRaw(p->get(), IdemBatch({"a", "b"}, 42, 0, 0));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 1);
  auto again = AppendRaw(p->get(), IdemBatch({"a", "b"}, 42, 0, 0));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 1);
  EXPECT_TRUE(AppendRaw(p->get(), IdemBatch({"x"}, 42, 0, 5)).status().Is(
      StatusCode::kOutOfOrderSequence));
  EXPECT_TRUE(AppendRaw(p->get(), IdemBatch({"x"}, 43, 0, 1)).status().Is(
      StatusCode::kUnknownProducer));
  auto c = AppendRaw(p->get(), IdemBatch({"c"}, 42, 0, 2));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 3);
  EXPECT_EQ(ReadAll(log.get(), "t").size(), 4u);
}

TEST(IdempotentAppendTest, StateSurvivesACleanReopenAndACrash) {
  TempDir dir;
  {
    auto log = OpenLog(dir.path());
    ASSERT_TRUE(log->CreateTopic("t", {}).ok());
    auto p = log->NewProducer("t", false);
    ASSERT_TRUE(AppendRaw(p->get(), IdemBatch({"a"}, 7, 0, 0)).ok());
    ASSERT_TRUE(AppendRaw(p->get(), IdemBatch({"b"}, 7, 0, 1)).ok());
  }  // clean close: snapshot written
  const std::string snapshot = TopicDir(dir.path(), "t") + "/0/producer.state";
  EXPECT_TRUE(std::filesystem::exists(snapshot));
  const std::string old = snapshot + ".old";
  std::filesystem::copy_file(snapshot, old);
  {
    auto log = OpenLog(dir.path());
    auto p = log->NewProducer("t", false);
    auto dup = AppendRaw(p->get(), IdemBatch({"b"}, 7, 0, 1));
    ASSERT_TRUE(dup.ok());
    EXPECT_EQ(*dup, 1);
    ASSERT_TRUE(AppendRaw(p->get(), IdemBatch({"c"}, 7, 0, 2)).ok());
  }
  // A crash: the snapshot is older than the log (here: the one of the first
  // close) and the batches past it are read from the log.
  std::filesystem::rename(old, snapshot);
  {
    auto log = OpenLog(dir.path());
    auto p = log->NewProducer("t", false);
    auto dup = AppendRaw(p->get(), IdemBatch({"c"}, 7, 0, 2));
    ASSERT_TRUE(dup.ok());
    EXPECT_EQ(*dup, 2);
  }
  // No snapshot at all: the active segment is scanned.
  std::filesystem::remove(snapshot);
  {
    auto log = OpenLog(dir.path());
    auto p = log->NewProducer("t", false);
    auto dup = AppendRaw(p->get(), IdemBatch({"c"}, 7, 0, 2));
    ASSERT_TRUE(dup.ok());
    EXPECT_EQ(*dup, 2);
    EXPECT_TRUE(AppendRaw(p->get(), IdemBatch({"z"}, 7, 0, 9)).status().Is(
        StatusCode::kOutOfOrderSequence));
    EXPECT_EQ(ReadAll(log.get(), "t").size(), 3u);
  }
}

TEST(IdempotentAppendTest, AppendsOfAnotherWriterAreLearnedFromTheLog) {
  TempDir dir;
  auto a = OpenLog(dir.path());
  ASSERT_TRUE(a->CreateTopic("t", {}).ok());
  auto b = OpenLog(dir.path());  // as another process would
  auto pa = a->NewProducer("t", false);
  auto pb = b->NewProducer("t", false);
  ASSERT_TRUE(pa.ok() && pb.ok());
  ASSERT_EQ(*AppendRaw(pa->get(), IdemBatch({"a0"}, 5, 0, 0)), 0);
  ASSERT_EQ(*AppendRaw(pb->get(), IdemBatch({"plain"}, -1, -1, -1)), 1);
  // b continues producer 5's sequence: it learns seq 0 from the log.
  auto b1 = AppendRaw(pb->get(), IdemBatch({"b1"}, 5, 0, 1));
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  EXPECT_EQ(*b1, 2);
  // a catches up past its own last append (only the new batches are read).
  auto dup = AppendRaw(pa->get(), IdemBatch({"b1"}, 5, 0, 1));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(*dup, 2);
  EXPECT_TRUE(AppendRaw(pa->get(), IdemBatch({"x"}, 5, 0, 1 + 5)).status().Is(
      StatusCode::kOutOfOrderSequence));
  ASSERT_EQ(*AppendRaw(pa->get(), IdemBatch({"a2"}, 5, 0, 2)), 3);
  EXPECT_EQ(ReadAll(a.get(), "t").size(), 4u);
}

}  // namespace
}  // namespace runnel::storage
