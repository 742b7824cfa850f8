#include "server/config.h"

#include "protocol/kafka/sasl_credentials.h"

#include <toml++/toml.h>

#include <charconv>
#include <set>

namespace runnel::server {

std::string Address::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Address> ParseAddress(std::string_view text) {
  Address a;
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("address '" + std::string(text) + "' needs host:port");
  }
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  a.host = host.empty() ? "127.0.0.1" : std::string(host);
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return Status::InvalidArgument("address '" + std::string(text) + "': bad port");
  }
  a.port = static_cast<uint16_t>(value);
  return a;
}

namespace {

Status Unknown(const std::string& path, const std::string& key) {
  return Status::InvalidArgument(path + ": unknown setting '" + key + "'");
}

template <typename T>
Status Get(const toml::table& t, const std::string& path, const char* key, T* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::OK();
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = n->value<std::string>()) {
      *out = *v;
      return Status::OK();
    }
  } else {
    if (auto v = n->value<int64_t>()) {
      *out = static_cast<T>(*v);
      return Status::OK();
    }
  }
  return Status::InvalidArgument(path + ": setting '" + key + "' has the wrong type");
}

Status CheckKeys(const toml::table& t, const std::string& path, const std::string& prefix,
                 const std::set<std::string>& known) {
  for (const auto& [k, v] : t) {
    if (!known.count(std::string(k.str()))) return Unknown(path, prefix + std::string(k.str()));
  }
  return Status::OK();
}

Status GetBool(const toml::table& t, const std::string& path, const char* key,
               std::optional<bool>* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::OK();
  auto v = n->value<bool>();
  if (!v) return Status::InvalidArgument(path + ": setting '" + key + "' has the wrong type");
  *out = *v;
  return Status::OK();
}

Status GetOptionalInt(const toml::table& t, const std::string& path, const char* key,
                      std::optional<int64_t>* out) {
  if (!t.get(key)) return Status::OK();
  int64_t v = 0;
  Status st = Get(t, path, key, &v);
  if (st.ok()) *out = v;
  return st;
}

// One [[topics]] table.
Status ParseTopicRule(const toml::table& t, const std::string& path, size_t index,
                      TopicRuleSpec* rule) {
  const std::string where = path + ": topics[" + std::to_string(index) + "]";
  Status st = CheckKeys(t, where, "",
                        {"pattern", "durable", "fsync", "partitions", "retention_ms",
                         "retention_bytes", "compact", "delete_retention_ms", "segment_bytes",
                         "segment_ms", "max_message_bytes"});
  if (!st.ok()) return st;
  if (!(st = Get(t, where, "pattern", &rule->pattern)).ok()) return st;
  if (rule->pattern.empty()) return Status::InvalidArgument(where + ": needs a pattern");
  std::optional<bool> durable;
  if (!(st = GetBool(t, where, "durable", &durable)).ok()) return st;
  rule->durable = durable.value_or(false);
  if (!(st = GetBool(t, where, "compact", &rule->compact)).ok()) return st;
  std::string fsync_text;
  if (!(st = Get(t, where, "fsync", &fsync_text)).ok()) return st;
  if (!fsync_text.empty()) {
    auto f = FsyncSpec::Parse(fsync_text);
    if (!f.ok()) return Status::InvalidArgument(where + ": fsync: " + f.status().message());
    rule->fsync = *f;
  }
  for (auto [key, out] : std::initializer_list<std::pair<const char*, std::optional<int64_t>*>>{
           {"partitions", &rule->partitions},
           {"retention_ms", &rule->retention_ms},
           {"retention_bytes", &rule->retention_bytes},
           {"delete_retention_ms", &rule->delete_retention_ms},
           {"segment_bytes", &rule->segment_bytes},
           {"segment_ms", &rule->segment_ms},
           {"max_message_bytes", &rule->max_message_bytes}}) {
    if (!(st = GetOptionalInt(t, where, key, out)).ok()) return st;
  }
  if (rule->max_message_bytes && (*rule->max_message_bytes < 1 || *rule->max_message_bytes > INT32_MAX)) {
    return Status::InvalidArgument(where + ": max_message_bytes out of range");
  }
  if (rule->partitions && (*rule->partitions < 1 || *rule->partitions > kMaxPartitions)) {
    return Status::InvalidArgument(where + ": partitions must be 1.." +
                                   std::to_string(kMaxPartitions));
  }
  st = rule->Apply(TopicConfig{}).Validate();
  if (!st.ok()) return Status::InvalidArgument(where + ": " + st.message());
  return Status::OK();
}

