// ServerConfig: every setting of `runnel serve`, from defaults, a TOML file
// (--config) and flags, in that order of precedence (flags win).
//
// TOML layout (all keys optional; see docs/config.md):
//   data = "./runnel-data"        threads = 0 (= cores)      log_level = "info"
//   idle_poll_us = 50 (0 = off; net/io_pool.h)   shutdown_timeout_ms = 2000
//   fsync = "interval:1000"       requirepass = ""
//   [resp]  listen = "127.0.0.1:6379"   tls_listen = ""
//   [kafka] listen = "127.0.0.1:9092" (or "off")  advertised_host = ""  advertised_port = 0
//           auto_create_topics = true  max_request_bytes = 104857600
//           group_initial_rebalance_delay_ms = 300
//           group_min_session_timeout_ms = 6000  group_max_session_timeout_ms = 1800000
//           offsets_retention_minutes = 10080  offsets_retention_ms (wins when set)
//           offsets_retention_check_interval_ms = 600000
//           tls_listen = ""  tls_advertised_port = 0  sasl = false  tls_sasl = false
//           sasl_mechanisms = ["PLAIN", "SCRAM-SHA-256"]
//   [[kafka.users]] name = "alice"  password = "..."  (or scram_sha256 = "salt=...,...")
//   [tls]   cert = ""  key = ""  ca = ""
//   [limits] max_clients = 10000  timeout = 0  tcp_keepalive = 300
//            proto_max_bulk_len = 536870912  max_multibulk_len = 1048576
//            pubsub_hard = 33554432  pubsub_soft = 8388608  pubsub_soft_seconds = 60
//            tls_handshake_timeout_ms = 10000
//   [[topics]] pattern = "orders.*"  durable = false  fsync = ""  partitions, retention_ms,
//              retention_bytes, compact, delete_retention_ms, segment_bytes, segment_ms,
//              max_message_bytes (each optional; see broker/topic_rules.h)
//   [storage] steward_interval_ms = 60000 (0 = no background steward)
#pragma once

#include "runnel/options.h"
#include "runnel/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace runnel::server {

struct Address {
  std::string host;
  uint16_t port = 0;
  bool empty() const { return host.empty(); }
  std::string ToString() const;
};

// "host:port", "[v6]:port" or ":port" (= 127.0.0.1). Errors name the text.
Result<Address> ParseAddress(std::string_view text);

struct OutputLimit {
  uint64_t hard_bytes = 0;  // 0 = none
  uint64_t soft_bytes = 0;
  int64_t soft_seconds = 0;
};

// One `[[topics]]` table: a glob pattern and the settings it overrides.
// Applied over the server's default topic config when the server starts
// (so `--fsync` given as a flag is the base a rule's fsync overrides).
struct TopicRuleSpec {
  std::string pattern;
  bool durable = false;
  std::optional<FsyncSpec> fsync;
  std::optional<int64_t> partitions, retention_ms, retention_bytes, delete_retention_ms,
      segment_bytes, segment_ms, max_message_bytes;
  std::optional<bool> compact;

  TopicConfig Apply(TopicConfig base) const;
};

struct ServerConfig {
  std::string config_file;  // the --config file read, if any (INFO config_file)
  std::string data_dir = "./runnel-data";
  int threads = 0;
  int64_t idle_poll_us = 50;  // io threads' idle polling window (net/io_pool.h); 0 = off
  // How long SIGTERM waits for connections to send what they have queued
  // and close before the io threads stop (server.cc Shutdown).
  int64_t shutdown_timeout_ms = 2000;
  std::string log_level = "info";
  FsyncSpec fsync;  // default policy for topics the server creates
  std::string requirepass;

  Address resp{"127.0.0.1", 6379};
  Address resp_tls;  // empty = off
  Address kafka{"127.0.0.1", 9092};  // empty = off
  std::string kafka_advertised_host;  // empty: the listen host (127.0.0.1 for 0.0.0.0/::)
  int64_t kafka_advertised_port = 0;  // 0: the bound port
  bool kafka_auto_create_topics = true;
  int64_t kafka_max_request_bytes = 104857600;  // Kafka's socket.request.max.bytes
  // Consumer groups (Kafka's group.initial.rebalance.delay.ms, 3000 there,
  // and group.min/max.session.timeout.ms).
  int64_t kafka_group_initial_rebalance_delay_ms = 300;
  int64_t kafka_group_min_session_timeout_ms = 6000;
  int64_t kafka_group_max_session_timeout_ms = 1800000;
  // Kafka's offsets.retention.minutes (7 days) and its check interval;
  // kafka_offsets_retention_ms > 0 overrides the minutes (tests use it).
  int64_t kafka_offsets_retention_minutes = 10080;
  int64_t kafka_offsets_retention_ms = 0;
  int64_t kafka_offsets_retention_check_interval_ms = 600000;
  int64_t KafkaOffsetsRetentionMs() const {
    return kafka_offsets_retention_ms > 0 ? kafka_offsets_retention_ms
                                          : kafka_offsets_retention_minutes * 60000;
  }
  // The Kafka TLS listener (SSL, or SASL_SSL with kafka_tls_sasl); it uses
  // tls_cert/tls_key/tls_ca as the RESP one does.
  Address kafka_tls;                      // empty = off
  int64_t kafka_tls_advertised_port = 0;  // 0: the bound TLS port
  // SASL per listener: SASL_PLAINTEXT on `kafka`, SASL_SSL on `kafka_tls`.
  bool kafka_sasl = false;
  bool kafka_tls_sasl = false;
  std::vector<std::string> kafka_sasl_mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  // A SASL user: a password (salted at start), or a stored SCRAM-SHA-256
  // credential in Kafka's text form (no password in the file; PLAIN still
  // works against it). Exactly one of the two.
  struct KafkaUser {
    std::string name;
    std::string password;
    std::string scram_sha256;
  };
  std::vector<KafkaUser> kafka_users;
  std::string tls_cert, tls_key, tls_ca;

  int64_t max_clients = 10000;
  int64_t timeout_seconds = 0;  // idle clients closed after this; 0 = never
  int64_t tcp_keepalive_seconds = 300;
  int64_t tls_handshake_timeout_ms = 10000;  // a TLS client must finish its handshake within
  int64_t proto_max_bulk_len = 512LL << 20;
  int64_t max_multibulk_len = 1 << 20;
  OutputLimit pubsub_limit{32ULL << 20, 8ULL << 20, 60};
  std::vector<TopicRuleSpec> topic_rules;  // in file order: the first match decides

  // The config of topics the server creates when no rule matches.
  TopicConfig DefaultTopicConfig() const;
  // Time between background steward passes (retention, compaction, freeing
  // segments below each partition's log start); 0 = none.
  int64_t steward_interval_ms = 60000;

  // Reads a TOML file over the current values. Unknown keys are errors
  // (a typo must not silently keep a default).
  Status LoadFile(const std::string& path);
  Status Validate() const;
};

}  // namespace runnel::server
