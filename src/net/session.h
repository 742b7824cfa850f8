// Session: the protocol side of one connection (RESP, MQTT, Kafka, HTTP...).
// The net layer owns the socket, buffers and timers; a Session turns input
// bytes into calls on the broker and replies into the connection's outbound
// buffer. Every method runs on the connection's io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace runnel::net {

class Connection;

class Session {
 public:
  enum class Action : uint8_t {
    kContinue,         // keep reading
    kCloseAfterFlush,  // send what is queued, then close (QUIT, protocol error)
    kCloseNow,         // drop the connection
  };

  virtual ~Session() = default;

  // The connection is ready (after the TLS handshake), before any input.
  // Lets a session refuse a client (max clients) with a reply of its own.
  virtual Action OnOpen() { return Action::kContinue; }

  // `input` holds every byte received and not yet consumed. Set *consumed to
  // the bytes handled (a partial command stays for the next call) and
  // *need_at_least to the total input size the next step needs, when known,
  // so the connection grows its buffer towards it (by doubling, so a large
  // value is copied O(1) times per byte and a declared but unsent one costs
  // nothing).
  virtual Action OnInput(std::string_view input, size_t* consumed, size_t* need_at_least) = 0;

  // The connection is gone (peer closed, error, limit, shutdown). Last call.
  virtual void OnClose() = 0;

  // True: do not read more input yet; the connection asks again shortly
  // (kHoldInputRecheck). A publisher holds while its thread's deliveries to
  // other threads are queued beyond a bound (broker::Router::Backlogged),
  // which leaves its commands in the socket and slows it by TCP's own flow
  // control instead of queueing them in memory.
  virtual bool HoldInput() const { return false; }
  static constexpr std::chrono::microseconds kHoldInputRecheck{100};

  // Moving to another io thread (Connection::RequestMove). A session that
  // asked for a move is asked again when the connection is quiet (no input
  // pending, output sent): CanMove says whether nothing it has in flight
  // names its thread. Then Detach runs on the old thread (drop that
  // thread's registrations) and Reattach on the new one: it returns the
  // session for `conn`, the connection on the new thread, built from this
  // one's state; this one is destroyed after it, with no other call.
  virtual bool CanMove() const { return false; }
  virtual void Detach() {}
  virtual std::unique_ptr<Session> Reattach(Connection& /*conn*/) { return nullptr; }
};

}  // namespace runnel::net
