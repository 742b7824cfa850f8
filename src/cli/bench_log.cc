// `runnel bench log`: what the embedded log does on this machine, through the
// public API (include/runnel/log.h) exactly as an application would use it.
//
// Workloads (--workloads; each runs once per cell of the flag lists):
//
//   append   cell = --sizes x --fsync x --producers. P threads, each with its
//            own Producer on partition 0 of one topic, keep their share of
//            --in-flight AppendAsync calls in flight; each call carries
//            --batch records of --size value bytes (0 = about 64 KiB worth).
//            Runs --seconds, or until --max-mb of values were submitted, then
//            waits for every acknowledgement: records/s and MB/s over the
//            whole span, last ack included. Under `always` an ack means
//            fdatasync'ed (group commit); nothing here relaxes that.
//   read     cell = --sizes. Writes --max-mb of records (fsync never,
//            untimed), then one Reader reads them from the start with
//            ReadInto (1 MiB per call): sequential reads from the page cache,
//            CRC checked and records decoded, records/s and MB/s.
//   tail     cell = --fsync. A child process of this binary follows the
//            topic (inotify) while this one appends single records of
//            --tail-size bytes at --tail-rate on a fixed schedule, the send
//            time (CLOCK_MONOTONIC, system-wide) in the payload. The child
//            reports append -> observe latency: p50, p99, p999
//            (bench_log_tail.cc).
//
// Every cell gets a fresh data directory inside one temporary directory
// under --dir (default /var/tmp: on disk, where /tmp may be tmpfs), removed
// at the end. Every cell is bounded by --seconds (fill and drain included,
// with a fixed allowance), so the whole run is too.
#include "cli/bench_log.h"

#include "cli/bench_log_tail.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

#include "runnel/log.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <linux/magic.h>
#include <mutex>
#include <sys/vfs.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace runnel::cli {

// ---- Runs -------------------------------------------------------------------------

namespace {

constexpr const char* kVerb = "bench log";
constexpr const char* kTopic = "bench";
constexpr size_t kReadBytes = 1 << 20;
// Time allowed beyond --seconds for a cell to drain its acks or fill its
// data set before it is called failed: generous, but finite.
constexpr double kDrainAllowanceSeconds = 30;

struct BenchLogFlags {
  std::string dir = "/var/tmp";
  double seconds = 2;
  std::string sizes = "100,1024,65536";
  std::string fsync = "always,interval:1000,never";
  std::string producers = "1,8";
  int in_flight = 64;
  int64_t batch = 0;
  int64_t max_mb = 1024;
  std::string workloads = "append,read,tail";
  double tail_rate = 10000;
  int64_t tail_size = 100;
  bool json = false;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A value of `size` bytes that is not all zeroes (nothing compresses today,
// but a benchmark should not depend on that).
std::string Payload(int64_t size) {
  std::string s(static_cast<size_t>(size), '\0');
  uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>('a' + x % 26);
  }
  return s;
}

// The run's temporary directory; removed with everything in it.
class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create(const std::string& parent) {
    std::string tmpl = parent + "/runnel-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Status::IoError("cannot create a directory in " + parent + ": " +
                             std::strerror(errno));
    }
    return std::unique_ptr<TempDir>(new TempDir(tmpl));
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A fresh, empty directory for one cell. The previous cell's is removed
  // (its dirty pages are dropped, not written) and then everything still
  // dirty on the machine is flushed, so no cell pays for another's writeback:
  // without this, a 1 GiB cell after another runs at disk speed, not at
  // page-cache speed, depending only on its place in the order.
  Result<std::string> NextCell() {
    std::error_code ec;
    if (!cell_.empty()) std::filesystem::remove_all(cell_, ec);
    ::sync();
    cell_ = path_ + "/cell-" + std::to_string(++cells_);
    if (!std::filesystem::create_directory(cell_, ec)) {
      return Status::IoError("cannot create " + cell_ + ": " + ec.message());
    }
    return cell_;
  }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::string cell_;
  int cells_ = 0;
};

Result<std::unique_ptr<Log>> OpenCellLog(const std::string& dir, const FsyncSpec& fsync) {
  auto log = OpenLog(dir, /*create=*/true);
  if (!log.ok()) return log.status();
  TopicConfig config;
  config.fsync = fsync;
  Status st = (*log)->CreateTopic(kTopic, config);
  if (!st.ok()) return st;
  return log;
}

struct AppendCell {
  FsyncSpec fsync;
  int64_t size = 0;
  int producers = 1;
  int in_flight = 64;
  int64_t batch = 1;
  double seconds = 2;
  int64_t max_bytes = 0;
};

