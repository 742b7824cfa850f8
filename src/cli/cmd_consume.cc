// `runnel consume`: print a topic's records, from one partition or all.
//
// Without --follow the run ends at the end each partition had when it
// started. With --follow it waits for appends from any process (Reader::Poll,
// inotify-driven) until --count records were printed or SIGINT/SIGTERM.
//
// All partitions: partitions are read in turn, one Read batch at a time, so
// order is the log's within a partition and interleaved by batch across them.
// When following, up to kMaxFollowThreads threads each own a share of the
// partitions (one thread per partition for small topics, so a partition's
// wake-up never waits behind another's poll timeout); they print through one
// Sink, under its lock, a whole batch at a time.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "consume";
constexpr size_t kMaxFollowThreads = 16;
// Upper bound on how long a stop request or a reached --count goes unnoticed.
constexpr auto kPollSlice = std::chrono::milliseconds(200);
constexpr auto kMinPollSlice = std::chrono::milliseconds(5);

struct ConsumeFlags {
  std::string dir;
  std::string topic;
  int32_t partition = -1;
  std::string from = "earliest";
  int64_t count = -1;
  bool follow = false;
  std::string format = "value";
};

struct PartitionCursor {
  int32_t partition = 0;
  std::unique_ptr<Reader> reader;
  int64_t end = 0;  // without --follow: stop here
  bool done = false;
};

// Where records go: stdout, the --count budget, progress, the exit status.
// Shared by the follow threads; every member is guarded by mu_.
class Sink {
 public:
  Sink(bool json, int64_t count) : json_(json), remaining_(count), progress_(kVerb) {}

  // Prints the records of `batch` below `end`, then flushes. Returns false
  // once the run should stop (count reached, reader gone, write failed).
  bool Emit(int32_t partition, const ReadBatch& batch, int64_t end) {
    std::lock_guard lock(mu_);
    if (done_) return false;
    std::string& buf = out_.buffer();
    int64_t printed = 0;
    for (const RecordView& r : batch.records()) {
      if (r.offset >= end || remaining_ == 0) break;
      if (json_) {
        AppendRecordJson(&buf, partition, r);
      } else if (r.value) {
        buf.append(*r.value);
      }
      buf.push_back('\n');
      ++printed;
      if (remaining_ > 0) --remaining_;
    }
    progress_.Add(printed, static_cast<int64_t>(batch.bytes()));
    if (!out_.Flush()) {
      // A reader that went away (`| head`) is a normal way to end.
      if (!out_.broken_pipe()) FailLocked(Status::IoError(out_.error()));
      done_ = true;
    }
    if (remaining_ == 0) done_ = true;
    return !done_;
  }

  void Fail(const Status& status) {
    std::lock_guard lock(mu_);
    FailLocked(status);
    done_ = true;
  }

  // Damage is reported and reading goes on past it; the run still fails.
  void ReportDamage(const Status& status) {
    std::lock_guard lock(mu_);
    progress_.Finish();
    (void)ReportError(kVerb, status);
    exit_code_ = kExitFailure;
  }

  bool done() {
    std::lock_guard lock(mu_);
    return done_ || StopRequested();
  }

  // Called by idle followers: ends the run once nobody reads stdout.
  void CheckReader() {
    std::lock_guard lock(mu_);
    if (out_.ReaderGone()) done_ = true;
  }

  int Finish() {
    std::lock_guard lock(mu_);
    progress_.Finish();
    return exit_code_;
  }

 private:
  void FailLocked(const Status& status) {
    progress_.Finish();
    exit_code_ = ReportError(kVerb, status);
  }

  std::mutex mu_;
  const bool json_;
  int64_t remaining_;  // -1 = unlimited
  bool done_ = false;
  int exit_code_ = kExitOk;
  Output out_;
  Progress progress_;
};

// Reads one batch from `c` into the sink. Returns true if it printed any.
bool ReadOnce(PartitionCursor* c, Sink* sink) {
  auto batch = c->reader->Read();
  if (!batch.ok()) {
    if (batch.status().Is(StatusCode::kCorruption)) {
      sink->ReportDamage(batch.status());
      return true;  // the reader skipped the damage: try again at once
    }
    sink->Fail(batch.status());
    return false;
  }
  if (batch->empty()) return false;
  sink->Emit(c->partition, *batch, c->end);
  return true;
}

// Without --follow: round-robin over the partitions until each reached the
// end it had when the run started.
void ReadToEnd(std::vector<PartitionCursor>& cursors, Sink* sink) {
  bool any = true;
  while (any && !sink->done()) {
    any = false;
    for (PartitionCursor& c : cursors) {
      if (c.done || sink->done()) continue;
      if (c.reader->position() >= c.end || !ReadOnce(&c, sink)) {
        c.done = true;
        continue;
      }
      any = true;
    }
  }
}