// [kafka] tls_listen, tls_advertised_port, sasl, tls_sasl, sasl_mechanisms
// and the [[kafka.users]] tables.
Status ParseKafkaSecurity(const toml::table& k, const std::string& path, ServerConfig* c) {
  Status st;
  std::string tls_listen;
  if (!(st = Get(k, path, "tls_listen", &tls_listen)).ok()) return st;
  if (!(st = Get(k, path, "tls_advertised_port", &c->kafka_tls_advertised_port)).ok()) return st;
  if (!tls_listen.empty()) {
    auto a = ParseAddress(tls_listen);
    if (!a.ok())
      return Status::InvalidArgument(path + ": kafka.tls_listen: " + a.status().message());
    c->kafka_tls = *a;
  }
  std::optional<bool> sasl, tls_sasl;
  if (!(st = GetBool(k, path, "sasl", &sasl)).ok()) return st;
  if (!(st = GetBool(k, path, "tls_sasl", &tls_sasl)).ok()) return st;
  c->kafka_sasl = sasl.value_or(c->kafka_sasl);
  c->kafka_tls_sasl = tls_sasl.value_or(c->kafka_tls_sasl);
  if (const toml::node* n = k.get("sasl_mechanisms")) {
    const toml::array* a = n->as_array();
    if (!a) return Status::InvalidArgument(path + ": kafka.sasl_mechanisms must be an array");
    c->kafka_sasl_mechanisms.clear();
    for (const toml::node& m : *a) {
      auto v = m.value<std::string>();
      if (!v) return Status::InvalidArgument(path + ": kafka.sasl_mechanisms must be strings");
      c->kafka_sasl_mechanisms.push_back(*v);
    }
  }
  if (const toml::node* n = k.get("users")) {
    const toml::array* users = n->as_array();
    if (!users) {
      return Status::InvalidArgument(path +
                                     ": kafka.users must be an array of tables ([[kafka.users]])");
    }
    c->kafka_users.clear();
    for (size_t i = 0; i < users->size(); ++i) {
      const std::string where = path + ": kafka.users[" + std::to_string(i) + "]";
      const toml::table* t = (*users)[i].as_table();
      if (!t) return Status::InvalidArgument(where + " is not a table");
      if (!(st = CheckKeys(*t, where, "", {"name", "password", "scram_sha256"})).ok()) return st;
      ServerConfig::KafkaUser u;
      if (!(st = Get(*t, where, "name", &u.name)).ok()) return st;
      if (!(st = Get(*t, where, "password", &u.password)).ok()) return st;
      if (!(st = Get(*t, where, "scram_sha256", &u.scram_sha256)).ok()) return st;
      c->kafka_users.push_back(std::move(u));
    }
  }
  return Status::OK();
}

}  // namespace

TopicConfig TopicRuleSpec::Apply(TopicConfig c) const {
  if (fsync) c.fsync = *fsync;
  if (partitions) c.partitions = static_cast<int32_t>(*partitions);
  if (retention_ms) c.retention_ms = *retention_ms;
  if (retention_bytes) c.retention_bytes = *retention_bytes;
  if (compact) c.compact = *compact;
  if (delete_retention_ms) c.delete_retention_ms = *delete_retention_ms;
  if (segment_bytes) c.segment_bytes = *segment_bytes;
  if (segment_ms) c.segment_ms = *segment_ms;
  if (max_message_bytes) c.max_message_bytes = static_cast<int32_t>(*max_message_bytes);
  return c;
}

TopicConfig ServerConfig::DefaultTopicConfig() const {
  TopicConfig c;
  c.fsync = fsync;
  return c;
}

