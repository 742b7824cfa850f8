// The bench tool's Kafka client against the server's own codec: every
// request the tool encodes is decoded by the server's decoder
// (protocol/kafka/messages.h), every response the server's encoder writes is
// decoded by the tool; batches pass the broker's produce validation.
#include "cli/kafka_bench_client.h"

#include "cli/bench_pubsub.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/messages.h"
#include "storage/batch_format.h"

#include <gtest/gtest.h>

#include <cstring>

namespace runnel::cli {
namespace {

// Splits a request frame the way the server does; returns the body.
std::string_view ServerView(const std::string& frame, kafka::RequestHeader* h) {
  std::string_view body;
  size_t need = 0;
  EXPECT_EQ(kafka::NextFrame(frame, kafka::kDefaultMaxRequestBytes, &body, &need),
            kafka::FrameStatus::kFrame);
  EXPECT_EQ(body.size() + 4, frame.size());
  size_t at = 0;
  EXPECT_TRUE(kafka::ParseRequestHeader(body, h, &at));
  EXPECT_EQ(h->client_id.value_or(""), "runnel-bench");
  return body.substr(at);
}

// A response frame as the server sends it (header v0).
std::string Respond(int32_t corr, const std::string& body) {
  std::string out;
  const size_t start = kafka::BeginResponse(&out, corr, false);
  out += body;
  kafka::FinishResponse(&out, start);
  return out;
}

TEST(KafkaBenchClientTest, ProduceRequestDecodesOnTheServerWithBatchesWhereOffsetsSay) {
  ProduceBatch a(3, 100), b(1, 10);
  std::string sealed(a.bytes());
  ProduceBatch::Seal(sealed.data(), sealed.size(), 1234);
  const std::vector<ProducePartition> parts = {{0, sealed}, {5, b.bytes()}};
  std::string frame;
  AppendProduceRequest(&frame, 77, -1, 30000, "t.one", parts);
  kafka::RequestHeader h;
  const std::string_view body = ServerView(frame, &h);
  EXPECT_EQ(h.api_key, 0);
  EXPECT_EQ(h.api_version, kKafkaProduceVersion);
  EXPECT_EQ(h.correlation_id, 77);
  kafka::ProduceRequest req;
  ASSERT_TRUE(kafka::DecodeProduce(body, h.api_version, &req));
  EXPECT_FALSE(req.transactional_id.has_value());
  EXPECT_EQ(req.acks, -1);
  EXPECT_EQ(req.timeout_ms, 30000);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].name, "t.one");
  ASSERT_EQ(req.topics[0].partitions.size(), 2u);
  EXPECT_EQ(req.topics[0].partitions[0].index, 0);
  EXPECT_EQ(req.topics[0].partitions[0].records.value(), sealed);
  EXPECT_EQ(req.topics[0].partitions[1].index, 5);
  EXPECT_EQ(req.topics[0].partitions[1].records.value(), b.bytes());

  const std::vector<size_t> at = ProduceBatchOffsets("t.one", parts);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(std::string_view(frame).substr(at[0], sealed.size()), sealed);
  EXPECT_EQ(std::string_view(frame).substr(at[1], b.bytes().size()), b.bytes());

  SetCorrelationId(frame.data(), 0x12345678);
  ServerView(frame, &h);
  EXPECT_EQ(h.correlation_id, 0x12345678);
}

