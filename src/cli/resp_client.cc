#include "cli/resp_client.h"

#include "util/status_macros.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace runnel::cli {

// ---- Scanner ------------------------------------------------------------------

namespace {

// Reads a decimal int64 terminated by "\r\n" starting at `p`; leaves `p`
// after the "\r\n". Strict: optional '-', 1..19 digits, nothing else.
ScanStatus ReadLineInt(const char*& p, const char* end, int64_t* value) {
  const char* q = p;
  bool negative = false;
  if (q < end && *q == '-') {
    negative = true;
    ++q;
  }
  const char* digits = q;
  uint64_t v = 0;
  while (q < end && *q >= '0' && *q <= '9') {
    v = v * 10 + static_cast<uint64_t>(*q - '0');
    ++q;
    if (q - digits > 19) return ScanStatus::kError;
  }
  if (q + 2 > end) {
    // Incomplete unless what we have already cannot be a number.
    return (q < end && *q != '\r') ? ScanStatus::kError : ScanStatus::kIncomplete;
  }
  if (q == digits || q[0] != '\r' || q[1] != '\n') return ScanStatus::kError;
  if (v > static_cast<uint64_t>(INT64_MAX)) return ScanStatus::kError;
  *value = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  p = q + 2;
  return ScanStatus::kFrame;
}

// Reads a simple line (no CR/LF inside) into `*line`; leaves `p` after "\r\n".
ScanStatus ReadLine(const char*& p, const char* end, std::string_view* line) {
  const void* cr = memchr(p, '\r', static_cast<size_t>(end - p));
  if (cr == nullptr) return ScanStatus::kIncomplete;
  const char* q = static_cast<const char*>(cr);
  if (q + 1 >= end) return ScanStatus::kIncomplete;
  if (q[1] != '\n') return ScanStatus::kError;
  *line = std::string_view(p, static_cast<size_t>(q - p));
  p = q + 2;
  return ScanStatus::kFrame;
}

// Reads one value. Strings and scalars are consumed whole; for an aggregate
// or attribute only its header is consumed and `item->integer` is its count.
ScanStatus ReadOne(const char*& p, const char* end, RespItem* item) {
  if (p >= end) return ScanStatus::kIncomplete;
  const char type = *p;
  const char* q = p + 1;
  ScanStatus st;
  item->str = {};
  item->integer = 0;
  item->type = type;
  switch (type) {
    case '+':
    case '-':
    case ',':
    case '(':
      st = ReadLine(q, end, &item->str);
      break;
    case '_': {
      std::string_view line;
      st = ReadLine(q, end, &line);
      if (st == ScanStatus::kFrame && !line.empty()) st = ScanStatus::kError;
      break;
    }
    case '#': {
      std::string_view line;
      st = ReadLine(q, end, &line);
      if (st == ScanStatus::kFrame) {
        if (line == "t") {
          item->integer = 1;
        } else if (line != "f") {
          st = ScanStatus::kError;
        }
      }
      break;
    }
    case ':':
      st = ReadLineInt(q, end, &item->integer);
      break;
    case '$':
    case '!':
    case '=': {
      int64_t len = 0;
      st = ReadLineInt(q, end, &len);
      if (st != ScanStatus::kFrame) break;
      if (len == -1 && type == '$') {  // RESP2 null bulk
        item->type = '_';
        break;
      }
      if (len < 0 || len > kMaxBulkLength) return ScanStatus::kError;
      if (end - q < len + 2) return ScanStatus::kIncomplete;
      if (q[len] != '\r' || q[len + 1] != '\n') return ScanStatus::kError;
      item->str = std::string_view(q, static_cast<size_t>(len));
      q += len + 2;
      break;
    }
    case '*':
    case '>':
    case '~':
    case '%':
    case '|': {
      int64_t n = 0;
      st = ReadLineInt(q, end, &n);
      if (st != ScanStatus::kFrame) break;
      if (n == -1 && type == '*') {  // RESP2 null array
        item->type = '_';
        break;
      }
      if (n < 0 || n > kMaxAggregateCount) return ScanStatus::kError;
      item->integer = n;
      break;
    }
    default:
      return ScanStatus::kError;
  }
  if (st == ScanStatus::kFrame) p = q;
  return st;
}

// Number of values an aggregate header announces: maps and attributes hold pairs.
int64_t Elements(const RespItem& item) {
  return (item.type == '%' || item.type == '|') ? 2 * item.integer : item.integer;
}
bool IsContainer(char type) {
  return type == '*' || type == '>' || type == '~' || type == '%' || type == '|';
}

// Skips `pending` whole values. A counter instead of recursion: each
// aggregate adds its elements; an attribute adds its pairs plus the value
// it annotates, which it does not replace.
ScanStatus SkipValues(const char*& p, const char* end, int64_t pending) {
  RespItem item;
  while (pending > 0) {
    ScanStatus st = ReadOne(p, end, &item);
    if (st != ScanStatus::kFrame) return st;
    --pending;
    if (IsContainer(item.type)) pending += Elements(item) + (item.type == '|' ? 1 : 0);
  }
  return ScanStatus::kFrame;
}

// Reads one value that is not an attribute: attributes before it are skipped.
ScanStatus ReadValue(const char*& p, const char* end, RespItem* item) {
  for (;;) {
    ScanStatus st = ReadOne(p, end, item);
    if (st != ScanStatus::kFrame || item->type != '|') return st;
    st = SkipValues(p, end, Elements(*item));
    if (st != ScanStatus::kFrame) return st;
  }
}

}  // namespace

