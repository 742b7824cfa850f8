#include "server/server.h"

#include "broker/broker.h"
#include "broker/streams/stream_store.h"
#include "net/tls_context.h"
#include "protocol/kafka/kafka_session.h"
#include "protocol/resp/resp_session.h"
#include "server/steward_loop.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace runnel::server {

namespace asio = boost::asio;

namespace {

std::string ExecutablePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Every client is a file descriptor: raise the soft limit towards max
// clients plus room for the log's files, as Redis does for maxclients.
void RaiseFileLimit(int64_t max_clients) {
  const rlim_t want = static_cast<rlim_t>(max_clients) + 256;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = std::min(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur < want) {
    spdlog::warn(
        "max clients is {} but the file descriptor limit is {} (hard limit {}): clients past "
        "about {} will be refused by the kernel; raise it with ulimit -n",
        max_clients, rl.rlim_cur, rl.rlim_max, rl.rlim_cur > 256 ? rl.rlim_cur - 256 : 0);
  }
}

}  // namespace

Server::Server(ServerConfig config) : config_(std::move(config)) {}

Server::~Server() {
  Stop();
  Shutdown();
}

Status Server::Start() {
  Status st = config_.Validate();
  if (!st.ok()) return st;

  // SIGTERM/SIGINT are taken by Run() with sigtimedwait: block them here,
  // before any thread exists, so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  RaiseFileLimit(config_.max_clients);

  Options options;
  options.default_topic_config = config_.DefaultTopicConfig();
  std::vector<broker::TopicRule> rules;
  for (const TopicRuleSpec& spec : config_.topic_rules) {
    rules.push_back({spec.pattern, spec.durable, spec.Apply(options.default_topic_config)});
  }
  topic_rules_ = broker::TopicRules(options.default_topic_config, std::move(rules));
  auto log = Log::Open(config_.data_dir, options);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);

  pool_ = std::make_unique<net::IoPool>(
      config_.threads, net::IdlePollOptions{std::chrono::microseconds(config_.idle_poll_us)});
  net::IoPool* pool = pool_.get();
  broker::Router::Post post = [pool](uint32_t thread, std::function<void()> fn) {
    asio::post(pool->context(static_cast<int>(thread)), std::move(fn));
  };
  broker_ = std::make_unique<broker::Broker>(static_cast<uint32_t>(pool_->size()), post,
                                             config_.max_clients);
  broker::Settings& s = broker_->settings();
  s.timeout_seconds = config_.timeout_seconds;
  s.tcp_keepalive_seconds = config_.tcp_keepalive_seconds;
  s.proto_max_bulk_len = config_.proto_max_bulk_len;
  s.max_multibulk_len = config_.max_multibulk_len;
  s.pubsub_hard_bytes = config_.pubsub_limit.hard_bytes;
  s.pubsub_soft_bytes = config_.pubsub_limit.soft_bytes;
  s.pubsub_soft_seconds = config_.pubsub_limit.soft_seconds;
  s.SetRequirePass(config_.requirepass);

  resp_ = std::make_unique<resp::RespContext>();
  resp_->broker = broker_.get();
  resp_->log = log_.get();
  auto streams = broker::streams::StreamStore::Open(log_.get(), &topic_rules_);
  if (!streams.ok()) return streams.status();
  streams_ = std::move(*streams);
  resp_->streams = streams_.get();
  resp_->facts.version = RUNNEL_VERSION;
  resp_->facts.executable = ExecutablePath();
  resp_->facts.config_file = config_.config_file;
  resp_->facts.data_dir = config_.data_dir;
  resp_->facts.bind = config_.resp.host;
  resp_->facts.io_threads = pool_->size();
  resp_->facts.shutdown_timeout_ms = config_.shutdown_timeout_ms;
  resp_->pool = pool_.get();

  resp::RespContext* ctx = resp_.get();
  net::SessionFactory resp_factory = [ctx](net::Connection& c) {
    return std::make_unique<resp::RespSession>(c, ctx);
  };
  if (!config_.resp.empty()) {
    st = AddListener("resp", config_.resp, /*tls=*/false, resp_factory);
    if (!st.ok()) return st;
    resp_->facts.port = listeners_.back()->port();
  }
  if (!config_.resp_tls.empty() || !config_.kafka_tls.empty()) {
    // One context for both TLS listeners: the same certificate, key and CA.
    auto tls = net::MakeServerTlsContext({config_.tls_cert, config_.tls_key, config_.tls_ca});
    if (!tls.ok()) return tls.status();
    tls_ = *tls;
  }
  if (!config_.resp_tls.empty()) {
    st = AddListener("resp-tls", config_.resp_tls, /*tls=*/true, resp_factory);
    if (!st.ok()) return st;
    resp_->facts.tls_port = listeners_.back()->port();
  }
  if (!config_.kafka.empty() || !config_.kafka_tls.empty()) {
    kafka_ = std::make_unique<kafka::KafkaContext>(log_.get(), pool_.get());
    kafka_->default_topic_config = options.default_topic_config;
    const broker::TopicRules* rules_ptr = &topic_rules_;
    broker::streams::StreamStore* store = streams_.get();
    kafka_->topic_config = [rules_ptr](std::string_view t) { return rules_ptr->ConfigFor(t); };
    kafka_->topic_created = [store](std::string_view t) { store->NoteTopicCreated(t); };
    kafka_->appended = [store](std::string_view t, int32_t partition, int64_t end) {
      store->NoteAppended(t, partition, end);
    };
    kafka_->delete_topic = [store](std::string_view t) -> Status {
      auto deleted = store->Delete(t);  // as DEL: the stream's meta state goes too
      if (!deleted.ok()) return deleted.status();
      return *deleted ? Status::OK() : Status::NotFound("topic '" + std::string(t) + "' not found");
    };
    broker::Router* router = &broker_->router();
    kafka_->has_subscribers = [router](std::string_view t) {
      return router->NumSub(t) > 0 || router->NumPat() > 0 || router->NumFilters() > 0;
    };
    kafka_->produced = [router](uint32_t thread, std::string_view t, std::string_view batch) {
      // Each record's value, as PUBLISH <topic> <value> (null values are
      // tombstones, not messages). A batch that does not decode was still
      // stored; it is just not delivered live (Fetch returns it as stored).
      (void)ForEachRecordInBatch(batch, size_t{64} << 20, [&](const RecordView& r) {
        if (r.value) router->Publish(thread, broker::MakeMessage(t, *r.value));
      });
      router->FlushOutbox(thread);
    };
    kafka_->backlogged = [router](uint32_t thread) { return router->Backlogged(thread); };
    kafka_->auto_create_topics = config_.kafka_auto_create_topics;
    kafka_->max_request_bytes = static_cast<size_t>(config_.kafka_max_request_bytes);
    kafka::GroupSettings gs;
    gs.initial_rebalance_delay_ms =
        static_cast<int32_t>(config_.kafka_group_initial_rebalance_delay_ms);
    gs.min_session_timeout_ms = static_cast<int32_t>(config_.kafka_group_min_session_timeout_ms);
    gs.max_session_timeout_ms = static_cast<int32_t>(config_.kafka_group_max_session_timeout_ms);
    // Committed offsets follow the server's fsync policy, like the records
    // they point into (docs/protocols/kafka.md "Consumer groups").
    kafka::RetentionSettings rs;
    rs.retention_ms = config_.KafkaOffsetsRetentionMs();
    rs.check_interval_ms = config_.kafka_offsets_retention_check_interval_ms;
    st = kafka_->StartGroups(gs, config_.fsync, rs);
    if (!st.ok()) return st;
    for (const ServerConfig::KafkaUser& u : config_.kafka_users) {
      if (u.scram_sha256.empty()) {
        kafka_->sasl_users.AddUser(u.name, u.password);  // salted here; the password is not kept
        continue;
      }
      kafka::ScramCredential cred;
      std::string why;
      if (!kafka::ParseScramCredential(u.scram_sha256, &cred, &why)) {
        return Status::InvalidArgument("kafka users: '" + u.name + "': " + why);  // Validate'd
      }
      kafka_->sasl_users.AddCredential(u.name, std::move(cred));
    }
    kafka_->sasl_mechanisms = config_.kafka_sasl_mechanisms;
    // Each listener advertises itself (its own port), as Kafka's
    // advertised.listeners: a TLS client's Metadata names the TLS port.
    auto add_kafka = [&](const std::string& name, const Address& address, bool tls, bool sasl,
                         int64_t advertised_port) -> Status {
      kafka::KafkaListener& kl = kafka_->listeners.emplace_back();
      kl.name = name;
      kl.sasl = sasl;
      kafka::KafkaContext* kctx = kafka_.get();
      const kafka::KafkaListener* klp = &kl;
      Status added = AddListener(name, address, tls, [kctx, klp](net::Connection& c) {
        return std::make_unique<kafka::KafkaSession>(c, kctx, klp);
      });
      if (!added.ok()) return added;
      kl.advertised_host = !config_.kafka_advertised_host.empty() ? config_.kafka_advertised_host
                           : (address.host == "0.0.0.0" || address.host == "::") ? "127.0.0.1"
                                                                                 : address.host;
      kl.advertised_port =
          advertised_port > 0 ? static_cast<int32_t>(advertised_port) : listeners_.back()->port();
      return Status::OK();
    };
    if (!config_.kafka.empty()) {
      st = add_kafka("kafka", config_.kafka, false, config_.kafka_sasl,
                     config_.kafka_advertised_port);
      if (!st.ok()) return st;
    }
    if (config_.kafka_tls_sasl && config_.kafka_tls.empty()) {
      spdlog::warn("kafka tls_sasl is set but there is no Kafka TLS listener (tls_listen)");
    }
    if (!config_.kafka_tls.empty()) {
      st = add_kafka("kafka-tls", config_.kafka_tls, true, config_.kafka_tls_sasl,
                     config_.kafka_tls_advertised_port);
      if (!st.ok()) return st;
    }
  }
  if (listeners_.empty()) return Status::InvalidArgument("no listener configured");

  if (config_.steward_interval_ms > 0) {
    steward_ = std::make_unique<StewardLoop>(
        log_.get(), std::chrono::milliseconds(config_.steward_interval_ms));
  }
  for (int t = 0; t < pool_->size(); ++t) {
    cron_timers_.push_back(std::make_unique<asio::steady_timer>(pool_->context(t)));
    ScheduleCron(t);
  }
  pool_->Start();
  for (const auto& l : listeners_) {
    const bool sasl = (l->config().name == "kafka" && config_.kafka_sasl) ||
                      (l->config().name == "kafka-tls" && config_.kafka_tls_sasl);
    spdlog::info("listening: {} on {}:{}{}{}", l->config().name, l->config().host, l->port(),
                 l->config().tls ? (config_.tls_ca.empty() ? " (TLS)" : " (mutual TLS)") : "",
                 sasl ? " (SASL)" : "");
  }
  spdlog::info("runnel {} ready: data {}, {} io threads, pid {}", RUNNEL_VERSION, config_.data_dir,
               pool_->size(), getpid());
  return Status::OK();
}

