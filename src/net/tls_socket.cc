#include "net/tls_socket.h"

#include "net/spare_buffers.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <boost/asio/ssl/error.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace runnel::net {

namespace {

// OpenSSL's read-ahead buffer: one read() takes up to this much ciphertext.
constexpr int kReadAheadBytes = 64 << 10;
// Pending-ciphertext capacity kept once everything is sent; more goes to
// the thread's spares (SpareBuffers), so a connection that once sent a
// burst does not hold it while idle, and the next burst does not fault
// fresh pages in.
constexpr size_t kKeepOutputBytes = 16 << 10;

}  // namespace

// The write BIO: SSL_write's records are appended to the socket's out_, sent
// by SendPending with one send() for a whole write.
struct TlsOutputBio {
  static int Write(BIO* b, const char* data, size_t n, size_t* written) {
    auto* s = static_cast<TlsSocket*>(BIO_get_data(b));
    if (s->out_.empty() && n > s->out_.capacity()) {
      SpareBuffers::Take(&s->out_);
      s->out_.clear();  // a spare keeps its old size
    }
    s->out_.append(data, n);
    *written = n;
    return 1;
  }
  static long Ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // flushing is SendPending's
  }
  static int Create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static int Destroy(BIO*) { return 1; }

  static const BIO_METHOD* Method() {
    static BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "runnel-tls-out");
      if (m != nullptr) {
        BIO_meth_set_write_ex(m, &Write);
        BIO_meth_set_ctrl(m, &Ctrl);
        BIO_meth_set_create(m, &Create);
        BIO_meth_set_destroy(m, &Destroy);
      }
      return m;
    }();
    return method;
  }
};

TlsSocket::TlsSocket(Tcp::socket socket, boost::asio::ssl::context& ctx)
    : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  const BIO_METHOD* out_method = TlsOutputBio::Method();
  if (ec || out_method == nullptr) return;
  SSL* ssl = SSL_new(ctx.native_handle());
  if (ssl == nullptr) return;
  BIO* rbio = BIO_new_socket(socket_.native_handle(), BIO_NOCLOSE);
  BIO* wbio = BIO_new(out_method);
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return;  // usable() is false: the handshake fails
  }
  BIO_set_data(wbio, this);
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_accept_state(ssl);
  // Idle connections give OpenSSL's record buffers back.
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kReadAheadBytes);
  ssl_ = ssl;
  wbio_ = wbio;
}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(other.ssl_),
      wbio_(other.wbio_),
      out_(std::move(other.out_)),
      sent_(other.sent_),
      read_error_(other.read_error_),
      more_to_read_(other.more_to_read_) {
  other.ssl_ = nullptr;
  other.wbio_ = nullptr;
  if (wbio_ != nullptr) BIO_set_data(wbio_, this);
}

TlsSocket::TlsSocket(TlsSocket&& other, Tcp::socket socket) noexcept
    : TlsSocket(std::move(other)) {
  socket_ = std::move(socket);  // the BIO reads the same descriptor number
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
}

TlsSocket::~TlsSocket() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // and both BIOs; the socket closes itself
}

std::string& TlsSocket::Staging() {
  thread_local std::string staging;
  return staging;
}

boost::system::error_code TlsSocket::SslError(int ret, int ssl_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;
  if (const unsigned long e = ERR_get_error(); e != 0) {
    return {static_cast<int>(e), boost::asio::error::get_ssl_category()};
  }
  if (ssl_error == SSL_ERROR_SYSCALL) {
    if (ret == 0 || errno == 0) return boost::asio::error::eof;  // closed without close_notify
    return {errno, boost::system::system_category()};
  }
  return {ssl_error, boost::asio::error::get_ssl_category()};
}

TlsSocket::Step TlsSocket::HandshakeStep(boost::system::error_code* ec) {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    // Read-ahead may already hold the client's first commands (sent with
    // its Finished): the first wait must not wait for the socket.
    more_to_read_ = true;
    return Step::kDone;
  }
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return Step::kWantRead;
  *ec = SslError(r, err);
  if (!*ec) *ec = boost::asio::error::eof;
  return Step::kDone;
}

TlsSocket::Step TlsSocket::SendPending(boost::system::error_code* ec) {
  while (sent_ < out_.size()) {
    const ssize_t n =
        ::send(socket_.native_handle(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      if (sent_ < out_.size()) return Step::kWantWrite;  // the socket took what it had room for
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Step::kWantWrite;
    *ec = boost::system::error_code(n < 0 ? errno : EPIPE, boost::system::system_category());
    return Step::kDone;
  }
  out_.clear();
  sent_ = 0;
  if (out_.capacity() > kKeepOutputBytes) SpareBuffers::Give(&out_);
  return Step::kDone;
}

void TlsSocket::Encrypt(const void* data, size_t n, boost::system::error_code* ec) {
  ERR_clear_error();
  size_t written = 0;
  // No partial-write mode and a BIO that takes everything: all of it is
  // written, as full records.
  const int r = SSL_write_ex(ssl_, data, n, &written);
  if (r != 1 || written != n) {
    *ec = SslError(r, SSL_get_error(ssl_, r));
    if (!*ec) *ec = boost::asio::error::eof;
  }
}

void TlsSocket::FlushQuietly() {
  if (sent_ >= out_.size()) return;
  boost::system::error_code ignored;  // the next write sees a broken socket
  SendPending(&ignored);
}

size_t TlsSocket::read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
  ec = {};
  more_to_read_ = false;
  if (!usable()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  if (read_error_) {
    ec = read_error_;
    return 0;
  }
  char* p = static_cast<char*>(buffer.data());
  size_t got = 0;
  while (got < buffer.size()) {
    ERR_clear_error();
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, p + got, buffer.size() - got, &n);
    if (r == 1) {
      got += n;
      // Nothing buffered: another SSL_read would only find an empty socket
      // (a failed recv per read); the next readiness brings the rest.
      if (SSL_has_pending(ssl_) == 0) break;
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) break;
    boost::system::error_code e = SslError(r, err);
    if (!e) e = boost::asio::error::eof;
    if (got > 0) {
      read_error_ = e;  // the data first
    } else {
      ec = e;
    }
    break;
  }
  // A full buffer may have left plaintext in OpenSSL; an error kept for the
  // next read must not wait for the socket either.
  if (got == buffer.size() || read_error_) more_to_read_ = true;
  FlushQuietly();
  if (got == 0 && !ec) ec = boost::asio::error::would_block;
  return got;
}

}  // namespace runnel::net
