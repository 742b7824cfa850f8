// Random sequences of append, read, reopen, roll (tiny segments), retention
// and compaction, checked against an in-memory model of the log after every
// step (in the manner of Redpanda's storage opfuzz).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "runnel/log.h"
#include "storage/test_util.h"
#include "storage/verify.h"
#include "util/env.h"

namespace runnel {
namespace {

using testing::ReadAll;
using testing::TempDir;

struct Model {
  std::vector<Record> records;  // index == offset
};

class PropertyRun {
 public:
  explicit PropertyRun(uint32_t seed) : rng_(seed) {}

  void Run(int steps) {
    Open();
    TopicConfig plain;
    plain.segment_bytes = 4096;
    plain.retention_bytes = 12288;
    plain.fsync.policy = FsyncPolicy::kNever;
    TopicConfig compacted = plain;
    compacted.retention_bytes = -1;
    compacted.compact = true;
    compacted.delete_retention_ms = 0;
    ASSERT_TRUE(log_->CreateTopic("plain", plain).ok());
    ASSERT_TRUE(log_->CreateTopic("compacted", compacted).ok());
    for (int step = 0; step < steps && !::testing::Test::HasFatalFailure(); ++step) {
      const char* topic = rng_() % 2 ? "plain" : "compacted";
      switch (rng_() % 10) {
        case 0:
          Reopen();
          break;
        case 1:
          ASSERT_TRUE(log_->RunSteward().ok());
          break;
        case 2:
        case 3:
          Check(topic, step);
          break;
        default:
          Append(topic);
      }
    }
    Check("plain", steps);
    Check("compacted", steps);
    auto report = storage::VerifyDirectory(Env::Default(), dir_.path());
    ASSERT_TRUE(report.ok());
    for (const auto& d : report->damage) ADD_FAILURE() << d.file << ": " << d.problem;
  }

 private:
  void Open() {
    auto log = Log::Open(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  void Reopen() {
    log_.reset();
    Open();
  }

  void Append(const std::string& topic) {
    Model& m = models_[topic];
    int n = 1 + static_cast<int>(rng_() % 6);
    std::vector<std::string> keys(n), values(n);
    std::vector<RecordView> views(n);
    for (int i = 0; i < n; ++i) {
      keys[i] = "key" + std::to_string(rng_() % 12);
      values[i] = "v" + std::to_string(m.records.size() + i) + std::string(rng_() % 400, 'p');
      views[i].key = keys[i];
      if (rng_() % 15 != 0) views[i].value = values[i];  // otherwise a tombstone
      views[i].timestamp_ms = 1000 + static_cast<int64_t>(m.records.size());
    }
    auto producer = log_->NewProducer(topic, false);
    ASSERT_TRUE(producer.ok());
    auto base = (*producer)->Append(0, views);
    ASSERT_TRUE(base.ok()) << base.status().ToString();
    ASSERT_EQ(*base, static_cast<int64_t>(m.records.size()));
    for (int i = 0; i < n; ++i) {
      views[i].offset = *base + i;
      m.records.push_back(Record::From(views[i]));
    }
  }

  void Check(const std::string& topic, int step) {
    const Model& m = models_[topic];
    int64_t start = m.records.empty() ? 0 : static_cast<int64_t>(rng_() % m.records.size());
    auto got = ReadAll(log_.get(), topic, 0, StartPosition::Offset(start));
    SCOPED_TRACE("topic " + topic + " step " + std::to_string(step) + " from " +
                 std::to_string(start));
    int64_t prev = -1;
    for (const Record& r : got) {
      ASSERT_GT(r.offset, prev);
      ASSERT_LT(r.offset, static_cast<int64_t>(m.records.size()));
      ASSERT_GE(r.offset, start);
      ASSERT_EQ(r, m.records[r.offset]) << "content differs at offset " << r.offset;
      prev = r.offset;
    }
    if (m.records.empty()) {
      ASSERT_TRUE(got.empty());
      return;
    }
    // The newest record lives in the active segment: never removed.
    ASSERT_FALSE(got.empty());
    ASSERT_EQ(got.back().offset, static_cast<int64_t>(m.records.size()) - 1);
    if (topic == "plain") {
      // Retention removes only a prefix: the rest is dense.
      for (size_t i = 1; i < got.size(); ++i) ASSERT_EQ(got[i].offset, got[i - 1].offset + 1);
    } else {
      // Compaction keeps each key's newest live record.
      std::map<std::string, int64_t> newest;
      for (const Record& r : m.records) newest[*r.key] = r.offset;
      for (const auto& [key, offset] : newest) {
        if (offset < start || !m.records[offset].value) continue;
        bool found = false;
        for (const Record& r : got) found |= r.offset == offset;
        ASSERT_TRUE(found) << key << " newest at " << offset << " missing";
      }
    }
  }

  std::mt19937 rng_;
  TempDir dir_;
  std::unique_ptr<Log> log_;
  std::map<std::string, Model> models_;
};

TEST(PropertyTest, RandomOperationSequencesMatchTheModel) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PropertyRun(seed).Run(250);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace runnel
