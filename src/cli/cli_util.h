// Helpers shared by the `runnel` subcommands: error reporting and exit codes,
// the text and JSON renderings of records and names, stdin line splitting,
// buffered stdout that notices a closed pipe, terminal progress and
// SIGINT/SIGTERM handling.
//
// Everything here runs on the command's own thread(s); Output and Progress
// are not thread-safe (callers that share them hold their own lock).
#pragma once

#include "runnel/log.h"
#include "runnel/record.h"
#include "runnel/status.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::cli {

// Process exit codes, the same for every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation ran and failed
inline constexpr int kExitUsage = 2;    // bad arguments, flags or values

// kInvalidArgument means the user gave us something wrong (a name, a value,
// a directory that is not a data directory): a usage error. Everything else
// is a runtime failure.
int ExitCodeFor(const Status& status);

// Prints "runnel <verb>: <message>" on stderr and returns ExitCodeFor(status).
int ReportError(std::string_view verb, const Status& status);
// Prints "runnel <verb>: <message>" on stderr and returns kExitUsage.
int ReportUsage(std::string_view verb, std::string_view message);
// Prints "runnel <verb>: warning: <message>" on stderr.
void ReportWarning(std::string_view verb, std::string_view message);

// Opens the data directory. Commands that only read pass create = false so a
// mistyped --dir is an error rather than a new empty directory.
// `default_config` (may be null) is what a producer auto-creates topics with.
Result<std::unique_ptr<Log>> OpenLog(const std::string& dir, bool create,
                                     const TopicConfig* default_config = nullptr);

// ---- Text renderings ---------------------------------------------------------

// A topic name on one line: "\\" for a backslash, "\n", "\r", "\t", "\xHH" for
// every other byte below 0x20, 0x7F, and every byte that is not part of valid
// UTF-8; valid UTF-8 otherwise as is. Never contains a newline.
std::string EscapeLine(std::string_view bytes);

// True if `bytes` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// Standard base64 (RFC 4648 alphabet, '=' padding).
std::string Base64Encode(std::string_view bytes);

// Appends `s` as a JSON string literal, quotes included: '"' and '\\' are
// backslash-escaped, bytes below 0x20 and 0x7F become \u00XX. `s` must be
// valid UTF-8 (see AppendJsonBytesField for arbitrary bytes).
void AppendJsonString(std::string* out, std::string_view s);

// Appends the member `"name":...` for an optional byte string:
//   nullopt            -> "name":null
//   valid UTF-8        -> "name":"<escaped text>"
//   anything else      -> "name_b64":"<base64>"
// so every byte survives and a reader can tell which form it got.
void AppendJsonBytesField(std::string* out, std::string_view name,
                          std::optional<std::string_view> bytes);

// One record as a JSON object (no trailing newline):
// {"partition":P,"offset":N,"timestamp":MS,"key":..,"value":..,
//  "headers":[{"key":..,"value":..}]}
void AppendRecordJson(std::string* out, int32_t partition, const RecordView& record);

// Word-wraps `text` at `width` columns for --help footers (CLI11 prints them
// as given); explicit newlines are kept.
std::string WrapText(std::string_view text, size_t width = 78);

// ---- Argument parsing --------------------------------------------------------

// "earliest", "latest", a non-negative OFFSET, or "@TIMESTAMP_MS".
Result<StartPosition> ParseStartPosition(std::string_view text);

// ---- Line splitting (produce) -----------------------------------------------

// Appends to `lines` a view of every complete line in `data` (without its
// '\n') and returns how many bytes of `data` they used, up to and including
// the last '\n'. At end of input (`at_eof`) a final line without a newline
// counts too, and all of `data` is used. The views point into `data`.
size_t SplitLines(std::string_view data, bool at_eof, std::vector<std::string_view>* lines);

// ---- Output -----------------------------------------------------------------

// Buffered writes to a file descriptor (stdout by default). Flush() writes
// everything buffered; a reader that went away (EPIPE, e.g. `| head`) is
// remembered in broken_pipe() so the command can stop quietly. SIGPIPE must
// be ignored (main() does) for EPIPE to arrive as an error.
class Output {
 public:
  explicit Output(int fd = 1) : fd_(fd) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  std::string& buffer() { return buf_; }
  void Write(std::string_view s) { buf_.append(s); }
  // Writes the buffer out; false on error (see broken_pipe() and error()).
  bool Flush();
  bool broken_pipe() const { return broken_pipe_; }
  // True once the reading end of a pipe on fd has been closed, found without
  // writing (so an idle follower notices `| head` having quit).
  bool ReaderGone();
  const std::string& error() const { return error_; }

 private:
  int fd_;
  std::string buf_;
  bool broken_pipe_ = false;
  std::string error_;
};

// Progress on stderr for long runs: "<verb>: N records, X MB/s, Ts", redrawn
// in place at most four times a second, and only when stderr is a terminal
// (scripts and tests see nothing). Finish() clears the line.
class Progress {
 public:
  explicit Progress(std::string verb);
  ~Progress() { Finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(int64_t records, int64_t bytes);
  void Finish();

 private:
  std::string verb_;
  bool enabled_;
  bool drawn_ = false;
  int64_t records_ = 0;
  int64_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// ---- Signals -------------------------------------------------------------------

// Makes SIGINT and SIGTERM set a flag instead of killing the process, for
// commands that stop cleanly (consume --follow, steward). Idempotent.
void InstallStopSignals();
bool StopRequested();

}  // namespace runnel::cli
