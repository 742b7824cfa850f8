// RespParser: turns the bytes a RESP client sends into commands (argv lists).
// Incremental and zero-copy; no I/O, no allocation proportional to any length
// read off the wire. Behaviour follows Redis 7.0 processInputBuffer /
// processMultibulkBuffer / processInlineBuffer (networking.c) and sdssplitargs
// (sds.c); the error texts are Redis' own (reference/resp.md §1.2-1.3).
//
// Request grammar (a request's first byte picks its form, per request):
//
//   multibulk := '*' count CR any  { '$' len CR any  <len bytes> any any }
//   inline    := <bytes without LF> LF          (a CR before the LF is dropped)
//
// where `count`/`len` are Redis integers (string2ll: optional '-', no '+', no
// leading zeros, at most 20 characters) and `any` is one byte that, exactly as
// in Redis, is not checked (it is meant to be LF, resp. CR LF after a bulk).
// `*0`, `*-1` (any count <= 0) and blank inline lines are consumed and
// produce no command. Inline lines are split like sdssplitargs: see
// SplitInlineArgs below.
//
// Buffer contract (the caller owns the bytes):
//  1. The caller keeps one growing input buffer per connection and calls
//     Parse(view of all unconsumed bytes, &batch) after every read.
//  2. Parse appends every complete command to `batch` and returns
//     `consumed`: the bytes of those commands (and of ignored empty ones).
//     The caller then drops exactly `consumed` bytes from the front (moving the
//     rest to another address is fine) and appends new bytes behind the rest.
//     Bytes already passed and not consumed must be passed again, unchanged,
//     at the start of the next input: the parser remembers how far into the
//     pending command it has read (so no byte is scanned twice, and a command
//     of a million small arguments costs O(n) however it is chunked). To drop
//     them instead, call Reset().
//  3. The argv views in `batch` point into the input passed to the Parse call
//     that completed the command (or into `batch` itself for inline words that
//     needed unescaping). They stay valid until the caller changes those
//     bytes — so execute (or copy) the commands before dropping `consumed`
//     bytes, reading more, or clearing `batch`.
//  4. `need_at_least` is the number of unconsumed bytes the next Parse call
//     needs before it can make progress (0 when nothing is pending). For a
//     large bulk value it is the whole value's end, so the caller can size its
//     buffer once and read straight into it: a 100 MB value arriving in 64 KiB
//     pieces is neither copied repeatedly nor rescanned.
//  5. On a protocol error, `consumed` covers the complete commands before the
//     bad one (they are in `batch`; Redis executes them). The caller executes
//     them, sends `-` ErrorText(result) `\r\n`, flushes, and closes the
//     connection; the parser is then unusable until Reset().
//
// Limits are checked before anything is allocated or waited for: a count of
// 2^31 fails on its header line. Lines (inline requests, `*`/`$` count lines)
// are bounded by max_inline_len whether or not their terminator is already in
// the buffer, so the outcome never depends on how input is chunked (Redis
// only checks while the terminator is missing, which depends on its reads).
//
// Differences from Redis 7.0, on purpose:
//  * max_multibulk_len defaults to 1024*1024 (Redis < 7.0; 7.0 allows up to
//    INT_MAX). Each argument costs 16 bytes of views for as little as 6 input
//    bytes; set it to INT_MAX for 7.0 behaviour.
//  * A NUL byte is an ordinary byte. Redis' strchr-based line search stops
//    at a NUL and waits for more input (until the 64 KiB limit trips).
//  * Redis' HTTP defence (closing on an inline `POST`/`Host:`) is a command
//    of the broker, not of this parser.
//
// Thread safety: none; one parser per connection, used on its io thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::resp {

// The argv of one command. Views; see the buffer contract above.
using Command = std::span<const std::string_view>;

// The commands produced by Parse calls, stored flat: appending a command costs
// no allocation once the vectors have grown. Owned by the caller, reused
// across reads (clear() keeps the capacity).
class CommandBatch {
 public:
  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  Command operator[](size_t i) const {
    size_t begin = i == 0 ? 0 : ends_[i - 1];
    return Command(args_.data() + begin, ends_[i] - begin);
  }
  // Total number of arguments over all commands.
  size_t arg_count() const { return ends_.empty() ? 0 : ends_.back(); }
  void clear() {
    args_.clear();
    ends_.clear();
    owned_.clear();
  }

