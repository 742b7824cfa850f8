// Reader::ReadRawRanges: the file ranges holding the batches ReadRawInto
// would copy, and the open files that keep them valid while a send is in
// flight although retention deletes or compaction replaces the segment.
#include "storage/data_dir.h"
#include "storage/test_util.h"
#include "util/fault_injection_env.h"

#include "runnel/log.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace runnel {
namespace {

using testing::TempDir;
using testing::ValueView;

// 4 KiB segments of 500-byte records: about 7 records per segment.
TopicConfig SmallSegments() {
  TopicConfig c;
  c.segment_bytes = 4096;
  c.fsync.policy = FsyncPolicy::kNever;
  return c;
}

void Fill(Log* log, const std::string& topic, int n, bool keyed = false) {
  auto p = log->NewProducer(topic);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < n; ++i) {
    std::string v(500, static_cast<char>('a' + i % 26));
    RecordView r = ValueView(v);
    std::string key = "k" + std::to_string(i % 3);
    if (keyed) r.key = key;
    ASSERT_TRUE((*p)->Append(0, r).ok());
  }
  ASSERT_TRUE((*p)->Flush().ok());
}

std::string Bytes(const StoredRange& r) {
  std::string out(r.length, '\0');
  EXPECT_EQ(::pread(r.fd, out.data(), out.size(), static_cast<off_t>(r.offset)),
            static_cast<ssize_t>(out.size()));
  return out;
}

std::string Bytes(const std::vector<StoredRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) out += Bytes(r);
  return out;
}

std::string SegmentLog(const std::string& data, const std::string& topic, int64_t base) {
  return storage::SegmentPath(storage::PartitionDir(storage::TopicDir(data, topic), 0), base,
                              storage::SegmentFileKind::kLog);
}

TEST(RawRangesTest, RangesHoldExactlyTheBatchesReadRawIntoCopies) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 60);  // about 9 segments
  auto copier = std::move(*log->NewReader("t", 0, StartPosition::Offset(4)));
  auto ranger = std::move(*log->NewReader("t", 0, StartPosition::Offset(4)));
  int reads = 0;
  for (size_t max_bytes : {1, 2000, 5000, 3000, 100000, 1000}) {
    std::string copied;
    std::vector<StoredRange> ranges;
    ASSERT_TRUE(copier->ReadRawInto(&copied, max_bytes, max_bytes != 1000).ok());
    ASSERT_TRUE(ranger->ReadRawRanges(&ranges, max_bytes, max_bytes != 1000).ok());
    EXPECT_EQ(ranger->position(), copier->position()) << max_bytes;
    EXPECT_TRUE(Bytes(ranges) == copied) << max_bytes;
    if (!copied.empty()) ++reads;
    // Batches next to each other in one segment share a range.
    for (size_t i = 1; i < ranges.size(); ++i) EXPECT_NE(ranges[i].file, ranges[i - 1].file);
  }
  EXPECT_GE(reads, 4);
  std::vector<StoredRange> rest;
  ASSERT_TRUE(ranger->ReadRawRanges(&rest, 1 << 20).ok());
  EXPECT_TRUE(rest.empty());  // caught up (the 100000 read took everything)
  EXPECT_EQ(ranger->position(), 60);
}

TEST(RawRangesTest, AHeldRangeOutlivesRetentionDeletingItsSegment) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c = SmallSegments();
  c.retention_bytes = 8192;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  Fill(log.get(), "t", 60);
  std::vector<StoredRange> ranges;
  std::string copied;
  {
    auto reader = std::move(*log->NewReader("t", 0, StartPosition::Earliest()));
    ASSERT_TRUE(reader->ReadRawRanges(&ranges, 3000).ok());
    auto copier = std::move(*log->NewReader("t", 0, StartPosition::Earliest()));
    ASSERT_TRUE(copier->ReadRawInto(&copied, 3000).ok());
  }  // the readers are gone: only the ranges hold the file
  ASSERT_FALSE(ranges.empty());
  ASSERT_EQ(ranges.front().offset, 0u);
  const std::string path = SegmentLog(tmp.path(), "t", 0);
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_TRUE(log->RunSteward().ok());
  EXPECT_FALSE(std::filesystem::exists(path));  // retention deleted it
  EXPECT_GT(log->DescribeTopic("t")->partitions[0].start_offset, 0);
  EXPECT_TRUE(Bytes(ranges) == copied);  // the open file still has them
  std::weak_ptr<const void> file = ranges.front().file;
  ranges.clear();
  EXPECT_TRUE(file.expired());  // the last holder closed it
}

TEST(RawRangesTest, AHeldRangeOutlivesCompactionReplacingItsSegment) {
  TempDir tmp;
  auto log = std::move(*Log::Open(tmp.path()));
  TopicConfig c = SmallSegments();
  c.compact = true;
  c.delete_retention_ms = 0;
  ASSERT_TRUE(log->CreateTopic("t", c).ok());
  Fill(log.get(), "t", 60, /*keyed=*/true);  // 3 keys: compaction drops most records
  auto reader = std::move(*log->NewReader("t", 0, StartPosition::Earliest()));
  std::vector<StoredRange> ranges;
  ASSERT_TRUE(reader->ReadRawRanges(&ranges, 3000).ok());
  ASSERT_FALSE(ranges.empty());
  const std::string before = Bytes(ranges);
  const std::string path = SegmentLog(tmp.path(), "t", 0);
  struct stat held, now;
  ASSERT_EQ(::fstat(ranges.front().fd, &held), 0);
  ASSERT_TRUE(log->RunSteward().ok());
  ASSERT_EQ(::stat(path.c_str(), &now), 0);
  EXPECT_NE(now.st_ino, held.st_ino);  // renamed over: a new file at the path
  EXPECT_LT(now.st_size, held.st_size);
  EXPECT_TRUE(Bytes(ranges) == before);  // the held one is unchanged
}

TEST(RawRangesTest, FilesWithoutDescriptorsAreNotSupported) {
  TempDir tmp;
  FaultInjectionEnv env;
  Options options;
  options.env = &env;
  auto log = std::move(*Log::Open(tmp.path(), options));
  ASSERT_TRUE(log->CreateTopic("t", SmallSegments()).ok());
  Fill(log.get(), "t", 5);
  auto reader = std::move(*log->NewReader("t", 0, StartPosition::Earliest()));
  std::vector<StoredRange> ranges;
  EXPECT_TRUE(reader->ReadRawRanges(&ranges, 1 << 20).Is(StatusCode::kNotSupported));
  EXPECT_TRUE(ranges.empty());
  std::string copied;
  ASSERT_TRUE(reader->ReadRawInto(&copied, 1 << 20).ok());  // the copy still works
  EXPECT_FALSE(copied.empty());
}

}  // namespace
}  // namespace runnel
