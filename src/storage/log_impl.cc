#include "storage/log_impl.h"

#include <algorithm>

#include "storage/commit_pool.h"
#include "storage/data_dir.h"
#include "storage/log_start_file.h"
#include "storage/partition_reader.h"
#include "storage/partition_writer.h"
#include "storage/producer_impl.h"
#include "storage/producer_state.h"
#include "storage/segment_list.h"
#include "storage/steward.h"
#include "storage/tail_watcher.h"
#include "storage/topic_registry.h"
#include "util/clock.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel {

Result<std::unique_ptr<Log>> Log::Open(const std::string& dir, const Options& options) {
  if (dir.empty()) return Status::InvalidArgument("data directory path is empty");
  Env* env = options.env ? options.env : Env::Default();
  auto impl = std::make_unique<storage::LogImpl>(env, dir, options);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Log>(std::move(impl));
}

}  // namespace runnel

namespace runnel::storage {
namespace {

constexpr int kCommitThreads = 4;
constexpr auto kTickInterval = std::chrono::milliseconds(50);

// Makes `dir` a runnel data directory, or checks that it is one.
Status PrepareDataDir(Env* env, const std::string& dir, bool create_if_missing) {
  auto names = env->ListDir(dir);
  if (!names.ok() && names.status().Is(StatusCode::kNotFound)) {
    if (!create_if_missing) return Status::NotFound(dir + ": no such data directory");
    RETURN_IF_ERROR(env->CreateDirs(dir));
    names = std::vector<std::string>();
  }
  if (!names.ok()) {
    return Status(names.status().code(),
                  dir + ": cannot open as a data directory: " + names.status().message());
  }
  const std::string marker = dir + "/" + std::string(kMarkerFile);
  bool has_marker = std::find(names->begin(), names->end(), kMarkerFile) != names->end();
  if (has_marker) {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(marker, OpenMode::kRead));
    char buf[64];
    ASSIGN_OR_RETURN(size_t n, f->ReadAt(0, buf, sizeof(buf)));
    if (std::string_view(buf, n) != kMarkerContent) {
      return Status::NotSupported(marker + ": unknown data directory format");
    }
    return Status::OK();
  }
  if (!names->empty()) {
    return Status::InvalidArgument(dir + " is not a runnel data directory (it has files but no " +
                                   std::string(kMarkerFile) + " marker); refusing to use it");
  }
  if (!create_if_missing) {
    return Status::NotFound(dir + " is an empty directory, not a runnel data directory");
  }
  RETURN_IF_ERROR(env->CreateDirs(TopicsDir(dir)));
  RETURN_IF_ERROR(env->CreateDirs(MetaDir(dir)));
  {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(marker + ".tmp", OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Append(kMarkerContent));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(env->Rename(marker + ".tmp", marker));
  return env->SyncDir(dir);
}

}  // namespace

LogImpl::LogImpl(Env* env, std::string dir, Options options)
    : env_(env), dir_(std::move(dir)), options_(std::move(options)) {}

LogImpl::~LogImpl() {
  {
    std::lock_guard lock(tick_mu_);
    stopping_ = true;
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [name, handle] : handles_) {
      for (auto& w : handle->writers) (void)w->Close();
    }
    handles_.clear();
    registry_.reset();
  }
  pool_.reset();  // runs what is still scheduled, then joins
}

Status LogImpl::Init() {
  RETURN_IF_ERROR(options_.default_topic_config.Validate());
  RETURN_IF_ERROR(PrepareDataDir(env_, dir_, options_.create_if_missing));
  pool_ = std::make_unique<CommitPool>(kCommitThreads);
  watcher_ = TailWatcher::Create();
  registry_ = std::make_unique<TopicRegistry>(env_, dir_, pool_.get(), watcher_);
  RETURN_IF_ERROR(registry_->Open());
  ticker_ = std::thread([this] { TickLoop(); });
  return Status::OK();
}