TEST(KafkaBenchClientTest, SealedBatchPassesTheBrokersProduceValidation) {
  ProduceBatch batch(4, 1024);
  std::string bytes(batch.bytes());
  for (int i = 0; i < 4; ++i) {
    WriteStamp(bytes.data() + batch.value_offsets()[static_cast<size_t>(i)],
               {1000 + i, 0, static_cast<uint64_t>(i + 1)});
  }
  // Changed values without a new CRC are refused; sealed, accepted.
  storage::BatchHeader h;
  EXPECT_FALSE(storage::ValidateProducedBatch(bytes, 1 << 20, &h).ok());
  ProduceBatch::Seal(bytes.data(), bytes.size(), 1700000000123);
  ASSERT_TRUE(storage::ValidateProducedBatch(bytes, 1 << 20, &h).ok());
  EXPECT_EQ(h.records_count, 4);
  EXPECT_EQ(h.base_timestamp, 1700000000123);
  EXPECT_EQ(h.max_timestamp, 1700000000123);

  std::vector<storage::DecodedRecord> records;
  std::vector<HeaderView> headers;
  ASSERT_TRUE(storage::DecodeRecords(bytes, h, &records, &headers).ok());
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    Stamp s;
    ASSERT_EQ(records[static_cast<size_t>(i)].value->size(), 1024u);
    ASSERT_TRUE(ReadStamp(*records[static_cast<size_t>(i)].value, &s));
    EXPECT_EQ(s.send_ns, 1000 + i);
    EXPECT_EQ(s.sequence, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(records[static_cast<size_t>(i)].timestamp_ms, 1700000000123);
    EXPECT_FALSE(records[static_cast<size_t>(i)].key.has_value());
  }
}

TEST(KafkaBenchClientTest, FetchRequestDecodesOnTheServer) {
  const std::vector<FetchPartition> parts = {{1, 500, 1 << 20}, {3, 0, 4096}};
  std::string frame;
  AppendFetchRequest(&frame, 9, 500, 1, 52428800, "fetched", parts);
  kafka::RequestHeader h;
  const std::string_view body = ServerView(frame, &h);
  EXPECT_EQ(h.api_key, 1);
  EXPECT_EQ(h.api_version, kKafkaFetchVersion);
  kafka::FetchRequest req;
  ASSERT_TRUE(kafka::DecodeFetch(body, h.api_version, &req));
  EXPECT_EQ(req.max_wait_ms, 500);
  EXPECT_EQ(req.min_bytes, 1);
  EXPECT_EQ(req.max_bytes, 52428800);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].name, "fetched");
  ASSERT_EQ(req.topics[0].partitions.size(), 2u);
  EXPECT_EQ(req.topics[0].partitions[0].index, 1);
  EXPECT_EQ(req.topics[0].partitions[0].fetch_offset, 500);
  EXPECT_EQ(req.topics[0].partitions[0].partition_max_bytes, 1 << 20);
  EXPECT_EQ(req.topics[0].partitions[1].index, 3);
  EXPECT_EQ(req.topics[0].partitions[1].partition_max_bytes, 4096);
}

TEST(KafkaBenchClientTest, AdminRequestsDecodeOnTheServer) {
  std::string frame;
  AppendMetadataRequest(&frame, 1, std::vector<std::string>{"a", "b.c"});
  kafka::RequestHeader h;
  kafka::MetadataRequest md;
  std::string_view body = ServerView(frame, &h);  // sets h before it is read
  ASSERT_TRUE(kafka::DecodeMetadata(body, h.api_version, &md));
  EXPECT_EQ(h.api_version, kKafkaMetadataVersion);
  EXPECT_EQ(h.api_key, 3);
  ASSERT_TRUE(md.topics.has_value());
  EXPECT_EQ(*md.topics, (std::vector<std::string_view>{"a", "b.c"}));
  EXPECT_FALSE(md.allow_auto_topic_creation);

  frame.clear();
  AppendCreateTopicsRequest(&frame, 2, "new.topic", 6, 10000);
  kafka::CreateTopicsRequest ct;
  body = ServerView(frame, &h);
  ASSERT_TRUE(kafka::DecodeCreateTopics(body, h.api_version, &ct));
  EXPECT_EQ(h.api_version, kKafkaCreateTopicsVersion);
  EXPECT_EQ(h.api_key, 19);
  ASSERT_EQ(ct.topics.size(), 1u);
  EXPECT_EQ(ct.topics[0].name, "new.topic");
  EXPECT_EQ(ct.topics[0].num_partitions, 6);
  EXPECT_EQ(ct.topics[0].replication_factor, 1);
  EXPECT_TRUE(ct.topics[0].configs.empty());
  EXPECT_EQ(ct.timeout_ms, 10000);
  EXPECT_FALSE(ct.validate_only);

  frame.clear();
  AppendDeleteTopicsRequest(&frame, 3, "old.topic", 5000);
  kafka::DeleteTopicsRequest dt;
  body = ServerView(frame, &h);
  ASSERT_TRUE(kafka::DecodeDeleteTopics(body, h.api_version, &dt));
  EXPECT_EQ(h.api_key, 20);
  EXPECT_EQ(dt.names, (std::vector<std::string_view>{"old.topic"}));
  EXPECT_EQ(dt.timeout_ms, 5000);
}

