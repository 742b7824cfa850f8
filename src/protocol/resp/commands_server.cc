// Server commands: INFO, COMMAND, DBSIZE, FLUSHALL, TIME. CONFIG is in
// commands_config.cc.
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include "runnel/log.h"
#include "broker/streams/stream_store.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <malloc.h>
#include <set>
#include <string>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace runnel::resp {

namespace {

// Redis' bytesToHuman: "1.50M".
std::string Human(uint64_t n) {
  char buf[64];
  const double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(n));
  } else if (n < (1ULL << 20)) {
    std::snprintf(buf, sizeof buf, "%.2fK", d / 1024);
  } else if (n < (1ULL << 30)) {
    std::snprintf(buf, sizeof buf, "%.2fM", d / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.2fG", d / (1ULL << 30));
  }
  return buf;
}

uint64_t RssBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void Field(std::string* out, std::string_view key, const std::string& value) {
  out->append(key);
  out->push_back(':');
  out->append(value);
  out->append("\r\n");
}
void Field(std::string* out, std::string_view key, uint64_t value) {
  Field(out, key, std::to_string(value));
}

constexpr std::string_view kSections[] = {"server", "clients",  "memory",
                                          "stats",  "keyspace", "topics"};
// INFO with no argument (Redis' "default"): topics need disk reads, so only
// when asked for.
constexpr std::string_view kDefaultSections[] = {"server", "clients", "memory", "stats",
                                                 "keyspace"};

void FlagNames(uint32_t flags, std::vector<std::string_view>* out) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kWrite, "write"},   {kReadOnly, "readonly"}, {kAdmin, "admin"},
      {kPubSub, "pubsub"}, {kNoScript, "noscript"}, {kLoading, "loading"},
      {kStale, "stale"},   {kFast, "fast"},         {kNoAuth, "no_auth"},
  };
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out->push_back(name);
  }
}

// One COMMAND INFO entry (Redis 7.0 shape, 10 elements).
void WriteCommandInfo(RespWriter& w, const CommandSpec& c) {
  w.ArrayHeader(10);
  w.Bulk(c.name);
  w.Integer(c.arity);
  std::vector<std::string_view> flags;
  FlagNames(c.flags, &flags);
  w.SetHeader(flags.size());
  for (std::string_view f : flags) w.SimpleString(f);
  w.Integer(0);  // first key: no keys in these commands
  w.Integer(0);
  w.Integer(0);
  std::vector<std::string_view> cats;
  for (size_t pos = 0; pos < c.categories.size();) {
    size_t end = c.categories.find(' ', pos);
    if (end == std::string_view::npos) end = c.categories.size();
    if (end > pos) cats.push_back(c.categories.substr(pos, end - pos));
    pos = end + 1;
  }
  w.SetHeader(cats.size());
  for (std::string_view cat : cats) w.SimpleString(cat);
  w.SetHeader(0);    // tips
  w.ArrayHeader(0);  // key specs
  w.ArrayHeader(c.subcommands.size());
  for (const CommandSpec& sub : c.subcommands) WriteCommandInfo(w, sub);
}

void WriteCommandDocs(RespWriter& w, const CommandSpec& c) {
  const bool has_subs = !c.subcommands.empty();
  w.MapHeader(has_subs ? 4 : 3);
  w.Bulk("summary");
  w.Bulk(c.summary);
  w.Bulk("since");
  w.Bulk("1.0.0");
  w.Bulk("group");
  w.Bulk(c.group);
  if (has_subs) {
    w.Bulk("subcommands");
    w.MapHeader(c.subcommands.size());
    for (const CommandSpec& sub : c.subcommands) {
      w.Bulk(sub.name);
      WriteCommandDocs(w, sub);
    }
  }
}

constexpr std::string_view kCommandHelp[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "HELP",
    "    Print this help.",
};

}  // namespace