Status Server::AddListener(const std::string& name, const Address& address, bool tls,
                           net::SessionFactory factory) {
  net::ListenerConfig lc;
  lc.name = name;
  lc.host = address.host;
  lc.port = address.port;
  if (tls) lc.tls = tls_;
  lc.keepalive_seconds = static_cast<int>(config_.tcp_keepalive_seconds);
  lc.limits.handshake_timeout = std::chrono::milliseconds(config_.tls_handshake_timeout_ms);
  auto listener = std::make_unique<net::Listener>(pool_.get(), lc, std::move(factory));
  Status st = listener->Start();
  if (!st.ok()) return st;
  listeners_.push_back(std::move(listener));
  return Status::OK();
}

// Once a second on every io thread: idle timeouts and soft output limits.
void Server::ScheduleCron(int thread) {
  asio::steady_timer& timer = *cron_timers_[thread];
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([this, thread](boost::system::error_code ec) {
    if (ec || stopping_.load()) return;
    broker_->local(static_cast<uint32_t>(thread)).Cron(std::chrono::steady_clock::now());
    ScheduleCron(thread);
  });
}

std::vector<std::pair<std::string, uint16_t>> Server::ListeningPorts() const {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (const auto& l : listeners_) out.emplace_back(l->config().name, l->port());
  return out;
}

