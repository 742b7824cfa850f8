#include "protocol/resp/resp_writer.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>

namespace runnel::resp {
namespace {

constexpr size_t kMaxDecimal = 20;  // digits of a 64-bit integer, with sign

char* PutCrlf(char* p) {
  p[0] = '\r';
  p[1] = '\n';
  return p + 2;
}

// `$len\r\nbytes\r\n` at p; room for kMaxBulkOverhead + bytes.size().
constexpr size_t kMaxBulkOverhead = 1 + kMaxDecimal + 2 + 2;
char* PutBulk(char* p, std::string_view bytes) {
  *p++ = '$';
  p = std::to_chars(p, p + kMaxDecimal, bytes.size()).ptr;
  p = PutCrlf(p);
  // A default-constructed view has a null data(): memcpy must not see it.
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return PutCrlf(p + bytes.size());
}

}  // namespace

void RespWriter::Header(char prefix, int64_t n) {
  char buf[1 + kMaxDecimal + 2];
  char* p = buf;
  *p++ = prefix;
  p = std::to_chars(p, p + kMaxDecimal, n).ptr;
  p = PutCrlf(p);
  out_->append(buf, p - buf);
}

void RespWriter::LineSanitized(char prefix, std::string_view text) {
  size_t start = out_->size();
  out_->reserve(start + text.size() + 3);
  out_->push_back(prefix);
  out_->append(text);
  for (size_t i = start + 1; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append(kCrlf);
}

void RespWriter::SimpleString(std::string_view text) { LineSanitized('+', text); }

void RespWriter::Error(std::string_view text) {
  // Clients dispatch on the first word; an error without a code is a bug.
  assert(!text.empty() && text[0] >= 'A' && text[0] <= 'Z');
  LineSanitized('-', text);
}

void RespWriter::Integer(int64_t value) { Header(':', value); }

void RespWriter::Bulk(std::string_view bytes) {
  size_t start = out_->size();
  out_->resize(start + kMaxBulkOverhead + bytes.size());
  char* end = PutBulk(out_->data() + start, bytes);
  out_->resize(end - out_->data());
}

void RespWriter::BulkHeader(size_t len) { Header('$', static_cast<int64_t>(len)); }

void RespWriter::Null() { Raw(resp3() ? std::string_view("_\r\n") : std::string_view("$-1\r\n")); }

void RespWriter::NullArray() {
  Raw(resp3() ? std::string_view("_\r\n") : std::string_view("*-1\r\n"));
}

void RespWriter::ArrayHeader(size_t n) { Header('*', static_cast<int64_t>(n)); }

void RespWriter::MapHeader(size_t pairs) {
  if (resp3()) {
    Header('%', static_cast<int64_t>(pairs));
  } else {
    Header('*', static_cast<int64_t>(2 * pairs));
  }
}

void RespWriter::SetHeader(size_t n) { Header(resp3() ? '~' : '*', static_cast<int64_t>(n)); }

void RespWriter::PushHeader(size_t n) { Header(resp3() ? '>' : '*', static_cast<int64_t>(n)); }

void RespWriter::Double(double value) {
  // Redis 7.0 addReplyDouble: "%.17g", with inf spelled out explicitly;
  // to_chars with precision 17 is printf's %.17g without the locale.
  char buf[40];
  std::string_view text;
  if (std::isinf(value)) {
    text = value > 0 ? "inf" : "-inf";
  } else if (std::isnan(value)) {
    text = "nan";  // the RESP3 spelling; printf could say "-nan"
  } else {
    auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general, 17);
    text = std::string_view(buf, res.ptr - buf);
  }
  if (resp3()) {
    out_->push_back(',');
    out_->append(text);
    out_->append(kCrlf);
  } else {
    Bulk(text);
  }
}

void RespWriter::Boolean(bool value) {
  if (resp3()) {
    Raw(value ? std::string_view("#t\r\n") : std::string_view("#f\r\n"));
  } else {
    Raw(value ? kOne : kZero);
  }
}

void RespWriter::Verbatim(std::string_view format, std::string_view text) {
  if (!resp3()) {
    Bulk(text);
    return;
  }
  assert(format.size() == 3);
  Header('=', static_cast<int64_t>(format.size() + 1 + text.size()));
  out_->append(format);
  out_->push_back(':');
  out_->append(text);
  out_->append(kCrlf);
}

void RespWriter::BigNumber(std::string_view digits) {
  if (!resp3()) {
    Bulk(digits);
    return;
  }
  out_->push_back('(');
  out_->append(digits);
  out_->append(kCrlf);
}

void RespWriter::BulkFrame(std::string_view kind, std::string_view a, std::string_view b,
                           std::string_view c, size_t count) {
  // Worst-case size up front, one resize, straight writes, trim: the
  // delivery hot path pays for one size check instead of a dozen appends.
  size_t start = out_->size();
  out_->resize(start + 4 + 4 * kMaxBulkOverhead + kind.size() + a.size() + b.size() + c.size());
  char* p = out_->data() + start;
  *p++ = resp3() ? '>' : '*';
  *p++ = static_cast<char>('0' + count);
  p = PutCrlf(p);
  p = PutBulk(p, kind);
  p = PutBulk(p, a);
  p = PutBulk(p, b);
  if (count == 4) p = PutBulk(p, c);
  out_->resize(p - out_->data());
}

void RespWriter::Message(std::string_view channel, std::string_view payload) {
  BulkFrame("message", channel, payload, {}, 3);
}

void RespWriter::PMessage(std::string_view pattern, std::string_view channel,
                          std::string_view payload) {
  BulkFrame("pmessage", pattern, channel, payload, 4);
}

void RespWriter::SMessage(std::string_view channel, std::string_view payload) {
  BulkFrame("smessage", channel, payload, {}, 3);
}

void RespWriter::SubscriptionEvent(std::string_view kind, std::string_view channel, int64_t count) {
  PushHeader(3);
  Bulk(kind);
  Bulk(channel);
  Integer(count);
}

void RespWriter::SubscriptionEventNoChannel(std::string_view kind, int64_t count) {
  PushHeader(3);
  Bulk(kind);
  Null();
  Integer(count);
}

}  // namespace runnel::resp