// Shared by the producer threads of one append cell.
class AppendRun {
 public:
  explicit AppendRun(const AppendCell& cell) : cell_(cell) {}

  // One producer thread: keeps `window` appends in flight until told to stop.
  void ProducerLoop(Log* log, int window) {
    auto producer = log->NewProducer(kTopic, /*auto_create=*/false);
    if (!producer.ok()) return Fail(producer.status());
    const std::string value = Payload(cell_.size);
    std::vector<RecordView> records(static_cast<size_t>(cell_.batch));
    for (RecordView& r : records) r.value = value;
    const int64_t append_bytes = cell_.batch * cell_.size;
    InFlightWindow in_flight(window);
    while (!stop_.load(std::memory_order_relaxed)) {
      in_flight.Acquire();
      if (stop_.load(std::memory_order_relaxed) ||
          submitted_bytes_.fetch_add(append_bytes) >= cell_.max_bytes) {
        in_flight.Release();
        break;
      }
      (*producer)->AppendAsync(0, records, [this, &in_flight](Result<int64_t> r) {
        if (r.ok()) {
          acked_records_.fetch_add(cell_.batch, std::memory_order_relaxed);
        } else {
          Fail(r.status());
        }
        in_flight.Release();
      });
    }
    in_flight.WaitEmpty();
  }

  void Stop() { stop_.store(true); }
  void Fail(const Status& st) {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = st;
    stop_.store(true);
  }
  Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  int64_t acked_records() const { return acked_records_.load(); }

 private:
  const AppendCell cell_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> submitted_bytes_{0};
  std::atomic<int64_t> acked_records_{0};
  std::mutex mu_;
  Status error_;
};

Result<Throughput> RunAppend(Log* log, const AppendCell& cell) {
  AppendRun run(cell);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int window : SplitInFlight(cell.in_flight, cell.producers)) {
    threads.emplace_back([&run, log, window] { run.ProducerLoop(log, window); });
  }
  // The producers stop on their own at max_bytes; this bounds the time.
  const auto deadline = start + std::chrono::duration<double>(cell.seconds);
  while (std::chrono::steady_clock::now() < deadline && !StopRequested()) {
    if (run.acked_records() * cell.size >= cell.max_bytes) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  run.Stop();
  for (std::thread& t : threads) t.join();
  Throughput out;
  out.seconds = SecondsSince(start);
  out.records = run.acked_records();
  out.value_bytes = out.records * cell.size;
  Status st = run.error();
  if (!st.ok()) return st;
  return out;
}

// Fills the topic with about max_bytes of records (the append workload, one
// producer, untimed but bounded), then reads it all back from the start.
Result<Throughput> RunRead(const std::string& dir, int64_t size, int64_t max_bytes,
                           double seconds) {
  FsyncSpec never;
  never.policy = FsyncPolicy::kNever;
  auto log = OpenCellLog(dir, never);
  if (!log.ok()) return log.status();
  AppendCell fill{
      never, size, 1, 64, RecordsPerAppend(0, size), seconds + kDrainAllowanceSeconds, max_bytes};
  auto filled = RunAppend(log->get(), fill);
  if (!filled.ok()) return filled.status();
  auto reader = (*log)->NewReader(kTopic, 0, StartPosition::Earliest());
  if (!reader.ok()) return reader.status();
  ReadBatch batch;
  Throughput out;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    Status st = (*reader)->ReadInto(&batch, kReadBytes);
    if (!st.ok()) return st;
    if (batch.empty()) break;
    out.records += static_cast<int64_t>(batch.size());
    // Touch every record so the count is of records a caller could use.
    for (const RecordView& r : batch.records()) {
      out.value_bytes += r.value ? static_cast<int64_t>(r.value->size()) : 0;
    }
    if (StopRequested()) break;
  }
  out.seconds = SecondsSince(start);
  if (out.records != filled->records) {
    return Status::Corruption("read " + std::to_string(out.records) + " records of " +
                              std::to_string(filled->records) + " appended");
  }
  return out;
}

// ---- Output ---------------------------------------------------------------------

struct Row {
  std::string workload;
  std::string fsync;
  int64_t size = 0;
  int producers = 0;
  int in_flight = 0;
  int64_t batch = 0;
  Throughput t;
  const TailResult* tail = nullptr;
};

