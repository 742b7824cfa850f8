// A small RESP2/RESP3 client for load generators (`runnel bench pubsub`).
//
// Two parts:
//  - ScanFrame: reads one reply frame in place. The result holds string
//    views into the caller's buffer and nothing is allocated, so a loop can
//    scan a million pushes a second out of one read buffer. Nesting is
//    tracked with a counter, not recursion, so no input can exhaust the stack.
//  - RespConnection: one TCP (optionally TLS) connection. Setup (HELLO,
//    SUBSCRIBE, waiting for confirmations) uses the blocking helpers with a
//    deadline; the benchmark then drives the non-blocking Read/Write from its
//    own epoll loop, one loop per thread.
//
// Frames follow reference/resp.md §1.1. Streamed forms (`$?`, `*?`) are
// reported as errors: Redis 7.0 never sends them and neither will runnel.
#pragma once

#include "runnel/status.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace runnel::cli {

// ---- Scanner ------------------------------------------------------------------

// One value at a frame's top level. For strings (`+ - $ ! = ( ,`) `str` holds
// the bytes (a verbatim string keeps its "txt:" prefix); for `:` `integer`
// holds the value; for `#` 1 or 0; for aggregates (`* > ~ %`) `integer`
// holds the element count (pairs for `%`) and the contents are not captured;
// nulls (`_`, `$-1`, `*-1`) have type '_'.
struct RespItem {
  char type = 0;
  std::string_view str;
  int64_t integer = 0;
};

// A complete frame: `head` is the frame itself; for an aggregate, `items`
// holds its first kMaxItems top-level elements (enough for every pub/sub
// push), the rest is skipped.
struct RespFrame {
  static constexpr int kMaxItems = 4;
  RespItem head;
  int num_items = 0;
  RespItem items[kMaxItems];

  bool is_error() const { return head.type == '-' || head.type == '!'; }
  bool is_aggregate() const {
    return head.type == '*' || head.type == '>' || head.type == '~' || head.type == '%';
  }
};

enum class ScanStatus { kFrame, kIncomplete, kError };

// Limits, as Redis' own client-side defaults: a bulk string up to 512 MiB,
// an aggregate up to 2^31-1 elements.
inline constexpr int64_t kMaxBulkLength = int64_t{512} << 20;
inline constexpr int64_t kMaxAggregateCount = INT32_MAX;

// Scans the frame at the start of `data`. kFrame: `*frame` describes it and
// `*consumed` is its length in bytes. kIncomplete: `data` ends inside the
// frame; call again with more. kError: `data` is not RESP (the stream cannot
// be resynchronised). An attribute (`|`) before a reply is skipped and
// counted in `*consumed`.
ScanStatus ScanFrame(std::string_view data, RespFrame* frame, size_t* consumed);

// Reads the one value at `data[*pos]`: a string or scalar whole, an
// aggregate only by its header (`integer` = its count), so a caller can walk
// a nested reply (XREAD's streams of entries of fields) element by element.
// Attributes are skipped. On kFrame `*pos` moves past what was read.
ScanStatus ScanValue(std::string_view data, size_t* pos, RespItem* item);

// What a pub/sub push says (reference/resp.md §3.2), from a RESP2 array or a
// RESP3 push whose first element names the event.
enum class PushKind {
  kNone,  // not a pub/sub event (an ordinary reply)
  kMessage,
  kPMessage,
  kSubscribe,
  kPSubscribe,
  kUnsubscribe,
  kPUnsubscribe,
  kOtherPush,  // e.g. smessage, or a push kind this client does not use
};

struct PubSubEvent {
  PushKind kind = PushKind::kNone;
  std::string_view pattern;  // pmessage only
  std::string_view channel;  // message/pmessage; the name for (p)(un)subscribe
  std::string_view payload;  // message/pmessage
  int64_t count = 0;         // (p)(un)subscribe: subscriptions after this step
};

// Classifies `frame`. A RESP2 array of the right shape counts as a push, so a
// RESP2 subscriber's stream reads the same as a RESP3 one.
PubSubEvent AsPubSubEvent(const RespFrame& frame);

