// Connection: one accepted TCP or TLS connection, pinned to one io thread.
//
// Reading: a coroutine waits for data (on plain TCP it first waits for
// readability, so an idle connection holds no read buffer), reads as much as
// is there, hands it all to the Session, and keeps what it did not consume.
// Writing: replies and deliveries are appended to the OutboundBuffer; Flush()
// writes them at once with one gathered write per 64 chunks (however many
// replies a wake-up queued), and waits for writability only when the
// socket is full. Reading pauses while more than kPauseReadingAbove
// bytes wait to be sent, so a client that pipelines without reading its
// replies cannot grow server memory without bound.
//
// Thread safety: every method runs on the owning io thread, except id() and
// thread_index(), which are immutable.
#pragma once

#include "net/idle_flush.h"
#include "net/outbound_buffer.h"
#include "net/session.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace runnel::net {

struct ConnectionLimits {
  size_t max_input_bytes = 1ULL << 30;                 // Redis' client-query-buffer-limit
  size_t pause_reading_above = 8 << 20;                // outbound bytes that pause reading
  std::chrono::milliseconds handshake_timeout{10000};  // TLS handshake must finish within
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;

  uint64_t id() const { return id_; }
  int thread_index() const { return thread_index_; }
  const std::string& remote_address() const { return remote_address_; }
  const std::string& local_address() const { return local_address_; }
  bool tls() const { return tls_; }
  std::chrono::steady_clock::time_point created() const { return created_; }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  bool closed() const { return closed_; }

  OutboundBuffer& out() { return out_; }
  // Sends queued output now, as far as the socket takes it.
  virtual void Flush() = 0;
  // Flush at the end of this turn of the io thread, once for everything
  // queued until then: for replies that complete one by one outside the
  // connection's input (durable appends, Kafka responses), so a burst of
  // completions makes one write, not one each.
  virtual void FlushSoon() = 0;
  // Flush at the io thread's idle point (idle_flush.h), or now on a thread
  // without one.
  void FlushAtIdle() {
    if (!IdleFlush::Active()) {
      Flush();
      return;
    }
    if (idle_flush_queued_) return;
    idle_flush_queued_ = true;
    IdleFlush::Add(shared_from_this());
  }
  // IdleFlush::Drain's call.
  void FlushQueuedAtIdle() {
    idle_flush_queued_ = false;
    Flush();
  }
  // Nothing queued and nothing on its way to the kernel (TLS keeps
  // encrypted bytes of its own once they leave out()).
  virtual bool AllSent() const { return out_.empty(); }
  // Closes now; queued output is dropped. Session::OnClose follows.
  virtual void Close() = 0;
  // Closes once queued output is sent.
  void CloseAfterFlush() {
    close_after_flush_ = true;
    if (AllSent()) {
      Close();  // nothing queued and so no write in flight
    } else {
      Flush();
    }
  }
  size_t input_buffer_capacity() const { return input_capacity_; }

  // Asks to move this connection to io thread `thread` once it is quiet:
  // after the current input is handled and the output sent (waiting at
  // most a few milliseconds for that), if the session agrees (CanMove).
  // Otherwise the request lapses. Moves are what puts a publisher on the
  // thread of the subscribers it feeds (resp_session.h, "Moving").
  void RequestMove(int thread) { move_to_ = thread; }

 protected:
  Connection(uint64_t id, int thread_index, ConnectionLimits limits)
      : id_(id), thread_index_(thread_index), limits_(limits) {}

  // A moved connection keeps its identity: times and addresses.
  void TakeOver(const Connection& old) {
    remote_address_ = old.remote_address_;
    local_address_ = old.local_address_;
    tls_ = old.tls_;
    created_ = old.created_;
    last_activity_ = old.last_activity_;
  }

  const uint64_t id_;
  const int thread_index_;
  const ConnectionLimits limits_;
  std::string remote_address_;
  std::string local_address_;
  bool tls_ = false;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_activity_ = created_;
  OutboundBuffer out_;
  bool closed_ = false;
  bool close_after_flush_ = false;
  size_t input_capacity_ = 0;
  int move_to_ = -1;                // RequestMove's thread, -1: none asked
  bool idle_flush_queued_ = false;  // in this thread's IdleFlush list
};

}  // namespace runnel::net
