#include "cli/cli_util.h"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

namespace runnel::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  return status.Is(StatusCode::kInvalidArgument) ? kExitUsage : kExitFailure;
}

int ReportError(std::string_view verb, const Status& status) {
  std::fprintf(stderr, "runnel %.*s: %s\n", static_cast<int>(verb.size()), verb.data(),
               status.message().empty() ? status.ToString().c_str() : status.message().c_str());
  return ExitCodeFor(status);
}

int ReportUsage(std::string_view verb, std::string_view message) {
  std::fprintf(stderr, "runnel %.*s: %.*s\n", static_cast<int>(verb.size()), verb.data(),
               static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

void ReportWarning(std::string_view verb, std::string_view message) {
  std::fprintf(stderr, "runnel %.*s: warning: %.*s\n", static_cast<int>(verb.size()), verb.data(),
               static_cast<int>(message.size()), message.data());
}

Result<std::unique_ptr<Log>> OpenLog(const std::string& dir, bool create,
                                     const TopicConfig* default_config) {
  Options options;
  options.create_if_missing = create;
  if (default_config != nullptr) options.default_topic_config = *default_config;
  return Log::Open(dir, options);
}

// ---- Text renderings ---------------------------------------------------------

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if the
// bytes there are not one (RFC 3629 table 3-7).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

void AppendHexByte(std::string* out, std::string_view prefix, unsigned char c) {
  out->append(prefix);
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xF]);
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string EscapeLine(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(bytes, i);
      if (n == 0) {
        AppendHexByte(&out, "\\x", c);
        ++i;
      } else {
        out.append(bytes.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          AppendHexByte(&out, "\\x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = at(i) << 16;
    if (rest == 2) v |= at(i + 1) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20 || c == 0x7F) {
      AppendHexByte(out, "\\u00", c);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendJsonBytesField(std::string* out, std::string_view name,
                          std::optional<std::string_view> bytes) {
  out->push_back('"');
  out->append(name);
  if (!bytes) {
    out->append("\":null");
  } else if (IsValidUtf8(*bytes)) {
    out->append("\":");
    AppendJsonString(out, *bytes);
  } else {
    out->append("_b64\":\"");
    out->append(Base64Encode(*bytes));
    out->push_back('"');
  }
}

void AppendRecordJson(std::string* out, int32_t partition, const RecordView& record) {
  out->append("{\"partition\":");
  out->append(std::to_string(partition));
  out->append(",\"offset\":");
  out->append(std::to_string(record.offset));
  out->append(",\"timestamp\":");
  out->append(std::to_string(record.timestamp_ms));
  out->push_back(',');
  AppendJsonBytesField(out, "key", record.key);
  out->push_back(',');
  AppendJsonBytesField(out, "value", record.value);
  out->append(",\"headers\":[");
  for (size_t i = 0; i < record.headers.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->push_back('{');
    AppendJsonBytesField(out, "key", record.headers[i].key);
    out->push_back(',');
    AppendJsonBytesField(out, "value", record.headers[i].value);
    out->push_back('}');
  }
  out->append("]}");
}

std::string WrapText(std::string_view text, size_t width) {
  std::string out;
  size_t column = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      out.push_back('\n');
      column = 0;
      ++i;
      continue;
    }
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = text.find_first_of(" \n", i);
    if (end == std::string_view::npos) end = text.size();
    const size_t len = end - i;
    if (column > 0 && column + 1 + len > width) {
      out.push_back('\n');
      column = 0;
    } else if (column > 0) {
      out.push_back(' ');
      ++column;
    }
    out.append(text.substr(i, len));
    column += len;
    i = end;
  }
  return out;
}

// ---- Argument parsing --------------------------------------------------------

namespace {

std::optional<int64_t> ParseNonNegative(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

Result<StartPosition> ParseStartPosition(std::string_view text) {
  if (text == "earliest") return StartPosition::Earliest();
  if (text == "latest") return StartPosition::Latest();
  if (!text.empty() && text[0] == '@') {
    if (auto ms = ParseNonNegative(text.substr(1))) return StartPosition::Timestamp(*ms);
    return Status::InvalidArgument("--from '" + std::string(text) +
                                   "': expected @TIMESTAMP_MS, milliseconds since the epoch");
  }
  if (auto offset = ParseNonNegative(text)) return StartPosition::Offset(*offset);
  return Status::InvalidArgument("--from '" + std::string(text) +
                                 "': expected earliest, latest, OFFSET (>= 0) or @TIMESTAMP_MS");
}

// ---- Line splitting -------------------------------------------------------------

size_t SplitLines(std::string_view data, bool at_eof, std::vector<std::string_view>* lines) {
  size_t start = 0;
  for (;;) {
    size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) break;
    lines->push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  if (at_eof && start < data.size()) {
    lines->push_back(data.substr(start));
    start = data.size();
  }
  return start;
}

// ---- Output ---------------------------------------------------------------------

bool Output::Flush() {
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        broken_pipe_ = true;
      } else {
        error_ = std::string("write to standard output failed: ") + std::strerror(errno);
      }
      buf_.clear();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  buf_.clear();
  return true;
}

bool Output::ReaderGone() {
  pollfd p{fd_, 0, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0) broken_pipe_ = true;
  return broken_pipe_;
}

// ---- Progress -------------------------------------------------------------------

namespace {
constexpr auto kRedrawInterval = std::chrono::milliseconds(250);
}  // namespace

Progress::Progress(std::string verb)
    : verb_(std::move(verb)),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::Add(int64_t records, int64_t bytes) {
  records_ += records;
  bytes_ += bytes;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double mbps = secs > 0 ? static_cast<double>(bytes_) / (1 << 20) / secs : 0.0;
  std::fprintf(stderr, "\r\033[K%s: %lld records, %.1f MB/s, %.1fs", verb_.c_str(),
               static_cast<long long>(records_), mbps, secs);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

// ---- Signals --------------------------------------------------------------------

namespace {

volatile std::sig_atomic_t g_stop_requested = 0;

void OnStopSignal(int) { g_stop_requested = 1; }

}  // namespace

void InstallStopSignals() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  // A second Ctrl-C kills the process the usual way, should a clean stop hang.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool StopRequested() { return g_stop_requested != 0; }

}  // namespace runnel::cli