void LogImpl::TickLoop() {
  std::unique_lock lock(tick_mu_);
  while (!tick_cv_.wait_for(lock, kTickInterval, [this] { return stopping_; })) {
    lock.unlock();
    std::vector<std::shared_ptr<PartitionWriter>> writers;
    {
      std::lock_guard mu(mu_);
      for (auto& [name, handle] : handles_) {
        writers.insert(writers.end(), handle->writers.begin(), handle->writers.end());
      }
    }
    const int64_t now = WallMillis();
    for (auto& w : writers) w->SyncIfDue(now);
    lock.lock();
  }
}

Result<TopicConfig> LogImpl::ConfigLocked(std::string_view name) {
  RETURN_IF_ERROR(ValidateTopicName(name));
  // Another process may have created or deleted it: a catch-up that finds
  // nothing new costs one pread of the meta hwm.
  RETURN_IF_ERROR(registry_->CatchUp());
  auto it = registry_->topics().find(name);
  if (it == registry_->topics().end()) {
    return Status::NotFound("topic '" + std::string(name) + "' does not exist");
  }
  return it->second;
}

Status LogImpl::CreateTopicLocked(std::string_view name, const TopicConfig& config) {
  RETURN_IF_ERROR(ValidateTopicName(name));
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(auto admin, registry_->LockAdmin());
  RETURN_IF_ERROR(registry_->CatchUp());
  if (registry_->topics().count(name)) {
    return Status::AlreadyExists("topic '" + std::string(name) + "' already exists");
  }
  const std::string topic_dir = TopicDir(dir_, name);
  const std::string name_file = topic_dir + "/" + std::string(kTopicNameFile);
  if (env_->FileExists(name_file)) {
    auto f = env_->OpenFile(name_file, OpenMode::kRead);
    std::string existing(kMaxTopicNameBytes + 1, '\0');
    size_t n = 0;
    if (f.ok()) {
      auto got = (*f)->ReadAt(0, existing.data(), existing.size());
      n = got.ok() ? *got : 0;
    }
    if (std::string_view(existing.data(), n) != name) {
      return Status::AlreadyExists("topic '" + std::string(name) + "' maps to directory " +
                                   topic_dir + ", which another topic name uses");
    }
  }
  // Leftovers of a delete that crashed before removing the files.
  RETURN_IF_ERROR(env_->RemoveDirRecursive(topic_dir));
  for (int32_t p = 0; p < config.partitions; ++p) {
    RETURN_IF_ERROR(env_->CreateDirs(PartitionDir(topic_dir, p)));
  }
  {
    ASSIGN_OR_RETURN(auto f, env_->OpenFile(name_file, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Append(name));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(env_->SyncDir(topic_dir));
  RETURN_IF_ERROR(env_->SyncDir(TopicsDir(dir_)));
  return registry_->Put(name, &config);
}

Status LogImpl::CreateTopic(std::string_view name, const TopicConfig& config) {
  std::lock_guard lock(mu_);
  return CreateTopicLocked(name, config);
}

Status LogImpl::CreatePartitions(std::string_view name, int32_t new_total) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ValidateTopicName(name));
  ASSIGN_OR_RETURN(auto admin, registry_->LockAdmin());
  RETURN_IF_ERROR(registry_->CatchUp());
  auto it = registry_->topics().find(name);
  if (it == registry_->topics().end()) {
    return Status::NotFound("topic '" + std::string(name) + "' does not exist");
  }
  TopicConfig config = it->second;
  if (new_total <= config.partitions) {
    return Status::InvalidArgument("topic '" + std::string(name) + "' has " +
                                   std::to_string(config.partitions) +
                                   " partitions; the new count must be larger (got " +
                                   std::to_string(new_total) + ")");
  }
  config.partitions = new_total;
  RETURN_IF_ERROR(config.Validate());
  // Directories first, then the config: a crash in between leaves empty
  // partition directories that the config does not name yet (harmless; a
  // later create of them finds them empty).
  const std::string topic_dir = TopicDir(dir_, name);
  for (int32_t p = it->second.partitions; p < new_total; ++p) {
    RETURN_IF_ERROR(env_->CreateDirs(PartitionDir(topic_dir, p)));
  }
  RETURN_IF_ERROR(env_->SyncDir(topic_dir));
  return registry_->Put(name, &config);
}

