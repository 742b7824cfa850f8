#include "runnel/status.h"

#include "runnel/options.h"
#include "runnel/record.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace runnel {
namespace {

TEST(StatusTest, OkPrintsAsOkAndErrorsAsCodeThenMessage) {
  EXPECT_EQ(Status::OK().ToString(), "OK");
  EXPECT_EQ(Status::NotFound("topic clicks").ToString(), "NotFound: topic clicks");
  EXPECT_EQ(Status::Busy("").ToString(), "Busy");
  EXPECT_EQ(Status(StatusCode::kNoSpace, "write /x: full").ToString(), "NoSpace: write /x: full");
}

TEST(StatusTest, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kStaleEpoch); ++c) {
    EXPECT_NE(StatusCodeName(static_cast<StatusCode>(c)), "Unknown") << c;
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kIoError), "IoError");
}

TEST(StatusTest, ResultBuiltFromOkStatusIsAnError) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(FsyncSpecTest, ParsesEveryPolicy) {
  EXPECT_EQ(*FsyncSpec::Parse("always"), (FsyncSpec{FsyncPolicy::kAlways, 0}));
  EXPECT_EQ(*FsyncSpec::Parse("never"), (FsyncSpec{FsyncPolicy::kNever, 0}));
  EXPECT_EQ(*FsyncSpec::Parse("interval:250"), (FsyncSpec{FsyncPolicy::kInterval, 250}));
  EXPECT_EQ(*FsyncSpec::Parse("interval=250"), (FsyncSpec{FsyncPolicy::kInterval, 250}));
  EXPECT_EQ(*FsyncSpec::Parse(" Always "), (FsyncSpec{FsyncPolicy::kAlways, 0}));
  EXPECT_EQ(FsyncSpec::Parse("interval:1")->interval_ms, 1);
  EXPECT_EQ(FsyncSpec::Parse("interval:3600000")->interval_ms, 3600000);
}

TEST(FsyncSpecTest, RejectsBadTextAndNamesIt) {
  for (const char* bad : {"", "sometimes", "interval", "interval:", "interval:0", "interval:-5",
                          "interval:3600001", "interval:10ms", "interval:abc",
                          "interval:99999999999999999999", "intervalx:5", "always!"}) {
    auto r = FsyncSpec::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << r.status().message();
  }
  EXPECT_NE(FsyncSpec::Parse("interval:0").status().message().find("1..3600000"),
            std::string::npos);
}

TEST(FsyncSpecTest, ToStringRoundTrips) {
  for (const FsyncSpec& spec :
       {FsyncSpec{FsyncPolicy::kAlways, 0}, FsyncSpec{FsyncPolicy::kNever, 0},
        FsyncSpec{FsyncPolicy::kInterval, 1000}}) {
    EXPECT_EQ(*FsyncSpec::Parse(spec.ToString()), spec) << spec.ToString();
  }
  EXPECT_EQ((FsyncSpec{FsyncPolicy::kInterval, 42}).ToString(), "interval:42");
}

TEST(TopicConfigTest, DefaultsAreValid) { EXPECT_TRUE(TopicConfig{}.Validate().ok()); }

TEST(TopicConfigTest, EachOutOfRangeFieldIsNamedWithItsValue) {
  struct Case {
    void (*mutate)(TopicConfig&);
    std::string want;
  };
  const std::vector<Case> cases = {
      {[](TopicConfig& c) { c.partitions = 0; }, "partitions = 0"},
      {[](TopicConfig& c) { c.partitions = kMaxPartitions + 1; }, "partitions = 10001"},
      {[](TopicConfig& c) { c.retention_ms = 0; }, "retention_ms = 0"},
      {[](TopicConfig& c) { c.retention_ms = -2; }, "retention_ms = -2"},
      {[](TopicConfig& c) { c.retention_bytes = 0; }, "retention_bytes = 0"},
      {[](TopicConfig& c) { c.delete_retention_ms = -1; }, "delete_retention_ms = -1"},
      {[](TopicConfig& c) { c.fsync.interval_ms = 0; }, "interval_ms = 0"},
      {[](TopicConfig& c) { c.max_message_bytes = 0; }, "max_message_bytes = 0"},
      {[](TopicConfig& c) { c.max_message_bytes = (64 << 20) + 1; },
       "max_message_bytes = 67108865"},
      {[](TopicConfig& c) { c.segment_bytes = 4095; }, "segment_bytes = 4095"},
      {[](TopicConfig& c) { c.segment_bytes = (1LL << 30) + 1; }, "segment_bytes = 1073741825"},
      {[](TopicConfig& c) { c.segment_ms = 0; }, "segment_ms = 0"},
  };
  for (const Case& c : cases) {
    TopicConfig config;
    c.mutate(config);
    Status s = config.Validate();
    ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << c.want;
    EXPECT_NE(s.message().find(c.want), std::string::npos) << s.message();
  }
}

TEST(TopicConfigTest, BoundaryValuesAreAccepted) {
  TopicConfig c;
  c.partitions = kMaxPartitions;
  c.retention_ms = 1;
  c.retention_bytes = 1;
  c.delete_retention_ms = 0;
  c.max_message_bytes = 64 << 20;
  c.segment_bytes = 4096;
  c.segment_ms = 1;
  c.fsync = {FsyncPolicy::kNever, 0};  // the interval is ignored unless used
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  c.segment_bytes = 1LL << 30;
  EXPECT_TRUE(c.Validate().ok());
}

TEST(RecordTest, FromCopiesEveryFieldSoTheViewMayDie) {
  auto buf = std::make_unique<std::string>("keyvaluehkhv");
  const std::string_view b = *buf;
  const HeaderView headers[] = {{b.substr(8, 2), b.substr(10, 2)}, {b.substr(8, 1), std::nullopt}};
  RecordView view{.offset = 42,
                  .timestamp_ms = 1700000000000,
                  .key = b.substr(0, 3),
                  .value = b.substr(3, 5),
                  .headers = headers};
  const Record r = Record::From(view);
  buf->assign(buf->size(), '#');
  EXPECT_EQ(r, (Record{42, 1700000000000, "key", "value", {{"hk", "hv"}, {"h", std::nullopt}}}));
}

TEST(RecordTest, FromKeepsNullKeyAndTombstone) {
  const Record r = Record::From(RecordView{});
  EXPECT_FALSE(r.key.has_value());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.offset, -1);
}

}  // namespace
}  // namespace runnel
