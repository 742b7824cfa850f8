// RespWriter: encodes replies into a std::string, in the RESP2 or RESP3 form
// the connection negotiated (HELLO). Reference: reference/resp.md §1.1; the
// RESP2 fallback of each RESP3 type is the one Redis 7.0 uses.
//
// A RespWriter is two pointers' worth of state, made where a reply is written
// and dropped after; it borrows `*out`, which must outlive it. It only
// appends, so it fits net::OutboundBuffer::AppendWith:
//
//   conn.out().AppendWith([&](std::string& s) { RespWriter(&s, proto).Integer(n); });
//
// Aggregates are written as a header followed by their elements, written by
// the caller (exactly `n` of them; nothing checks). Large bulk values can be
// sent without copying them into the string: BulkHeader(len), then the value
// as its own buffer, then kCrlf.
//
// Pub/sub deliveries have fast paths (Message, PMessage, SMessage) that
// size the string once and write the whole frame in one go; a fan-out can
// encode a message once per protocol and share the bytes among subscribers.
//
// Thread safety: none needed; it touches only `*out`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace runnel::resp {

enum class Protocol : uint8_t { kResp2 = 2, kResp3 = 3 };

// Pre-encoded replies that are the same in RESP2 and RESP3.
inline constexpr std::string_view kOk = "+OK\r\n";
inline constexpr std::string_view kPong = "+PONG\r\n";
inline constexpr std::string_view kQueued = "+QUEUED\r\n";
inline constexpr std::string_view kZero = ":0\r\n";
inline constexpr std::string_view kOne = ":1\r\n";
inline constexpr std::string_view kEmptyArray = "*0\r\n";
inline constexpr std::string_view kCrlf = "\r\n";

class RespWriter {
 public:
  RespWriter(std::string* out, Protocol protocol) : out_(out), protocol_(protocol) {}

  Protocol protocol() const { return protocol_; }
  bool resp3() const { return protocol_ == Protocol::kResp3; }

  // Already encoded bytes (the constants above, or a shared frame).
  void Raw(std::string_view encoded) { out_->append(encoded); }

  // `+text`. CR and LF would end the line early; they become spaces.
  void SimpleString(std::string_view text);
  // `-text`. `text` starts with its error code, as the client reads it:
  // "ERR syntax error", "WRONGTYPE Operation against a key holding the wrong
  // kind of value", "NOPROTO unsupported protocol version", "NOAUTH …",
  // "WRONGPASS …", "NOPERM …", "NOGROUP …", "BUSYGROUP …", "UNBLOCKED …".
  // CR and LF become spaces (as addReplyErrorFormat does).
  void Error(std::string_view text);
  // `:n`.
  void Integer(int64_t value);
  // `$len\r\nbytes\r\n` (binary safe).
  void Bulk(std::string_view bytes);
  // `$len\r\n` only: the caller sends `len` bytes and then kCrlf.
  void BulkHeader(size_t len);
  // RESP2 `$-1`, RESP3 `_`.
  void Null();
  // RESP2 `*-1`, RESP3 `_`.
  void NullArray();
  // `*n`; then n elements.
  void ArrayHeader(size_t n);
  // RESP3 `%pairs`; RESP2 `*2·pairs`. Then key, value, key, value…
  void MapHeader(size_t pairs);
  // RESP3 `~n`; RESP2 `*n`.
  void SetHeader(size_t n);
  // RESP3 `>n`; RESP2 `*n` (RESP2 pub/sub frames are plain arrays).
  void PushHeader(size_t n);
  // RESP3 `,` + %.17g (`inf`, `-inf`, `nan`); RESP2 the same text as a
  // bulk string. 7.0 formatting: 1.5 → "1.5", 0.1 → "0.10000000000000001".
  void Double(double value);
  // RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
  void Boolean(bool value);
  // RESP3 `=len\r\nfmt:text\r\n` (`format` is 3 bytes: "txt" or "mkd");
  // RESP2 a bulk string of `text` alone.
  void Verbatim(std::string_view format, std::string_view text);
  // RESP3 `(digits`; RESP2 a bulk string.
  void BigNumber(std::string_view digits);

  // Pub/sub frames, RESP3 `>` push or RESP2 `*` array (reference §3.2).
  // ["message", channel, payload]
  void Message(std::string_view channel, std::string_view payload);
  // ["pmessage", pattern, channel, payload]
  void PMessage(std::string_view pattern, std::string_view channel, std::string_view payload);
  // ["smessage", channel, payload]
  void SMessage(std::string_view channel, std::string_view payload);
  // [kind, channel, count], kind = "subscribe", "unsubscribe", "psubscribe",
  // "punsubscribe", "ssubscribe" or "sunsubscribe".
  void SubscriptionEvent(std::string_view kind, std::string_view channel, int64_t count);
  // [kind, null, count]: UNSUBSCRIBE / PUNSUBSCRIBE with nothing subscribed.
  void SubscriptionEventNoChannel(std::string_view kind, int64_t count);

 private:
  // Appends `prefix` + decimal + CRLF.
  void Header(char prefix, int64_t n);
  void LineSanitized(char prefix, std::string_view text);
  // One push/array frame of bulk strings: the first is a constant kind.
  void BulkFrame(std::string_view kind, std::string_view a, std::string_view b, std::string_view c,
                 size_t count);

  std::string* out_;
  Protocol protocol_;
};

}  // namespace runnel::resp