// The fast path for what a subscriber receives most: a `message` or
// `pmessage` push of bulk strings, as RESP2 (`*3`/`*4`) or RESP3 (`>3`/`>4`),
// matched by its fixed prefix instead of being scanned value by value.
enum class MessageScan {
  kMessage,     // *channel, *payload (and *pattern for pmessage) set; *consumed bytes
  kIncomplete,  // `data` is the start of such a push; wait for more bytes
  kOther,       // anything else (or malformed): use ScanFrame
};
MessageScan ScanMessage(std::string_view data, std::string_view* pattern, std::string_view* channel,
                        std::string_view* payload, size_t* consumed);

// Appends a multibulk command (`*N $len arg ...`) to `out`.
void AppendCommand(std::string* out, std::initializer_list<std::string_view> args);

// ---- Connection ----------------------------------------------------------------

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

// "HOST:PORT" or "[IPv6]:PORT".
Result<Endpoint> ParseEndpoint(std::string_view text);

struct TlsOptions {
  std::string ca_file;    // verify the server against this CA bundle; empty = system store
  std::string cert_file;  // client certificate (Redis requires one unless tls-auth-clients no)
  std::string key_file;
  bool insecure = false;  // skip server certificate verification
};

// One SSL_CTX shared by all of a run's connections.
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> Create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

using Deadline = std::chrono::steady_clock::time_point;

struct CipherOutBio;

class RespConnection {
 public:
  // Connects (and completes the TLS handshake when `tls` is set) before
  // `deadline`. The socket is non-blocking with TCP_NODELAY.
  static Result<std::unique_ptr<RespConnection>> Connect(const Endpoint& endpoint,
                                                         std::shared_ptr<TlsContext> tls,
                                                         Deadline deadline);
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  int fd() const { return fd_; }

  // ---- Non-blocking, for event loops ----
  // Bytes read (> 0); 0 if nothing is available now; -1 when the peer closed
  // or an error happened (see error()).
  int64_t Read(char* buf, size_t cap);
  // True if decrypted bytes wait inside OpenSSL: read again before waiting
  // for the socket, which will not signal them.
  bool HasBufferedInput() const;
  // Bytes written (possibly fewer than `len`, possibly 0); -1 on error.
  // Over TLS the bytes taken are sealed at once and their records go out
  // with one send(); what the socket does not take stays unsent (below).
  int64_t Write(const char* data, size_t len);
  // TLS only: ciphertext a Write sealed that the socket has not taken yet.
  // While this is true an event loop waits for writability, then calls
  // Flush (or Write, which flushes first).
  bool HasUnsentOutput() const { return unsent_pos_ < unsent_.size(); }
  // Sends unsent ciphertext: 1 when none is left, 0 when the socket is
  // full, -1 on error (see error()).
  int Flush();
  const std::string& error() const { return error_; }

  // ---- Blocking with a deadline, for setup ----
  Status WriteAll(std::string_view data, Deadline deadline);
  // Reads the next frame. Its views stay valid until the next ReadFrame or
  // TakeBuffered call.
  Status ReadFrame(RespFrame* frame, Deadline deadline);
  // Sends one command and reads its reply; an error reply becomes a Status.
  Status Call(std::initializer_list<std::string_view> args, RespFrame* reply, Deadline deadline);
  // Bytes read during setup but not yet consumed by ReadFrame, handed over to
  // the event loop (so a push that arrived early is not lost).
  std::string TakeBuffered();

 private:
  friend struct CipherOutBio;  // appends to unsent_

  RespConnection(int fd, SSL* ssl, std::string peer) : fd_(fd), ssl_(ssl), peer_(std::move(peer)) {}
  Status WaitFor(short events, Deadline deadline);

  int fd_;
  SSL* ssl_;
  std::string peer_;  // "host:port", for error messages
  std::string error_;
  std::string setup_in_;
  size_t setup_pos_ = 0;
  std::string unsent_;  // TLS records sealed, not yet sent
  size_t unsent_pos_ = 0;
};

}  // namespace runnel::cli