ScanStatus ScanFrame(std::string_view data, RespFrame* frame, size_t* consumed) {
  const char* p = data.data();
  const char* const end = p + data.size();
  frame->num_items = 0;
  ScanStatus st = ReadValue(p, end, &frame->head);
  if (st != ScanStatus::kFrame) return st;
  if (frame->head.type != '_' && IsContainer(frame->head.type)) {
    const int64_t n = Elements(frame->head);
    for (int64_t i = 0; i < n; ++i) {
      RespItem item;
      st = ReadValue(p, end, &item);
      if (st != ScanStatus::kFrame) return st;
      if (IsContainer(item.type)) {
        st = SkipValues(p, end, Elements(item));
        if (st != ScanStatus::kFrame) return st;
      }
      if (i < RespFrame::kMaxItems) frame->items[frame->num_items++] = item;
    }
  }
  *consumed = static_cast<size_t>(p - data.data());
  return ScanStatus::kFrame;
}

ScanStatus ScanValue(std::string_view data, size_t* pos, RespItem* item) {
  const char* p = data.data() + *pos;
  const ScanStatus st = ReadValue(p, data.data() + data.size(), item);
  if (st == ScanStatus::kFrame) *pos = static_cast<size_t>(p - data.data());
  return st;
}

PubSubEvent AsPubSubEvent(const RespFrame& frame) {
  PubSubEvent ev;
  const char type = frame.head.type;
  if (type != '*' && type != '>') return ev;
  const bool push = type == '>';
  const int64_t n = frame.head.integer;
  if (frame.num_items < 1 || (frame.items[0].type != '$' && frame.items[0].type != '+')) {
    if (push) ev.kind = PushKind::kOtherPush;
    return ev;
  }
  const std::string_view kind = frame.items[0].str;
  auto is_string = [&](int i) { return frame.items[i].type == '$' || frame.items[i].type == '+'; };
  if (kind == "message" && n == 3 && is_string(1) && is_string(2)) {
    ev.kind = PushKind::kMessage;
    ev.channel = frame.items[1].str;
    ev.payload = frame.items[2].str;
  } else if (kind == "pmessage" && n == 4 && is_string(1) && is_string(2) && is_string(3)) {
    ev.kind = PushKind::kPMessage;
    ev.pattern = frame.items[1].str;
    ev.channel = frame.items[2].str;
    ev.payload = frame.items[3].str;
  } else if (n == 3 && frame.items[2].type == ':' &&
             (kind == "subscribe" || kind == "psubscribe" || kind == "unsubscribe" ||
              kind == "punsubscribe")) {
    ev.kind = kind == "subscribe"     ? PushKind::kSubscribe
              : kind == "psubscribe"  ? PushKind::kPSubscribe
              : kind == "unsubscribe" ? PushKind::kUnsubscribe
                                      : PushKind::kPUnsubscribe;
    ev.channel = frame.items[1].str;  // empty for a null name
    ev.count = frame.items[2].integer;
  } else if (push) {
    ev.kind = PushKind::kOtherPush;
  }
  return ev;
}

