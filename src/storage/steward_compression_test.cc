// Compaction and record purges of compressed batches (Log::RunSteward,
// Log::PurgeRecords): compressed records count for "newest offset per key"
// and are filtered like any others; a batch that loses records is rewritten
// with its codec, offset range and producer fields; an idempotent producer's
// newest batch keeps its header when every record goes; what does not
// decode stays whole.
#include "storage/batch_scanner.h"
#include "storage/batch_test_util.h"
#include "storage/data_dir.h"
#include "storage/segment_list.h"
#include "storage/test_util.h"
#include "storage/verify.h"
#include "util/env.h"

#include "runnel/log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace runnel::storage {
namespace {

using runnel::testing::ReadAll;
using runnel::testing::TempDir;
using testing::BatchFields;
using testing::CodecName;
using testing::MakeBatch;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One record as written, for the expected picture after the steward.
struct Written {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp_ms;
};

// One batch as written: what a rewrite must keep of it.
struct WrittenBatch {
  BatchFields fields;
  int32_t last_offset_delta;
  std::string bytes;  // as stored, base offset stamped
};

class Partition {
 public:
  explicit Partition(const TopicConfig& config) {
    auto log = Log::Open(tmp_.path(), {});
    EXPECT_TRUE(log.ok());
    log_ = std::move(*log);
    EXPECT_TRUE(log_->CreateTopic("t", config).ok());
    auto p = log_->NewProducer("t", false);
    EXPECT_TRUE(p.ok());
    producer_ = std::move(*p);
  }

  // Appends one client batch of (key, value, timestamp) records.
  int64_t Append(const std::vector<Written>& records, const BatchFields& f) {
    std::vector<RecordView> views;
    for (const Written& w : records) {
      RecordView r;
      r.key = w.key;
      r.value = w.value;
      r.timestamp_ms = w.timestamp_ms;
      views.push_back(r);
    }
    std::promise<Result<int64_t>> done;
    auto fut = done.get_future();
    std::string batch = MakeBatch(0, views, f);
    producer_->AppendRawAsync(0, batch, [&done](Result<int64_t> r) { done.set_value(r); });
    Result<int64_t> base = fut.get();
    if (!base.ok()) {
      ADD_FAILURE() << base.status().ToString();
      return -1;
    }
    SetBaseOffset(batch.data(), *base);
    batches_[*base] = WrittenBatch{f, static_cast<int32_t>(records.size() - 1), batch};
    for (size_t i = 0; i < records.size(); ++i) {
      Written w = records[i];
      w.offset = *base + static_cast<int64_t>(i);
      written_.push_back(w);
    }
    return *base;
  }

  std::string dir() const { return PartitionDir(TopicDir(tmp_.path(), "t"), 0); }
  std::vector<int64_t> Bases() const { return *ListSegmentBases(Env::Default(), dir()); }

  // Every batch of the sealed segments (below the active one), as stored.
  std::vector<std::pair<BatchHeader, std::string>> SealedBatches() const {
    std::vector<std::pair<BatchHeader, std::string>> out;
    std::vector<int64_t> bases = Bases();
    bases.pop_back();
    for (int64_t base : bases) {
      auto f = Env::Default()->OpenFile(SegmentPath(dir(), base, SegmentFileKind::kLog),
                                        OpenMode::kRead);
      EXPECT_TRUE(f.ok());
      BatchScanner scanner(f->get(), 0, *(*f)->Size());
      BatchHeader h;
      std::string_view bytes;
      BatchScanner::Outcome o;
      while ((o = scanner.Next(&h, &bytes)) == BatchScanner::Outcome::kBatch) {
        out.emplace_back(h, std::string(bytes));
      }
      EXPECT_EQ(o, BatchScanner::Outcome::kEnd) << scanner.problem();
    }
    return out;
  }

  void ExpectVerifyClean() const {
    auto report = VerifyDirectory(Env::Default(), tmp_.path());
    ASSERT_TRUE(report.ok());
    for (const auto& d : report->damage) ADD_FAILURE() << d.file << ": " << d.problem;
  }

  Log* log() { return log_.get(); }
  const std::vector<Written>& written() const { return written_; }
  const std::map<int64_t, WrittenBatch>& batches() const { return batches_; }