Result<std::vector<TopicInfo>> LogImpl::ListTopics() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(registry_->CatchUp());
  std::vector<TopicInfo> out;
  for (const auto& [name, config] : registry_->topics()) out.push_back({name, config, {}});
  return out;
}

Result<TopicInfo> LogImpl::DescribeTopic(std::string_view name) {
  TopicInfo info;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(info.config, ConfigLocked(name));
  }
  info.name = std::string(name);
  const std::string topic_dir = TopicDir(dir_, name);
  for (int32_t p = 0; p < info.config.partitions; ++p) {
    const std::string pdir = PartitionDir(topic_dir, p);
    PartitionInfo pi;
    pi.partition = p;
    std::unique_ptr<File> cache;
    ASSIGN_OR_RETURN(Hwm hwm, ReadPublishedEnd(env_, pdir, &cache));
    ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, pdir));
    pi.end_offset = hwm.next_offset;
    int64_t start = ReadLogStartOrZero(env_, pdir);
    if (!bases.empty()) start = std::max(start, bases.front());
    pi.start_offset = std::min(start, hwm.next_offset);
    pi.segments = static_cast<int32_t>(bases.size());
    for (int64_t base : bases) {
      auto f = env_->OpenFile(SegmentPath(pdir, base, SegmentFileKind::kLog), OpenMode::kRead);
      if (!f.ok()) continue;
      auto size = (*f)->Size();
      if (size.ok()) pi.bytes += static_cast<int64_t>(*size);
    }
    info.partitions.push_back(pi);
  }
  return info;
}

Status LogImpl::DeleteTopic(std::string_view name) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ValidateTopicName(name));
  ASSIGN_OR_RETURN(auto admin, registry_->LockAdmin());
  ASSIGN_OR_RETURN(TopicConfig config, ConfigLocked(name));
  const std::string topic_dir = TopicDir(dir_, name);
  // Fence writers in every process first, then forget the topic, then free
  // the files. A crash in between leaves files that the next create removes.
  for (int32_t p = 0; p < config.partitions; ++p) {
    PartitionWriter writer(env_, PartitionDir(topic_dir, p), config, pool_.get());
    Status st = writer.MarkDeleted();
    if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
  }
  if (auto it = handles_.find(name); it != handles_.end()) {
    for (auto& w : it->second->writers) (void)w->MarkDeleted();
    handles_.erase(it);
  }
  for (int32_t p = 0; p < config.partitions; ++p) producer_states_.erase(PartitionDir(topic_dir, p));
  RETURN_IF_ERROR(registry_->Put(name, nullptr));
  return env_->RemoveDirRecursive(topic_dir);
}

Result<std::shared_ptr<TopicHandle>> LogImpl::HandleLocked(std::string_view name) {
  ASSIGN_OR_RETURN(TopicConfig config, ConfigLocked(name));
  auto it = handles_.find(name);
  if (it != handles_.end() && it->second->config == config) return it->second;
  // A topic that only grew keeps its writers (and their queues) for the old
  // partitions.
  const TopicHandle* grown = nullptr;
  if (it != handles_.end()) {
    TopicConfig old = it->second->config;
    old.partitions = config.partitions;
    if (old == config && it->second->config.partitions < config.partitions) grown = it->second.get();
  }
  auto handle = std::make_shared<TopicHandle>();
  handle->name = std::string(name);
  handle->dir = TopicDir(dir_, name);
  handle->config = config;
  for (int32_t p = 0; p < config.partitions; ++p) {
    if (grown && static_cast<size_t>(p) < grown->writers.size()) {
      handle->writers.push_back(grown->writers[static_cast<size_t>(p)]);
      continue;
    }
    const std::string pdir = PartitionDir(handle->dir, p);
    auto writer = std::make_shared<PartitionWriter>(env_, pdir, config, pool_.get());
    auto& state = producer_states_[pdir];
    if (!state) state = std::make_shared<ProducerStateTable>();
    writer->SetProducerState(state);
    writer->SetPublishHook([slot = listener_, topic = handle->name, p] {
      std::lock_guard lock(slot->mu);
      if (slot->fn) slot->fn(topic, p);
    });
    handle->writers.push_back(std::move(writer));
  }
  handles_[std::string(name)] = handle;
  return handle;
}

