// Log::CreatePartitions: a topic grows, its old partitions keep their data
// and writers, the new ones take appends, and the count survives a reopen.
#include "runnel/log.h"
#include "storage/test_util.h"

#include <gtest/gtest.h>

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::ValueView;

TEST(CreatePartitionsTest, GrowsATopicAndKeepsItsData) {
  TempDir tmp;
  {
    auto log = std::move(*Log::Open(tmp.path()));
    TopicConfig c;
    c.partitions = 2;
    ASSERT_TRUE(log->CreateTopic("t", c).ok());
    auto before = log->NewProducer("t", false);
    ASSERT_TRUE(before.ok());
    ASSERT_TRUE((*before)->Append(1, ValueView("old")).ok());

    EXPECT_TRUE(log->CreatePartitions("t", 2).Is(StatusCode::kInvalidArgument));
    EXPECT_TRUE(log->CreatePartitions("t", 1).Is(StatusCode::kInvalidArgument));
    EXPECT_TRUE(log->CreatePartitions("nope", 3).Is(StatusCode::kNotFound));
    EXPECT_TRUE(log->CreatePartitions("t", kMaxPartitions + 1).Is(StatusCode::kInvalidArgument));
    ASSERT_TRUE(log->CreatePartitions("t", 4).ok());

    auto info = log->DescribeTopic("t");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->config.partitions, 4);
    EXPECT_EQ(info->partitions.size(), 4u);
    auto after = log->NewProducer("t", false);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ((*after)->partitions(), 4);
    auto o = (*after)->Append(3, ValueView("new"));
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_EQ(*o, 0);
    // The producer from before still appends to the old partitions, in order
    // with the new producer (they share the partition's writer).
    ASSERT_TRUE((*before)->Append(1, ValueView("old2")).ok());
    ASSERT_TRUE((*after)->Append(1, ValueView("old3")).ok());
    auto p1 = ReadAll(log.get(), "t", 1);
    ASSERT_EQ(p1.size(), 3u);
    EXPECT_EQ(p1[2].offset, 2);
  }
  auto log = std::move(*Log::Open(tmp.path()));
  auto info = log->DescribeTopic("t");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->config.partitions, 4);
  auto p3 = ReadAll(log.get(), "t", 3);
  ASSERT_EQ(p3.size(), 1u);
  EXPECT_EQ(p3[0].value, "new");
}

}  // namespace
}  // namespace runnel
