// Listener: accepts connections on one address for one protocol, optionally
// with TLS, and spreads them round-robin over the io threads. The accept loop
// runs on io thread 0; each socket is created on its target thread's context.
#pragma once

#include "net/connection.h"
#include "net/io_pool.h"
#include "net/session.h"

#include "runnel/status.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace runnel::net {

// Makes the protocol session of a new connection, on its io thread.
using SessionFactory = std::function<std::unique_ptr<Session>(Connection&)>;

struct ListenerConfig {
  std::string name;  // for logs: "resp", "resp-tls", ...
  std::string host = "127.0.0.1";
  uint16_t port = 0;                               // 0 = any free port (see Listener::port())
  std::shared_ptr<boost::asio::ssl::context> tls;  // null = plain TCP
  ConnectionLimits limits;
  int keepalive_seconds = 300;  // TCP keepalive idle time; 0 = off
};

class Listener {
 public:
  // `pool` must outlive the listener.
  Listener(IoPool* pool, ListenerConfig config, SessionFactory factory);
  ~Listener();

  // Binds and listens (errors such as "address in use" come back here), then
  // accepts on io thread 0 once the pool runs.
  Status Start();
  // Stops accepting; open connections are not touched. Once it returns, no
  // new connection gets a session: every socket accepted before is either
  // built (its session made, so registered with its protocol) or will be
  // closed unserved. Shutdown relies on that: it then closes the sessions
  // it knows of, and one made later would outlive the protocol contexts.
  void Stop();
  uint16_t port() const { return port_; }
  const ListenerConfig& config() const { return config_; }
  uint64_t accepted() const { return accepted_.load(); }

 private:
  boost::asio::awaitable<void> AcceptLoop();

  IoPool* const pool_;
  const ListenerConfig config_;
  SessionFactory factory_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  // Held while a connection and its session are made, and by Stop to set
  // stopped_: a connection is built wholly before Stop returns, or not at all.
  std::mutex build_mu_;
  bool stopped_ = false;  // guarded by build_mu_
};

// A process-wide source of connection ids (never reused).
uint64_t NextConnectionId();

}  // namespace runnel::net
