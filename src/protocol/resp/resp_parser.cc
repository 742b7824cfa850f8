#include "protocol/resp/resp_parser.h"

#include "util/check.h"

#include <climits>

#include <algorithm>
#include <cstring>

namespace runnel::resp {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// Redis' string2ll (util.c): optional '-', then "0" alone or a digit 1-9
// followed by digits; nothing else, fewer than 21 characters, no overflow.
// The exact rules matter: "+1", "01", "-0", " 1" and "" are all invalid
// lengths to Redis, and so to us.
bool ParseRedisInt(std::string_view s, int64_t* value) {
  constexpr size_t kLongStrSize = 21;
  if (s.empty() || s.size() >= kLongStrSize) return false;
  if (s.size() == 1 && s[0] == '0') {
    *value = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    if (++i == s.size()) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned digit = s[i] - '0';
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > uint64_t{INT64_MAX} + 1) return false;
    *value = static_cast<int64_t>(0 - v);
  } else {
    if (v > uint64_t{INT64_MAX}) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

// isspace() in the C locale, which sdssplitargs uses to skip blanks.
bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Accumulates one inline word. While every byte added is the next byte of
// the line it stays a view of the line (the common case: plain words and
// quoted words without escapes); the first byte that is not (a skipped quote,
// an escape) switches it to a private copy.
class WordBuilder {
 public:
  explicit WordBuilder(std::string_view line) : line_(line) {}

  void Start() {
    begin_ = 0;
    len_ = 0;
    copied_ = false;
    copy_.clear();
  }
  // Adds byte `c`, decoded from the input starting at line_[at].
  void Add(size_t at, char c) {
    if (!copied_) {
      if (len_ == 0) begin_ = at;
      if (at == begin_ + len_ && line_[at] == c) {
        ++len_;
        return;
      }
      copy_.assign(line_.data() + begin_, len_);
      copied_ = true;
    }
    copy_.push_back(c);
  }
  bool copied() const { return copied_; }
  std::string_view view() const { return line_.substr(begin_, len_); }
  std::string& copy() { return copy_; }

 private:
  std::string_view line_;
  size_t begin_ = 0;
  size_t len_ = 0;
  bool copied_ = false;
  std::string copy_;
};

}  // namespace

std::string ErrorText(const ParseResult& result) {
  switch (result.error) {
    case ParseError::kNone:
      return {};
    case ParseError::kInvalidMultibulkLength:
      return "ERR Protocol error: invalid multibulk length";
    case ParseError::kInvalidBulkLength:
      return "ERR Protocol error: invalid bulk length";
    case ParseError::kExpectedDollar: {
      // addReplyErrorFormat maps CR and LF to spaces so the reply stays one
      // line (Redis sees this for an empty "\r\n" where a "$" line belongs).
      char got = result.got == '\r' || result.got == '\n' ? ' ' : result.got;
      return std::string("ERR Protocol error: expected '$', got '") + got + "'";
    }
    case ParseError::kTooBigInlineRequest:
      return "ERR Protocol error: too big inline request";
    case ParseError::kUnbalancedQuotes:
      return "ERR Protocol error: unbalanced quotes in request";
    case ParseError::kTooBigMbulkCountString:
      return "ERR Protocol error: too big mbulk count string";
    case ParseError::kTooBigBulkCountString:
      return "ERR Protocol error: too big bulk count string";
    case ParseError::kUnauthenticatedMultibulkLength:
      return "ERR Protocol error: unauthenticated multibulk length";
    case ParseError::kUnauthenticatedBulkLength:
      return "ERR Protocol error: unauthenticated bulk length";
  }
  return "ERR Protocol error";
}

RespParser::RespParser(ParserLimits limits) : limits_(limits) {}

void RespParser::Reset() {
  state_ = State::kIdle;
  pos_ = scan_ = 0;
  remaining_ = bulk_len_ = 0;
  pending_args_.clear();
  failure_ = ParseResult();
}

ParseResult RespParser::Parse(std::string_view input, CommandBatch* out, size_t max_commands) {
  if (state_ == State::kError) return failure_;
  RUNNEL_CHECK(state_ == State::kIdle || input.size() >= std::max(pos_, scan_),
               "RespParser: %zu pending bytes were not passed again (got %zu)",
               std::max(pos_, scan_), input.size());
  // Arguments of the command left unfinished last time become views into
  // this input, at the same offsets (the caller kept those bytes in place).
  for (const auto& [offset, len] : pending_args_) {
    out->args_.push_back(input.substr(offset, len));
  }
  pending_args_.clear();

  ParseResult r;
  size_t cmd = 0;  // start of the current command in `input`
  size_t emitted = 0;
  while (true) {
    std::string_view in = input.substr(cmd);
    if (state_ == State::kIdle) {
      if (in.empty() || emitted >= max_commands) break;
      pos_ = scan_ = 0;
      state_ = in[0] == '*' ? State::kMultibulkCount : State::kInline;
    }
    size_t commands_before = out->ends_.size();
    Step step = state_ == State::kInline ? ParseInline(in, out, &r) : ParseMultibulk(in, out, &r);
    if (step == Step::kDone) {
      emitted += out->ends_.size() - commands_before;
      cmd += pos_;
      state_ = State::kIdle;
      continue;
    }
    // The unfinished command's arguments leave the batch; remember where
    // they are relative to its first byte.
    size_t complete = out->arg_count();
    if (step == Step::kNeedMore) {
      for (size_t i = complete; i < out->args_.size(); ++i) {
        std::string_view a = out->args_[i];
        pending_args_.emplace_back(a.data() - in.data(), a.size());
      }
    }
    out->args_.resize(complete);
    r.consumed = cmd;
    if (step == Step::kError) {
      state_ = State::kError;
      failure_ = r;
      failure_.consumed = 0;  // what a later call (on the rest) would report
    }
    return r;
  }
  r.consumed = cmd;
  r.need_at_least = 0;
  return r;
}

RespParser::Step RespParser::Fail(ParseResult* r, ParseError e) {
  r->error = e;
  r->need_at_least = 0;
  return Step::kError;
}

RespParser::Step RespParser::ParseInline(std::string_view in, CommandBatch* out, ParseResult* r) {
  // A line longer than max_inline_len fails whether or not its LF has
  // arrived: only the first max_inline_len + 1 bytes are searched.
  size_t window = std::min(in.size(), limits_.max_inline_len + 1);
  size_t lf = kNpos;
  if (scan_ < window) {
    const void* p = std::memchr(in.data() + scan_, '\n', window - scan_);
    if (p != nullptr) lf = static_cast<const char*>(p) - in.data();
  }
  if (lf == kNpos) {
    if (in.size() > limits_.max_inline_len) return Fail(r, ParseError::kTooBigInlineRequest);
    scan_ = in.size();
    r->need_at_least = in.size() + 1;
    return Step::kNeedMore;
  }
  std::string_view line = in.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t args_before = out->args_.size();
  if (!SplitInlineArgs(line, out)) return Fail(r, ParseError::kUnbalancedQuotes);
  if (out->args_.size() > args_before) out->ends_.push_back(out->args_.size());
  pos_ = lf + 1;
  return Step::kDone;
}

size_t RespParser::FindCountLineEnd(std::string_view in, ParseError too_long, ParseResult* r,
                                    Step* step) {
  // As for inline lines, a count line is bounded whether or not its CR has
  // arrived, so chunking cannot change the outcome.
  size_t avail = in.size() - pos_;
  size_t window_end = pos_ + std::min(avail, limits_.max_inline_len + 1);
  size_t from = std::max(scan_, pos_);
  size_t cr = kNpos;
  // Count lines are short ("$64"): a plain loop finds their CR sooner than a
  // memchr call is set up; memchr takes over for long lines.
  size_t short_end = std::min(window_end, from + 24);
  for (size_t i = from; i < short_end; ++i) {
    if (in[i] == '\r') {
      cr = i;
      break;
    }
  }
  if (cr == kNpos && short_end < window_end) {
    const void* p = std::memchr(in.data() + short_end, '\r', window_end - short_end);
    if (p != nullptr) cr = static_cast<const char*>(p) - in.data();
  }
  if (cr == kNpos) {
    if (avail > limits_.max_inline_len) {
      *step = Fail(r, too_long);
    } else {
      scan_ = in.size();
      r->need_at_least = in.size() + 1;
      *step = Step::kNeedMore;
    }
    return kNpos;
  }
  // Redis wants the byte after the CR present (it does not check it is LF).
  if (cr + 2 > in.size()) {
    scan_ = cr;
    r->need_at_least = cr + 2;
    *step = Step::kNeedMore;
    return kNpos;
  }
  return cr;
}

RespParser::Step RespParser::ParseMultibulk(std::string_view in, CommandBatch* out,
                                            ParseResult* r) {
  while (true) {
    switch (state_) {
      case State::kMultibulkCount: {
        Step step;
        size_t cr = FindCountLineEnd(in, ParseError::kTooBigMbulkCountString, r, &step);
        if (cr == kNpos) return step;
        int64_t count;
        int64_t max = std::min<int64_t>(limits_.max_multibulk_len, INT_MAX);
        if (!ParseRedisInt(in.substr(1, cr - 1), &count) || count > max) {
          return Fail(r, ParseError::kInvalidMultibulkLength);
        }
        if (count > 10 && auth_required_) {
          return Fail(r, ParseError::kUnauthenticatedMultibulkLength);
        }
        pos_ = scan_ = cr + 2;
        if (count <= 0) return Step::kDone;  // "*0", "*-1": nothing to run
        remaining_ = count;
        state_ = State::kBulkLen;
        break;
      }
      case State::kBulkLen: {
        Step step;
        size_t cr = FindCountLineEnd(in, ParseError::kTooBigBulkCountString, r, &step);
        if (cr == kNpos) return step;
        if (in[pos_] != '$') {
          r->got = in[pos_];
          return Fail(r, ParseError::kExpectedDollar);
        }
        int64_t len;
        if (!ParseRedisInt(in.substr(pos_ + 1, cr - pos_ - 1), &len) || len < 0 ||
            len > limits_.max_bulk_len) {
          return Fail(r, ParseError::kInvalidBulkLength);
        }
        if (len > 16384 && auth_required_) return Fail(r, ParseError::kUnauthenticatedBulkLength);
        pos_ = scan_ = cr + 2;
        bulk_len_ = len;
        state_ = State::kBulkData;
        break;
      }
      case State::kBulkData: {
        // The two bytes after the value are skipped unchecked, as in Redis.
        size_t end = pos_ + static_cast<size_t>(bulk_len_) + 2;
        if (in.size() < end) {
          r->need_at_least = end;
          return Step::kNeedMore;
        }
        out->args_.push_back(in.substr(pos_, bulk_len_));
        pos_ = scan_ = end;
        if (--remaining_ == 0) {
          out->ends_.push_back(out->args_.size());
          return Step::kDone;
        }
        state_ = State::kBulkLen;
        break;
      }
      default:
        RUNNEL_CHECK(false, "RespParser: bad state %d", static_cast<int>(state_));
    }
  }
}

// A transcription of sdssplitargs (sds.c, Redis 7.0) over an explicit end
// instead of a NUL terminator; `p == n` plays the part of `*p == '\0'`.
bool RespParser::SplitInlineArgs(std::string_view line, CommandBatch* out) {
  const size_t args_before = out->args_.size();
  const size_t owned_before = out->owned_.size();
  auto fail = [&] {
    out->args_.resize(args_before);
    out->owned_.resize(owned_before);
    return false;
  };
  const size_t n = line.size();
  WordBuilder word(line);
  size_t p = 0;
  while (true) {
    while (p < n && IsBlank(line[p])) ++p;
    if (p == n) return true;
    bool in_double = false, in_single = false, done = false;
    word.Start();
    while (!done) {
      if (in_double) {
        if (p == n) return fail();  // unterminated quotes
        if (line[p] == '\\' && p + 3 < n && line[p + 1] == 'x' && IsHexDigit(line[p + 2]) &&
            IsHexDigit(line[p + 3])) {
          word.Add(p, static_cast<char>(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3])));
          p += 3;
        } else if (line[p] == '\\' && p + 1 < n) {
          ++p;
          char c;
          switch (line[p]) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              c = line[p];
              break;
          }
          word.Add(p, c);
        } else if (line[p] == '"') {
          // A closing quote must be followed by a blank or the end.
          if (p + 1 < n && !IsBlank(line[p + 1])) return fail();
          done = true;
        } else {
          word.Add(p, line[p]);
        }
      } else if (in_single) {
        if (p == n) return fail();
        if (line[p] == '\\' && p + 1 < n && line[p + 1] == '\'') {
          ++p;
          word.Add(p, '\'');
        } else if (line[p] == '\'') {
          if (p + 1 < n && !IsBlank(line[p + 1])) return fail();
          done = true;
        } else {
          word.Add(p, line[p]);
        }
      } else if (p == n) {
        done = true;
      } else {
        switch (line[p]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            word.Add(p, line[p]);
            break;
        }
      }
      if (p < n) ++p;
    }
    if (word.copied()) {
      out->owned_.push_back(std::move(word.copy()));
      out->args_.push_back(out->owned_.back());
    } else {
      out->args_.push_back(word.view());
    }
  }
}

}  // namespace runnel::resp
