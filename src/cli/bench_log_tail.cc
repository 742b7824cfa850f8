// Cross-process tail latency: how long after Producer::AppendAsync a record
// is seen by a Reader in another process that follows the partition.
//
//   this process                           child (`runnel bench log-tail-child`)
//   open Log, create topic ----spawn----->  open Log, Reader at earliest
//                          <---"ready"----  (the reader exists: nothing is missed)
//   record i due at start + i/rate:         loop: ReadInto; if empty, Poll (inotify)
//     stamp = CLOCK_MONOTONIC now           for each record: now - stamp
//     AppendAsync(one record)               after `count` records or the deadline:
//   Flush                  <---result-----  one line of percentiles on stdout
//
// CLOCK_MONOTONIC is one clock for the whole host, so a stamp taken here is
// comparable with a clock read in the child. The child reads the clock once
// per ReadInto, after it returned: what a consumer would see. The schedule is
// open loop (a record is sent when due, not when the previous one was seen),
// so a slow wake-up shows as latency instead of hiding as a lower rate.
#include "cli/bench_log_tail.h"

#include "cli/bench_log.h"
#include "cli/bench_pubsub.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/latency_histogram.h"

#include "runnel/log.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "bench log";
constexpr const char* kTopic = "bench";
// The child gets this long beyond the sending time to see the last record.
constexpr int64_t kChildGraceMs = 10'000;
constexpr int kChildStartTimeoutMs = 10'000;
// An open-loop sender must still bound what it has queued: past this many
// unacknowledged appends it waits (and max_behind shows it did).
constexpr int kMaxOutstanding = 4096;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void SleepUntilNs(int64_t when) {
  timespec ts{static_cast<time_t>(when / 1'000'000'000), static_cast<long>(when % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// The child's stdout, read a line at a time with a deadline.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // False on EOF, error or timeout.
  bool ReadLine(std::string* line, int64_t timeout_ms) {
    const int64_t deadline = NowNs() + timeout_ms * 1'000'000;
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      int64_t left_ms = (deadline - NowNs()) / 1'000'000;
      if (left_ms <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
      if (n < 0 && errno != EINTR) return false;
      if (n <= 0) continue;
      char chunk[4096];
      ssize_t got = ::read(fd_, chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(got));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

// The child process, stopped by PID (SIGKILL) if it outlives the run.
class Child {
 public:
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  Status Spawn(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return Status::IoError(std::string("pipe: ") + strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      return Status::IoError(std::string("cannot start the tail child: ") + strerror(rc));
    }
    return Status::OK();
  }

  int out_fd() const { return out_fd_; }

  // Exit status, or -1 if it did not exit normally.
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

struct ChildFlags {
  std::string dir;
  int64_t count = 0;
  int64_t timeout_ms = 0;
};

// The second process: follow the topic, measure, print one line.
int RunTailChild(const ChildFlags& f) {
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(kVerb, log.status());
  auto reader = (*log)->NewReader(kTopic, 0, StartPosition::Earliest());
  if (!reader.ok()) return ReportError(kVerb, reader.status());
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  LatencyHistogram latency;
  ReadBatch batch;
  int64_t received = 0, bad = 0;
  const int64_t deadline = NowNs() + f.timeout_ms * 1'000'000;
  while (received < f.count) {
    const int64_t now = NowNs();
    if (now >= deadline) break;
    Status st = (*reader)->ReadInto(&batch);
    if (!st.ok()) return ReportError(kVerb, st);
    if (batch.empty()) {
      auto wait = std::min<int64_t>((deadline - now) / 1'000'000 + 1, 100);
      st = (*reader)->Poll(std::chrono::milliseconds(wait));
      if (!st.ok() && !st.Is(StatusCode::kTimedOut)) return ReportError(kVerb, st);
      continue;
    }
    const int64_t seen = NowNs();
    for (const RecordView& r : batch.records()) {
      Stamp stamp;
      if (!r.value || !ReadStamp(*r.value, &stamp)) {
        ++bad;
        continue;
      }
      latency.Record(seen - stamp.send_ns);
      ++received;
    }
  }
  std::printf("received=%" PRId64 " bad=%" PRId64 " p50=%" PRId64 " p99=%" PRId64 " p999=%" PRId64
              " max=%" PRId64 "\n",
              received, bad, latency.Percentile(0.50), latency.Percentile(0.99),
              latency.Percentile(0.999), latency.max());
  std::fflush(stdout);
  return bad == 0 ? kExitOk : kExitFailure;
}

}  // namespace

Result<TailResult> RunTailLatency(const TailParams& p) {
  if (p.size < static_cast<int64_t>(kStampBytes)) {
    return Status::InvalidArgument("tail records need at least 16 bytes for the stamp");
  }
  auto log = OpenLog(p.dir, /*create=*/true);
  if (!log.ok()) return log.status();
  TopicConfig config;
  config.fsync = p.fsync;
  Status st = (*log)->CreateTopic(kTopic, config);
  if (!st.ok()) return st;
  auto producer = (*log)->NewProducer(kTopic, /*auto_create=*/false);
  if (!producer.ok()) return producer.status();

  const auto count = static_cast<int64_t>(p.rate * p.seconds);
  const int64_t timeout_ms = static_cast<int64_t>(p.seconds * 1000) + kChildGraceMs;
  Child child;
  st = child.Spawn({"runnel", "bench", "log-tail-child", "--dir", p.dir, "--count",
                    std::to_string(count), "--timeout-ms", std::to_string(timeout_ms)});
  if (!st.ok()) return st;
  LineReader lines(child.out_fd());
  std::string line;
  if (!lines.ReadLine(&line, kChildStartTimeoutMs) || line != "ready") {
    return Status::IoError("the tail child did not start (see its message above)");
  }

  std::string value(static_cast<size_t>(p.size), 'x');
  RecordView record;
  InFlightWindow window(kMaxOutstanding);
  std::atomic<bool> failed{false};
  TailResult out;
  const int64_t start = NowNs();
  const double interval_ns = 1e9 / p.rate;
  for (int64_t i = 0; i < count && !failed.load() && !StopRequested(); ++i) {
    const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
    SleepUntilNs(due);
    window.Acquire();
    const int64_t now = NowNs();
    out.max_behind_ns = std::max(out.max_behind_ns, now - due);
    WriteStamp(value.data(), Stamp{now, 0, static_cast<uint64_t>(i + 1)});
    record.value = value;
    (*producer)->AppendAsync(0, std::span<const RecordView>(&record, 1),
                             [&window, &failed](Result<int64_t> r) {
                               if (!r.ok()) failed.store(true);
                               window.Release();
                             });
    ++out.sent;
  }
  window.WaitEmpty();
  if (failed.load()) return Status::IoError("an append of the tail workload failed");

  if (!lines.ReadLine(&line, timeout_ms)) {
    return Status::IoError("the tail child did not report (see its message above)");
  }
  long long received = 0, bad = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
  if (std::sscanf(line.c_str(), "received=%lld bad=%lld p50=%lld p99=%lld p999=%lld max=%lld",
                  &received, &bad, &p50, &p99, &p999, &max) != 6) {
    return Status::IoError("the tail child reported '" + line + "'");
  }
  if (child.Wait() != 0 || bad != 0) {
    return Status::Corruption("the tail child failed or saw " + std::to_string(bad) +
                              " records without a stamp");
  }
  out.received = received;
  out.p50_ns = p50;
  out.p99_ns = p99;
  out.p999_ns = p999;
  out.max_ns = max;
  if (out.received != out.sent) {
    return Status::IoError("the tail child saw " + std::to_string(out.received) + " of " +
                           std::to_string(out.sent) + " records within " +
                           std::to_string(kChildGraceMs / 1000) + " s after the last one");
  }
  return out;
}

void RegisterBenchLogTailChild(CLI::App* bench) {
  auto f = std::make_shared<ChildFlags>();
  // Group "" hides it from --help: only RunTailLatency starts it.
  CLI::App* cmd = bench->add_subcommand("log-tail-child", "Follower half of `bench log` tail");
  cmd->group("");
  cmd->add_option("--dir", f->dir)->required();
  cmd->add_option("--count", f->count)->required();
  cmd->add_option("--timeout-ms", f->timeout_ms)->required();
  cmd->callback([f] { ExitCode() = RunTailChild(*f); });
}

}  // namespace runnel::cli
