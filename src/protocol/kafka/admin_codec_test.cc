// InitProducerId, CreatePartitions and DescribeConfigs bodies against
// hand-made bytes (field order per Kafka's schemas, reference/kafka.md §5).
#include "protocol/kafka/admin_messages.h"
#include "protocol/kafka/wire.h"

#include <gtest/gtest.h>

namespace runnel::kafka {
namespace {

TEST(AdminCodecTest, InitProducerIdRequestAndResponse) {
  std::string b;
  Encoder e(&b);
  e.NullableString(std::nullopt, false);
  e.Int32(60000);
  InitProducerIdRequest r;
  ASSERT_TRUE(DecodeInitProducerId(b, 1, &r));
  EXPECT_FALSE(r.transactional_id);
  EXPECT_EQ(r.transaction_timeout_ms, 60000);
  EXPECT_FALSE(DecodeInitProducerId(b.substr(0, 3), 1, &r));

  std::string out;
  EncodeInitProducerId({ErrorCode::kNone, 1234, 0}, 1, &out);
  Decoder d(out);
  EXPECT_EQ(d.Int32(), 0);  // throttle
  EXPECT_EQ(d.Int16(), 0);
  EXPECT_EQ(d.Int64(), 1234);
  EXPECT_EQ(d.Int16(), 0);
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(AdminCodecTest, CreatePartitionsRequest) {
  std::string b;
  Encoder e(&b);
  e.ArrayCount(2, false);
  e.String("a", false);
  e.Int32(4);
  e.ArrayCount(-1, false);  // no assignment
  e.String("b", false);
  e.Int32(3);
  e.ArrayCount(1, false);  // one new partition's replicas
  e.ArrayCount(1, false);
  e.Int32(0);
  e.Int32(5000);
  e.Bool(true);
  CreatePartitionsRequest r;
  ASSERT_TRUE(DecodeCreatePartitions(b, 1, &r));
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].name, "a");
  EXPECT_EQ(r.topics[0].count, 4);
  EXPECT_EQ(r.topics[0].assignments, -1);
  EXPECT_EQ(r.topics[1].assignments, 1);
  EXPECT_TRUE(r.validate_only);
  for (size_t cut = 0; cut < b.size(); ++cut) {
    CreatePartitionsRequest t;
    EXPECT_FALSE(DecodeCreatePartitions(b.substr(0, cut), 1, &t)) << cut;
  }
}

TEST(AdminCodecTest, DescribeConfigsRequestAndResponseByVersion) {
  std::string b;
  Encoder e(&b);
  e.ArrayCount(2, false);
  e.Int8(kResourceTopic);
  e.String("t", false);
  e.ArrayCount(-1, false);
  e.Int8(kResourceBroker);
  e.String("0", false);
  e.ArrayCount(1, false);
  e.String("broker.id", false);
  e.Bool(true);  // include_synonyms (v1+)
  DescribeConfigsRequest r;
  ASSERT_TRUE(DecodeDescribeConfigs(b, 1, &r));
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_FALSE(r.resources[0].keys);
  ASSERT_TRUE(r.resources[1].keys);
  EXPECT_EQ((*r.resources[1].keys)[0], "broker.id");
  EXPECT_TRUE(r.include_synonyms);

  DescribeConfigsResponse resp;
  auto& res = resp.results.emplace_back();
  res.type = kResourceTopic;
  res.name = "t";
  res.configs.push_back({"retention.ms", "5", false, kSourceTopic, false});
  for (int16_t v : {0, 1}) {
    std::string out;
    EncodeDescribeConfigs(resp, v, /*synonyms=*/true, &out);
    Decoder d(out);
    EXPECT_EQ(d.Int32(), 0);
    EXPECT_EQ(d.ArrayCount(false), 1);
    EXPECT_EQ(d.Int16(), 0);
    EXPECT_FALSE(d.NullableString(false));
    EXPECT_EQ(d.Int8(), kResourceTopic);
    EXPECT_EQ(d.String(false), "t");
    EXPECT_EQ(d.ArrayCount(false), 1);
    EXPECT_EQ(d.String(false), "retention.ms");
    EXPECT_EQ(d.String(false), "5");
    EXPECT_FALSE(d.Bool());  // read_only
    if (v == 0) {
      EXPECT_FALSE(d.Bool());  // is_default
    } else {
      EXPECT_EQ(d.Int8(), kSourceTopic);
    }
    EXPECT_FALSE(d.Bool());  // sensitive
    if (v >= 1) {
      EXPECT_EQ(d.ArrayCount(false), 1);
      EXPECT_EQ(d.String(false), "retention.ms");
      EXPECT_EQ(d.String(false), "5");
      EXPECT_EQ(d.Int8(), kSourceTopic);
    }
    EXPECT_TRUE(d.ok());
    EXPECT_EQ(d.remaining(), 0u);
  }
}

}  // namespace
}  // namespace runnel::kafka
