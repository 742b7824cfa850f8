// The POSIX Env: files are plain file descriptors, locks are flock(2).

#include "util/env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <limits>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace runnel {
namespace {

// GNU strerror_r returns the message; XSI strerror_r fills buf and returns an
// int. Overloads pick whichever this libc provides.
[[maybe_unused]] const char* StrErrorResult(const char* msg, const char* /*buf*/) { return msg; }
[[maybe_unused]] const char* StrErrorResult(int /*rc*/, const char* buf) { return buf; }

std::string ErrnoText(int err) {
  char buf[256] = "unknown error";
  return StrErrorResult(strerror_r(err, buf, sizeof buf), buf);
}

// The one place errno becomes a Status (see env.h). Messages read
// "<op> <path>: <strerror>", e.g. "write /d/x.log: No space left on device".
Status PosixError(std::string_view op, std::string_view path, int err) {
  std::string msg(op);
  msg += ' ';
  msg.append(path);
  msg += ": ";
  msg += ErrnoText(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(std::move(msg));
    case EROFS:
    case EACCES:
    case EPERM:
      return Status::ReadOnly(std::move(msg));
    case ENOENT:
      return Status::NotFound(std::move(msg));
    case EEXIST:  // only OpenMode::kCreateNew can see it
      return Status::AlreadyExists(std::move(msg));
    default:
      return Status::IoError(std::move(msg));
  }
}

bool FitsOffT(uint64_t v) { return v <= static_cast<uint64_t>(std::numeric_limits<off_t>::max()); }

Status OffsetTooLarge(std::string_view op, const std::string& path, uint64_t offset) {
  return Status::InvalidArgument(std::string(op) + " " + path + ": offset " +
                                 std::to_string(offset) + " out of range");
}

// Calls f until it does not fail with EINTR.
template <typename F>
auto RetryOnEintr(F f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

// Owns one file descriptor, closed on destruction. Thread safety is File's:
// one writer, ReadAt and Size from any thread.
class PosixFile final : public File {
 public:
  // Takes ownership of fd; `size` is the file's size at open.
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), end_(size) {}
  ~PosixFile() override { ::close(fd_); }
  int fd() const override { return fd_; }

  using File::Append;

  Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    if (!FitsOffT(offset)) return OffsetTooLarge("read", path_, offset);
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("read", path_, errno);
      }
      if (r == 0) break;  // EOF: a short count, not an error
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status Append(std::span<const std::string_view> parts) override {
    // iovecs for the non-empty parts; the kernel takes at most IOV_MAX per call.
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    for (std::string_view p : parts) {
      if (!p.empty()) iov.push_back({const_cast<char*>(p.data()), p.size()});
    }
    size_t first = 0;  // iov[first] is the next part with unwritten bytes
    while (first < iov.size()) {
      if (!FitsOffT(end_)) return OffsetTooLarge("write", path_, end_);
      const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
      const ssize_t r = ::pwritev(fd_, &iov[first], count, static_cast<off_t>(end_));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      if (r == 0) return Status::IoError("write " + path_ + ": wrote 0 bytes");
      end_ += static_cast<uint64_t>(r);
      // Skip what went out; a partial write leaves iov[first] trimmed.
      size_t left = static_cast<size_t>(r);
      while (left > 0 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
      if (left > 0) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return Status::OK();
  }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      if (!FitsOffT(offset + done)) return OffsetTooLarge("write", path_, offset + done);
      const ssize_t r =
          ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      if (r == 0) return Status::IoError("write " + path_ + ": wrote 0 bytes");
      done += static_cast<size_t>(r);
    }
    end_ = std::max(end_, offset + data.size());
    return Status::OK();
  }