Status ServerConfig::LoadFile(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidArgument(path + ":" + std::to_string(where.line) + ":" +
                                   std::to_string(where.column) + ": " +
                                   std::string(e.description()));
  }
  Status st = CheckKeys(
      root, path, "",
      {"data", "threads", "idle_poll_us", "shutdown_timeout_ms", "log_level", "fsync", "requirepass", "resp", "kafka",
       "tls", "limits", "topics", "storage"});
  if (!st.ok()) return st;
  std::string fsync_text;
  for (Status s : {Get(root, path, "data", &data_dir), Get(root, path, "threads", &threads),
                   Get(root, path, "idle_poll_us", &idle_poll_us),
                   Get(root, path, "shutdown_timeout_ms", &shutdown_timeout_ms),
                   Get(root, path, "log_level", &log_level), Get(root, path, "fsync", &fsync_text),
                   Get(root, path, "requirepass", &requirepass)}) {
    if (!s.ok()) return s;
  }
  if (!fsync_text.empty()) {
    auto f = FsyncSpec::Parse(fsync_text);
    if (!f.ok()) return Status::InvalidArgument(path + ": fsync: " + f.status().message());
    fsync = *f;
  }
  if (const toml::table* resp_t = root["resp"].as_table()) {
    if (!(st = CheckKeys(*resp_t, path, "resp.", {"listen", "tls_listen"})).ok()) return st;
    std::string listen, tls_listen;
    if (!(st = Get(*resp_t, path, "listen", &listen)).ok()) return st;
    if (!(st = Get(*resp_t, path, "tls_listen", &tls_listen)).ok()) return st;
    if (!listen.empty()) {
      auto a = ParseAddress(listen);
      if (!a.ok()) return Status::InvalidArgument(path + ": resp.listen: " + a.status().message());
      resp = *a;
    }
    if (!tls_listen.empty()) {
      auto a = ParseAddress(tls_listen);
      if (!a.ok())
        return Status::InvalidArgument(path + ": resp.tls_listen: " + a.status().message());
      resp_tls = *a;
    }
  }
  if (const toml::table* k = root["kafka"].as_table()) {
    st = CheckKeys(*k, path, "kafka.",
                   {"listen", "advertised_host", "advertised_port", "auto_create_topics",
                    "max_request_bytes", "group_initial_rebalance_delay_ms",
                    "group_min_session_timeout_ms", "group_max_session_timeout_ms",
                    "offsets_retention_minutes", "offsets_retention_ms",
                    "offsets_retention_check_interval_ms", "tls_listen",
                    "tls_advertised_port", "sasl", "tls_sasl", "sasl_mechanisms", "users"});
    if (!st.ok()) return st;
    if (!(st = ParseKafkaSecurity(*k, path, this)).ok()) return st;
    std::string listen;
    for (Status s :
         {Get(*k, path, "listen", &listen),
          Get(*k, path, "advertised_host", &kafka_advertised_host),
          Get(*k, path, "advertised_port", &kafka_advertised_port),
          Get(*k, path, "max_request_bytes", &kafka_max_request_bytes),
          Get(*k, path, "group_initial_rebalance_delay_ms",
              &kafka_group_initial_rebalance_delay_ms),
          Get(*k, path, "group_min_session_timeout_ms", &kafka_group_min_session_timeout_ms),
          Get(*k, path, "group_max_session_timeout_ms", &kafka_group_max_session_timeout_ms),
          Get(*k, path, "offsets_retention_minutes", &kafka_offsets_retention_minutes),
          Get(*k, path, "offsets_retention_ms", &kafka_offsets_retention_ms),
          Get(*k, path, "offsets_retention_check_interval_ms",
              &kafka_offsets_retention_check_interval_ms)}) {
      if (!s.ok()) return s;
    }
    if (const toml::node* n = k->get("auto_create_topics")) {
      auto v = n->value<bool>();
      if (!v)
        return Status::InvalidArgument(path + ": setting 'auto_create_topics' has the wrong type");
      kafka_auto_create_topics = *v;
    }
    if (listen == "off") {
      kafka = {};
    } else if (!listen.empty()) {
      auto a = ParseAddress(listen);
      if (!a.ok()) return Status::InvalidArgument(path + ": kafka.listen: " + a.status().message());
      kafka = *a;
    }
  }
  if (const toml::table* tls_t = root["tls"].as_table()) {
    if (!(st = CheckKeys(*tls_t, path, "tls.", {"cert", "key", "ca"})).ok()) return st;
    for (Status s : {Get(*tls_t, path, "cert", &tls_cert), Get(*tls_t, path, "key", &tls_key),
                     Get(*tls_t, path, "ca", &tls_ca)}) {
      if (!s.ok()) return s;
    }
  }
  if (const toml::table* l = root["limits"].as_table()) {
    st = CheckKeys(
        *l, path, "limits.",
        {"max_clients", "timeout", "tcp_keepalive", "proto_max_bulk_len", "max_multibulk_len",
         "pubsub_hard", "pubsub_soft", "pubsub_soft_seconds", "tls_handshake_timeout_ms"});
    if (!st.ok()) return st;
    for (Status s :
         {Get(*l, path, "max_clients", &max_clients), Get(*l, path, "timeout", &timeout_seconds),
          Get(*l, path, "tcp_keepalive", &tcp_keepalive_seconds),
          Get(*l, path, "proto_max_bulk_len", &proto_max_bulk_len),
          Get(*l, path, "max_multibulk_len", &max_multibulk_len),
          Get(*l, path, "pubsub_hard", &pubsub_limit.hard_bytes),
          Get(*l, path, "pubsub_soft", &pubsub_limit.soft_bytes),
          Get(*l, path, "pubsub_soft_seconds", &pubsub_limit.soft_seconds),
          Get(*l, path, "tls_handshake_timeout_ms", &tls_handshake_timeout_ms)}) {
      if (!s.ok()) return s;
    }
  }
  if (const toml::table* s = root["storage"].as_table()) {
    if (!(st = CheckKeys(*s, path, "storage.", {"steward_interval_ms"})).ok()) return st;
    if (!(st = Get(*s, path, "steward_interval_ms", &steward_interval_ms)).ok()) return st;
  }
  if (const toml::node* topics = root.get("topics")) {
    const toml::array* rules = topics->as_array();
    if (!rules) return Status::InvalidArgument(path + ": topics must be an array of tables ([[topics]])");
    topic_rules.clear();
    for (size_t i = 0; i < rules->size(); ++i) {
      const toml::table* t = (*rules)[i].as_table();
      if (!t) return Status::InvalidArgument(path + ": topics[" + std::to_string(i) + "] is not a table");
      TopicRuleSpec rule;
      if (!(st = ParseTopicRule(*t, path, i, &rule)).ok()) return st;
      topic_rules.push_back(std::move(rule));
    }
  }
  return Validate();
}

