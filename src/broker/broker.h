// Broker: what every protocol front-end shares — the router, the client
// registry, each io thread's LocalClients, the settings that CONFIG SET may
// change at run time, and server-wide counters for INFO.
//
// Owned by the server, built before the io threads start and destroyed after
// they stop. Thread safety: router() and clients() are thread-safe (see
// their headers); local(t) belongs to io thread t; settings and stats are
// atomics (requirepass has its own mutex).
#pragma once

#include "broker/client_registry.h"
#include "broker/local_clients.h"
#include "broker/router.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace runnel::broker {

// Settings a running server may change (CONFIG SET). Values are read where
// they apply: output limits at every delivery, timeout in cron, the parser
// limits when a connection opens.
struct Settings {
  std::atomic<int64_t> timeout_seconds{0};  // idle clients closed; 0 = never
  std::atomic<int64_t> tcp_keepalive_seconds{300};
  std::atomic<int64_t> proto_max_bulk_len{512LL << 20};
  std::atomic<int64_t> max_multibulk_len{1 << 20};
  // client-output-buffer-limit pubsub <hard> <soft> <soft-seconds>
  std::atomic<uint64_t> pubsub_hard_bytes{32ULL << 20};
  std::atomic<uint64_t> pubsub_soft_bytes{8ULL << 20};
  std::atomic<int64_t> pubsub_soft_seconds{60};
  // A connection that only publishes moves to the io thread of the
  // subscribers it feeds (resp_session.h, "Moving"). CONFIG SET
  // follow-subscribers no turns it off.
  std::atomic<bool> follow_subscribers{true};

  void SetRequirePass(std::string pass) {
    std::lock_guard lock(mu_);
    requirepass_ = std::move(pass);
    auth_required_.store(!requirepass_.empty());
  }
  std::string requirepass() const {
    std::lock_guard lock(mu_);
    return requirepass_;
  }
  bool auth_required() const { return auth_required_.load(); }

 private:
  mutable std::mutex mu_;
  std::string requirepass_;
  std::atomic<bool> auth_required_{false};
};

// Server-wide counters (relaxed atomics; INFO stats).
struct Stats {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> net_input_bytes{0};
  std::atomic<uint64_t> net_output_bytes{0};
  std::atomic<uint64_t> output_limit_disconnections{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> unexpected_errors{0};
  std::atomic<uint64_t> connections_moved{0};  // to another io thread
};

class Broker {
 public:
  // `threads` io threads; `post` runs a function on one of them.
  Broker(uint32_t threads, Router::Post post, int64_t max_clients);
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  Router& router() { return router_; }
  // Runs a function on an io thread (what the router posts with).
  const Router::Post& post() const { return post_; }
  ClientRegistry& clients() { return clients_; }
  LocalClients& local(uint32_t thread) { return *local_[thread]; }
  uint32_t threads() const { return static_cast<uint32_t>(local_.size()); }
  Settings& settings() { return settings_; }
  Stats& stats() { return stats_; }

  std::chrono::steady_clock::time_point started() const { return started_; }
  // 40 hex characters, new each run (INFO run_id).
  const std::string& run_id() const { return run_id_; }

 private:
  const Router::Post post_;
  std::vector<std::unique_ptr<LocalClients>> local_;
  Router router_;
  ClientRegistry clients_;
  Settings settings_;
  Stats stats_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::string run_id_;
};

}  // namespace runnel::broker