void PrintHeader() {
  std::printf("%-7s %-14s %7s %5s %6s %6s %13s %9s %9s %9s %9s\n", "work", "fsync", "size", "prod",
              "flight", "batch", "records/s", "MB/s", "p50 us", "p99 us", "p999 us");
}

void PrintRow(const Row& r) {
  if (r.tail != nullptr) {
    std::printf("%-7s %-14s %7lld %5d %6s %6d %13.0f %9s %9.1f %9.1f %9.1f\n", r.workload.c_str(),
                r.fsync.c_str(), static_cast<long long>(r.size), 1, "-", 1,
                r.t.records_per_second(), "-", r.tail->p50_ns / 1e3, r.tail->p99_ns / 1e3,
                r.tail->p999_ns / 1e3);
  } else {
    std::printf("%-7s %-14s %7lld %5d %6d %6lld %13.0f %9.1f %9s %9s %9s\n", r.workload.c_str(),
                r.fsync.c_str(), static_cast<long long>(r.size), r.producers, r.in_flight,
                static_cast<long long>(r.batch), r.t.records_per_second(),
                r.t.megabytes_per_second(), "-", "-", "-");
  }
  std::fflush(stdout);
}

void PrintJson(const Row& r) {
  std::string o = "{\"workload\":";
  AppendJsonString(&o, r.workload);
  o += ",\"fsync\":";
  AppendJsonString(&o, r.fsync);
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                ",\"size\":%lld,\"producers\":%d,\"in_flight\":%d,\"batch\":%lld,\"records\":%lld,"
                "\"value_bytes\":%lld,\"seconds\":%.6f,\"records_s\":%.1f,\"mb_s\":%.3f",
                static_cast<long long>(r.size), r.producers, r.in_flight,
                static_cast<long long>(r.batch), static_cast<long long>(r.t.records),
                static_cast<long long>(r.t.value_bytes), r.t.seconds, r.t.records_per_second(),
                r.t.megabytes_per_second());
  o += buf;
  if (r.tail != nullptr) {
    std::snprintf(buf, sizeof(buf),
                  ",\"sent\":%lld,\"received\":%lld,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                  "\"p999_us\":%.1f,\"max_us\":%.1f,\"max_behind_us\":%.1f",
                  static_cast<long long>(r.tail->sent), static_cast<long long>(r.tail->received),
                  r.tail->p50_ns / 1e3, r.tail->p99_ns / 1e3, r.tail->p999_ns / 1e3,
                  r.tail->max_ns / 1e3, r.tail->max_behind_ns / 1e3);
    o += buf;
  }
  o += "}\n";
  std::fputs(o.c_str(), stdout);
  std::fflush(stdout);
}

void WarnIfTmpfs(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    ReportWarning(kVerb, dir +
                             " is tmpfs: fsync costs nothing there, the numbers say nothing "
                             "about a disk (pass --dir on a real file system)");
  }
}

