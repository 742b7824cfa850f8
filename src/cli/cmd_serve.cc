// `runnel serve`: the broker. Settings come from defaults, then the TOML file
// given with --config, then flags (flags win); see docs/config.md.
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "server/server.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>

namespace runnel::cli {
namespace {

struct ServeFlags {
  std::string config, data, resp, resp_tls, kafka, kafka_tls, tls_cert, tls_key, tls_ca,
      requirepass, log_level, fsync;
  int threads = 0;
  int64_t idle_poll_us = 0;
  int64_t max_clients = 0, timeout = 0, steward_interval_ms = 0;
};

// Applies the flags the user gave over `config` (already holding defaults
// and the config file).
Status ApplyFlags(const CLI::App& cmd, const ServeFlags& f, server::ServerConfig* c) {
  auto given = [&](const char* name) { return cmd.get_option(name)->count() > 0; };
  if (given("--data")) c->data_dir = f.data;
  if (given("--threads")) c->threads = f.threads;
  if (given("--idle-poll-us")) c->idle_poll_us = f.idle_poll_us;
  if (given("--log-level")) c->log_level = f.log_level;
  if (given("--requirepass")) c->requirepass = f.requirepass;
  if (given("--maxclients")) c->max_clients = f.max_clients;
  if (given("--timeout")) c->timeout_seconds = f.timeout;
  if (given("--steward-interval-ms")) c->steward_interval_ms = f.steward_interval_ms;
  if (given("--tls-cert")) c->tls_cert = f.tls_cert;
  if (given("--tls-key")) c->tls_key = f.tls_key;
  if (given("--tls-ca")) c->tls_ca = f.tls_ca;
  if (given("--fsync")) {
    auto spec = FsyncSpec::Parse(f.fsync);
    if (!spec.ok()) return Status::InvalidArgument("--fsync: " + spec.status().message());
    c->fsync = *spec;
  }
  if (given("--resp")) {
    if (f.resp == "off" || f.resp.empty()) {
      c->resp = {};
    } else {
      auto a = server::ParseAddress(f.resp);
      if (!a.ok()) return Status::InvalidArgument("--resp: " + a.status().message());
      c->resp = *a;
    }
  }
  if (given("--kafka")) {
    if (f.kafka == "off" || f.kafka.empty()) {
      c->kafka = {};
    } else {
      auto a = server::ParseAddress(f.kafka);
      if (!a.ok()) return Status::InvalidArgument("--kafka: " + a.status().message());
      c->kafka = *a;
    }
  }
  if (given("--kafka-tls")) {
    auto a = server::ParseAddress(f.kafka_tls);
    if (!a.ok()) return Status::InvalidArgument("--kafka-tls: " + a.status().message());
    c->kafka_tls = *a;
  }
  if (given("--resp-tls")) {
    auto a = server::ParseAddress(f.resp_tls);
    if (!a.ok()) return Status::InvalidArgument("--resp-tls: " + a.status().message());
    c->resp_tls = *a;
  }
  return c->Validate();
}

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("runnel");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the broker (RESP pub/sub over the log engine)");
  cmd->add_option("--config", f->config, "Config file (TOML); flags override it");
  cmd->add_option("--data", f->data, "Data directory (default ./runnel-data)");
  cmd->add_option("--resp", f->resp, "RESP listener HOST:PORT (default 127.0.0.1:6379; off)");
  cmd->add_option("--kafka", f->kafka, "Kafka listener HOST:PORT (default 127.0.0.1:9092; off)");
  cmd->add_option("--resp-tls", f->resp_tls, "RESP over TLS listener HOST:PORT");
  cmd->add_option("--kafka-tls", f->kafka_tls, "Kafka over TLS listener HOST:PORT");
  cmd->add_option("--tls-cert", f->tls_cert, "TLS certificate chain (PEM)");
  cmd->add_option("--tls-key", f->tls_key, "TLS private key (PEM)");
  cmd->add_option("--tls-ca", f->tls_ca, "CA (PEM): clients must present a certificate it signed");
  cmd->add_option("--threads", f->threads, "io threads (default: one per core)");
  cmd->add_option("--idle-poll-us", f->idle_poll_us,
                  "Busy io threads poll this long before sleeping (default 50; 0 = off)");
  cmd->add_option("--requirepass", f->requirepass, "Password of the default user (AUTH)");
  cmd->add_option("--maxclients", f->max_clients, "Most clients connected at once (10000)");
  cmd->add_option("--timeout", f->timeout, "Close clients idle this many seconds (0 = never)");
  cmd->add_option("--fsync", f->fsync, "Default fsync policy of topics it creates");
  cmd->add_option("--steward-interval-ms", f->steward_interval_ms,
                  "Time between background steward passes: retention, compaction, freeing "
                  "deleted records' segments (60000; 0 = none)");
  cmd->add_option("--log-level", f->log_level, "trace, debug, info, warn, error or off");
  cmd->callback([f, cmd] {
    server::ServerConfig config;
    if (!f->config.empty()) {
      Status st = config.LoadFile(f->config);
      if (!st.ok()) {
        std::fprintf(stderr, "runnel serve: %s\n", st.message().c_str());
        ExitCode() = kExitUsage;
        return;
      }
      config.config_file = f->config;
    }
    Status st = ApplyFlags(*cmd, *f, &config);
    if (!st.ok()) {
      std::fprintf(stderr, "runnel serve: %s\n", st.message().c_str());
      ExitCode() = kExitUsage;
      return;
    }
    SetUpLogging(config.log_level);
    server::Server server(config);
    st = server.Start();
    if (!st.ok()) {
      spdlog::error("cannot start: {}", st.ToString());
      ExitCode() = kExitFailure;
      return;
    }
    server.Run();
    ExitCode() = 0;
  });
}

}  // namespace runnel::cli
