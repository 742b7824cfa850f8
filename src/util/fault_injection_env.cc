#include "util/fault_injection_env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace runnel {
namespace {

std::string StripTrailingSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p.empty() ? "." : p;
}

std::string ParentDir(const std::string& path) {
  const std::string p = StripTrailingSlashes(path);
  const size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return StripTrailingSlashes(p.substr(0, slash));
}

// Whether `path` is `dir` itself or lies below it.
bool IsUnder(const std::string& path, const std::string& dir) {
  if (path == dir) return true;
  const std::string prefix = dir == "/" ? dir : dir + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

// Forwards to the base File, keeping the owning env's bookkeeping for `state_`.
class FaultInjectionEnv::FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::unique_ptr<File> base, std::shared_ptr<FileState> state)
      : env_(env), base_(std::move(base)), state_(std::move(state)) {}

  using File::Append;

  Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    return base_->ReadAt(offset, dst, n);
  }

  Status Append(std::span<const std::string_view> parts) override {
    std::lock_guard lock(env_->mu_);
    ++env_->writes_;
    Status s = env_->NextFaultLocked(&env_->write_fault_, "write", path());
    if (!s.ok()) return s;
    return base_->Append(parts);
  }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    ++env_->writes_;
    Status s = env_->NextFaultLocked(&env_->write_fault_, "write", path());
    if (!s.ok()) return s;
    // Keep what this overwrites in the synced prefix, so a power cut can
    // bring it back; bytes past that prefix are lost by truncation anyway.
    if (offset < state_->durable_size && !data.empty()) {
      const uint64_t end = std::min<uint64_t>(offset + data.size(), state_->durable_size);
      std::string old(end - offset, '\0');
      Result<size_t> n = base_->ReadAt(offset, old.data(), old.size());
      if (!n.ok()) return n.status();
      old.resize(*n);
      state_->undo.emplace_back(offset, std::move(old));
    }
    return base_->WriteAt(offset, data);
  }

  Status Sync() override {
    std::lock_guard lock(env_->mu_);
    ++env_->syncs_;
    Status s = env_->NextFaultLocked(&env_->sync_fault_, "fdatasync", path());
    if (!s.ok()) return s;
    s = base_->Sync();
    if (!s.ok()) return s;
    Result<uint64_t> size = base_->Size();
    if (!size.ok()) return size.status();
    state_->durable_size = *size;
    state_->undo.clear();
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    std::lock_guard lock(env_->mu_);
    Status s = base_->Truncate(size);
    if (!s.ok()) return s;
    // A shrink is taken as durable at once (see the header); undo entries
    // must not write past the new end.
    if (size < state_->durable_size) {
      state_->durable_size = size;
      auto& undo = state_->undo;
      std::erase_if(undo, [size](const auto& u) { return u.first >= size; });
      for (auto& [offset, bytes] : undo) {
        bytes.resize(std::min<uint64_t>(bytes.size(), size - offset));
      }
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<File> base_;
  const std::shared_ptr<FileState> state_;  // guarded by env_->mu_
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

Status FaultInjectionEnv::NextFaultLocked(Fault* fault, const char* op, const std::string& path) {
  if (fault->code == StatusCode::kOk) return Status::OK();
  if (fault->remaining_ok > 0) {
    --fault->remaining_ok;
    return Status::OK();
  }
  // Word the message as the POSIX env would for the matching errno.
  int err = 0;
  switch (fault->code) {
    case StatusCode::kNoSpace:
      err = ENOSPC;
      break;
    case StatusCode::kIoError:
      err = EIO;
      break;
    case StatusCode::kReadOnly:
      err = EROFS;
      break;
    default:
      break;
  }
  std::string msg = std::string(op) + " " + path + ": ";
  msg += err != 0 ? std::strerror(err) : "injected " + std::string(StatusCodeName(fault->code));
  msg += " (injected fault)";
  return Status(fault->code, std::move(msg));
}

Result<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  const bool existed = base_->FileExists(path);
  Result<std::unique_ptr<File>> base_file = base_->OpenFile(path, mode);
  if (!base_file.ok()) return base_file.status();
  std::shared_ptr<FileState>& state = files_[path];
  if (state == nullptr) {
    state = std::make_shared<FileState>();
    if (existed) {
      // Predates this env: whatever it holds now is taken as on disk.
      Result<uint64_t> size = (*base_file)->Size();
      if (!size.ok()) {
        files_.erase(path);
        return size.status();
      }
      state->durable_size = *size;
      state->entry_durable = true;
    }
  }
  return std::unique_ptr<File>(
      std::make_unique<FaultFile>(this, std::move(base_file).value(), state));
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

Result<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}

Status FaultInjectionEnv::CreateDirs(const std::string& dir) { return base_->CreateDirs(dir); }

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  Status s = base_->RemoveFile(path);
  if (s.ok()) files_.erase(path);
  return s;
}