namespace {

// One "$<len>\r\n<bytes>\r\n" at `p`, for ScanMessage.
MessageScan ReadBulk(const char*& p, const char* end, std::string_view* out) {
  if (p >= end) return MessageScan::kIncomplete;
  if (*p != '$') return MessageScan::kOther;
  const char* q = p + 1;
  int64_t len = 0;
  switch (ReadLineInt(q, end, &len)) {
    case ScanStatus::kIncomplete:
      return MessageScan::kIncomplete;
    case ScanStatus::kError:
      return MessageScan::kOther;
    case ScanStatus::kFrame:
      break;
  }
  if (len < 0 || len > kMaxBulkLength) return MessageScan::kOther;
  if (end - q < len + 2) return MessageScan::kIncomplete;
  if (q[len] != '\r' || q[len + 1] != '\n') return MessageScan::kOther;
  *out = std::string_view(q, static_cast<size_t>(len));
  p = q + len + 2;
  return MessageScan::kMessage;
}

}  // namespace

MessageScan ScanMessage(std::string_view data, std::string_view* pattern, std::string_view* channel,
                        std::string_view* payload, size_t* consumed) {
  // The type byte ('*' or '>') is checked apart; these are the bytes after it.
  static constexpr std::string_view kMessage = "3\r\n$7\r\nmessage\r\n";
  static constexpr std::string_view kPMessage = "4\r\n$8\r\npmessage\r\n";
  if (data.empty()) return MessageScan::kIncomplete;
  if (data[0] != '*' && data[0] != '>') return MessageScan::kOther;
  const std::string_view rest = data.substr(1);
  const bool is_pattern = rest.size() > 0 && rest[0] == '4';
  const std::string_view head = is_pattern ? kPMessage : kMessage;
  if (rest.size() < head.size()) {
    return head.substr(0, rest.size()) == rest ? MessageScan::kIncomplete : MessageScan::kOther;
  }
  if (rest.substr(0, head.size()) != head) return MessageScan::kOther;
  const char* p = data.data() + 1 + head.size();
  const char* const end = data.data() + data.size();
  MessageScan st = MessageScan::kMessage;
  if (is_pattern) {
    st = ReadBulk(p, end, pattern);
  } else {
    *pattern = {};
  }
  if (st == MessageScan::kMessage) st = ReadBulk(p, end, channel);
  if (st == MessageScan::kMessage) st = ReadBulk(p, end, payload);
  if (st == MessageScan::kMessage) *consumed = static_cast<size_t>(p - data.data());
  return st;
}

void AppendCommand(std::string* out, std::initializer_list<std::string_view> args) {
  char num[24];
  auto append_num = [&](char prefix, size_t v) {
    out->push_back(prefix);
    auto [ptr, ec] = std::to_chars(num, num + sizeof(num), v);
    (void)ec;
    out->append(num, ptr);
    out->append("\r\n");
  };
  append_num('*', args.size());
  for (std::string_view a : args) {
    append_num('$', a.size());
    out->append(a);
    out->append("\r\n");
  }
}

// ---- Connection ----------------------------------------------------------------

namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + strerror(errno); }

// The queued OpenSSL errors as one line (and clears the queue).
std::string SslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

int RemainingMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint ep;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("'" + std::string(text) + "': expected [IPv6]:PORT");
    }
    ep.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument("'" + std::string(text) + "': expected HOST:PORT");
    }
    ep.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
    return Status::InvalidArgument("'" + std::string(text) + "': bad port");
  }
  ep.port = static_cast<uint16_t>(value);
  return ep;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::IoError("TLS: " + SslErrors());
  std::shared_ptr<TlsContext> owner(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // The event loop hands SSL_write whatever is left of its buffer, which
  // moves as the buffer is compacted; partial writes keep it non-blocking.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read several records per system call rather than header, then body.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
  if (options.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const int ok = options.ca_file.empty()
                       ? SSL_CTX_set_default_verify_paths(ctx)
                       : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
    if (ok != 1) return Status::InvalidArgument("TLS CA '" + options.ca_file + "': " + SslErrors());
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return Status::InvalidArgument("TLS certificate '" + options.cert_file + "': " + SslErrors());
    }
    const std::string& key = options.key_file.empty() ? options.cert_file : options.key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Status::InvalidArgument("TLS key '" + key + "': " + SslErrors());
    }
  }
  return owner;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

