// The Kafka codec alone: primitives, framing limits, header parsing and a
// few request/response bodies against hand-made bytes.
#include "protocol/kafka/api.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/group_messages.h"
#include "protocol/kafka/messages.h"
#include "protocol/kafka/names.h"
#include "protocol/kafka/wire.h"

#include <gtest/gtest.h>

#include <tuple>
#include <utility>

namespace runnel::kafka {
namespace {

TEST(KafkaWireTest, PrimitivesRoundTrip) {
  std::string b;
  Encoder e(&b);
  e.Int16(-2);
  e.Int32(70000);
  e.Int64(-5);
  e.String("abc", false);
  e.String("xy", true);
  e.NullableString(std::nullopt, false);
  e.Bytes(std::string_view("\x01\x02", 2), false);
  e.UVarint(300);
  Decoder d(b);
  EXPECT_EQ(d.Int16(), -2);
  EXPECT_EQ(d.Int32(), 70000);
  EXPECT_EQ(d.Int64(), -5);
  EXPECT_EQ(d.String(false), "abc");
  EXPECT_EQ(d.String(true), "xy");
  EXPECT_FALSE(d.NullableString(false).has_value());
  EXPECT_EQ(d.NullableBytes(false)->size(), 2u);
  EXPECT_EQ(d.UVarint(), 300u);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.remaining(), 0u);
  d.Int8();
  EXPECT_FALSE(d.ok());
}

TEST(KafkaWireTest, HugeCountsAndLengthsFailWithoutAllocating) {
  std::string b("\x7f\xff\xff\xff", 4);
  Decoder d(b);
  EXPECT_EQ(d.ArrayCount(false), 0);
  EXPECT_FALSE(d.ok());
  Decoder s(std::string_view("\x7f\xff", 2));
  EXPECT_FALSE(s.NullableString(false).has_value());
  EXPECT_FALSE(s.ok());
  Decoder v(std::string_view("\xff\xff\xff\xff\xff\x01", 6));
  v.UVarint();
  EXPECT_FALSE(v.ok());
}

TEST(KafkaFrameTest, FramesAreSplitAndBadSizesRefused) {
  std::string_view frame;
  size_t need = 0;
  EXPECT_EQ(NextFrame(std::string_view("\x00\x00", 2), 100, &frame, &need), FrameStatus::kNeedMore);
  EXPECT_EQ(need, 4u);
  std::string f(
      "\x00\x00\x00\x0a"
      "0123456789"
      "xx",
      16);
  EXPECT_EQ(NextFrame(f, 100, &frame, &need), FrameStatus::kFrame);
  EXPECT_EQ(frame, "0123456789");
  EXPECT_EQ(NextFrame(f.substr(0, 8), 100, &frame, &need), FrameStatus::kNeedMore);
  EXPECT_EQ(need, 14u);
  EXPECT_EQ(NextFrame(std::string_view("\xff\xff\xff\xff", 4), 100, &frame, &need),
            FrameStatus::kBad);
  EXPECT_EQ(NextFrame(std::string_view("\x00\x00\x01\x00", 4), 100, &frame, &need),
            FrameStatus::kBad);  // 256 > limit
  EXPECT_EQ(NextFrame(std::string_view("\x00\x00\x00\x02", 4), 100, &frame, &need),
            FrameStatus::kBad);  // smaller than a header
}

TEST(KafkaFrameTest, HeaderParsesClientIdAndResponseIsSized) {
  std::string req;
  Encoder e(&req);
  e.Int16(18);
  e.Int16(3);
  e.Int32(42);
  e.String("kcat", false);
  RequestHeader h;
  size_t off = 0;
  ASSERT_TRUE(ParseRequestHeader(req, &h, &off));
  EXPECT_EQ(h.api_key, 18);
  EXPECT_EQ(h.api_version, 3);
  EXPECT_EQ(h.correlation_id, 42);
  EXPECT_EQ(*h.client_id, "kcat");
  EXPECT_EQ(off, req.size());
  std::string resp;
  size_t start = BeginResponse(&resp, 42, false);
  resp += "ab";
  FinishResponse(&resp, start);
  EXPECT_EQ(resp, std::string("\x00\x00\x00\x06\x00\x00\x00\x2a"
                              "ab",
                              10));
}

TEST(KafkaApiTest, AdvertisedRangesAreThePlannedOnes) {
  const ApiRange* produce = FindApi(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->min, 0);  // librdkafka compresses gzip/snappy/lz4 only then
  EXPECT_EQ(produce->max, 7);
  EXPECT_EQ(FindApi(1)->max, 11);
  EXPECT_TRUE(IsFlexible(*FindApi(18), 3));
  EXPECT_FALSE(IsFlexible(*FindApi(3), 4));
  // The group APIs at the versions both clients use, none flexible.
  for (auto [key, min, max] : {std::tuple{8, 2, 7},
                               {9, 1, 5},
                               {11, 0, 5},
                               {12, 0, 3},
                               {13, 0, 3},
                               {14, 0, 3},
                               {15, 0, 3},
                               {16, 0, 2}}) {
    const ApiRange* a = FindApi(static_cast<int16_t>(key));
    ASSERT_NE(a, nullptr) << key;
    EXPECT_EQ(a->min, min) << key;
    EXPECT_EQ(a->max, max) << key;
    EXPECT_FALSE(IsFlexible(*a, a->max)) << key;
  }
  // InitProducerId, DescribeConfigs, CreatePartitions, DeleteGroups: below
  // their first flexible versions (2, 4, 2, 2).
  for (auto [key, max] : {std::pair{22, 1}, {32, 2}, {37, 1}, {42, 1}, {47, 0}}) {
    const ApiRange* a = FindApi(static_cast<int16_t>(key));
    ASSERT_NE(a, nullptr) << key;
    EXPECT_EQ(a->min, 0) << key;
    EXPECT_EQ(a->max, max) << key;
    EXPECT_FALSE(IsFlexible(*a, a->max)) << key;
  }
  EXPECT_EQ(FindApi(24), nullptr);  // AddPartitionsToTxn: transactions are not served
}

TEST(KafkaGroupMessagesTest, JoinGroupV5DecodesAndV0AnswersWithoutThrottle) {
  std::string body;
  Encoder e(&body);
  e.String("grp", false);
  e.Int32(6000);
  e.Int32(300000);
  e.String("", false);
  e.NullableString(std::nullopt, false);  // group_instance_id (v5)
  e.String("consumer", false);
  e.ArrayCount(2, false);
  e.String("range", false);
  e.Bytes(std::string_view("md"), false);
  e.String("roundrobin", false);
  e.Bytes(std::nullopt, false);
  JoinGroupRequest r;
  ASSERT_TRUE(DecodeJoinGroup(body, 5, &r));
  EXPECT_EQ(r.group_id, "grp");
  EXPECT_EQ(r.rebalance_timeout_ms, 300000);
  ASSERT_EQ(r.protocols.size(), 2u);
  EXPECT_EQ(r.protocols[0].metadata, "md");
  EXPECT_EQ(r.protocols[1].name, "roundrobin");
  JoinGroupRequest truncated;
  EXPECT_FALSE(DecodeJoinGroup(body.substr(0, body.size() - 1), 5, &truncated));

  JoinGroupResponse resp;
  resp.error = ErrorCode::kMemberIdRequired;
  resp.member_id = "m";
  std::string v0;
  EncodeJoinGroup(resp, 0, &v0);
  EXPECT_EQ(v0,
            std::string("\x00\x4f\xff\xff\xff\xff\x00\x00\x00\x00\x00\x01m\x00\x00\x00\x00", 17));
}

TEST(KafkaGroupMessagesTest, LeaveGroupV3IsABatchByMemberOrInstanceId) {
  std::string body;
  Encoder e(&body);
  e.String("g", false);
  e.ArrayCount(2, false);
  e.String("m1", false);
  e.NullableString(std::nullopt, false);
  e.String("", false);
  e.NullableString("inst", false);
  LeaveGroupRequest r;
  ASSERT_TRUE(DecodeLeaveGroup(body, 3, &r));
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].member_id, "m1");
  EXPECT_FALSE(r.members[0].group_instance_id.has_value());
  EXPECT_EQ(r.members[1].group_instance_id, "inst");
  std::string v1body;
  Encoder e1(&v1body);
  e1.String("g", false);
  e1.String("m1", false);
  LeaveGroupRequest v1;
  ASSERT_TRUE(DecodeLeaveGroup(v1body, 1, &v1));
  ASSERT_EQ(v1.members.size(), 1u);
  EXPECT_EQ(v1.members[0].member_id, "m1");

  LeaveGroupResponse resp;
  resp.members.push_back({"", std::string("inst"), ErrorCode::kUnknownMemberId});
  std::string v3, v0;
  EncodeLeaveGroup(resp, 3, &v3);
  // throttle, error 0, [member "" "inst" 25]
  EXPECT_EQ(
      v3, std::string("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x04inst\x00\x19", 20));
  EncodeLeaveGroup(resp, 0, &v0);
  EXPECT_EQ(v0, std::string("\x00\x00", 2));
}

