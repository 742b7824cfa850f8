// FaultInjectionEnv: a test Env that simulates power loss and failing disks,
// after leveldb's db/fault_injection_test.cc.
#pragma once

#include "util/env.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace runnel {

// Wraps another Env and remembers, per file path, what a power cut would
// leave behind; DropUnsyncedData() then makes the disk look like it.
//
// Durability model (what survives DropUnsyncedData):
//   - File contents up to the size at the last successful File::Sync. Bytes
//     appended later are cut off; bytes that WriteAt overwrote inside that
//     synced prefix get their old contents back, so a WriteAt after the last
//     Sync is lost whole (the old version survives, never a mix).
//   - A file created through this env survives only if SyncDir ran on its
//     parent directory after creation; otherwise it is deleted. A file that
//     already existed when this env first opened it counts as durable at the
//     size it had then.
// Simplifications, so a test does not rely on them:
//   - Rename, RemoveFile, RemoveDirRecursive and a shrinking Truncate take
//     effect durably at once, without SyncDir or Sync (a renamed file's entry
//     counts as durable). Real disks may lose them.
//   - Directories themselves are never dropped.
//   - Paths are compared as strings: spell a file and its directory the same
//     way ("d/x.log" and SyncDir("d"), not "./d").
//
// Faults: SetWriteError makes Append/WriteAt fail, SetSyncError File::Sync,
// after a number of further calls succeed; both stay on until ClearErrors(),
// like a full or broken disk. A failed call writes nothing.
//
// Ownership and threads: `base` is not owned and must outlive this env; this
// env must outlive every File it opens. All methods are thread-safe. Write,
// truncate and sync calls are serialised on one mutex (held across the base
// call so the bookkeeping matches the disk), which is fine for tests.
class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base = Env::Default());
  ~FaultInjectionEnv() override;
  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  bool FileExists(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveDirRecursive(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, bool wait) override;

  // Simulates a power cut: truncates every tracked file to its durable
  // size, restores bytes overwritten since the last Sync, and deletes files
  // whose creation was never made durable. Call it only while no File from
  // this env is open (as after a crash, when the process is gone): an open
  // handle would keep writing into the reverted file. Afterwards every
  // surviving file counts as fully synced. Returns the first error met, after
  // trying every file.
  Status DropUnsyncedData();

  // After `after_n_writes` more successful Append/WriteAt calls, every one
  // fails with `code` (e.g. kNoSpace, kIoError). kOk disarms.
  void SetWriteError(StatusCode code, int after_n_writes = 0);
  // The same for File::Sync (SyncDir is not affected).
  void SetSyncError(StatusCode code, int after_n_syncs = 0);
  void ClearErrors();

  // Calls made through this env so far, including failed ones:
  // Append + WriteAt, and File::Sync.
  int64_t writes() const;
  int64_t syncs() const;

 private:
  class FaultFile;

  // What survives a power cut for one path. Shared with the open FaultFiles
  // for that path so a rename of an open file keeps them in step.
  struct FileState {
    uint64_t durable_size = 0;
    bool entry_durable = false;  // its directory entry survives
    // (offset, old bytes) that WriteAt overwrote below durable_size since the
    // last Sync, oldest first.
    std::vector<std::pair<uint64_t, std::string>> undo;
  };

  struct Fault {
    StatusCode code = StatusCode::kOk;
    int remaining_ok = 0;  // calls that still succeed before `code` fires
  };

  // The injected failure for this call, or OK. Consumes one allowance.
  Status NextFaultLocked(Fault* fault, const char* op, const std::string& path);

  Env* const base_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;  // guarded by mu_
  Fault write_fault_;                                        // guarded by mu_
  Fault sync_fault_;                                         // guarded by mu_
  int64_t writes_ = 0;                                       // guarded by mu_
  int64_t syncs_ = 0;                                        // guarded by mu_
};

}  // namespace runnel
