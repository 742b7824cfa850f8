// TlsSocket: a server-side TLS connection driven through OpenSSL directly,
// the TLS stream of StreamConnection (stream_connection.h).
//
// Why not asio::ssl::stream: its engine passes ciphertext through a 17 KB
// BIO pair, so every 16 KB record is its own send(), every read returns at
// most one record (one session wake-up and one reply write per record), and
// each step is another composed-handler hop. On this machine a system call
// costs about 1 µs, which made TLS pub/sub with 1 KiB messages half the
// plaintext rate. Here:
//  - reads go through a socket BIO with read-ahead and a 64 KiB buffer: one
//    read() takes several records, and one read_some returns the plaintext
//    of all of them that fit the caller's buffer;
//  - writes are synchronous (Seal, SendNow): the caller's buffers are
//    encrypted together, coalesced so records are full 16 KiB ones, into a
//    memory BIO, and the ciphertext goes out with one send();
//  - like the plain socket, it offers async_wait + a non-blocking read_some,
//    so an idle TLS connection holds no read buffer of the connection's own.
//
// Thread safety: none; every call on the connection's io thread. One read
// (read_some / async_read_some / async_wait) may be pending at a time, as
// for an asio stream.
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <string>

namespace runnel::net {

class TlsSocket {
 public:
  using Tcp = boost::asio::ip::tcp;
  using executor_type = Tcp::socket::executor_type;

  // Server side of a TLS session on `socket`, with `ctx`'s certificate,
  // key and verification settings.
  TlsSocket(Tcp::socket socket, boost::asio::ssl::context& ctx);
  TlsSocket(TlsSocket&& other) noexcept;
  // `other`'s TLS session over `socket`, a new socket object for the same
  // descriptor (on another io thread: StreamConnection's moves). Use only
  // when `other` is quiet().
  TlsSocket(TlsSocket&& other, Tcp::socket socket) noexcept;
  TlsSocket& operator=(TlsSocket&&) = delete;
  TlsSocket(const TlsSocket&) = delete;
  ~TlsSocket();

  executor_type get_executor() { return socket_.get_executor(); }
  // No ciphertext waits to be sent and no read error is kept.
  bool quiet() const { return !has_unsent() && !read_error_; }
  Tcp::socket& next_layer() { return socket_; }

