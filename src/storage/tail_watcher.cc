#include "storage/tail_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

#include "storage/data_dir.h"

namespace runnel::storage {

std::shared_ptr<TailWatcher> TailWatcher::Create() {
  std::shared_ptr<TailWatcher> w(new TailWatcher());
  w->self_ = w;
  w->inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  w->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->inotify_fd_ >= 0 && w->stop_fd_ >= 0) {
    w->thread_ = std::thread([raw = w.get()] { raw->Loop(); });
  }
  return w;
}

TailWatcher::~TailWatcher() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t n = write(stop_fd_, &one, sizeof(one));
    (void)n;
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

std::unique_ptr<TailWatcher::Handle> TailWatcher::Watch(const std::string& dir) {
  int wd = -1;
  if (thread_.joinable()) {
    wd = inotify_add_watch(inotify_fd_, dir.c_str(),
                           IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF);
  }
  std::lock_guard lock(mu_);
  if (wd < 0) wd = fake_wd_--;  // poll fallback: a private negative id
  watched_[wd].refs++;
  return std::unique_ptr<Handle>(new Handle(self_.lock(), wd, dir));
}

void TailWatcher::Release(int wd) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(wd);
  if (it == watched_.end() || --it->second.refs > 0) return;
  watched_.erase(it);
  if (wd >= 0) inotify_rm_watch(inotify_fd_, wd);
}

void TailWatcher::Loop() {
  alignas(struct inotify_event) char buf[16384];
  pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents) return;
    ssize_t n = read(inotify_fd_, buf, sizeof(buf));
    if (n <= 0) continue;
    bool any = false;
    std::lock_guard lock(mu_);
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      // Only the hwm moving means new data; other files' events are noise.
      bool relevant = (ev->mask & (IN_DELETE_SELF | IN_Q_OVERFLOW | IN_IGNORED)) ||
                      (ev->len > 0 && std::strcmp(ev->name, kHwmFile.data()) == 0);
      if (!relevant) continue;
      if (ev->mask & IN_Q_OVERFLOW) {
        for (auto& [wd, w] : watched_) w.version++;
      } else if (auto it = watched_.find(ev->wd); it != watched_.end()) {
        it->second.version++;
      }
      any = true;
    }
    if (any) cv_.notify_all();
  }
}

TailWatcher::Handle::Handle(std::shared_ptr<TailWatcher> owner, int wd, std::string dir)
    : owner_(std::move(owner)), wd_(wd), dir_(std::move(dir)) {}

TailWatcher::Handle::~Handle() { owner_->Release(wd_); }

uint64_t TailWatcher::Handle::version() const {
  std::lock_guard lock(owner_->mu_);
  auto it = owner_->watched_.find(wd_);
  return it == owner_->watched_.end() ? 0 : it->second.version;
}

bool TailWatcher::Handle::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(owner_->mu_);
  if (wd_ < 0) {
    // No inotify: a short sleep, then let the caller look again.
    owner_->cv_.wait_for(lock, std::min(timeout, std::chrono::milliseconds(10)));
    return true;
  }
  return owner_->cv_.wait_for(lock, timeout, [&] {
    auto it = owner_->watched_.find(wd_);
    return it == owner_->watched_.end() || it->second.version != seen;
  });
}

}  // namespace runnel::storage
