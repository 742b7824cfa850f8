#include "broker/streams/stream_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

namespace runnel::broker::streams {
namespace {

class StreamStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("streams_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    log_.reset();
    Options options;
    options.default_topic_config.fsync.policy = FsyncPolicy::kNever;
    auto log = Log::Open(dir_.string(), options);
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(*log);
    auto store = StreamStore::Open(log_.get());
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  Outcome Add(std::string_view key, std::string_view id, std::vector<std::string_view> fields,
              StreamId* out = nullptr, TrimSpec trim = {}) {
    std::promise<std::pair<Outcome, StreamId>> p;
    store_->Add(key, false, *ParseAddId(id), fields, trim, [&](Outcome o, StreamId i) {
      p.set_value({std::move(o), i});
    });
    auto [o, i] = p.get_future().get();
    if (out) *out = i;
    return o;
  }
  std::vector<std::string> Ids(std::string_view key, bool reverse = false, size_t count = 0) {
    auto r = store_->Range(key, StreamId::Min(), StreamId::Max(), count, reverse);
    EXPECT_TRUE(r.ok());
    std::vector<std::string> out;
    for (const Entry& e : *r) out.push_back(e.id.ToString());
    return out;
  }
  int64_t Del(std::string_view key, std::vector<StreamId> ids) {
    std::promise<int64_t> p;
    store_->DeleteIds(key, ids, [&](Outcome o, int64_t n) {
      EXPECT_TRUE(o.ok());
      p.set_value(n);
    });
    return p.get_future().get();
  }
  int64_t TrimTo(std::string_view key, TrimSpec t) {
    std::promise<int64_t> p;
    store_->Trim(key, t, [&](Outcome o, int64_t n) {
      EXPECT_TRUE(o.ok());
      p.set_value(n);
    });
    return p.get_future().get();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<StreamStore> store_;
};

TEST_F(StreamStoreTest, AddedEntriesReadBackInBothDirections) {
  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE(Add("s", std::to_string(i) + "-1", {"k", std::to_string(i)}).ok());
  }
  EXPECT_EQ(store_->Length("s"), 300);
  auto all = Ids("s");
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(all.front(), "1-1");
  auto rev = Ids("s", true, 5);
  EXPECT_EQ(rev, (std::vector<std::string>{"300-1", "299-1", "298-1", "297-1", "296-1"}));
  auto mid = store_->Range("s", {150, 0}, {152, UINT64_MAX}, 0, true);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 3u);
  EXPECT_EQ((*mid)[0].id, (StreamId{152, 1}));
  EXPECT_EQ(Ids("s", true).size(), 300u);
}

TEST_F(StreamStoreTest, IdNotGreaterIsRefused) {
  ASSERT_TRUE(Add("s", "5-5", {"a", "1"}).ok());
  EXPECT_EQ(Add("s", "5-5", {"a", "1"}).error, StreamError::kIdNotGreater);
  EXPECT_EQ(Add("s", "5-*", {"a", "1"}).error, StreamError::kOk);
}

TEST_F(StreamStoreTest, DeletionsAndTrimsSurviveReopen) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Add("s", std::to_string(i), {"f", "v"}).ok());
  EXPECT_EQ(Del("s", {{3, 0}, {4, 0}, {99, 0}}), 2);
  EXPECT_EQ(Del("s", {{3, 0}}), 0);
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxLen;
  t.maxlen = 5;
  EXPECT_EQ(TrimTo("s", t), 3);  // 1, 2, 5
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"6-0", "7-0", "8-0", "9-0", "10-0"}));
  EXPECT_EQ(Del("s", {{10, 0}}), 1);
  Reopen();
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"6-0", "7-0", "8-0", "9-0"}));
  EXPECT_EQ(store_->Length("s"), 4);
  auto info = store_->Info("s");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->last_id, (StreamId{10, 0}));
  EXPECT_EQ(info->max_deleted, (StreamId{10, 0}));
  EXPECT_EQ(info->entries_added, 10u);
  EXPECT_EQ(Add("s", "10", {"f", "v"}).error, StreamError::kIdNotGreater);
}

TEST_F(StreamStoreTest, MinIdTrimsBelowTheId) {
  for (int i = 1; i <= 400; ++i) ASSERT_TRUE(Add("s", std::to_string(i), {"f", "v"}).ok());
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMinId;
  t.minid = {300, 0};
  EXPECT_EQ(TrimTo("s", t), 299);
  EXPECT_EQ(store_->Length("s"), 101);
  EXPECT_EQ(Ids("s", false, 1), (std::vector<std::string>{"300-0"}));
}

TEST_F(StreamStoreTest, DeleteResetsStateAndWaitersWakeOnRecreate) {
  ASSERT_TRUE(Add("s", "5", {"f", "v"}).ok());
  EXPECT_EQ(Del("s", {{5, 0}}), 1);
  std::promise<void> woke;
  store_->Watch("s", {0, 0}, [&] { woke.set_value(); });
  auto d = store_->Delete("s");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(*d);
  EXPECT_FALSE(store_->Exists("s"));
  ASSERT_TRUE(Add("s", "1", {"f", "v"}).ok());
  woke.get_future().get();
  Reopen();
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"1-0"}));
}

int64_t LogStart(Log* log, std::string_view key) {
  auto d = log->DescribeTopic(key);
  EXPECT_TRUE(d.ok());
  return d.ok() ? d->partitions[0].start_offset : -1;
}

