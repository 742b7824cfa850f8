// StreamConnection<Stream>: Connection over a plain TCP socket or a
// TlsSocket (tls_socket.h) on one. See connection.h for the behaviour.
#pragma once

#include "net/connection.h"
#include "net/io_pool.h"
#include "net/send_file.h"
#include "net/spare_buffers.h"
#include "net/tls_socket.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace runnel::net {

using Tcp = boost::asio::ip::tcp;
using TlsStream = TlsSocket;

template <typename Stream>
class StreamConnection final : public Connection {
 public:
  static constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;
  static constexpr size_t kReadChunk = 16 << 10;
  // One per io thread, not per connection. Large enough for a whole
  // pipelined window of a busy publisher (64 PUBLISHes of 1 KiB are 68 KiB):
  // a read that stops short leaves a partial command behind, which costs a
  // copy and a second, smaller read before the batch can be answered.
  static constexpr size_t kScratchBytes = 256 << 10;

  // The session is made by `make_session` once the connection exists.
  // `pool` (optional) is where RequestMove finds the other io threads.
  StreamConnection(Stream stream, uint64_t id, int thread_index, ConnectionLimits limits,
                   IoPool* pool = nullptr)
      : Connection(id, thread_index, limits),
        stream_(std::move(stream)),
        resume_reading_(stream_.get_executor()),
        drained_(stream_.get_executor()),
        pool_(pool) {
    tls_ = kIsTls;
    boost::system::error_code ec;
    auto& sock = Socket();
    auto remote = sock.remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    auto local = sock.local_endpoint(ec);
    if (!ec) local_address_ = local.address().to_string() + ":" + std::to_string(local.port());
    sock.set_option(Tcp::no_delay(true), ec);
    // The idle read (Run) is a synchronous read after readability: it must
    // return would_block rather than wait if the data went away meanwhile.
    if constexpr (!kIsTls) sock.non_blocking(true, ec);
  }

  void SetSession(std::unique_ptr<Session> session) { session_ = std::move(session); }

