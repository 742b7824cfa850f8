// `runnel produce`: one record per stdin line, appended in batches.
//
// Batching: each round blocks for one read() of stdin, then takes whatever
// else is already readable (up to kMaxBatchBytes) without blocking, and
// appends all complete lines of it with one Producer::Append. So a pipe that
// delivers lines one at a time gets one append per line, but a burst or a file
// costs one group commit (one fsync under fsync=always) per MiB, never one
// per line. Offsets are printed only after Append returned: that is the
// durability point under the topic's fsync policy.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <cerrno>
#include <cstring>
#include <memory>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "produce";
constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxBatchBytes = 1 << 20;  // a batch is all-or-nothing on a full disk

struct ProduceFlags {
  std::string dir;
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> key_separator;
  std::vector<std::string> headers;
  int32_t partition = -1;
  std::string fsync;
  bool print_offsets = false;
  bool no_create = false;
};

// True if a read() of fd would not block (data, EOF or an error waiting).
bool InputReady(int fd) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

// Reads up to kReadChunk bytes from fd onto the end of buf. Returns false at
// end of input.
Result<bool> ReadMore(int fd, std::string* buf) {
  const size_t old = buf->size();
  buf->resize(old + kReadChunk);
  ssize_t n;
  do {
    n = ::read(fd, buf->data() + old, kReadChunk);
  } while (n < 0 && errno == EINTR);
  buf->resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  if (n < 0) return Status::IoError(std::string("reading standard input: ") + std::strerror(errno));
  return n > 0;
}

class LineProducer {
 public:
  LineProducer(const ProduceFlags& flags, Producer* producer, std::span<const HeaderView> headers)
      : flags_(flags), producer_(producer), headers_(headers), progress_(kVerb) {}

  // Runs until end of input; returns the exit code.
  int Run() {
    std::string buf;
    std::vector<std::string_view> lines;
    std::vector<RecordView> records;
    bool eof = false;
    while (!eof) {
      auto more = ReadMore(STDIN_FILENO, &buf);
      if (!more.ok()) return ReportError(kVerb, more.status());
      eof = !*more;
      while (!eof && buf.size() < kMaxBatchBytes && InputReady(STDIN_FILENO)) {
        more = ReadMore(STDIN_FILENO, &buf);
        if (!more.ok()) return ReportError(kVerb, more.status());
        eof = !*more;
      }
      lines.clear();
      const size_t used = SplitLines(buf, eof, &lines);
      if (int code = AppendLines(lines, &records); code != kExitOk) return code;
      buf.erase(0, used);
      // A partial line already over the limit cannot become acceptable: stop
      // before buffering the rest of it.
      const size_t sep = flags_.key_separator ? flags_.key_separator->size() : 0;
      if (buf.size() > static_cast<size_t>(producer_->max_message_bytes()) + sep) {
        return TooLarge(line_number_ + 1, "over " + std::to_string(buf.size()) + " bytes");
      }
    }
    progress_.Finish();
    if (!out_.Flush() && !out_.broken_pipe())
      return ReportError(kVerb, Status::IoError(out_.error()));
    return kExitOk;
  }

 private:
  RecordView ToRecord(std::string_view line) const {
    RecordView r;
    r.value = line;
    if (flags_.key_separator) {
      if (size_t at = line.find(*flags_.key_separator); at != std::string_view::npos) {
        r.key = line.substr(0, at);
        r.value = line.substr(at + flags_.key_separator->size());
      }
    } else if (flags_.key) {
      r.key = *flags_.key;
    }
    r.headers = headers_;
    return r;
  }

  int TooLarge(int64_t line, const std::string& size) {
    progress_.Finish();
    (void)out_.Flush();
    return ReportError(
        kVerb, Status::TooLarge("line " + std::to_string(line) + ": record takes " + size +
                                "; topic '" + EscapeLine(flags_.topic) + "' allows at most " +
                                std::to_string(producer_->max_message_bytes()) +
                                " bytes (max_message_bytes); the lines before it were appended"));
  }

  // Appends `lines` as one batch, stopping before the first record that is
  // over the topic's limit (which is then reported, by line number).
  int AppendLines(const std::vector<std::string_view>& lines, std::vector<RecordView>* records) {
    records->clear();
    const auto limit = static_cast<size_t>(producer_->max_message_bytes());
    size_t too_large = 0;
    int64_t bytes = 0;
    for (std::string_view line : lines) {
      RecordView r = ToRecord(line);
      too_large = EncodedRecordBytes(r);
      if (too_large > limit) break;
      too_large = 0;
      records->push_back(r);
      bytes += static_cast<int64_t>(line.size()) + 1;
    }
    if (!records->empty()) {
      auto base = producer_->Append(flags_.partition, *records);
      if (!base.ok()) {
        progress_.Finish();
        (void)out_.Flush();
        return ReportError(
            kVerb, Status(base.status().code(), "lines " + std::to_string(line_number_ + 1) + "-" +
                                                    std::to_string(line_number_ + records->size()) +
                                                    ": " + base.status().message()));
      }
      if (flags_.print_offsets && !out_.broken_pipe()) {
        for (size_t i = 0; i < records->size(); ++i) {
          out_.Write(std::to_string(*base + static_cast<int64_t>(i)));
          out_.Write("\n");
        }
        // Nobody reading the offsets is no reason to stop appending stdin.
        if (!out_.Flush() && !out_.broken_pipe()) {
          return ReportError(kVerb, Status::IoError(out_.error()));
        }
      }
      line_number_ += static_cast<int64_t>(records->size());
      progress_.Add(static_cast<int64_t>(records->size()), bytes);
    }
    if (too_large > 0) return TooLarge(line_number_ + 1, std::to_string(too_large) + " bytes");
    return kExitOk;
  }