// Entries "1".."n" are at offsets 0..n-1: id i is at offset i-1.
TEST_F(StreamStoreTest, TrimsAndXdelOfTheFirstEntriesRaiseTheLogStart) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Add("s", std::to_string(i), {"f", "v"}).ok());
  EXPECT_EQ(Del("s", {{1, 0}, {2, 0}}), 2);
  store_->FlushLogStarts();
  EXPECT_EQ(LogStart(log_.get(), "s"), 2);
  EXPECT_EQ(Del("s", {{5, 0}}), 1);  // in the middle: the first live entry stays
  store_->FlushLogStarts();
  EXPECT_EQ(LogStart(log_.get(), "s"), 2);
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxLen;
  t.maxlen = 5;
  EXPECT_EQ(TrimTo("s", t), 2);  // 3, 4
  store_->FlushLogStarts();
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"6-0", "7-0", "8-0", "9-0", "10-0"}));
  EXPECT_EQ(LogStart(log_.get(), "s"), 5);
  StreamId id;
  TrimSpec keep2;
  keep2.kind = TrimSpec::Kind::kMaxLen;
  keep2.maxlen = 2;
  ASSERT_TRUE(Add("s", "11", {"f", "v"}, &id, keep2).ok());
  store_->FlushLogStarts();
  EXPECT_EQ(LogStart(log_.get(), "s"), 9);
  Reopen();
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"10-0", "11-0"}));
  EXPECT_EQ(store_->Length("s"), 2);
  auto info = store_->Info("s");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->entries_added, 11u);
  EXPECT_EQ(info->last_id, (StreamId{11, 0}));
  EXPECT_EQ(LogStart(log_.get(), "s"), 9);
}

TEST_F(StreamStoreTest, NoRaiseOfADeletedStreamReachesItsSuccessor) {
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(Add("s", std::to_string(i), {"f", "v"}).ok());
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxLen;
  t.maxlen = 1;
  EXPECT_EQ(TrimTo("s", t), 49);
  ASSERT_TRUE(store_->Delete("s").ok());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Add("s", std::to_string(i), {"f", "v"}).ok());
  store_->FlushLogStarts();
  EXPECT_EQ(LogStart(log_.get(), "s"), 0);
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"1-0", "2-0", "3-0"}));
}

TEST_F(StreamStoreTest, RecordsOfAnotherFaceAreEntriesOfARecordTopic) {
  // A topic another writer filled first (as Kafka does): every record is an
  // entry <offset>-1, read without a load scan, the same after a reopen.
  ASSERT_TRUE(log_->CreateTopic("kafka-made", TopicConfig{}).ok());
  {
    auto p = log_->NewProducer("kafka-made", false);
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < 300; ++i) {
      std::string v = "v" + std::to_string(i);
      RecordView r;
      r.value = v;
      ASSERT_TRUE((*p)->Append(0, r).ok());
    }
  }
  auto ids = Ids("kafka-made");
  ASSERT_EQ(ids.size(), 300u);
  EXPECT_EQ(ids.front(), "0-1");
  EXPECT_EQ(ids.back(), "299-1");
  EXPECT_EQ(store_->Length("kafka-made"), 300);
  EXPECT_EQ(store_->LastId("kafka-made")->ToString(), "299-1");
  // Backwards in blocks, and ranges by offset.
  EXPECT_EQ(Ids("kafka-made", /*reverse=*/true, 2), (std::vector<std::string>{"299-1", "298-1"}));
  auto mid = store_->Range("kafka-made", {150, 0}, {151, 1}, 0, false);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 2u);
  EXPECT_EQ((*mid)[0].fields, (std::vector<std::string>{"value", "v150"}));
  auto rev = store_->Range("kafka-made", {10, 2}, {200, 0}, 0, true);
  ASSERT_TRUE(rev.ok());
  ASSERT_EQ(rev->size(), 189u);  // 199-1 down to 11-1
  EXPECT_EQ(rev->front().id.ToString(), "199-1");
  EXPECT_EQ(rev->back().id.ToString(), "11-1");
  // Not a stream: XADD is refused and appends nothing.
  EXPECT_EQ(Add("kafka-made", "*", {"f", "v"}).error, StreamError::kWrongType);
  EXPECT_EQ(store_->Length("kafka-made"), 300);
  // An append by the other face, once told, is an entry.
  {
    auto p = log_->NewProducer("kafka-made", false);
    ASSERT_TRUE(p.ok());
    RecordView r;
    r.key = "k";
    ASSERT_TRUE((*p)->Append(0, r).ok());
  }
  store_->NoteAppended("kafka-made", 0, 301);
  EXPECT_EQ(store_->Length("kafka-made"), 301);
  auto last = store_->Range("kafka-made", {300, 0}, StreamId::Max(), 0, false);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->front().fields, (std::vector<std::string>{"key", "k"}));
  EXPECT_EQ(Del("kafka-made", {{5, 1}, {6, 0}}), 1);  // 6-0 names no record
  Reopen();
  EXPECT_EQ(store_->Length("kafka-made"), 300);
  ids = Ids("kafka-made");
  ASSERT_EQ(ids.size(), 300u);
  EXPECT_EQ(ids[5], "6-1");
  EXPECT_EQ(ids.back(), "300-1");
}

TEST_F(StreamStoreTest, AnXaddStreamHidesRecordsOfAnotherFace) {
  ASSERT_TRUE(Add("s", "1-0", {"f", "v"}).ok());
  {
    auto p = log_->NewProducer("s", false);
    ASSERT_TRUE(p.ok());
    RecordView r;
    r.value = "not an entry";
    ASSERT_TRUE((*p)->Append(0, r).ok());
  }
  store_->NoteAppended("s", 0, 2);
  ASSERT_TRUE(Add("s", "2-0", {"f", "v"}).ok());
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"1-0", "2-0"}));
  EXPECT_EQ(store_->Length("s"), 2);
  Reopen();
  EXPECT_EQ(Ids("s"), (std::vector<std::string>{"1-0", "2-0"}));
}

}  // namespace
}  // namespace runnel::broker::streams