  Status Sync() override {
    if (RetryOnEintr([&] { return ::fdatasync(fd_); }) != 0) {
      return PosixError("fdatasync", path_, errno);
    }
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    if (!FitsOffT(size)) return OffsetTooLarge("truncate", path_, size);
    if (RetryOnEintr([&] { return ::ftruncate(fd_, static_cast<off_t>(size)); }) != 0) {
      return PosixError("truncate", path_, errno);
    }
    end_ = size;
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return PosixError("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  const int fd_;
  // Where Append writes next. Tracked rather than using O_APPEND so Append is
  // one pwritev and Truncate/WriteAt keep it right; only writers touch it.
  uint64_t end_;
};

// Holds the descriptor that carries the flock; the lock lives as long as it.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing the last fd drops the flock

 private:
  const int fd_;
};

// Removes path and, if it is a directory, everything below it, without
// following symlinks. Entries that vanish meanwhile are not errors.
Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::OK() : PosixError("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("unlink", path, errno);
    return Status::OK();
  }
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return errno == ENOENT ? Status::OK() : PosixError("opendir", path, errno);
  }
  std::vector<std::string> children;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      children.push_back(path + "/" + e->d_name);
    }
    errno = 0;
  }
  const int read_err = errno;
  ::closedir(dir);
  if (read_err != 0) return PosixError("readdir", path, read_err);
  for (const std::string& child : children) {
    Status s = RemoveTree(child);
    if (!s.ok()) return s;
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return PosixError("rmdir", path, errno);
  return Status::OK();
}

// Stateless: every call is a few syscalls, safe from any thread.
class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead:
        flags |= O_RDONLY;
        break;
      case OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case OpenMode::kCreate:
        flags |= O_RDWR | O_CREAT;
        break;
      case OpenMode::kCreateNew:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
    }
    const int fd = RetryOnEintr([&] { return ::open(path.c_str(), flags, 0644); });
    if (fd < 0) return PosixError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return PosixError("stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {  // open(2) allows it for reading; reads would fail later
      ::close(fd);
      return PosixError("open", path, EISDIR);
    }
    return std::unique_ptr<File>(
        std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("opendir", dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        names.emplace_back(e->d_name);
      }
      errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return PosixError("readdir", dir, err);
    return names;
  }

  Status CreateDirs(const std::string& dir) override {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    if (d.empty()) return Status::InvalidArgument("mkdir: empty path");
    if (::mkdir(d.c_str(), 0755) == 0) return Status::OK();
    int err = errno;
    const size_t slash = d.find_last_of('/');
    if (err == ENOENT && slash != std::string::npos && slash != 0) {
      // A parent is missing: make it, then retry. Recursion depth is bounded
      // by the number of components, since the parent is strictly shorter.
      Status s = CreateDirs(d.substr(0, slash));
      if (!s.ok()) return s;
      if (::mkdir(d.c_str(), 0755) == 0) return Status::OK();
      err = errno;
    }
    // EEXIST is success only for a directory (possibly made by a racing process).
    struct stat st;
    if (err == EEXIST && ::stat(d.c_str(), &st) == 0) {
      return S_ISDIR(st.st_mode) ? Status::OK() : PosixError("mkdir", d, ENOTDIR);
    }
    return PosixError("mkdir", d, err);
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path, errno);
    return Status::OK();
  }

  Status RemoveDirRecursive(const std::string& dir) override { return RemoveTree(dir); }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename", from + " -> " + to, errno);
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    const int fd =
        RetryOnEintr([&] { return ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return PosixError("open", dir, errno);
    const int r = RetryOnEintr([&] { return ::fsync(fd); });
    const int err = errno;
    ::close(fd);
    if (r != 0) return PosixError("fsync", dir, err);
    return Status::OK();
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, bool wait) override {
    const int fd =
        RetryOnEintr([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644); });
    if (fd < 0) return PosixError("open", path, errno);
    const int op = LOCK_EX | (wait ? 0 : LOCK_NB);
    if (RetryOnEintr([&] { return ::flock(fd, op); }) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Busy("lock " + path +
                            ": another process holds it (or another handle in this one)");
      }
      return PosixError("lock", path, err);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }
};

}  // namespace

Env* Env::Default() {
  // Never destroyed, so Files and locks may outlive static destructors.
  static PosixEnv* const env = new PosixEnv;
  return env;
}

}  // namespace runnel