  Tcp::socket& Socket() {
    if constexpr (kIsTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  // The connection's life: TLS handshake, then read until closed. `moved`:
  // this is a connection moved from another thread (MoveIfQuiet), with its
  // session already attached: no handshake, no OnOpen.
  boost::asio::awaitable<void> Run(bool moved = false) {
    auto self = this->shared_from_this();  // lives as long as the loop
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    if (moved) {
      // Straight to reading.
    } else if constexpr (kIsTls) {
      // A client that connects and never finishes the handshake must not
      // hold the connection for ever: it gets limits_.handshake_timeout.
      boost::asio::steady_timer deadline(stream_.get_executor());
      deadline.expires_after(limits_.handshake_timeout);
      deadline.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          boost::system::error_code ignored;
          Socket().close(ignored);  // fails the pending handshake
        }
      });
      auto [ec] = co_await stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                                   as_tuple(use_awaitable));
      deadline.cancel();
      if (ec) {
        Close();
        co_return;
      }
    }
    if (Session::Action a = moved ? Session::Action::kContinue : session_->OnOpen();
        a != Session::Action::kContinue) {
      if (a == Session::Action::kCloseAfterFlush) {
        CloseAfterFlush();
      } else {
        Close();
      }
      co_return;
    }
    while (!closed_) {
      if (out_.size() > limits_.pause_reading_above) {
        // Wait for the writer to drain (it cancels this timer).
        resume_reading_.expires_at(std::chrono::steady_clock::time_point::max());
        reading_paused_ = true;
        co_await resume_reading_.async_wait(as_tuple(use_awaitable));
        reading_paused_ = false;
        continue;
      }
      if (session_->HoldInput()) {
        resume_reading_.expires_after(Session::kHoldInputRecheck);
        co_await resume_reading_.async_wait(as_tuple(use_awaitable));
        continue;
      }
      std::string_view data;  // what the session gets: all unconsumed input
      if (used_ > 0) {
        // A partial command is pending: read behind it into the
        // connection's own buffer.
        // Room towards what the session needs, growing at most by doubling:
        // resize() zero-fills, so every byte reserved is resident, and a
        // declared 512 MiB bulk that never arrives must not cost 512 MiB.
        // The buffer stays within twice what the client actually sent.
        size_t want = kReadChunk;
        if (need_at_least_ > used_) {
          want =
              std::max(kReadChunk, std::min(need_at_least_ - used_, std::max(used_, kReadChunk)));
        }
        if (used_ + want > limits_.max_input_bytes + kReadChunk) {
          break;  // the session let a command grow past the input limit
        }
        if (input_.size() < used_ + want) {
          input_.resize(used_ + want);
          input_capacity_ = input_.capacity();
        }
        const size_t room = input_.size() - used_;
        auto [ec, n] = co_await stream_.async_read_some(
            boost::asio::buffer(input_.data() + used_, room), as_tuple(use_awaitable));
        if (ec || n == 0) break;
        used_ += n;
        if (n == room) ReadWhileFull();
        data = std::string_view(input_.data(), used_);
      } else {
        // Nothing pending: hold no buffer while idle, wait for readability,
        // then read synchronously into the io thread's scratch buffer. Only
        // bytes left over (a partial command) are copied into a buffer of
        // the connection's own, so an idle connection costs no read buffer
        // and a busy one no allocation per read.
        if (input_.capacity() > 0) ReleaseInput();
        auto [ec] = co_await stream_.async_wait(Tcp::socket::wait_read, as_tuple(use_awaitable));
        if (ec) break;
        boost::system::error_code rec;
        std::string& scratch = ReadScratch();
        const size_t n = stream_.read_some(boost::asio::buffer(scratch), rec);
        if (rec == boost::asio::error::would_block || rec == boost::asio::error::try_again) {
          continue;
        }
        if (rec || n == 0) break;
        data = std::string_view(scratch.data(), n);
      }
      last_activity_ = std::chrono::steady_clock::now();
      size_t consumed = 0, need = 0;
      Session::Action action = session_->OnInput(data, &consumed, &need);
      if (used_ > 0) {
        if (consumed > 0) {
          std::memmove(input_.data(), input_.data() + consumed, used_ - consumed);
          used_ -= consumed;
        }
      } else if (consumed < data.size()) {
        const std::string_view rest = data.substr(consumed);
        SpareBuffers::Take(&input_);
        if (input_.size() < rest.size()) input_.resize(rest.size());
        std::memcpy(input_.data(), rest.data(), rest.size());
        used_ = rest.size();
        input_capacity_ = input_.capacity();
      }
      need_at_least_ = need;
      if (action == Session::Action::kCloseNow) break;
      if (action == Session::Action::kCloseAfterFlush) {
        CloseAfterFlush();
        break;
      }
      Flush();
      if (move_to_ >= 0 && co_await MoveIfQuiet()) co_return;  // lives on elsewhere
    }
    // After QUIT the pending write closes the connection when it completes.
    if (!close_after_flush_ || AllSent()) Close();
  }

  // Writes now, from the caller's turn, what the socket takes, instead of
  // an async_write that advanced 64 KiB per turn of the event loop (a
  // posted completion per step, behind every other handler queued on the
  // thread). Only a full socket waits, for writability (WaitWritable).
  void Flush() override {
    if (writing_ || closed_) return;
    if constexpr (kIsTls) {
      FlushTls();
    } else {
      FlushPlain();
    }
  }

  void FlushSoon() override {
    if (flush_posted_ || closed_) return;
    flush_posted_ = true;
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), this] {
      flush_posted_ = false;
      Flush();
    });
  }

  bool AllSent() const override {
    if constexpr (kIsTls) {
      if (stream_.has_unsent()) return false;
    }
    return out_.empty();
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    // The session lets go first (unregisters, unsubscribes), so a peer that
    // sees the close can no longer find this client (CLIENT LIST, PUBSUB).
    Finish();
    boost::system::error_code ec;
    Socket().shutdown(Tcp::socket::shutdown_both, ec);
    Socket().close(ec);
    resume_reading_.cancel();
    // A write in flight still reads the queued chunks (an SSL stream encrypts
    // from them even after the socket is closed): its completion frees them.
    if (!writing_) out_.Clear();
  }

 private:
  // The io thread's read buffer for connections with nothing pending. Used
  // only between a synchronous read and the end of OnInput, with no
  // suspension in between, so connections of one thread can share it.
  static std::string& ReadScratch() {
    thread_local std::string scratch(kScratchBytes, '\0');
    return scratch;
  }

  // RequestMove's move, at the end of a wake-up: waits briefly for the
  // output to be sent, then, if nothing is pending on either side and the
  // session agrees, hands the descriptor, the TLS state and the session to
  // a new connection object on the target thread. true: moved (this object
  // is done and drops out of Run without closing anything).
  boost::asio::awaitable<bool> MoveIfQuiet() {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    const int target = std::exchange(move_to_, -1);
    if (pool_ == nullptr || target < 0 || target >= pool_->size() || target == thread_index_) {
      co_return false;
    }
    if (writing_) {
      // The replies just flushed: a client that reads them takes
      // microseconds; one that does not is not worth waiting for.
      draining_ = true;
      drained_.expires_after(std::chrono::milliseconds(5));
      co_await drained_.async_wait(as_tuple(use_awaitable));
      draining_ = false;
    }
    if (closed_ || writing_ || !out_.empty() || used_ > 0 || !session_->CanMove()) {
      co_return false;
    }
    if constexpr (kIsTls) {
      if (!stream_.quiet()) co_return false;
    }
    boost::system::error_code ec;
    const Tcp::endpoint local = Socket().local_endpoint(ec);
    if (ec) co_return false;
    session_->Detach();
    const int fd = Socket().release(ec);
    closed_ = true;  // this object: nothing more happens on it
    if (ec || fd < 0) {
      Finish();  // the session is told, as for any close
      co_return true;
    }
    auto moved = std::make_shared<Stream>(std::move(stream_));  // the TLS session, if any
    auto old = std::static_pointer_cast<StreamConnection>(this->shared_from_this());
    boost::asio::post(
        pool_->context(target), [old, moved, fd, target, protocol = local.protocol()] {
          boost::system::error_code aec;
          Tcp::socket sock(old->pool_->context(target));
          sock.assign(protocol, fd, aec);
          if (aec) {
            ::close(fd);
            old->Finish();
            return;
          }
          std::shared_ptr<StreamConnection> conn;
          if constexpr (kIsTls) {
            conn = std::make_shared<StreamConnection>(TlsStream(std::move(*moved), std::move(sock)),
                                                      old->id_, target, old->limits_, old->pool_);
          } else {
            conn = std::make_shared<StreamConnection>(std::move(sock), old->id_, target,
                                                      old->limits_, old->pool_);
          }
          conn->TakeOver(*old);
          conn->SetSession(old->session_->Reattach(*conn));
          old->session_.reset();
          old->finished_ = true;
          boost::asio::co_spawn(old->pool_->context(target), conn->Run(/*moved=*/true),
                                boost::asio::detached);
        });
    co_return true;
  }

  // Up to this much plaintext is encrypted ahead of what the socket took:
  // ciphertext waiting in TlsSocket is not counted in the output limits.
  static constexpr size_t kSealBytes = 256 << 10;

  void FlushPlain() {
    while (!out_.empty()) {
      if (out_.front_is_file()) {
        SendFiles();
        return;
      }
      const std::vector<boost::asio::const_buffer>& bufs = out_.Gather();
      iovec iov[OutboundBuffer::kMaxBuffersPerWrite];
      size_t count = 0;
      for (const boost::asio::const_buffer& b : bufs) {
        iov[count].iov_base = const_cast<void*>(b.data());
        iov[count].iov_len = b.size();
        ++count;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = count;
      const ssize_t n = ::sendmsg(Socket().native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        // After a short write the loop tries again: waiting is only for an
        // EAGAIN, the one answer that says the socket is full.
        out_.Consume(static_cast<size_t>(n));
        MaybeResumeReading();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        WaitWritable();
        return;
      }
      CloseLater();  // a write error: the peer is gone
      return;
    }
    AfterWrites();
  }

  void FlushTls() {
    for (;;) {
      boost::system::error_code ec;
      if (!stream_.SendNow(&ec)) {
        if (ec) {
          CloseLater();
        } else {
          WaitWritable();
        }
        return;
      }
      if (out_.empty()) break;
      // TLS encrypts in user space: a file range is read into memory.
      if (out_.front_is_file() && !out_.ReadFrontFile()) {
        CloseLater();
        return;
      }
      // At most kSealBytes at a time (at least one buffer, or part of one).
      std::vector<boost::asio::const_buffer>& bufs = SealScratch();
      bufs.clear();
      size_t total = 0;
      for (const boost::asio::const_buffer& b : out_.Gather()) {
        if (total >= kSealBytes) break;
        const size_t take = std::min(b.size(), kSealBytes - total);
        bufs.emplace_back(b.data(), take);
        total += take;
      }
      const size_t n = stream_.Seal(bufs, &ec);
      if (ec) {
        CloseLater();
        return;
      }
      out_.Consume(n);
      MaybeResumeReading();
    }
    AfterWrites();
  }

  // FlushTls's slice of the queue: used only inside one FlushTls, so the
  // thread's connections share it.
  static std::vector<boost::asio::const_buffer>& SealScratch() {
    thread_local std::vector<boost::asio::const_buffer> slice;
    return slice;
  }

  // The socket is full: send on once it is writable.
  void WaitWritable() {
    writing_ = true;
    Socket().async_wait(Tcp::socket::wait_write,
                        [self = this->shared_from_this(), this](boost::system::error_code ec) {
                          writing_ = false;
                          if (closed_) {
                            out_.Clear();  // releases the files
                            return;
                          }
                          if (ec) {
                            Close();
                            return;
                          }
                          Flush();
                        });
  }

  // Everything is sent: what a completed write does. Flush runs inside a
  // session's turn (its replies, its deliveries), so closing, which calls
  // back into the session, waits for the next turn.
  void AfterWrites() {
    if (draining_) drained_.cancel();
    MaybeResumeReading();
    if (close_after_flush_) CloseLater();
  }

  // Closes on the next turn of this io thread, not inside the caller's.
  // Further flushes stop at once (writing_).
  void CloseLater() {
    writing_ = true;
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), this] {
      writing_ = false;
      Close();
    });
  }

  // Reading paused for output above the limit resumes at half of it.
  void MaybeResumeReading() {
    if (reading_paused_ && out_.size() <= limits_.pause_reading_above / 2) {
      resume_reading_.cancel();
    }
  }

  // Plain TCP: the file ranges at the front go with sendfile(2) on the
  // non-blocking socket, in order with the memory chunks around them; on
  // EAGAIN it waits for writability and resumes where the kernel stopped.
  void SendFiles() {
    while (out_.front_is_file()) {
      const SendFileResult r = SendFileSome(Socket().native_handle(), out_.FrontFile());
      if (r.error != 0) {
        CloseLater();
        return;
      }
      if (r.would_block) {
        WaitWritable();
        return;
      }
      out_.Consume(r.sent);
    }
    FlushPlain();  // the memory chunks after the files
  }

  // After a read behind a partial command filled its room: more may be
  // waiting (bytes in the socket, or plaintext OpenSSL has decrypted). Take
  // it now, growing the buffer to kScratchBytes, so the session sees a
  // whole pipelined window at once. Without this a TLS
  // publisher streaming 1 KiB commands, whose records never end on a
  // command, was answered one 16 KiB read at a time: a reply and a delivery
  // write per record instead of per window. An error is left for the next
  // read, which sees it again.
  void ReadWhileFull() {
    const size_t cap = std::min(kScratchBytes, limits_.max_input_bytes + kReadChunk);
    while (used_ < cap) {
      if (input_.size() <= used_) {
        // Straight to the cap: one allocation (and, through SpareBuffers,
        // one zero-fill) per buffer rather than one per doubling.
        input_.resize(cap);
        input_capacity_ = input_.capacity();
      }
      const size_t room = input_.size() - used_;
      boost::system::error_code ec;
      const size_t n = stream_.read_some(boost::asio::buffer(input_.data() + used_, room), ec);
      used_ += n;
      if (ec || n < room) return;
    }
  }
  // An idle connection gives its input buffer to the thread's spares (the
  // next partial command on the thread takes it, size and all).
  void ReleaseInput() {
    SpareBuffers::Give(&input_);
    input_capacity_ = 0;
  }
  // Tells the session once, whichever path closed the connection.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    if (session_) session_->OnClose();
  }

  Stream stream_;
  boost::asio::steady_timer resume_reading_;
  boost::asio::steady_timer drained_;  // MoveIfQuiet's wait for a write
  bool draining_ = false;
  IoPool* const pool_;
  std::unique_ptr<Session> session_;
  std::string input_;
  size_t used_ = 0;
  size_t need_at_least_ = 0;
  bool writing_ = false;  // waiting for writability (or to close): no write now
  bool finished_ = false;
  bool reading_paused_ = false;  // Run waits on resume_reading_
  bool flush_posted_ = false;    // FlushSoon's post is pending
};

}  // namespace runnel::net