void RespSession::Info(Command argv) {
  std::set<std::string> want;
  if (argv.size() == 1) {
    want.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
  }
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string s = Lower(argv[i]);
    if (s == "all" || s == "everything") {
      want.insert(std::begin(kSections), std::end(kSections));
    } else if (s == "default") {
      want.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
    } else {
      want.insert(std::move(s));
    }
  }
  const ServerFacts& facts = ctx_->facts;
  broker::Stats& stats = broker_.stats();
  const broker::RouterStats rstats = broker_.router().stats();
  const auto now = std::chrono::steady_clock::now();
  const int64_t uptime =
      std::chrono::duration_cast<std::chrono::seconds>(now - broker_.started()).count();
  std::string out;
  auto section = [&](std::string_view name, std::string_view title) {
    if (!want.count(std::string(name))) return false;
    if (!out.empty()) out.append("\r\n");
    out.append("# ").append(title).append("\r\n");
    return true;
  };
  if (section("server", "Server")) {
    struct utsname u;
    uname(&u);
    timeval tv;
    gettimeofday(&tv, nullptr);
    Field(&out, "redis_version", std::string(kRedisVersion));
    Field(&out, "runnel_version", facts.version);
    Field(&out, "redis_mode", std::string("standalone"));
    Field(&out, "os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    Field(&out, "arch_bits", std::to_string(sizeof(void*) * 8));
    Field(&out, "multiplexing_api", std::string("epoll"));
    Field(&out, "process_id", static_cast<uint64_t>(getpid()));
    Field(&out, "run_id", broker_.run_id());
    Field(&out, "tcp_port", facts.port);
    if (facts.tls_port != 0) Field(&out, "tls_port", facts.tls_port);
    Field(&out, "server_time_usec",
          static_cast<uint64_t>(tv.tv_sec) * 1000000 + static_cast<uint64_t>(tv.tv_usec));
    Field(&out, "uptime_in_seconds", static_cast<uint64_t>(uptime));
    Field(&out, "uptime_in_days", static_cast<uint64_t>(uptime / 86400));
    Field(&out, "io_threads_active", static_cast<uint64_t>(facts.io_threads));
    Field(&out, "executable", facts.executable);
    Field(&out, "config_file", facts.config_file);
    Field(&out, "data_dir", facts.data_dir);
  }
  if (section("clients", "Clients")) {
    uint64_t pubsub = 0;
    for (const auto& e : broker_.clients().Snapshot()) {
      if (e->subscriptions + e->patterns + e->shard_subscriptions > 0) ++pubsub;
    }
    Field(&out, "connected_clients", broker_.clients().size());
    Field(&out, "maxclients", static_cast<uint64_t>(broker_.clients().max_clients()));
    Field(&out, "pubsub_clients", pubsub);
    Field(&out, "blocked_clients", 0);
  }
  if (section("memory", "Memory")) {
    const uint64_t heap = HeapBytes(), rss = RssBytes();
    Field(&out, "used_memory", heap);
    Field(&out, "used_memory_human", Human(heap));
    Field(&out, "used_memory_rss", rss);
    Field(&out, "used_memory_rss_human", Human(rss));
    Field(&out, "maxmemory", 0);
    Field(&out, "mem_allocator", std::string("libc"));
  }
  if (section("stats", "Stats")) {
    Field(&out, "total_connections_received", broker_.clients().total_connections());
    Field(&out, "total_commands_processed", stats.commands.load());
    Field(&out, "total_net_input_bytes", stats.net_input_bytes.load());
    Field(&out, "total_net_output_bytes", stats.net_output_bytes.load());
    Field(&out, "rejected_connections", broker_.clients().rejected());
    Field(&out, "pubsub_channels", broker_.router().Channels({}).size());
    Field(&out, "pubsub_patterns", broker_.router().NumPat());
    Field(&out, "pubsub_shardchannels", broker_.router().ShardChannels({}).size());
    Field(&out, "pubsub_messages_published", rstats.published);
    Field(&out, "pubsub_messages_delivered", rstats.deliveries);
    Field(&out, "client_output_buffer_limit_disconnections",
          stats.output_limit_disconnections.load());
    Field(&out, "idle_timeout_disconnections", stats.idle_timeouts.load());
    Field(&out, "connections_moved", stats.connections_moved.load());
    if (ctx_->pool != nullptr) {
      Field(&out, "io_idle_polls", ctx_->pool->idle_polls());
      Field(&out, "io_idle_poll_hits", ctx_->pool->idle_poll_hits());
    }
    Field(&out, "protocol_errors", stats.protocol_errors.load());
  }
  if (want.count("keyspace") || want.count("topics")) {
    Result<std::vector<TopicInfo>> topics =
        ctx_->log ? ctx_->log->ListTopics()
                  : Result<std::vector<TopicInfo>>(std::vector<TopicInfo>{});
    // Internal topics (stream meta) are not keys.
    if (topics.ok()) {
      std::erase_if(*topics,
                    [](const TopicInfo& t) { return broker::streams::IsInternalTopic(t.name); });
    }
    const size_t n = topics.ok() ? topics->size() : 0;
    if (section("keyspace", "Keyspace") && n > 0) {
      Field(&out, "db0", "keys=" + std::to_string(n) + ",expires=0,avg_ttl=0");
    }
    if (section("topics", "Topics")) {
      Field(&out, "durable_topics", n);
      // Each topic costs a few stat calls: list at most the first 100.
      size_t listed = 0;
      for (const TopicInfo& t : topics.ok() ? *topics : std::vector<TopicInfo>{}) {
        if (++listed > 100) break;
        Result<TopicInfo> d = ctx_->log->DescribeTopic(t.name);
        if (!d.ok()) continue;
        int64_t messages = 0, bytes = 0;
        for (const PartitionInfo& p : d->partitions) {
          messages += p.end_offset - p.start_offset;
          bytes += p.bytes;
        }
        Field(&out, "topic:" + t.name,
              "partitions=" + std::to_string(t.config.partitions) +
                  ",messages=" + std::to_string(messages) + ",bytes=" + std::to_string(bytes) +
                  ",fsync=" + t.config.fsync.ToString());
      }
    }
  }
  if (!out.empty()) out.append("\r\n");
  Reply([&](RespWriter& w) { w.Verbatim("txt", out); });
}

