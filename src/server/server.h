// Server: `runnel serve`. Opens the data directory, starts the io threads
// and one listener per configured protocol address, and shuts down cleanly.
//
// Shutdown (SIGTERM/SIGINT, or Stop()): stop accepting, let every client
// connection send what it has queued (up to 2 s), stop the io threads, then
// close the log, which flushes and fsyncs every partition written to.
// Start() and Run() are called from one thread (main); Stop() may be called
// from any thread.
#pragma once

#include "broker/topic_rules.h"
#include "net/io_pool.h"
#include "net/listener.h"
#include "server/config.h"

#include "runnel/log.h"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace runnel::broker {
class Broker;
}
namespace runnel::broker::streams {
class StreamStore;
}
namespace runnel::resp {
struct RespContext;
}
namespace runnel::kafka {
struct KafkaContext;
}

namespace runnel::server {

class StewardLoop;

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens storage, binds every listener (an address in use is an error
  // here, before anything runs) and starts the io threads. Blocks SIGTERM
  // and SIGINT in the calling thread (and so in every thread it starts):
  // Run() takes them.
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
  void ScheduleCron(int thread);
  void Shutdown();

  ServerConfig config_;
  std::unique_ptr<Log> log_;
  broker::TopicRules topic_rules_;  // outlives streams_ and kafka_
  std::unique_ptr<broker::streams::StreamStore> streams_;  // before log_ is closed
  std::unique_ptr<StewardLoop> steward_;                   // stopped before log_ is closed
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<resp::RespContext> resp_;
  std::unique_ptr<kafka::KafkaContext> kafka_;  // reset before log_ (it holds the append listener)
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> cron_timers_;  // one per io thread
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::atomic<bool> stopping_{false};
  bool shut_down_ = false;
  std::mutex stop_mu_;
  bool stop_requested_ = false;
};

}  // namespace runnel::server