TEST(KafkaGroupMessagesTest, DeleteGroupsRoundTrip) {
  std::string body;
  Encoder e(&body);
  e.ArrayCount(1, false);
  e.String("gone", false);
  std::vector<std::string_view> ids;
  ASSERT_TRUE(DecodeDeleteGroups(body, 1, &ids));
  EXPECT_EQ(ids, (std::vector<std::string_view>{"gone"}));
  std::string out;
  EncodeDeleteGroups({{"gone", ErrorCode::kNonEmptyGroup}}, 0, &out);
  EXPECT_EQ(out, std::string("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04gone\x00\x44", 16));
}

TEST(KafkaGroupMessagesTest, OffsetDeleteV0PutsTheErrorBeforeTheThrottleTime) {
  std::string body;
  Encoder e(&body);
  e.String("g", false);
  e.ArrayCount(1, false);
  e.String("t", false);
  e.ArrayCount(2, false);
  e.Int32(0);
  e.Int32(3);
  OffsetDeleteRequest r;
  ASSERT_TRUE(DecodeOffsetDelete(body, 0, &r));
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].partitions, (std::vector<int32_t>{0, 3}));
  OffsetDeleteResponse resp;
  resp.error = ErrorCode::kNonEmptyGroup;
  std::string out;
  EncodeOffsetDelete(resp, 0, &out);
  EXPECT_EQ(out, std::string("\x00\x44\x00\x00\x00\x00\x00\x00\x00\x00", 10));
}

