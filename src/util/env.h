// Env: the seam every file operation in storage/ goes through, so tests can
// swap in a layer that injects faults or drops unsynced bytes (power loss).
// Modelled on leveldb's Env, smaller. Paths are plain strings.
//
// Error mapping (one place, posix_env.cc): ENOSPC/EDQUOT -> kNoSpace,
// EROFS/EACCES/EPERM -> kReadOnly, ENOENT -> kNotFound, EEXIST (kCreateNew on
// an existing file) -> kAlreadyExists, else kIoError. Every message names the
// path and the operation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/status.h"

namespace runnel {

// An open file. Not thread-safe for writes; ReadAt may run concurrently with
// Append/WriteAt from another thread (pread semantics).
class File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to n bytes at offset into dst; returns the count (short at EOF).
  virtual Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) = 0;
  // Appends all parts at the end of the file with as few writev calls as the
  // kernel allows; retries partial writes and EINTR. On error, some prefix
  // may have been written: the caller truncates back (see PartitionLog).
  virtual Status Append(std::span<const std::string_view> parts) = 0;
  Status Append(std::string_view data) { return Append(std::span<const std::string_view>(&data, 1)); }
  // Writes data at offset (pwrite), extending the file if needed.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // fdatasync: the durability point for everything written so far.
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual const std::string& path() const = 0;
  // The open descriptor, for zero-copy sends (sendfile), or -1 when the
  // file has none (test Envs): callers then use ReadAt.
  virtual int fd() const { return -1; }
};

// An exclusive advisory lock on a file (flock). Released on destruction, or by
// the kernel when the process dies.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

enum class OpenMode : uint8_t {
  kRead,         // must exist
  kReadWrite,    // must exist
  kCreate,       // read-write, created if missing
  kCreateNew,    // read-write, must not exist (O_EXCL)
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX implementation. Never deleted.
  static Env* Default();

  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Entry names (not paths) in dir, without "." and "..", unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates dir and any missing parents; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Removes dir and everything below it; OK if it does not exist.
  virtual Status RemoveDirRecursive(const std::string& dir) = 0;
  // Atomic rename (replaces `to`).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync of a directory, so created/renamed/removed entries survive power loss.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive flock on path (created if missing). wait=false returns
  // kBusy at once when another open file description holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, bool wait) = 0;
};

}  // namespace runnel
