#include "net/listener.h"

#include "net/stream_connection.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace runnel::net {

namespace asio = boost::asio;

uint64_t NextConnectionId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

Listener::Listener(IoPool* pool, ListenerConfig config, SessionFactory factory)
    : pool_(pool), config_(std::move(config)), factory_(std::move(factory)) {}

Listener::~Listener() { Stop(); }

Status Listener::Start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(config_.host, ec);
  if (ec) return Status::InvalidArgument(config_.name + ": bad address '" + config_.host + "'");
  Tcp::endpoint endpoint(address, config_.port);
  acceptor_ = std::make_unique<Tcp::acceptor>(pool_->context(0));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(Tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError(config_.name + ": cannot listen on " + config_.host + ":" +
                           std::to_string(config_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(pool_->context(0), AcceptLoop(), asio::detached);
  return Status::OK();
}

void Listener::Stop() {
  {
    std::lock_guard lock(build_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (!acceptor_) return;
  // The acceptor belongs to io thread 0: close it there.
  asio::post(pool_->context(0), [acc = acceptor_.get()] {
    boost::system::error_code ec;
    acc->close(ec);
  });
}

asio::awaitable<void> Listener::AcceptLoop() {
  for (;;) {
    int target = pool_->NextIndex();
    auto [ec, socket] = co_await acceptor_->async_accept(pool_->context(target),
                                                         asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      asio::steady_timer t(pool_->context(0), std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    accepted_++;
    if (config_.keepalive_seconds > 0) {
      // As Redis' tcp-keepalive: probe after this idle time, then every
      // third of it, and give up after three unanswered probes.
      boost::system::error_code ignored;
      socket.set_option(asio::socket_base::keep_alive(true), ignored);
      const int idle = config_.keepalive_seconds, interval = std::max(1, idle / 3), count = 3;
      const int fd = socket.native_handle();
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
    // Build the connection on its own thread.
    asio::post(pool_->context(target), [this, target, s = std::move(socket)]() mutable {
      std::lock_guard lock(build_mu_);
      if (stopped_) return;  // shutting down: the socket closes unserved
      auto& ctx = pool_->context(target);
      if (config_.tls) {
        auto conn = std::make_shared<StreamConnection<TlsStream>>(
            TlsStream(std::move(s), *config_.tls), NextConnectionId(), target, config_.limits,
            pool_);
        conn->SetSession(factory_(*conn));
        asio::co_spawn(ctx, conn->Run(), asio::detached);
      } else {
        auto conn = std::make_shared<StreamConnection<Tcp::socket>>(
            std::move(s), NextConnectionId(), target, config_.limits, pool_);
        conn->SetSession(factory_(*conn));
        asio::co_spawn(ctx, conn->Run(), asio::detached);
      }
    });
  }
}

}  // namespace runnel::net
