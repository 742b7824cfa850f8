// CONFIG GET / SET / RESETSTAT / REWRITE over the settings runnel has
// (docs/protocols/resp.md lists them). Mutable ones live in
// broker::Settings and take effect as documented there; the rest report
// the server's facts and refuse CONFIG SET as Redis does for immutable
// configs.
#include "broker/glob_match.h"
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace runnel::resp {

namespace {

// Redis' memtoull: a number with an optional unit (b, k, kb, m, mb, g, gb;
// any case). k/m/g are powers of 1000, kb/mb/gb of 1024.
std::optional<uint64_t> ParseMemory(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  const std::string unit = Lower(s.substr(digits));
  uint64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k") {
    mul = 1000;
  } else if (unit == "kb") {
    mul = 1024;
  } else if (unit == "m") {
    mul = 1000 * 1000;
  } else if (unit == "mb") {
    mul = 1024 * 1024;
  } else if (unit == "g") {
    mul = 1000ULL * 1000 * 1000;
  } else if (unit == "gb") {
    mul = 1024ULL * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  std::optional<int64_t> n = ParseInt64(s.substr(0, digits));
  if (!n || static_cast<uint64_t>(*n) > UINT64_MAX / mul) return std::nullopt;
  return static_cast<uint64_t>(*n) * mul;
}

struct ConfigParam {
  std::string_view name;
  // Current value as CONFIG GET shows it.
  std::function<std::string(RespContext&)> get;
  // Checks and applies a value; returns an error suffix ("argument couldn't
  // be parsed into an integer") or empty. Null for an immutable config.
  std::function<std::string(RespContext&, std::string_view)> set;
};

std::string SetInt(std::atomic<int64_t>* target, std::string_view v, int64_t min, int64_t max) {
  std::optional<int64_t> n = ParseInt64(v);
  if (!n) return "argument couldn't be parsed into an integer";
  if (*n < min || *n > max) {
    return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
           " inclusive";
  }
  target->store(*n);
  return {};
}

std::string OutputLimitValue(const broker::Settings& s) {
  return "normal 0 0 0 slave 268435456 67108864 60 pubsub " +
         std::to_string(s.pubsub_hard_bytes.load()) + " " +
         std::to_string(s.pubsub_soft_bytes.load()) + " " +
         std::to_string(s.pubsub_soft_seconds.load());
}

// "class hard soft seconds [class ...]": only the pubsub class is enforced
// (runnel has no replicas, and normal clients are bounded by the
// connection's pause-reading limit instead), so the others must keep their
// defaults rather than be silently ignored.
std::string SetOutputLimit(broker::Settings& s, std::string_view v) {
  std::vector<std::string> words;
  for (size_t pos = 0; pos < v.size();) {
    size_t end = v.find(' ', pos);
    if (end == std::string_view::npos) end = v.size();
    if (end > pos) words.emplace_back(v.substr(pos, end - pos));
    pos = end + 1;
  }
  if (words.empty() || words.size() % 4 != 0)
    return "Wrong number of arguments in buffer limit configuration.";
  for (size_t i = 0; i < words.size(); i += 4) {
    const std::string cls = Lower(words[i]);
    std::optional<uint64_t> hard = ParseMemory(words[i + 1]), soft = ParseMemory(words[i + 2]);
    std::optional<int64_t> secs = ParseInt64(words[i + 3]);
    if (!hard || !soft || !secs || *secs < 0)
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    if (cls == "pubsub") continue;
    if (cls == "normal" || cls == "slave" || cls == "replica") {
      const bool defaults = cls == "normal"
                                ? (*hard == 0 && *soft == 0 && *secs == 0)
                                : (*hard == 268435456 && *soft == 67108864 && *secs == 60);
      if (!defaults) return "runnel enforces only the pubsub class of client-output-buffer-limit";
      continue;
    }
    return "Invalid client class specified in buffer limit configuration.";
  }
  for (size_t i = 0; i < words.size(); i += 4) {
    if (Lower(words[i]) != "pubsub") continue;
    s.pubsub_hard_bytes.store(*ParseMemory(words[i + 1]));
    s.pubsub_soft_bytes.store(*ParseMemory(words[i + 2]));
    s.pubsub_soft_seconds.store(*ParseInt64(words[i + 3]));
  }
  return {};
}

const std::vector<ConfigParam>& Params() {
  static const std::vector<ConfigParam> kParams = {
      {"bind", [](RespContext& c) { return c.facts.bind; }, nullptr},
      {"port", [](RespContext& c) { return std::to_string(c.facts.port); }, nullptr},
      {"tls-port", [](RespContext& c) { return std::to_string(c.facts.tls_port); }, nullptr},
      {"dir", [](RespContext& c) { return c.facts.data_dir; }, nullptr},
      {"io-threads", [](RespContext& c) { return std::to_string(c.facts.io_threads); }, nullptr},
      {"idle-poll-us",
       [](RespContext& c) {
         return std::to_string(c.pool != nullptr ? c.pool->idle_poll().count() : 0);
       },
       nullptr},
      {"shutdown-timeout-ms",
       [](RespContext& c) { return std::to_string(c.facts.shutdown_timeout_ms); }, nullptr},
      {"databases", [](RespContext&) { return std::string("1"); }, nullptr},
      {"save", [](RespContext&) { return std::string(); }, nullptr},
      {"appendonly", [](RespContext&) { return std::string("no"); }, nullptr},
      {"maxmemory", [](RespContext&) { return std::string("0"); }, nullptr},
      {"maxclients",
       [](RespContext& c) { return std::to_string(c.broker->clients().max_clients()); },
       [](RespContext& c, std::string_view v) -> std::string {
         std::optional<int64_t> n = ParseInt64(v);
         if (!n) return "argument couldn't be parsed into an integer";
         if (*n < 1 || *n > 1000000) return "argument must be between 1 and 1000000 inclusive";
         c.broker->clients().set_max_clients(*n);
         return {};
       }},
      {"timeout",
       [](RespContext& c) { return std::to_string(c.broker->settings().timeout_seconds.load()); },
       [](RespContext& c, std::string_view v) {
         return SetInt(&c.broker->settings().timeout_seconds, v, 0, INT32_MAX);
       }},
      {"tcp-keepalive",
       [](RespContext& c) {
         return std::to_string(c.broker->settings().tcp_keepalive_seconds.load());
       },
       nullptr},
      {"proto-max-bulk-len",
       [](RespContext& c) {
         return std::to_string(c.broker->settings().proto_max_bulk_len.load());
       },
       [](RespContext& c, std::string_view v) -> std::string {
         std::optional<uint64_t> n = ParseMemory(v);
         if (!n) return "argument couldn't be parsed into an integer";
         if (*n < (1 << 20) || *n > static_cast<uint64_t>(INT64_MAX)) {
           return "argument must be between 1048576 and 9223372036854775807 inclusive";
         }
         c.broker->settings().proto_max_bulk_len.store(static_cast<int64_t>(*n));
         return {};
       }},
      {"client-output-buffer-limit",
       [](RespContext& c) { return OutputLimitValue(c.broker->settings()); },
       [](RespContext& c, std::string_view v) { return SetOutputLimit(c.broker->settings(), v); }},
      {"follow-subscribers",
       [](RespContext& c) {
         return std::string(c.broker->settings().follow_subscribers.load() ? "yes" : "no");
       },
       [](RespContext& c, std::string_view v) -> std::string {
         if (EqualsIgnoreCase(v, "yes")) {
           c.broker->settings().follow_subscribers.store(true);
         } else if (EqualsIgnoreCase(v, "no")) {
           c.broker->settings().follow_subscribers.store(false);
         } else {
           return "argument must be 'yes' or 'no'";
         }
         return {};
       }},
      {"requirepass", [](RespContext& c) { return c.broker->settings().requirepass(); },
       [](RespContext& c, std::string_view v) -> std::string {
         c.broker->settings().SetRequirePass(std::string(v));
         return {};
       }},
  };
  return kParams;
}

const ConfigParam* FindParam(std::string_view name) {
  for (const ConfigParam& p : Params()) {
    if (EqualsIgnoreCase(p.name, name)) return &p;
  }
  return nullptr;
}

constexpr std::string_view kConfigHelp[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Print this help.",
};

}  // namespace

void RespSession::ConfigCmd(Command argv) {
  const std::string_view sub = current_->name.substr(current_->name.find('|') + 1);
  if (sub == "help") {
    Reply([](RespWriter& w) {
      w.ArrayHeader(std::size(kConfigHelp));
      for (std::string_view line : kConfigHelp) w.SimpleString(line);
    });
  } else if (sub == "get") {
    std::vector<std::pair<std::string_view, std::string>> found;
    for (const ConfigParam& p : Params()) {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (broker::GlobMatch(argv[i], p.name, /*nocase=*/true)) {
          found.emplace_back(p.name, p.get(*ctx_));
          break;
        }
      }
    }
    Reply([&](RespWriter& w) {
      w.MapHeader(found.size());
      for (const auto& [name, value] : found) {
        w.Bulk(name);
        w.Bulk(value);
      }
    });
  } else if (sub == "set") {
    if (argv.size() % 2 != 0) {
      ReplyError("ERR wrong number of arguments for 'config|set' command");
      return;
    }
    // Every name is checked before anything changes; values are then applied
    // in order, so a bad value leaves the earlier pairs applied (Redis 7.0
    // rolls those back; documented in docs/protocols/resp.md).
    for (size_t i = 2; i < argv.size(); i += 2) {
      const ConfigParam* p = FindParam(argv[i]);
      if (p == nullptr) {
        ReplyError("ERR Unknown option or number of arguments for CONFIG SET - '" +
                   Truncate(argv[i], 128) + "'");
        return;
      }
      if (!p->set) {
        ReplyError("ERR CONFIG SET failed (possibly related to argument '" + std::string(p->name) +
                   "') - can't set immutable config");
        return;
      }
    }
    for (size_t i = 2; i < argv.size(); i += 2) {
      const ConfigParam* p = FindParam(argv[i]);
      std::string err = p->set(*ctx_, argv[i + 1]);
      if (!err.empty()) {
        ReplyError("ERR CONFIG SET failed (possibly related to argument '" + std::string(p->name) +
                   "') - " + err);
        return;
      }
      spdlog::info("CONFIG SET {} by client id={}", p->name, conn_.id());
    }
    Reply([](RespWriter& w) { w.Raw(kOk); });
  } else if (sub == "resetstat") {
    broker::Stats& s = broker_.stats();
    s.commands = 0;
    s.net_input_bytes = 0;
    s.net_output_bytes = 0;
    s.output_limit_disconnections = 0;
    s.idle_timeouts = 0;
    s.protocol_errors = 0;
    s.connections_moved = 0;
    Reply([](RespWriter& w) { w.Raw(kOk); });
  } else if (sub == "rewrite") {
    ReplyError(ctx_->facts.config_file.empty()
                   ? "ERR The server is running without a config file"
                   : "ERR CONFIG REWRITE is not supported: edit the config file");
  }
}

}  // namespace runnel::resp