TEST(KafkaBenchClientTest, ResponseFramesAreSplitAndBadSizesRefused) {
  const std::string whole = Respond(42, "body!") + Respond(43, "");
  int32_t corr = 0;
  std::string_view body;
  size_t used = 0;
  EXPECT_EQ(NextResponse(std::string_view(whole).substr(0, 2), 1 << 20, &corr, &body, &used),
            ResponseFrame::kNeedMore);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(NextResponse(std::string_view(whole).substr(0, 9), 1 << 20, &corr, &body, &used),
            ResponseFrame::kNeedMore);
  EXPECT_EQ(used, 13u);  // size + correlation id + 5 bytes
  ASSERT_EQ(NextResponse(whole, 1 << 20, &corr, &body, &used), ResponseFrame::kFrame);
  EXPECT_EQ(corr, 42);
  EXPECT_EQ(body, "body!");
  ASSERT_EQ(NextResponse(std::string_view(whole).substr(used), 1 << 20, &corr, &body, &used),
            ResponseFrame::kFrame);
  EXPECT_EQ(corr, 43);
  EXPECT_EQ(body, "");
  EXPECT_EQ(NextResponse(std::string("\xff\xff\xff\xff", 4), 1 << 20, &corr, &body, &used),
            ResponseFrame::kBad);
  EXPECT_EQ(NextResponse(std::string("\x00\x20\x00\x00", 4), 1 << 20, &corr, &body, &used),
            ResponseFrame::kBad);  // 2 MiB: over the limit
}

TEST(KafkaBenchClientTest, ServerResponsesDecode) {
  kafka::ProduceResponse pr;
  pr.topics.push_back(
      {"t",
       {{0, kafka::ErrorCode::kNone, 100, 0}, {2, kafka::ErrorCode::kRequestTimedOut, -1, 0}}});
  std::string body;
  kafka::EncodeProduce(pr, kKafkaProduceVersion, &body);
  std::vector<ProducedPartition> produced;
  ASSERT_TRUE(DecodeProduceResponse(body, "t", &produced));
  ASSERT_EQ(produced.size(), 2u);
  EXPECT_EQ(produced[0].partition, 0);
  EXPECT_EQ(produced[0].error, 0);
  EXPECT_EQ(produced[0].base_offset, 100);
  EXPECT_EQ(produced[1].partition, 2);
  EXPECT_EQ(produced[1].error, 7);
  produced.clear();
  EXPECT_FALSE(DecodeProduceResponse(body, "other", &produced));
  EXPECT_FALSE(
      DecodeProduceResponse(std::string_view(body).substr(0, body.size() - 1), "t", &produced));

  kafka::FetchResponse fr;
  fr.topics.push_back({"t",
                       {{1, kafka::ErrorCode::kNone, 77, 0, "batches"},
                        {4, kafka::ErrorCode::kOffsetOutOfRange, 5, 0, ""}}});
  body.clear();
  kafka::EncodeFetch(fr, kKafkaFetchVersion, &body);
  int16_t top = -1;
  std::vector<FetchedPartition> fetched;
  ASSERT_TRUE(DecodeFetchResponse(body, "t", &top, &fetched));
  EXPECT_EQ(top, 0);
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].partition, 1);
  EXPECT_EQ(fetched[0].high_watermark, 77);
  EXPECT_EQ(fetched[0].records, "batches");
  EXPECT_EQ(fetched[1].error, 1);
  EXPECT_EQ(fetched[1].records, "");

  kafka::MetadataResponse mr;
  mr.host = "127.0.0.1";
  mr.port = 9092;
  mr.cluster_id = "c";
  mr.topics.push_back(
      {kafka::ErrorCode::kNone, "t", {{kafka::ErrorCode::kNone, 0}, {kafka::ErrorCode::kNone, 1}}});
  mr.topics.push_back({kafka::ErrorCode::kUnknownTopicOrPartition, "gone", {}});
  body.clear();
  kafka::EncodeMetadata(mr, kKafkaMetadataVersion, &body);
  MetadataResult m;
  ASSERT_TRUE(DecodeMetadataResponse(body, &m));
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].name, "t");
  EXPECT_EQ(m.topics[0].partitions, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(m.topics[1].error, kKafkaUnknownTopicOrPartition);

  body.clear();
  kafka::EncodeCreateTopics({{"t", kafka::ErrorCode::kTopicAlreadyExists, "exists"}},
                            kKafkaCreateTopicsVersion, &body);
  std::vector<TopicError> created;
  ASSERT_TRUE(DecodeCreateTopicsResponse(body, &created));
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].error, kKafkaTopicAlreadyExists);
  EXPECT_EQ(created[0].message, "exists");

  body.clear();
  kafka::EncodeDeleteTopics({{"t", kafka::ErrorCode::kNone, std::nullopt}},
                            kKafkaDeleteTopicsVersion, &body);
  std::vector<TopicError> deleted;
  ASSERT_TRUE(DecodeDeleteTopicsResponse(body, &deleted));
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].name, "t");
}