  // Completes once the handshake is done (or failed). The type must be
  // server: this class only accepts.
  template <typename Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        HandshakeOp{this, false}, token, socket_);
  }

  // Plaintext into `buffer`: as much as the records already received hold,
  // waiting for the socket only when there is none.
  template <typename MutableBuffer, typename Token>
  auto async_read_some(const MutableBuffer& buffer, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, size_t)>(
        ReadOp{this, boost::asio::mutable_buffer(buffer), false, false, {}, 0}, token, socket_);
  }

  // Non-blocking: would_block when no whole record is there yet.
  size_t read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec);

  // wait_read: completes when read_some may return data (at once if the
  // last read stopped because the caller's buffer was full).
  template <typename Token>
  auto async_wait(Tcp::socket::wait_type type, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        WaitOp{this, type, false}, token, socket_);
  }

  // Synchronous writing (StreamConnection's): Seal encrypts every byte of
  // `buffers` into the pending ciphertext and returns how many it took (0
  // with *ec set on failure); SendNow hands pending ciphertext to the
  // kernel: true when none is left, false when the socket is full (wait
  // for writability, then SendNow again) or on error (*ec set).
  template <typename ConstBufferSequence>
  size_t Seal(const ConstBufferSequence& buffers, boost::system::error_code* ec) {
    if (!usable()) {
      *ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    return EncryptAll(buffers, ec);
  }
  bool SendNow(boost::system::error_code* ec) { return SendPending(ec) == Step::kDone && !*ec; }
  bool has_unsent() const { return sent_ < out_.size(); }

 private:
  enum class Step { kDone, kWantRead, kWantWrite };

  // One attempt each; kDone with *ec set on failure.
  Step HandshakeStep(boost::system::error_code* ec);
  // Sends pending ciphertext: kDone when none is left (or on error),
  // kWantWrite when the socket is full.
  Step SendPending(boost::system::error_code* ec);
  // Encrypts [data, data + n) into the pending ciphertext.
  void Encrypt(const void* data, size_t n, boost::system::error_code* ec);
  // Ciphertext an SSL_read produced (an alert, a key update reply): sent
  // now if the socket takes it, else with the next write.
  void FlushQuietly();
  boost::system::error_code SslError(int ret, int ssl_error);
  bool usable() const { return ssl_ != nullptr && socket_.is_open(); }
  // The io thread's buffer for coalescing one write's plaintext: used only
  // inside EncryptAll, so the thread's connections share it.
  static std::string& Staging();

  struct HandshakeOp {
    TlsSocket* s;
    bool started = false;
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (!started) {
        // Never complete inside the initiating call.
        started = true;
        boost::asio::post(s->socket_.get_executor(), std::move(self));
        return;
      }
      if (ec) return self.complete(ec);
      if (!s->usable()) return self.complete(boost::asio::error::operation_aborted);
      // The last flight out first; then the handshake's next step, and
      // what it produced (an alert too, when it failed).
      Step sent = s->SendPending(&ec);
      if (ec) return self.complete(ec);
      if (sent == Step::kWantWrite) {
        return s->socket_.async_wait(Tcp::socket::wait_write, std::move(self));
      }
      const Step step = s->HandshakeStep(&ec);
      boost::system::error_code send_ec;
      sent = s->SendPending(&send_ec);
      if (ec || send_ec) return self.complete(ec ? ec : send_ec);
      if (sent == Step::kWantWrite) {
        return s->socket_.async_wait(Tcp::socket::wait_write, std::move(self));
      }
      if (step == Step::kWantRead) {
        return s->socket_.async_wait(Tcp::socket::wait_read, std::move(self));
      }
      self.complete(ec);
    }
  };

  struct ReadOp {
    TlsSocket* s;
    boost::asio::mutable_buffer buffer;
    bool started = false;
    bool done = false;
    boost::system::error_code result;
    size_t n = 0;
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (done) return self.complete(result, n);
      if (ec) return self.complete(ec, 0);
      n = s->read_some(buffer, result);
      if (result == boost::asio::error::would_block) {
        started = true;
        return s->socket_.async_wait(Tcp::socket::wait_read, std::move(self));
      }
      if (!started) {
        done = true;
        return boost::asio::post(s->socket_.get_executor(), std::move(self));
      }
      self.complete(result, n);
    }
  };

  struct WaitOp {
    TlsSocket* s;
    Tcp::socket::wait_type type;
    bool started = false;
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (started) return self.complete(ec);
      started = true;
      if (type == Tcp::socket::wait_read && s->more_to_read_) {
        return boost::asio::post(s->socket_.get_executor(), std::move(self));
      }
      s->socket_.async_wait(type, std::move(self));
    }
  };

  template <typename ConstBufferSequence>
  size_t EncryptAll(const ConstBufferSequence& buffers, boost::system::error_code* ec) {
    // One SSL_write per buffer would end a record at every buffer's end
    // (a 16 KiB + 1 KiB chunk makes two records); coalesced, records are
    // full. A single buffer needs no copy.
    size_t total = 0, count = 0;
    const void* only = nullptr;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      total += b.size();
      ++count;
      only = b.data();
    }
    if (total == 0) return 0;
    if (count == 1) {
      Encrypt(only, total, ec);
      return *ec ? 0 : total;
    }
    std::string& staging = Staging();
    staging.clear();
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      staging.append(static_cast<const char*>(b.data()), b.size());
    }
    Encrypt(staging.data(), staging.size(), ec);
    return *ec ? 0 : total;
  }

  friend struct TlsOutputBio;  // appends to out_

  Tcp::socket socket_;
  SSL* ssl_ = nullptr;
  BIO* wbio_ = nullptr;  // SSL's write BIO: appends to out_; owned by ssl_
  std::string out_;      // ciphertext not yet sent
  size_t sent_ = 0;      // bytes of out_ already sent
  boost::system::error_code read_error_;  // seen after data was returned: next read's
  // OpenSSL may hold input the socket's readiness would not show: the last
  // read stopped with the caller's buffer full, or the handshake just
  // finished (read-ahead may have taken the first records with it).
  bool more_to_read_ = false;
};

}  // namespace runnel::net