  const ProduceFlags& flags_;
  Producer* producer_;
  std::span<const HeaderView> headers_;
  Output out_;
  Progress progress_;
  int64_t line_number_ = 0;  // lines appended so far
};

int RunProduce(const ProduceFlags& f) {
  TopicConfig defaults;
  std::optional<FsyncSpec> fsync;
  if (!f.fsync.empty()) {
    auto spec = FsyncSpec::Parse(f.fsync);
    if (!spec.ok()) return ReportUsage(kVerb, spec.status().message());
    fsync = *spec;
    defaults.fsync = *spec;
  }
  if (f.key && f.key_separator)
    return ReportUsage(kVerb, "--key and --key-separator exclude each other");
  if (f.key_separator && f.key_separator->empty())
    return ReportUsage(kVerb, "--key-separator is empty");
  std::vector<HeaderView> headers;
  for (const std::string& h : f.headers) {
    size_t eq = h.find('=');
    if (eq == std::string::npos) {
      return ReportUsage(kVerb, "--header '" + h + "': expected KEY=VALUE");
    }
    headers.push_back({std::string_view(h).substr(0, eq), std::string_view(h).substr(eq + 1)});
  }

  auto log = OpenLog(f.dir, /*create=*/!f.no_create, &defaults);
  if (!log.ok()) return ReportError(kVerb, log.status());
  auto producer = (*log)->NewProducer(f.topic, /*auto_create=*/!f.no_create);
  if (!producer.ok()) return ReportError(kVerb, producer.status());
  if (f.partition < -1 || f.partition >= (*producer)->partitions()) {
    return ReportUsage(kVerb, "--partition " + std::to_string(f.partition) + ": topic '" +
                                  EscapeLine(f.topic) + "' has partitions 0.." +
                                  std::to_string((*producer)->partitions() - 1));
  }
  if (fsync) {
    // The topic existed already: its own policy stays in force.
    auto topics = (*log)->ListTopics();
    if (topics.ok()) {
      for (const TopicInfo& t : *topics) {
        if (t.name == f.topic && !(t.config.fsync == *fsync)) {
          ReportWarning(kVerb, "topic '" + EscapeLine(f.topic) + "' exists with fsync " +
                                   t.config.fsync.ToString() + "; --fsync " + fsync->ToString() +
                                   " is ignored");
        }
      }
    }
  }
  LineProducer run(f, producer->get(), headers);
  return run.Run();
}

}  // namespace

void RegisterProduceCommand(CLI::App& app) {
  auto f = std::make_shared<ProduceFlags>();
  CLI::App* cmd = app.add_subcommand("produce", "Append one record per line of standard input");
  cmd->footer(WrapText(
      "Each line (without its newline; a last line without one counts too) becomes one "
      "record's value; an empty line is an empty value.\n\nThe topic is created if missing, "
      "with --fsync as its policy when given; an existing topic keeps its own policy "
      "(a different --fsync is warned about on stderr and ignored).\n\nLines that are already "
      "buffered go out as one batch; with --print-offsets each record's offset is printed "
      "(one per line) once its batch is durable under the topic's policy.\n\nA record over "
      "the topic's max_message_bytes stops the run with an error naming its line number; "
      "the lines before it stay appended."));
  cmd->add_option("--dir", f->dir, "Data directory")->required();
  cmd->add_option("topic", f->topic, "Topic name")->required();
  cmd->add_option("--key", f->key, "Key for every record (default: no key)");
  cmd->add_option("--key-separator", f->key_separator,
                  "Split each line at the first SEP into key and value (a line without SEP "
                  "has no key)");
  cmd->add_option("--header", f->headers, "Header KEY=VALUE for every record (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--partition", f->partition,
                  "Partition to append to (default: by key hash, else round-robin per batch)");
  cmd->add_option("--fsync", f->fsync, "always | interval:MS | never, for a topic created here");
  cmd->add_flag("--print-offsets", f->print_offsets,
                "Print each record's offset, one per line, once acknowledged");
  cmd->add_flag("--no-create", f->no_create, "Fail if the topic does not exist");
  cmd->callback([f] { ExitCode() = RunProduce(*f); });
}

}  // namespace runnel::cli