Status FaultInjectionEnv::RemoveDirRecursive(const std::string& dir) {
  std::lock_guard lock(mu_);
  Status s = base_->RemoveDirRecursive(dir);
  if (!s.ok()) return s;
  const std::string d = StripTrailingSlashes(dir);
  std::erase_if(files_, [&d](const auto& entry) { return IsUnder(entry.first, d); });
  return Status::OK();
}

Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  Status s = base_->Rename(from, to);
  if (!s.ok()) return s;
  // `to` (a file, or an empty directory) is replaced; then everything at or
  // below `from` moves, keeping its state object so open Files follow.
  const std::string f = StripTrailingSlashes(from);
  const std::string t = StripTrailingSlashes(to);
  std::erase_if(files_, [&t](const auto& entry) { return IsUnder(entry.first, t); });
  std::vector<std::pair<std::string, std::shared_ptr<FileState>>> moved;
  for (auto it = files_.begin(); it != files_.end();) {
    if (IsUnder(it->first, f)) {
      moved.emplace_back(t + it->first.substr(f.size()), std::move(it->second));
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [path, state] : moved) {
    state->entry_durable = true;  // the documented simplification
    files_[path] = std::move(state);
  }
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  Status s = base_->SyncDir(dir);
  if (!s.ok()) return s;
  const std::string d = StripTrailingSlashes(dir);
  for (auto& [path, state] : files_) {
    if (ParentDir(path) == d) state->entry_durable = true;
  }
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path, bool wait) {
  return base_->LockFile(path, wait);
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  Status first_error;
  auto note = [&first_error](const Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& path = it->first;
    FileState& state = *it->second;
    if (!state.entry_durable) {
      Status s = base_->RemoveFile(path);
      if (!s.Is(StatusCode::kNotFound)) note(s);
      it = files_.erase(it);
      continue;
    }
    Result<std::unique_ptr<File>> file = base_->OpenFile(path, OpenMode::kReadWrite);
    if (!file.ok()) {
      // Gone behind our back (removed through the base env): nothing to do.
      if (!file.status().Is(StatusCode::kNotFound)) note(file.status());
      it = files_.erase(it);
      continue;
    }
    Result<uint64_t> size = (*file)->Size();
    if (!size.ok()) {
      note(size.status());
    } else if (*size > state.durable_size) {
      note((*file)->Truncate(state.durable_size));
    }
    // Newest first, so the oldest contents win where writes overlapped.
    for (auto u = state.undo.rbegin(); u != state.undo.rend(); ++u) {
      note((*file)->WriteAt(u->first, u->second));
    }
    note((*file)->Sync());
    state.undo.clear();
    ++it;
  }
  return first_error;
}

void FaultInjectionEnv::SetWriteError(StatusCode code, int after_n_writes) {
  std::lock_guard lock(mu_);
  write_fault_ = Fault{code, after_n_writes};
}

void FaultInjectionEnv::SetSyncError(StatusCode code, int after_n_syncs) {
  std::lock_guard lock(mu_);
  sync_fault_ = Fault{code, after_n_syncs};
}

void FaultInjectionEnv::ClearErrors() {
  std::lock_guard lock(mu_);
  write_fault_ = Fault{};
  sync_fault_ = Fault{};
}

int64_t FaultInjectionEnv::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

int64_t FaultInjectionEnv::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

}  // namespace runnel