// A TLS connection's write BIO once the handshake is done: records are
// appended to the connection's unsent_ and Write sends them together.
// Through the socket BIO OpenSSL writes every 16 KiB record with its own
// write(): a 64-PUBLISH window of 1 KiB messages took five system calls
// and five loopback segments, each waking the server.
struct CipherOutBio {
  static int Write(BIO* b, const char* data, size_t n, size_t* written) {
    static_cast<RespConnection*>(BIO_get_data(b))->unsent_.append(data, n);
    *written = n;
    return 1;
  }
  static long Ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
  static int Create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static const BIO_METHOD* Method() {
    static BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "runnel-bench-out");
      if (m != nullptr) {
        BIO_meth_set_write_ex(m, &Write);
        BIO_meth_set_ctrl(m, &Ctrl);
        BIO_meth_set_create(m, &Create);
      }
      return m;
    }();
    return method;
  }
};

Result<std::unique_ptr<RespConnection>> RespConnection::Connect(const Endpoint& endpoint,
                                                                std::shared_ptr<TlsContext> tls,
                                                                Deadline deadline) {
  const std::string peer = endpoint.host + ":" + std::to_string(endpoint.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &addrs); rc != 0) {
    return Status::IoError(peer + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* a = addrs; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = Errno("socket");
      continue;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = Errno("connect");
    } else {
      pollfd pfd{fd, POLLOUT, 0};
      const int n = poll(&pfd, 1, RemainingMs(deadline));
      int err = 0;
      socklen_t len = sizeof(err);
      if (n == 0) {
        last_error = "connect: timed out";
      } else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        last_error = Errno("connect");
      } else if (err != 0) {
        last_error = std::string("connect: ") + strerror(err);
      } else {
        break;  // connected
      }
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(addrs);
  if (fd < 0) return Status::IoError(peer + ": " + last_error);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  std::unique_ptr<RespConnection> conn(new RespConnection(fd, nullptr, peer));
  if (tls == nullptr) return conn;

  SSL* ssl = SSL_new(tls->get());
  if (ssl == nullptr) return Status::IoError(peer + ": TLS: " + SslErrors());
  conn->ssl_ = ssl;
  SSL_set_fd(ssl, fd);
  if (IsIpLiteral(endpoint.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, endpoint.host.c_str());
    SSL_set1_host(ssl, endpoint.host.c_str());
  }
  for (;;) {
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      std::string why = SslErrors();
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      return Status::IoError(peer + ": TLS handshake: " + why);
    }
    Status st = conn->WaitFor(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
    if (!st.ok()) return Status(st.code(), "TLS handshake: " + st.message());
  }
  // Without the BIO (out of memory) records go to the socket one by one.
  if (const BIO_METHOD* method = CipherOutBio::Method(); method != nullptr) {
    if (BIO* out = BIO_new(method); out != nullptr) {
      BIO_set_data(out, conn.get());
      SSL_set0_wbio(ssl, out);
      // A partial write would return after each record; this BIO never
      // blocks, so all of a Write's bytes are sealed in one call.
      SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
    }
  }
  return conn;
}

RespConnection::~RespConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // no close_notify: the benchmark is over
  if (fd_ >= 0) close(fd_);
}

int64_t RespConnection::Read(char* buf, size_t cap) {
  if (ssl_ == nullptr) {
    const ssize_t n = recv(fd_, buf, cap, 0);
    if (n > 0) return n;
    if (n == 0) {
      error_ = peer_ + ": connection closed by the server";
      return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    error_ = peer_ + ": " + Errno("read");
    return -1;
  }
  const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(cap, INT32_MAX)));
  // What reading produced (a key update's answer) goes out now if it can,
  // else with the next Write.
  if (HasUnsentOutput() && Flush() < 0) return -1;
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return 0;
    case SSL_ERROR_ZERO_RETURN:
      error_ = peer_ + ": connection closed by the server";
      return -1;
    case SSL_ERROR_SYSCALL:
      error_ = peer_ + ": " + (errno != 0 ? Errno("read") : "connection closed by the server");
      return -1;
    default:
      error_ = peer_ + ": TLS read: " + SslErrors();
      return -1;
  }
}

bool RespConnection::HasBufferedInput() const {
  return ssl_ != nullptr && SSL_has_pending(ssl_) == 1;
}

