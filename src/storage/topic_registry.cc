#include "storage/topic_registry.h"

#include <charconv>
#include <future>

#include "storage/batch_format.h"
#include "storage/commit_pool.h"
#include "storage/data_dir.h"
#include "storage/partition_reader.h"
#include "storage/partition_writer.h"
#include "util/clock.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {
namespace {

std::string MetaTopicsDir(const std::string& data) { return MetaDir(data) + "/topics/0"; }

TopicConfig MetaConfig() {
  TopicConfig c;
  c.compact = true;
  c.fsync.policy = FsyncPolicy::kAlways;
  c.segment_bytes = 8 << 20;
  return c;
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string EncodeTopicConfig(const TopicConfig& c) {
  std::string s;
  auto put = [&](const char* k, const std::string& v) { s += std::string(k) + "=" + v + "\n"; };
  put("partitions", std::to_string(c.partitions));
  put("retention_ms", std::to_string(c.retention_ms));
  put("retention_bytes", std::to_string(c.retention_bytes));
  put("compact", c.compact ? "true" : "false");
  put("delete_retention_ms", std::to_string(c.delete_retention_ms));
  put("fsync", c.fsync.ToString());
  put("max_message_bytes", std::to_string(c.max_message_bytes));
  put("segment_bytes", std::to_string(c.segment_bytes));
  put("segment_ms", std::to_string(c.segment_ms));
  return s;
}

Result<TopicConfig> DecodeTopicConfig(std::string_view text) {
  TopicConfig c;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Status::Corruption("topic config line without '='");
    std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    int64_t n = 0;
    bool numeric = ParseInt(v, &n);
    if (k == "fsync") {
      ASSIGN_OR_RETURN(c.fsync, FsyncSpec::Parse(v));
    } else if (k == "compact") {
      c.compact = v == "true";
    } else if (!numeric) {
      continue;  // unknown or non-numeric field from a newer version: ignore
    } else if (k == "partitions") {
      c.partitions = static_cast<int32_t>(n);
    } else if (k == "retention_ms") {
      c.retention_ms = n;
    } else if (k == "retention_bytes") {
      c.retention_bytes = n;
    } else if (k == "delete_retention_ms") {
      c.delete_retention_ms = n;
    } else if (k == "max_message_bytes") {
      c.max_message_bytes = static_cast<int32_t>(n);
    } else if (k == "segment_bytes") {
      c.segment_bytes = n;
    } else if (k == "segment_ms") {
      c.segment_ms = n;
    }
  }
  return c;
}

Status ValidateTopicName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("topic name is empty");
  if (name.size() > static_cast<size_t>(kMaxTopicNameBytes)) {
    return Status::TooLarge("topic name is " + std::to_string(name.size()) +
                            " bytes; the limit is " + std::to_string(kMaxTopicNameBytes));
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("topic name contains a NUL byte");
  }
  return Status::OK();
}

TopicRegistry::TopicRegistry(Env* env, std::string data_dir, CommitPool* pool,
                             std::shared_ptr<TailWatcher> watcher)
    : env_(env), data_dir_(std::move(data_dir)), pool_(pool), watcher_(std::move(watcher)) {}

TopicRegistry::~TopicRegistry() {
  if (writer_) (void)writer_->Close();
}

Status TopicRegistry::Open() {
  const std::string dir = MetaTopicsDir(data_dir_);
  RETURN_IF_ERROR(env_->CreateDirs(dir));
  writer_ = std::make_shared<PartitionWriter>(env_, dir, MetaConfig(), pool_);
  reader_ = std::make_unique<PartitionReader>(env_, dir, watcher_);
  RETURN_IF_ERROR(reader_->Seek(StartPosition::Earliest()));
  return CatchUp();
}

Status TopicRegistry::CatchUp() {
  for (;;) {
    auto batch = reader_->Read(1 << 20);
    if (!batch.ok()) {
      // A damaged meta record is skipped (reported by verify); carry on.
      if (batch.status().Is(StatusCode::kCorruption)) continue;
      return batch.status();
    }
    if (batch->empty()) return Status::OK();
    for (const RecordView& r : batch->records()) {
      if (!r.key) continue;
      std::string name(*r.key);
      if (!r.value) {
        topics_.erase(name);
        continue;
      }
      auto config = DecodeTopicConfig(*r.value);
      if (config.ok()) topics_[name] = *config;
    }
  }
}

Result<std::unique_ptr<FileLock>> TopicRegistry::LockAdmin() {
  return env_->LockFile(MetaDir(data_dir_) + "/admin.lock", /*wait=*/true);
}

Status TopicRegistry::Put(std::string_view name, const TopicConfig* config) {
  std::string value = config ? EncodeTopicConfig(*config) : std::string();
  RecordView r;
  r.key = name;
  if (config) r.value = std::string_view(value);
  AppendRequest req;
  EncodeBatch(0, std::span<const RecordView>(&r, 1), WallMillis(), &req.bytes);
  req.batches.push_back({0, 1});
  std::promise<Result<int64_t>> done;
  auto future = done.get_future();
  req.done = [&done](Result<int64_t> r) { done.set_value(std::move(r)); };
  writer_->Submit(std::move(req));
  Result<int64_t> offset = future.get();
  RETURN_IF_ERROR(offset.status());
  return CatchUp();
}

}  // namespace runnel::storage