TEST(KafkaGroupMessagesTest, OffsetFetchV1NeedsTopicsAndV2NullMeansAll) {
  std::string body;
  Encoder e(&body);
  e.String("g", false);
  e.ArrayCount(-1, false);
  OffsetFetchRequest r1, r2;
  EXPECT_FALSE(DecodeOffsetFetch(body, 1, &r1));
  ASSERT_TRUE(DecodeOffsetFetch(body, 2, &r2));
  EXPECT_FALSE(r2.topics.has_value());
  OffsetFetchResponse resp;
  resp.topics.push_back({"t", {{0, 5, std::string("x"), ErrorCode::kNone}}});
  std::string v5;
  EncodeOffsetFetch(resp, 5, &v5);
  // throttle, [topic "t" [0, 5, epoch -1, "x", 0]], group error 0
  EXPECT_EQ(v5, std::string("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x01"
                            "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\xff\xff\xff\xff"
                            "\x00\x01x\x00\x00\x00\x00",
                            38));
}

TEST(KafkaMessagesTest, ApiVersionsV3IsFlexibleAndV0IsNot) {
  ApiVersionsResponse r;
  r.apis = {{ApiKey::kApiVersions, 0, 3, 3}};
  std::string v0, v3;
  EncodeApiVersions(r, 0, &v0);
  EncodeApiVersions(r, 3, &v3);
  EXPECT_EQ(v0, std::string("\x00\x00\x00\x00\x00\x01\x00\x12\x00\x00\x00\x03", 12));
  EXPECT_EQ(v3, std::string("\x00\x00\x02\x00\x12\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00", 15));
}

TEST(KafkaMessagesTest, MetadataV0EmptyListMeansAllAndV1NullMeansAll) {
  MetadataRequest r0;
  ASSERT_TRUE(DecodeMetadata(std::string_view("\x00\x00\x00\x00", 4), 0, &r0));
  EXPECT_FALSE(r0.topics.has_value());
  MetadataRequest r1;
  ASSERT_TRUE(DecodeMetadata(std::string_view("\x00\x00\x00\x00", 4), 1, &r1));
  ASSERT_TRUE(r1.topics.has_value());
  EXPECT_TRUE(r1.topics->empty());
  MetadataRequest r4;
  ASSERT_TRUE(DecodeMetadata(std::string_view("\xff\xff\xff\xff\x00", 5), 4, &r4));
  EXPECT_FALSE(r4.topics.has_value());
  EXPECT_FALSE(r4.allow_auto_topic_creation);
  MetadataRequest bad;
  EXPECT_FALSE(DecodeMetadata(std::string_view("\x00\x00\x00\x05\x00", 5), 1, &bad));
}

TEST(KafkaMessagesTest, ProduceRequestDecodes) {
  std::string b;
  Encoder e(&b);
  e.NullableString(std::nullopt, false);
  e.Int16(-1);
  e.Int32(1000);
  e.ArrayCount(1, false);
  e.String("t", false);
  e.ArrayCount(1, false);
  e.Int32(0);
  e.Bytes(std::string_view("batch"), false);
  ProduceRequest r;
  ASSERT_TRUE(DecodeProduce(b, 7, &r));
  EXPECT_EQ(r.acks, -1);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].name, "t");
  EXPECT_EQ(*r.topics[0].partitions[0].records, "batch");
  ProduceRequest cut;
  EXPECT_FALSE(DecodeProduce(b.substr(0, b.size() - 1), 7, &cut));
}

TEST(KafkaNamesTest, KafkaNameRules) {
  EXPECT_TRUE(IsKafkaTopicName("orders.v1_x-2"));
  EXPECT_FALSE(IsKafkaTopicName(""));
  EXPECT_FALSE(IsKafkaTopicName("."));
  EXPECT_FALSE(IsKafkaTopicName(".."));
  EXPECT_FALSE(IsKafkaTopicName("a/b"));
  EXPECT_FALSE(IsKafkaTopicName("sensor:1"));
  EXPECT_FALSE(IsKafkaTopicName(std::string(250, 'a')));
  EXPECT_TRUE(IsKafkaTopicName(std::string(249, 'a')));
}

}  // namespace
}  // namespace runnel::kafka