Result<std::unique_ptr<Producer>> LogImpl::NewProducer(std::string_view topic, bool auto_create) {
  std::lock_guard lock(mu_);
  auto handle = HandleLocked(topic);
  if (!handle.ok() && handle.status().Is(StatusCode::kNotFound) && auto_create) {
    Status st = CreateTopicLocked(topic, options_.default_topic_config);
    if (!st.ok() && !st.Is(StatusCode::kAlreadyExists)) return st;
    handle = HandleLocked(topic);
  }
  if (!handle.ok()) return handle.status();
  return std::unique_ptr<Producer>(std::make_unique<ProducerImpl>(*handle));
}

Result<std::unique_ptr<Reader>> LogImpl::NewReader(std::string_view topic, int32_t partition,
                                                   StartPosition start) {
  TopicConfig config;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(config, ConfigLocked(topic));
  }
  if (partition < 0 || partition >= config.partitions) {
    return Status::NotFound("topic '" + std::string(topic) + "' has no partition " +
                            std::to_string(partition));
  }
  auto reader = std::make_unique<PartitionReader>(
      env_, PartitionDir(TopicDir(dir_, topic), partition), watcher_);
  reader->set_max_message_bytes(config.max_message_bytes);
  RETURN_IF_ERROR(reader->Seek(start));
  return std::unique_ptr<Reader>(std::move(reader));
}

Result<int64_t> LogImpl::DeleteRecordsBefore(std::string_view topic, int32_t partition,
                                             int64_t offset) {
  std::shared_ptr<TopicHandle> handle;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(handle, HandleLocked(topic));
  }
  if (partition < 0 || partition >= static_cast<int32_t>(handle->writers.size())) {
    return Status::NotFound("topic '" + std::string(topic) + "' has no partition " +
                            std::to_string(partition));
  }
  return handle->writers[static_cast<size_t>(partition)]->RaiseLogStart(offset);
}

Result<std::vector<int64_t>> LogImpl::PurgeRecords(std::string_view topic, int32_t partition,
                                                   std::span<const int64_t> offsets) {
  std::shared_ptr<TopicHandle> handle;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(handle, HandleLocked(topic));
  }
  if (partition < 0 || partition >= static_cast<int32_t>(handle->writers.size())) {
    return Status::NotFound("topic '" + std::string(topic) + "' has no partition " +
                            std::to_string(partition));
  }
  PartitionWriter& w = *handle->writers[static_cast<size_t>(partition)];
  std::vector<int64_t> not_yet;
  RETURN_IF_ERROR(w.RunExclusive([&](int64_t active_base) {
    return PurgeOffsets(env_, w.dir(), active_base, offsets, handle->config.max_message_bytes,
                        &not_yet);
  }));
  return not_yet;
}

void LogImpl::SetAppendListener(AppendListener listener) {
  std::lock_guard lock(listener_->mu);
  listener_->fn = std::move(listener);
}

Status LogImpl::RunSteward() {
  std::vector<std::shared_ptr<TopicHandle>> handles;
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(registry_->CatchUp());
    for (const auto& [name, config] : registry_->topics()) {
      ASSIGN_OR_RETURN(auto h, HandleLocked(name));
      handles.push_back(h);
    }
  }
  const int64_t now = WallMillis();
  for (auto& h : handles) {
    for (auto& w : h->writers) {
      Status st = w->RunExclusive([&](int64_t active_base) {
        return TendPartition(env_, w->dir(), h->config, active_base, now);
      });
      if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
    }
  }
  return Status::OK();
}

}  // namespace runnel::storage