Status ServerConfig::Validate() const {
  if (data_dir.empty()) return Status::InvalidArgument("data directory is empty");
  if (threads < 0 || threads > 256) return Status::InvalidArgument("threads must be 0..256");
  if (idle_poll_us < 0 || idle_poll_us > 10000) {
    return Status::InvalidArgument("idle_poll_us must be 0..10000");
  }
  if (shutdown_timeout_ms < 0 || shutdown_timeout_ms > 600000) {
    return Status::InvalidArgument("shutdown_timeout_ms must be 0..600000");
  }
  if (max_clients < 1) return Status::InvalidArgument("max_clients must be >= 1");
  if (timeout_seconds < 0) return Status::InvalidArgument("timeout must be >= 0");
  if (steward_interval_ms < 0) {
    return Status::InvalidArgument("storage.steward_interval_ms must be >= 0 (0 = off)");
  }
  if (tls_handshake_timeout_ms < 1) {
    return Status::InvalidArgument("tls_handshake_timeout_ms must be >= 1");
  }
  if (proto_max_bulk_len < 1024) return Status::InvalidArgument("proto_max_bulk_len too small");
  if (max_multibulk_len < 1) return Status::InvalidArgument("max_multibulk_len must be >= 1");
  if (!resp_tls.empty() && (tls_cert.empty() || tls_key.empty())) {
    return Status::InvalidArgument("a TLS listener needs tls cert and key files");
  }
  if (kafka_advertised_port < 0 || kafka_advertised_port > 65535 || kafka_tls_advertised_port < 0 ||
      kafka_tls_advertised_port > 65535) {
    return Status::InvalidArgument("kafka advertised_port must be 0..65535");
  }
  if (!kafka_tls.empty() && (tls_cert.empty() || tls_key.empty())) {
    return Status::InvalidArgument("a TLS listener needs tls cert and key files");
  }
  if (kafka_sasl || kafka_tls_sasl) {
    if (kafka_sasl_mechanisms.empty()) {
      return Status::InvalidArgument("kafka sasl needs at least one of sasl_mechanisms");
    }
    if (kafka_users.empty()) {
      return Status::InvalidArgument("kafka sasl needs at least one [[kafka.users]]");
    }
  }
  std::set<std::string> mechanisms;
  for (const std::string& m : kafka_sasl_mechanisms) {
    if (m != "PLAIN" && m != "SCRAM-SHA-256") {
      return Status::InvalidArgument("kafka sasl_mechanisms: '" + m +
                                     "' is not one of PLAIN, SCRAM-SHA-256");
    }
    if (!mechanisms.insert(m).second) {
      return Status::InvalidArgument("kafka sasl_mechanisms: '" + m + "' given twice");
    }
  }
  std::set<std::string> users;
  for (const KafkaUser& u : kafka_users) {
    // Kafka user names are SASL names: any UTF-8 but NUL (PLAIN's separator).
    if (u.name.empty() || u.name.find('\0') != std::string::npos) {
      return Status::InvalidArgument("kafka users: a user needs a name (without NUL)");
    }
    if (u.password.empty() == u.scram_sha256.empty()) {
      return Status::InvalidArgument("kafka users: '" + u.name +
                                     "' needs a password or a scram_sha256 credential (one)");
    }
    if (u.password.find('\0') != std::string::npos) {
      return Status::InvalidArgument("kafka users: '" + u.name + "': a password cannot hold NUL");
    }
    kafka::ScramCredential cred;
    std::string why;
    if (!u.scram_sha256.empty() && !kafka::ParseScramCredential(u.scram_sha256, &cred, &why)) {
      return Status::InvalidArgument("kafka users: '" + u.name + "': scram_sha256: " + why);
    }
    if (!users.insert(u.name).second) {
      return Status::InvalidArgument("kafka users: '" + u.name + "' given twice");
    }
  }
  if (kafka_max_request_bytes < 1024 || kafka_max_request_bytes > (1LL << 30)) {
    return Status::InvalidArgument("kafka max_request_bytes must be 1024..1073741824");
  }
  if (kafka_group_initial_rebalance_delay_ms < 0 ||
      kafka_group_initial_rebalance_delay_ms > 300000) {
    return Status::InvalidArgument("kafka group_initial_rebalance_delay_ms must be 0..300000");
  }
  // Up to 100 years, so the milliseconds stay far from overflow.
  if (kafka_offsets_retention_minutes < 1 || kafka_offsets_retention_minutes > 52560000 ||
      kafka_offsets_retention_ms < 0 || kafka_offsets_retention_ms > 3153600000000LL) {
    return Status::InvalidArgument(
        "kafka offsets_retention_minutes must be 1..52560000 and offsets_retention_ms "
        "0..3153600000000 (0: use the minutes)");
  }
  if (kafka_offsets_retention_check_interval_ms < 10 ||
      kafka_offsets_retention_check_interval_ms > 86400000) {
    return Status::InvalidArgument("kafka offsets_retention_check_interval_ms must be 10..86400000");
  }
  if (kafka_group_min_session_timeout_ms < 1 ||
      kafka_group_min_session_timeout_ms > kafka_group_max_session_timeout_ms ||
      kafka_group_max_session_timeout_ms > 86400000) {
    return Status::InvalidArgument(
        "kafka group session timeouts must satisfy 1 <= group_min_session_timeout_ms <= "
        "group_max_session_timeout_ms <= 86400000");
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!kLevels.count(log_level)) {
    return Status::InvalidArgument("log_level must be one of trace, debug, info, warn, error, off");
  }
  return Status::OK();
}

}  // namespace runnel::server