int RespConnection::Flush() {
  while (unsent_pos_ < unsent_.size()) {
    const ssize_t n =
        send(fd_, unsent_.data() + unsent_pos_, unsent_.size() - unsent_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      unsent_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    error_ = peer_ + ": " + (n < 0 ? Errno("write") : "write: the socket took nothing");
    return -1;
  }
  unsent_.clear();
  unsent_pos_ = 0;
  return 1;
}

int64_t RespConnection::Write(const char* data, size_t len) {
  if (ssl_ == nullptr) {
    if (len == 0) return 0;
    const ssize_t n = send(fd_, data, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    error_ = peer_ + ": " + Errno("write");
    return -1;
  }
  // Records sealed earlier go first; more are sealed only once they are out,
  // so at most one write's ciphertext waits here.
  if (const int flushed = Flush(); flushed <= 0) return flushed;
  if (len == 0) return 0;
  // At most this much plaintext per call: the ciphertext is held until sent.
  constexpr size_t kMaxSealBytes = 256 << 10;
  const int n = SSL_write(ssl_, data, static_cast<int>(std::min(len, kMaxSealBytes)));
  if (n > 0) return Flush() < 0 ? -1 : n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return 0;
    case SSL_ERROR_SYSCALL:
      error_ = peer_ + ": " + (errno != 0 ? Errno("write") : "connection closed by the server");
      return -1;
    default:
      error_ = peer_ + ": TLS write: " + SslErrors();
      return -1;
  }
}

Status RespConnection::WaitFor(short events, Deadline deadline) {
  for (;;) {
    pollfd pfd{fd_, events, 0};
    const int n = poll(&pfd, 1, RemainingMs(deadline));
    if (n > 0) return Status::OK();
    if (n == 0) return Status::TimedOut(peer_ + ": no answer in time");
    if (errno != EINTR) return Status::IoError(peer_ + ": " + Errno("poll"));
  }
}

Status RespConnection::WriteAll(std::string_view data, Deadline deadline) {
  while (!data.empty() || HasUnsentOutput()) {
    const int64_t n = Write(data.data(), data.size());
    if (n < 0) return Status::IoError(error_);
    if (n == 0) {
      // Sealed records wait for room in the socket; otherwise TLS may need
      // to read to write (a key update), and either readiness will do.
      const bool either = ssl_ != nullptr && !HasUnsentOutput();
      RETURN_IF_ERROR(WaitFor(either ? POLLIN | POLLOUT : POLLOUT, deadline));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status RespConnection::ReadFrame(RespFrame* frame, Deadline deadline) {
  if (setup_pos_ > 0) {
    setup_in_.erase(0, setup_pos_);
    setup_pos_ = 0;
  }
  char buf[64 * 1024];
  for (;;) {
    size_t consumed = 0;
    switch (ScanFrame(setup_in_, frame, &consumed)) {
      case ScanStatus::kFrame:
        setup_pos_ = consumed;
        return Status::OK();
      case ScanStatus::kError:
        return Status::Corruption(peer_ + ": the server's reply is not RESP");
      case ScanStatus::kIncomplete:
        break;
    }
    const int64_t n = Read(buf, sizeof(buf));
    if (n < 0) return Status::IoError(error_);
    if (n == 0) {
      if (!HasBufferedInput()) RETURN_IF_ERROR(WaitFor(POLLIN, deadline));
    } else {
      setup_in_.append(buf, static_cast<size_t>(n));
    }
  }
}

Status RespConnection::Call(std::initializer_list<std::string_view> args, RespFrame* reply,
                            Deadline deadline) {
  std::string cmd;
  AppendCommand(&cmd, args);
  RETURN_IF_ERROR(WriteAll(cmd, deadline));
  do {  // RESP3 pushes may come before the reply
    RETURN_IF_ERROR(ReadFrame(reply, deadline));
  } while (reply->head.type == '>');
  if (reply->is_error()) {
    return Status::InvalidArgument(peer_ + ": " + std::string(*args.begin()) + ": " +
                                   std::string(reply->head.str));
  }
  return Status::OK();
}

std::string RespConnection::TakeBuffered() {
  std::string rest = setup_in_.substr(setup_pos_);
  setup_in_.clear();
  setup_pos_ = 0;
  return rest;
}

}  // namespace runnel::cli