int RunBenchLog(const BenchLogFlags& f) {
  auto sizes = ParseSizeList(f.sizes);
  if (!sizes.ok()) return ReportUsage(kVerb, "--sizes: " + sizes.status().message());
  auto fsyncs = ParseFsyncList(f.fsync);
  if (!fsyncs.ok()) return ReportUsage(kVerb, "--fsync: " + fsyncs.status().message());
  auto producers = ParseCountList(f.producers);
  if (!producers.ok()) return ReportUsage(kVerb, "--producers: " + producers.status().message());
  auto workloads = ParseWorkloadList(f.workloads);
  if (!workloads.ok()) return ReportUsage(kVerb, "--workloads: " + workloads.status().message());
  if (!(f.seconds > 0 && f.seconds <= 3600))
    return ReportUsage(kVerb, "--seconds must be in (0, 3600]");
  if (f.in_flight < 1 || f.in_flight > 1 << 16)
    return ReportUsage(kVerb, "--in-flight must be in [1, 65536]");
  if (f.batch < 0 || f.batch > 1 << 20)
    return ReportUsage(kVerb, "--batch must be in [0, 1048576]");
  if (f.max_mb < 1 || f.max_mb > 1 << 20)
    return ReportUsage(kVerb, "--max-mb must be in [1, 1048576]");
  if (!(f.tail_rate > 0 && f.tail_rate <= 1e6))
    return ReportUsage(kVerb, "--tail-rate must be in (0, 1000000]");
  if (f.tail_size < 16 || f.tail_size > 1 << 20)
    return ReportUsage(kVerb, "--tail-size must be in [16, 1048576]");
  InstallStopSignals();

  auto temp = TempDir::Create(f.dir);
  if (!temp.ok()) return ReportError(kVerb, temp.status());
  WarnIfTmpfs((*temp)->path());
  const int64_t max_bytes = f.max_mb << 20;
  if (!f.json) PrintHeader();
  auto emit = [&](const Row& row) { f.json ? PrintJson(row) : PrintRow(row); };
  auto cell_dir = [&]() { return (*temp)->NextCell(); };

  for (const std::string& w : *workloads) {
    if (w == "append") {
      for (int64_t size : *sizes) {
        for (const FsyncSpec& fs : *fsyncs) {
          for (int p : *producers) {
            if (StopRequested()) return kExitFailure;
            AppendCell cell{fs,        size,     p, f.in_flight, RecordsPerAppend(f.batch, size),
                            f.seconds, max_bytes};
            auto dir = cell_dir();
            if (!dir.ok()) return ReportError(kVerb, dir.status());
            auto log = OpenCellLog(*dir, fs);
            if (!log.ok()) return ReportError(kVerb, log.status());
            auto t = RunAppend(log->get(), cell);
            if (!t.ok()) return ReportError(kVerb, t.status());
            emit({"append", fs.ToString(), size, p, cell.in_flight, cell.batch, *t, nullptr});
          }
        }
      }
    } else if (w == "read") {
      for (int64_t size : *sizes) {
        if (StopRequested()) return kExitFailure;
        auto dir = cell_dir();
        if (!dir.ok()) return ReportError(kVerb, dir.status());
        auto t = RunRead(*dir, size, max_bytes, f.seconds);
        if (!t.ok()) return ReportError(kVerb, t.status());
        emit({"read", "-", size, 1, 1, 0, *t, nullptr});
      }
    } else {
      for (const FsyncSpec& fs : *fsyncs) {
        if (StopRequested()) return kExitFailure;
        auto dir = cell_dir();
        if (!dir.ok()) return ReportError(kVerb, dir.status());
        TailParams params{*dir, fs, f.tail_size, f.tail_rate, f.seconds};
        auto tail = RunTailLatency(params);
        if (!tail.ok()) return ReportError(kVerb, tail.status());
        Throughput t;
        t.records = tail->received;
        t.value_bytes = tail->received * f.tail_size;
        t.seconds = f.seconds;
        emit({"tail", fs.ToString(), f.tail_size, 1, 1, 1, t, &*tail});
      }
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterBenchLog(CLI::App* bench) {
  auto f = std::make_shared<BenchLogFlags>();
  CLI::App* cmd = bench->add_subcommand(
      "log", "Embedded log: append and read throughput, cross-process tail latency");
  cmd->footer(WrapText(
      "Workloads: append (every --sizes x --fsync x --producers cell: producer threads keep "
      "--in-flight AppendAsync calls of --batch records in flight, acks included in the time), "
      "read (sequential ReadInto of --max-mb just written, from the page cache), tail (a second "
      "process follows the topic; single-record appends at --tail-rate; append-to-observe "
      "latency percentiles). Each cell runs in a fresh data directory under a temporary "
      "directory in --dir, removed afterwards. MB = 10^6 bytes of record values."));
  cmd->add_option("--dir", f->dir, "Where to put the temporary data directory (not tmpfs)")
      ->capture_default_str();
  cmd->add_option("--seconds", f->seconds, "Time per cell")->capture_default_str();
  cmd->add_option("--sizes", f->sizes, "Record value sizes (k = KiB, m = MiB)")
      ->capture_default_str();
  cmd->add_option("--fsync", f->fsync, "Fsync policies")->capture_default_str();
  cmd->add_option("--producers", f->producers, "Producer thread counts")->capture_default_str();
  cmd->add_option("--in-flight", f->in_flight, "Appends in flight, all producers together")
      ->capture_default_str();
  cmd->add_option("--batch", f->batch, "Records per append (0 = about 64 KiB of values)")
      ->capture_default_str();
  cmd->add_option("--max-mb", f->max_mb, "MiB of values per cell at most (append, read)")
      ->capture_default_str();
  cmd->add_option("--workloads", f->workloads, "append, read, tail")->capture_default_str();
  cmd->add_option("--tail-rate", f->tail_rate, "Records per second in the tail workload")
      ->capture_default_str();
  cmd->add_option("--tail-size", f->tail_size, "Record bytes in the tail workload (>= 16)")
      ->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object per cell and line instead of the table");
  cmd->callback([f] { ExitCode() = RunBenchLog(*f); });
  RegisterBenchLogTailChild(bench);
}

}  // namespace runnel::cli