// --follow over a share of the partitions: read what is there, else wait on
// each in turn, so that n partitions still notice a stop within kPollSlice.
void Follow(std::span<PartitionCursor> cursors, Sink* sink) {
  const auto slice = std::max<std::chrono::milliseconds>(
      kMinPollSlice, kPollSlice / static_cast<int64_t>(cursors.size()));
  while (!sink->done()) {
    bool progressed = false;
    for (PartitionCursor& c : cursors) {
      if (sink->done()) return;
      progressed |= ReadOnce(&c, sink);
    }
    if (progressed) continue;
    sink->CheckReader();
    for (PartitionCursor& c : cursors) {
      Status st = c.reader->Poll(slice);
      if (st.ok()) break;
      if (!st.Is(StatusCode::kTimedOut)) return sink->Fail(st);
      if (sink->done()) return;
    }
  }
}

void FollowAll(std::vector<PartitionCursor>& cursors, Sink* sink) {
  const size_t threads = std::min(cursors.size(), kMaxFollowThreads);
  if (threads <= 1) return Follow(cursors, sink);
  std::vector<std::thread> workers;
  const size_t per = (cursors.size() + threads - 1) / threads;
  for (size_t begin = 0; begin < cursors.size(); begin += per) {
    std::span<PartitionCursor> share(cursors.data() + begin, std::min(per, cursors.size() - begin));
    workers.emplace_back([share, sink] { Follow(share, sink); });
  }
  for (std::thread& t : workers) t.join();
}

int RunConsume(const ConsumeFlags& f) {
  auto start = ParseStartPosition(f.from);
  if (!start.ok()) return ReportUsage(kVerb, start.status().message());
  if (f.count == 0) return kExitOk;
  InstallStopSignals();

  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(kVerb, log.status());
  auto info = (*log)->DescribeTopic(f.topic);
  if (!info.ok()) return ReportError(kVerb, info.status());
  const auto partitions = static_cast<int32_t>(info->partitions.size());
  if (f.partition < -1 || f.partition >= partitions) {
    return ReportUsage(kVerb, "--partition " + std::to_string(f.partition) + ": topic '" +
                                  EscapeLine(f.topic) + "' has partitions 0.." +
                                  std::to_string(partitions - 1));
  }

  std::vector<PartitionCursor> cursors;
  for (const PartitionInfo& p : info->partitions) {
    if (f.partition >= 0 && p.partition != f.partition) continue;
    auto reader = (*log)->NewReader(f.topic, p.partition, *start);
    if (!reader.ok()) return ReportError(kVerb, reader.status());
    PartitionCursor c;
    c.partition = p.partition;
    c.reader = std::move(*reader);
    c.end = f.follow ? INT64_MAX : p.end_offset;
    cursors.push_back(std::move(c));
  }

  Sink sink(f.format == "json", f.count);
  if (f.follow) {
    FollowAll(cursors, &sink);
  } else {
    ReadToEnd(cursors, &sink);
  }
  return sink.Finish();
}

}  // namespace

void RegisterConsumeCommand(CLI::App& app) {
  auto f = std::make_shared<ConsumeFlags>();
  CLI::App* cmd = app.add_subcommand("consume", "Print a topic's records");
  cmd->footer(WrapText(
      "--format value prints each value on its own line (a null value prints an empty line).\n\n"
      "--format json prints one object per line: {\"partition\":P,\"offset\":N,"
      "\"timestamp\":MS,\"key\":..,\"value\":..,\"headers\":[{\"key\":..,\"value\":..}]}; "
      "a null key or value is null; bytes that are valid UTF-8 are a JSON string (control "
      "characters as \\u00XX); any other bytes are given base64-encoded in a member named "
      "with a _b64 suffix instead (\"value_b64\", \"key_b64\").\n\nWithout --partition all "
      "partitions are read, interleaved batch by batch. Without --follow the run stops at "
      "the end each partition had when it started; with --follow it waits for new records "
      "until --count is reached or SIGINT/SIGTERM (exit 0)."));
  cmd->add_option("--dir", f->dir, "Data directory")->required();
  cmd->add_option("topic", f->topic, "Topic name")->required();
  cmd->add_option("--partition", f->partition, "Read only this partition (default: all)");
  cmd->add_option("--from", f->from, "earliest | latest | OFFSET | @TIMESTAMP_MS")
      ->capture_default_str();
  cmd->add_option("--count", f->count, "Stop after N records (default: no limit)");
  cmd->add_flag("--follow,-f", f->follow, "Wait for new records instead of stopping at the end");
  cmd->add_option("--format", f->format, "value | json")
      ->check(CLI::IsMember({"value", "json"}))
      ->capture_default_str();
  cmd->callback([f] { ExitCode() = RunConsume(*f); });
}

}  // namespace runnel::cli