 private:
  TempDir tmp_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<Producer> producer_;
  std::vector<Written> written_;
  std::map<int64_t, WrittenBatch> batches_;
};

BatchFields Fields(Compression codec, int64_t producer_id, int32_t base_sequence) {
  BatchFields f;
  f.codec = codec;
  f.leader_epoch = 3;
  f.producer_id = producer_id;
  f.producer_epoch = producer_id >= 0 ? 2 : -1;
  f.base_sequence = producer_id >= 0 ? base_sequence : -1;
  return f;
}

// Checks a rewritten sealed batch against the batch it came from: same
// offset range, leader epoch, producer fields and codec (an empty one:
// uncompressed), records decoding to a subset of the original's.
void ExpectRewrittenFrom(const BatchHeader& h, const std::string& bytes, const WrittenBatch& was,
                         size_t max_decompressed, std::set<int64_t>* offsets) {
  EXPECT_EQ(h.last_offset_delta, was.last_offset_delta) << h.base_offset;
  EXPECT_EQ(h.partition_leader_epoch, was.fields.leader_epoch) << h.base_offset;
  EXPECT_EQ(h.producer_id, was.fields.producer_id) << h.base_offset;
  EXPECT_EQ(h.producer_epoch, was.fields.producer_epoch) << h.base_offset;
  EXPECT_EQ(h.base_sequence, was.fields.base_sequence) << h.base_offset;
  EXPECT_EQ(h.compression(), h.records_count == 0 ? Compression::kNone : was.fields.codec)
      << h.base_offset;
  std::vector<DecodedRecord> records;
  std::vector<HeaderView> headers;
  std::string unpacked;
  Status st = DecodeRecords(bytes, h, &records, &headers, &unpacked, max_decompressed);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(records.size(), static_cast<size_t>(h.records_count));
  for (const DecodedRecord& r : records) {
    EXPECT_GE(r.offset, h.base_offset);
    EXPECT_LE(r.offset, h.last_offset());
    offsets->insert(r.offset);
  }
}

std::string Value(std::mt19937* rng, int64_t i) {
  std::string v = "value-" + std::to_string(i) + "-";
  while (v.size() < 160) v += static_cast<char>('a' + (*rng)() % 26);
  return v;
}

class CompressedCompactionTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CompressedCompactionTest, KeepsEachKeysNewestRecordAndTheBatchesProducerFields) {
  const Compression codec = GetParam();
  TopicConfig c;
  c.segment_bytes = 4096;
  c.compact = true;
  c.delete_retention_ms = 60'000;
  c.fsync.policy = FsyncPolicy::kNever;
  Partition part(c);
  const int64_t now = NowMs();
  const int64_t old = now - 3'600'000;  // tombstones this old have expired
  std::mt19937 rng(5);

  // Producer 77's only batch, and a non-idempotent one: both wholly
  // superseded below. The first keeps its header (its producer's newest
  // batch), the second goes.
  part.Append({{0, "a0", "x", now}, {0, "a1", "x", now}}, Fields(codec, 77, 0));
  part.Append({{0, "b0", "x", now}, {0, "b1", "x", now}}, Fields(codec, -1, 0));
  // Tombstones that stay the newest of their key: one expired, one not;
  // and a record without a key (always kept).
  part.Append({{0, "gone", std::nullopt, old},
               {0, "dead", std::nullopt, now},
               {0, std::nullopt, "unkeyed", now}},
              Fields(codec, -1, 0));
  int32_t seq = 0;
  int64_t i = 0;
  for (int b = 0; b < 60; ++b) {
    std::vector<Written> records;
    for (int r = 0; r < 8; ++r, ++i) {
      std::optional<std::string> value;
      if (i % 11 != 10) value = Value(&rng, i);
      records.push_back({0, "k" + std::to_string(i % 13), value, i % 22 == 10 ? old : now});
    }
    part.Append(records, Fields(codec, 42, seq));
    seq += 8;
  }
  part.Append({{0, "a0", "y", now}, {0, "a1", "y", now}, {0, "b0", "y", now}, {0, "b1", "y", now}},
              Fields(codec, 42, seq));
  ASSERT_GT(part.Bases().size(), 3u);
  const int64_t active = part.Bases().back();