void RespSession::CommandCmd(Command argv) {
  const std::span<const CommandSpec> all = AllCommands();
  const std::string_view sub =
      current_->name == "command" ? "" : current_->name.substr(current_->name.find('|') + 1);
  if (sub.empty()) {
    Reply([&](RespWriter& w) {
      w.ArrayHeader(all.size());
      for (const CommandSpec& c : all) WriteCommandInfo(w, c);
    });
  } else if (sub == "help") {
    Reply([](RespWriter& w) {
      w.ArrayHeader(std::size(kCommandHelp));
      for (std::string_view line : kCommandHelp) w.SimpleString(line);
    });
  } else if (sub == "count") {
    Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(all.size())); });
  } else if (sub == "list") {
    Reply([&](RespWriter& w) {
      w.ArrayHeader(all.size());
      for (const CommandSpec& c : all) w.Bulk(c.name);
    });
  } else if (sub == "info") {
    Reply([&](RespWriter& w) {
      if (argv.size() == 2) {
        w.ArrayHeader(all.size());
        for (const CommandSpec& c : all) WriteCommandInfo(w, c);
        return;
      }
      w.ArrayHeader(argv.size() - 2);
      for (size_t i = 2; i < argv.size(); ++i) {
        const CommandSpec* c = FindCommand(argv[i]);
        if (c) {
          WriteCommandInfo(w, *c);
        } else {
          w.NullArray();
        }
      }
    });
  } else if (sub == "docs") {
    std::vector<const CommandSpec*> docs;
    if (argv.size() == 2) {
      for (const CommandSpec& c : all) docs.push_back(&c);
    } else {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (const CommandSpec* c = FindCommand(argv[i])) docs.push_back(c);
      }
    }
    Reply([&](RespWriter& w) {
      w.MapHeader(docs.size());
      for (const CommandSpec* c : docs) {
        w.Bulk(c->name);
        WriteCommandDocs(w, *c);
      }
    });
  }
}

void RespSession::DbSize(Command) {
  Result<std::vector<TopicInfo>> topics = ctx_->log->ListTopics();
  if (!topics.ok()) {
    ReplyError("ERR " + topics.status().message());
    return;
  }
  // Internal topics (stream meta) are not keys.
  const auto keys = std::count_if(topics->begin(), topics->end(), [](const TopicInfo& t) {
    return !broker::streams::IsInternalTopic(t.name);
  });
  Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(keys)); });
}

void RespSession::FlushAll(Command argv) {
  if (argv.size() > 2 || (argv.size() == 2 && !EqualsIgnoreCase(argv[1], "async") &&
                          !EqualsIgnoreCase(argv[1], "sync"))) {
    ReplyError(kSyntaxError);
    return;
  }
  // The keyspace is the durable topics: FLUSHALL deletes them all, as Redis
  // deletes every key. Live pub/sub subscriptions are not keys and stay.
  Result<std::vector<TopicInfo>> topics = ctx_->log->ListTopics();
  if (!topics.ok()) {
    ReplyError("ERR " + topics.status().message());
    return;
  }
  for (const TopicInfo& t : *topics) {
    if (broker::streams::IsInternalTopic(t.name)) continue;
    if (ctx_->streams != nullptr) {
      auto r = ctx_->streams->Delete(t.name);  // forgets its stream state too
      if (!r.ok()) {
        ReplyError("ERR " + r.status().message());
        return;
      }
      continue;
    }
    Status st = ctx_->log->DeleteTopic(t.name);
    if (!st.ok() && !st.Is(StatusCode::kNotFound)) {
      ReplyError("ERR " + st.message());
      return;
    }
  }
  spdlog::warn("FLUSHALL from client id={} addr={} deleted {} durable topics", conn_.id(),
               conn_.remote_address(), topics->size());
  Reply([](RespWriter& w) { w.Raw(kOk); });
}

void RespSession::Time(Command) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  const std::string sec = std::to_string(tv.tv_sec), usec = std::to_string(tv.tv_usec);
  Reply([&](RespWriter& w) {
    w.ArrayHeader(2);
    w.Bulk(sec);
    w.Bulk(usec);
  });
}

}  // namespace runnel::resp