// Stored batches at the given base offsets, as a fetch answer holds them.
std::string Stored(std::initializer_list<std::pair<int64_t, int32_t>> batches) {
  std::string out;
  for (auto [base, count] : batches) {
    ProduceBatch b(count, 20);
    std::string bytes(b.bytes());
    storage::SetBaseOffset(bytes.data(), base);
    ProduceBatch::Seal(bytes.data(), bytes.size(), 1);
    out += bytes;
  }
  return out;
}

class CountingSink : public ValueSink {
 public:
  void Value(int64_t offset, std::string_view value) override {
    offsets.push_back(offset);
    EXPECT_EQ(value.size(), 20u);
  }
  std::vector<int64_t> offsets;
};

TEST(KafkaBenchClientTest, WalkCountsWholeBatchesAndIgnoresATruncatedTail) {
  const std::string records = Stored({{0, 3}, {3, 2}, {5, 4}});
  const std::string cut = records.substr(0, records.size() - 7);
  int64_t next = 0;
  WalkResult w;
  CountingSink sink;
  ASSERT_TRUE(WalkBatches(cut, true, &sink, &next, &w).ok());
  EXPECT_EQ(w.batches, 2);
  EXPECT_EQ(w.records, 5);
  EXPECT_EQ(next, 5);
  EXPECT_EQ(sink.offsets, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // The same fetch again from offset 3 skips the batch already counted.
  next = 3;
  WalkResult again;
  ASSERT_TRUE(WalkBatches(records, false, nullptr, &next, &again).ok());
  EXPECT_EQ(again.records, 6);
  EXPECT_EQ(next, 9);
}

TEST(KafkaBenchClientTest, WalkFailsOnAGapAndOnABadCrc) {
  int64_t next = 0;
  WalkResult w;
  Status st = WalkBatches(Stored({{0, 2}, {3, 1}}), false, nullptr, &next, &w);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("gap"), std::string::npos) << st.message();

  std::string damaged = Stored({{0, 2}});
  damaged[damaged.size() - 3] ^= 1;
  next = 0;
  EXPECT_TRUE(WalkBatches(damaged, false, nullptr, &next, &w).ok());  // not checked
  next = 0;
  st = WalkBatches(damaged, true, nullptr, &next, &w);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("CRC"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace runnel::cli