  ASSERT_TRUE(part.log()->RunSteward().ok());

  // Expected: in sealed segments only each key's newest record, less
  // expired tombstones; the active segment as written.
  std::map<std::string, int64_t> newest;
  for (const Written& w : part.written()) {
    if (w.key) newest[*w.key] = w.offset;
  }
  std::map<int64_t, Written> want;
  for (const Written& w : part.written()) {
    bool stays = w.offset >= active || !w.key ||
                 (newest[*w.key] == w.offset && (w.value || w.timestamp_ms >= now - 60'000));
    if (stays) want.emplace(w.offset, w);
  }
  ASSERT_LT(want.size(), part.written().size() / 2);
  std::vector<Record> got = ReadAll(part.log(), "t");
  ASSERT_EQ(got.size(), want.size());
  for (const Record& r : got) {
    auto it = want.find(r.offset);
    ASSERT_NE(it, want.end()) << "offset " << r.offset << " should have gone";
    EXPECT_EQ(r.key, it->second.key) << r.offset;
    EXPECT_EQ(r.value, it->second.value) << r.offset;
    EXPECT_EQ(r.timestamp_ms, it->second.timestamp_ms) << r.offset;
  }

  // Each sealed batch: from a written one, its fields kept; rewritten ones
  // recompressed with the codec; unchanged ones byte for byte.
  std::set<int64_t> in_sealed;
  int empty = 0;
  for (const auto& [h, bytes] : part.SealedBatches()) {
    auto was = part.batches().find(h.base_offset);
    ASSERT_NE(was, part.batches().end()) << h.base_offset;
    ExpectRewrittenFrom(h, bytes, was->second, 1 << 20, &in_sealed);
    if (h.records_count == was->second.last_offset_delta + 1) {
      EXPECT_EQ(bytes, was->second.bytes);
    }
    if (h.records_count == 0) {
      ++empty;
      EXPECT_EQ(h.producer_id, 77);
      EXPECT_EQ(h.base_offset, 0);
    }
  }
  EXPECT_EQ(empty, 1);  // producer 77's; producer 42's emptied batches are not its newest
  EXPECT_EQ(part.batches().count(2), 1u);
  for (const auto& [h, bytes] : part.SealedBatches()) EXPECT_NE(h.base_offset, 2);  // b0, b1
  for (const auto& [offset, w] : want) {
    if (offset < active) {
      EXPECT_EQ(in_sealed.count(offset), 1u) << offset;
    }
  }
  part.ExpectVerifyClean();

  // A second pass finds nothing more to do; appends go on after the end.
  const auto sealed = part.SealedBatches();
  ASSERT_TRUE(part.log()->RunSteward().ok());
  EXPECT_EQ(part.SealedBatches().size(), sealed.size());
  EXPECT_EQ(ReadAll(part.log(), "t").size(), want.size());
  const int64_t end = static_cast<int64_t>(part.written().size());
  EXPECT_EQ(part.Append({{0, "k0", "tail", now}}, Fields(codec, 42, seq + 4)), end);
}

TEST_P(CompressedCompactionTest, PurgeInsideACompressedBatchKeepsTheRestCompressed) {
  const Compression codec = GetParam();
  TopicConfig c;
  c.segment_bytes = 4096;
  c.fsync.policy = FsyncPolicy::kNever;
  Partition part(c);
  const int64_t now = NowMs();
  std::mt19937 rng(9);
  int64_t i = 0;
  int32_t seq = 0;
  for (int b = 0; b < 40; ++b) {
    std::vector<Written> records;
    for (int r = 0; r < 5; ++r, ++i) records.push_back({0, std::nullopt, Value(&rng, i), now});
    // Batch 2 from a plain producer, the others from an idempotent one.
    part.Append(records, b == 2 ? Fields(codec, -1, 0) : Fields(codec, 9, seq));
    if (b != 2) seq += 5;
  }
  ASSERT_GT(part.Bases().size(), 2u);
  ASSERT_GT(part.Bases()[1], 15);
  // Inside batch 0; all of batch 1 (idempotent: its header stays); all of
  // batch 2 (goes).
  const std::vector<int64_t> purge = {1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  auto left = part.log()->PurgeRecords("t", 0, purge);
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_TRUE(left->empty());

  std::vector<Record> got = ReadAll(part.log(), "t");
  ASSERT_EQ(got.size(), part.written().size() - purge.size());
  size_t next = 0;
  for (const Written& w : part.written()) {
    if (std::binary_search(purge.begin(), purge.end(), w.offset)) continue;
    ASSERT_LT(next, got.size());
    EXPECT_EQ(got[next].offset, w.offset);
    EXPECT_EQ(got[next].value, w.value) << w.offset;
    ++next;
  }
  const auto sealed = part.SealedBatches();
  ASSERT_GE(sealed.size(), 3u);
  std::set<int64_t> offsets;
  for (const auto& [h, bytes] : sealed) {
    ExpectRewrittenFrom(h, bytes, part.batches().at(h.base_offset), 1 << 20, &offsets);
  }
  EXPECT_EQ(sealed[0].first.base_offset, 0);
  EXPECT_EQ(sealed[0].first.records_count, 3);
  EXPECT_EQ(sealed[0].first.compression(), codec);
  EXPECT_EQ(sealed[1].first.base_offset, 5);
  EXPECT_EQ(sealed[1].first.records_count, 0);
  EXPECT_EQ(sealed[2].first.base_offset, 15);
  EXPECT_EQ(offsets.count(10), 0u);
  part.ExpectVerifyClean();
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressedCompactionTest,
                         ::testing::Values(Compression::kNone, Compression::kGzip,
                                           Compression::kSnappy, Compression::kLz4,
                                           Compression::kZstd),
                         [](const auto& info) { return CodecName(info.param); });

TEST(CompressedCompactionTest, UndecodableCompressedBatchIsKeptWholeAndSupersedesNothing) {
  TopicConfig c;
  c.segment_bytes = 4096;
  c.compact = true;
  c.fsync.policy = FsyncPolicy::kNever;
  Partition part(c);
  const int64_t now = NowMs();
  part.Append({{0, "k", "first", now}}, Fields(Compression::kNone, -1, 0));
  // A gzip batch whose records section is not gzip (its CRC is valid):
  // stored, as Produce does not decompress, but it decodes nowhere.
  std::string bad = MakeBatch(0, {}, Fields(Compression::kNone, -1, 0));
  bad += std::string(40, 'Z');
  PutBE32(bad.data() + kBatchLengthOffset, static_cast<uint32_t>(bad.size() - kLogOverhead));
  PutBE16(bad.data() + kAttributesOffset, static_cast<uint16_t>(Compression::kGzip));
  PutBE32(bad.data() + 23, 1);  // last offset delta: two records
  PutBE32(bad.data() + kRecordsCountOffset, 2);
  PutBE32(bad.data() + kCrcOffset,
          crc32c::Value(bad.data() + kAttributesOffset, bad.size() - kAttributesOffset));
  std::promise<Result<int64_t>> done;
  auto fut = done.get_future();
  std::unique_ptr<Producer> p = std::move(*part.log()->NewProducer("t", false));
  p->AppendRawAsync(0, bad, [&done](Result<int64_t> r) { done.set_value(r); });
  const Result<int64_t> bad_base = fut.get();
  ASSERT_TRUE(bad_base.ok()) << bad_base.status().ToString();
  std::mt19937 rng(3);
  for (int64_t i = 0; i < 60; ++i) {
    part.Append({{0, "k", Value(&rng, i), now}}, Fields(Compression::kGzip, -1, 0));
  }
  ASSERT_GT(part.Bases().size(), 2u);
  ASSERT_TRUE(part.log()->RunSteward().ok());
  const auto sealed = part.SealedBatches();
  ASSERT_FALSE(sealed.empty());
  // "first" is superseded (by the good batches, not by the bad one); the
  // bad batch stays as it was.
  EXPECT_EQ(sealed[0].first.base_offset, *bad_base);
  SetBaseOffset(bad.data(), *bad_base);
  EXPECT_EQ(sealed[0].second, bad);
}

}  // namespace
}  // namespace runnel::storage
