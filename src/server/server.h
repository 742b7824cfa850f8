// Server: `runnel serve`. Opens the data directory, starts the io threads
// and one listener per configured protocol address, and shuts down cleanly.
//
// Shutdown (SIGTERM/SIGINT, or Stop()): stop accepting, close client
// connections (queued output is flushed first where the peer reads it within
// the grace period), flush and fsync every partition written to, close the
// log. Thread-safe: Stop() may be called from any thread, once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/io_pool.h"
#include "net/listener.h"
#include "runnel/log.h"
#include "server/config.h"

namespace runnel::broker {
class Broker;
}

namespace runnel::server {

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();

  // Opens storage, binds every listener (an address in use is an error
  // here, before anything runs) and starts the io threads.
  Status Start();
  // Blocks until Stop() or a SIGTERM/SIGINT, then shuts down.
  void Run();
  void Stop();

  const ServerConfig& config() const { return config_; }
  // Bound ports, in listener order (useful with port 0 in tests).
  std::vector<std::pair<std::string, uint16_t>> ListeningPorts() const;

 private:
  Status AddListener(const std::string& name, const Address& address, bool tls,
                     net::SessionFactory factory);

  ServerConfig config_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<broker::Broker> broker_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
};

}  // namespace runnel::server
