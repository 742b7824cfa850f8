// ClientRegistry: every connected client of every protocol, for CLIENT LIST /
// CLIENT KILL / CLIENT INFO, INFO's clients section and max-clients.
//
// Each client's owner (its session, on its io thread) creates a ClientEntry
// and keeps it current; fields other threads read are atomics, and the name
// and the last command are guarded by the entry's own mutex, so a listing
// never blocks an io thread for long and never waits on another io thread.
// Killing a client from another thread posts a close to the owner: the
// registry never touches a connection off its thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::broker {

struct ClientEntry {
  uint64_t id = 0;
  std::string protocol;  // "resp", "mqtt", ...
  std::string addr, laddr;
  std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
  std::atomic<int64_t> last_command_ms{0};  // steady clock, ms
  std::atomic<int32_t> subscriptions{0};
  std::atomic<int32_t> patterns{0};
  std::atomic<int32_t> shard_subscriptions{0};
  std::atomic<int32_t> resp_version{2};
  std::atomic<uint64_t> output_bytes{0};
  std::atomic<uint64_t> input_bytes{0};
  std::atomic<bool> no_evict{false};
  // The owner: `run_on_owner(fn)` runs fn on its io thread, where `kill`
  // closes the connection. Set by the owner, again when its connection
  // moves to another io thread; read by other threads (Kill).
  // Returns whether a kill was requested before (then the new owner closes).
  bool SetOwner(std::function<void(std::function<void()>)> run_on_owner,
                std::function<void()> kill) {
    std::lock_guard lock(mu);
    run_on_owner_ = std::move(run_on_owner);
    kill_ = std::move(kill);
    return kill_requested.load(std::memory_order_relaxed);
  }
  // Posts the kill to the owner; false if no owner was set. The request is
  // also remembered (kill_requested), so a connection that was moving to
  // another thread meanwhile closes on arrival.
  bool PostKill() {
    std::function<void(std::function<void()>)> run;
    std::function<void()> kill;
    {
      std::lock_guard lock(mu);
      if (!run_on_owner_ || !kill_) return false;
      // Under the lock: an owner set after this sees the request.
      kill_requested.store(true, std::memory_order_relaxed);
      run = run_on_owner_;
      kill = kill_;
    }
    run(std::move(kill));
    return true;
  }
  std::atomic<bool> kill_requested{false};

  void SetName(std::string name) {
    std::lock_guard lock(mu);
    name_ = std::move(name);
  }
  std::string name() const {
    std::lock_guard lock(mu);
    return name_;
  }
  // `cmd` must be a string with static storage (a command table entry):
  // setting it is one relaxed store, cheap enough for every command.
  void SetLastCommand(const std::string_view* cmd) {
    last_command_.store(cmd, std::memory_order_relaxed);
  }
  std::string last_command() const {
    const std::string_view* cmd = last_command_.load(std::memory_order_relaxed);
    return cmd ? std::string(*cmd) : std::string("NULL");
  }

 private:
  mutable std::mutex mu;
  std::string name_;
  std::function<void(std::function<void()>)> run_on_owner_;  // guarded by mu
  std::function<void()> kill_;                               // guarded by mu
  std::atomic<const std::string_view*> last_command_{nullptr};
};

class ClientRegistry {
 public:
  explicit ClientRegistry(int64_t max_clients) : max_clients_(max_clients) {}

  // Adds the entry unless max_clients are connected (then false).
  bool Add(std::shared_ptr<ClientEntry> entry);
  void Remove(uint64_t id);
  std::shared_ptr<ClientEntry> Find(uint64_t id) const;
  std::vector<std::shared_ptr<ClientEntry>> Snapshot() const;
  size_t size() const;
  // Posts a kill to the client's owner; false if there is no such client.
  bool Kill(uint64_t id);

  int64_t max_clients() const { return max_clients_.load(); }
  void set_max_clients(int64_t n) { max_clients_.store(n); }
  uint64_t rejected() const { return rejected_.load(); }
  uint64_t total_connections() const { return total_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<ClientEntry>> clients_;  // guarded by mu_
  std::atomic<int64_t> max_clients_;
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> total_{0};
};

}  // namespace runnel::broker