void Server::Run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const timespec tick{0, 100 * 1000 * 1000};
  for (;;) {
    {
      std::lock_guard lock(stop_mu_);
      if (stop_requested_) break;
    }
    siginfo_t info;
    const int sig = sigtimedwait(&set, &info, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  Shutdown();
}

void Server::Stop() {
  std::lock_guard lock(stop_mu_);
  stop_requested_ = true;
}

void Server::Shutdown() {
  if (!pool_ || shut_down_) return;
  shut_down_ = true;
  stopping_ = true;
  // Stop accepting, then let every connection send what it has queued.
  for (auto& l : listeners_) l->Stop();
  for (int t = 0; t < pool_->size(); ++t) {
    broker::LocalClients* local = &broker_->local(static_cast<uint32_t>(t));
    asio::post(pool_->context(t), [local] { local->Shutdown(); });
  }
  const auto grace = std::chrono::milliseconds(config_.shutdown_timeout_ms);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  if (kafka_) kafka_->CloseAll(grace);
  while (broker_->clients().size() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pool_->Stop();
  // A connection still open after the grace period (or whose close had not
  // run yet) lives in a queued handler or suspended coroutine. Dropping
  // those here, once the Kafka appends' answers are queued too, destroys it
  // while the broker, the Kafka context and the log it uses still exist.
  if (kafka_) kafka_->WaitForAppends();
  pool_->DropPendingWork();
  listeners_.clear();
  cron_timers_.clear();
  kafka_.reset();  // removes its append listener from the log
  steward_.reset();  // waits for a pass in progress
  // Streams hold producers of the log: they go first.
  streams_.reset();
  // Closing the log flushes and syncs every partition written to.
  log_.reset();
  spdlog::info("runnel stopped");
}

}  // namespace runnel::server