  class Iterator {
   public:
    Iterator(const CommandBatch* batch, size_t i) : batch_(batch), i_(i) {}
    Command operator*() const { return (*batch_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const CommandBatch* batch_;
    size_t i_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  friend class RespParser;

  // args_ may hold the first arguments of an unfinished command past
  // ends_.back() while Parse runs; never between calls.
  std::vector<std::string_view> args_;
  std::vector<size_t> ends_;  // ends_[i] = one past command i's last arg
  // Inline words that are not a contiguous slice of the input ("a\x41",
  // a"b c"). A deque never moves its elements when it grows at the end, so
  // views into them (short strings included) stay valid.
  std::deque<std::string> owned_;
};

enum class ParseError : uint8_t {
  kNone = 0,
  kInvalidMultibulkLength,          // "invalid multibulk length"
  kInvalidBulkLength,               // "invalid bulk length"
  kExpectedDollar,                  // "expected '$', got 'X'"
  kTooBigInlineRequest,             // "too big inline request"
  kUnbalancedQuotes,                // "unbalanced quotes in request"
  kTooBigMbulkCountString,          // "too big mbulk count string"
  kTooBigBulkCountString,           // "too big bulk count string"
  kUnauthenticatedMultibulkLength,  // "unauthenticated multibulk length"
  kUnauthenticatedBulkLength,       // "unauthenticated bulk length"
};

struct ParseResult {
  size_t consumed = 0;       // bytes of complete (or ignored) commands
  size_t need_at_least = 0;  // unconsumed bytes needed to progress; 0 = none pending
  ParseError error = ParseError::kNone;
  char got = 0;  // kExpectedDollar: the byte found instead of '$'

  bool ok() const { return error == ParseError::kNone; }
};

// The reply text for a protocol error, without the leading '-' and trailing
// CRLF, byte for byte as Redis 7.0 sends it, e.g.
// "ERR Protocol error: invalid bulk length". Empty for kNone.
std::string ErrorText(const ParseResult& result);

struct ParserLimits {
  // Largest accepted `*` count (Redis 7.0: INT_MAX; values above it are
  // treated as INT_MAX). Larger → kInvalidMultibulkLength.
  int64_t max_multibulk_len = 1024 * 1024;
  // Largest accepted `$` length (Redis proto-max-bulk-len, 512 MiB).
  // Larger → kInvalidBulkLength.
  int64_t max_bulk_len = int64_t{512} << 20;
  // Longest line: an inline request (bytes before its LF) or a count line
  // (bytes before its CR). Redis' PROTO_INLINE_MAX_SIZE, 64 KiB.
  size_t max_inline_len = 64 << 10;
};

class RespParser {
 public:
  explicit RespParser(ParserLimits limits = {});

  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  // Parses complete commands from `input` into `*out` (appending), at most
  // `max_commands` of them (a stop there leaves need_at_least == 0: call
  // again when ready). See the buffer contract at the top of this file.
  ParseResult Parse(std::string_view input, CommandBatch* out,
                    size_t max_commands = std::numeric_limits<size_t>::max());

  // Redis applies smaller limits before AUTH succeeds (count <= 10,
  // bulk <= 16384, with their own "unauthenticated" errors). The caller sets
  // this while the connection is not authenticated and should then parse one
  // command at a time (max_commands = 1), since AUTH changes it.
  void set_auth_required(bool required) { auth_required_ = required; }
  bool auth_required() const { return auth_required_; }

  // Forgets any pending partial command (and a previous error).
  void Reset();

  // True when bytes of an unfinished command have been passed and not
  // consumed.
  bool has_pending() const { return state_ != State::kIdle; }

  // Splits one inline request line (without its LF, and without the CR before
  // it) into words, appending them to `*out` as one argument list (the caller
  // closes the command). Rules of sdssplitargs: blanks (isspace) separate
  // words; "..." understands \n \r \t \b \a \xHH and \<any> = <any>; '...'
  // understands only \'; a closing quote must be followed by a blank or the
  // end; a quote inside a word starts quoting there (a"b c" → `ab c`).
  // Returns false (nothing appended) on unbalanced or ill-closed quotes.
  static bool SplitInlineArgs(std::string_view line, CommandBatch* out);

 private:
  enum class State : uint8_t {
    kIdle,            // between commands
    kInline,          // looking for the LF of an inline request
    kMultibulkCount,  // looking for the CR of "*<count>"
    kBulkLen,         // looking for the CR of "$<len>"
    kBulkData,        // waiting for <len> bytes + 2
    kError,           // after a protocol error, until Reset()
  };
  enum class Step : uint8_t { kDone, kNeedMore, kError };

  // Each works on the command starting at `in` (the unconsumed rest of the
  // input), resuming from the members below.
  Step ParseInline(std::string_view in, CommandBatch* out, ParseResult* r);
  Step ParseMultibulk(std::string_view in, CommandBatch* out, ParseResult* r);
  // Finds the CR ending a count line starting at pos_ (resuming at scan_).
  // Returns its offset, or npos with *step set (need more or too long).
  size_t FindCountLineEnd(std::string_view in, ParseError too_long, ParseResult* r, Step* step);
  Step Fail(ParseResult* r, ParseError e);

  const ParserLimits limits_;
  bool auth_required_ = false;
  State state_ = State::kIdle;
  // Offsets below are relative to the start of the pending command, which is
  // the start of the next Parse input.
  size_t pos_ = 0;         // next unparsed byte
  size_t scan_ = 0;        // bytes already searched for a line terminator
  int64_t remaining_ = 0;  // multibulk arguments still to read
  int64_t bulk_len_ = 0;   // kBulkData: length of the bulk being read
  // Arguments read so far of a multibulk command that did not complete in the
  // last call: (offset, length) pairs, turned back into views next call.
  std::vector<std::pair<size_t, size_t>> pending_args_;
  ParseResult failure_;  // kError: what Parse keeps returning
};

}  // namespace runnel::resp
