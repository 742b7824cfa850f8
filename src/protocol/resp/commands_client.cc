// CLIENT subcommands (reference/resp.md §2.2). Other clients are seen
// through the ClientRegistry (any io thread); a kill is posted to the
// victim's own thread.
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include <chrono>
#include <string>

namespace runnel::resp {

namespace {

constexpr std::string_view kClientHelp[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients with the given IDs.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Accepted for newer clients; not stored.",
    "HELP",
    "    Print this help.",
};

bool IsPubSub(const broker::ClientEntry& e) {
  return e.subscriptions.load() + e.patterns.load() + e.shard_subscriptions.load() > 0;
}

// "normal", "pubsub", "master", "replica"/"slave"; false if unknown.
bool ParseClientType(std::string_view t, std::string* out) {
  for (std::string_view known : {"normal", "pubsub", "master", "replica", "slave"}) {
    if (EqualsIgnoreCase(t, known)) {
      *out = known == "slave" ? "replica" : std::string(known);
      return true;
    }
  }
  return false;
}

bool HasType(const broker::ClientEntry& e, const std::string& type) {
  if (type == "pubsub") return IsPubSub(e);
  if (type == "normal") return !IsPubSub(e);
  return false;  // runnel has no replication links (yet)
}

int64_t SecondsSince(int64_t steady_ms) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  return std::max<int64_t>(0, (now - steady_ms) / 1000);
}

}  // namespace

std::string RespSession::ClientLine(const broker::ClientEntry& e) const {
  const auto now = std::chrono::steady_clock::now();
  const int64_t age = std::chrono::duration_cast<std::chrono::seconds>(now - e.created).count();
  const int32_t sub = e.subscriptions.load(), psub = e.patterns.load(),
                ssub = e.shard_subscriptions.load();
  const uint64_t omem = e.output_bytes.load(), qbuf = e.input_bytes.load();
  std::string line;
  line.reserve(256);
  line += "id=" + std::to_string(e.id);
  line += " addr=" + e.addr;
  line += " laddr=" + e.laddr;
  line += " fd=-1";
  line += " name=" + e.name();
  line += " age=" + std::to_string(age);
  line += " idle=" + std::to_string(SecondsSince(e.last_command_ms.load()));
  line += " flags=";
  line += IsPubSub(e) ? "P" : "N";
  line += " db=0 sub=" + std::to_string(sub) + " psub=" + std::to_string(psub) +
          " ssub=" + std::to_string(ssub);
  line += " multi=-1 qbuf=" + std::to_string(qbuf) + " qbuf-free=0 argv-mem=0 multi-mem=0";
  line += " rbs=0 rbp=0 obl=0 oll=0 omem=" + std::to_string(omem);
  line += " tot-mem=" + std::to_string(omem + qbuf);
  line += omem > 0 ? " events=rw" : " events=r";
  line += " cmd=" + e.last_command();
  line += " user=default redir=-1 resp=" + std::to_string(e.resp_version.load());
  line += '\n';
  return line;
}

void RespSession::ClientCmd(Command argv) {
  const std::string_view sub = current_->name.substr(current_->name.find('|') + 1);
  if (sub == "help") {
    Reply([](RespWriter& w) {
      w.ArrayHeader(std::size(kClientHelp));
      for (std::string_view line : kClientHelp) w.SimpleString(line);
    });
  } else if (sub == "id") {
    Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(conn_.id())); });
  } else if (sub == "setname") {
    if (!ValidClientName(argv[2])) {
      ReplyError("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    entry_->SetName(std::string(argv[2]));
    Reply([](RespWriter& w) { w.Raw(kOk); });
  } else if (sub == "getname") {
    const std::string name = entry_->name();
    Reply([&](RespWriter& w) {
      if (name.empty()) {
        w.Null();
      } else {
        w.Bulk(name);
      }
    });
  } else if (sub == "info") {
    // The line as of this command: it is the last command now.
    const std::string line = ClientLine(*entry_);
    Reply([&](RespWriter& w) { w.Verbatim("txt", line); });
  } else if (sub == "list") {
    ClientList(argv);
  } else if (sub == "kill") {
    ClientKill(argv);
  } else if (sub == "no-evict") {
    if (EqualsIgnoreCase(argv[2], "on") || EqualsIgnoreCase(argv[2], "off")) {
      entry_->no_evict.store(EqualsIgnoreCase(argv[2], "on"));
      Reply([](RespWriter& w) { w.Raw(kOk); });
    } else {
      ReplyError(kSyntaxError);
    }
  } else if (sub == "reply") {
    if (EqualsIgnoreCase(argv[2], "on")) {
      reply_mode_ = ReplyMode::kOn;
      Reply([](RespWriter& w) { w.Raw(kOk); });
    } else if (EqualsIgnoreCase(argv[2], "off")) {
      reply_mode_ = ReplyMode::kOff;
    } else if (EqualsIgnoreCase(argv[2], "skip")) {
      if (reply_mode_ == ReplyMode::kOn) reply_mode_ = ReplyMode::kSkipNext;
    } else {
      ReplyError(kSyntaxError);
    }
  } else if (sub == "setinfo") {
    if (EqualsIgnoreCase(argv[2], "lib-name") || EqualsIgnoreCase(argv[2], "lib-ver")) {
      Reply([](RespWriter& w) { w.Raw(kOk); });
    } else {
      ReplyError("ERR Unrecognized option '" + Truncate(argv[2], 128) + "'");
    }
  }
}

void RespSession::ClientList(Command argv) {
  std::string type;
  std::vector<uint64_t> ids;
  if (argv.size() >= 4 && EqualsIgnoreCase(argv[2], "type") && argv.size() == 4) {
    if (!ParseClientType(argv[3], &type)) {
      ReplyError("ERR Unknown client type '" + Truncate(argv[3], 128) + "'");
      return;
    }
  } else if (argv.size() >= 4 && EqualsIgnoreCase(argv[2], "id")) {
    for (size_t i = 3; i < argv.size(); ++i) {
      std::optional<int64_t> id = ParseInt64(argv[i]);
      if (!id || *id <= 0) {
        ReplyError("ERR Invalid client ID");
        return;
      }
      ids.push_back(static_cast<uint64_t>(*id));
    }
  } else if (argv.size() != 2) {
    ReplyError(kSyntaxError);
    return;
  }
  std::string text;
  for (const auto& e : broker_.clients().Snapshot()) {
    if (!type.empty() && !HasType(*e, type)) continue;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), e->id) == ids.end()) continue;
    text += ClientLine(*e);
  }
  Reply([&](RespWriter& w) { w.Verbatim("txt", text); });
}

void RespSession::ClientKill(Command argv) {
  broker::ClientRegistry& registry = broker_.clients();
  if (argv.size() == 3) {  // CLIENT KILL addr:port
    for (const auto& e : registry.Snapshot()) {
      if (e->addr != argv[2]) continue;
      if (e->id == conn_.id()) {
        Reply([](RespWriter& w) { w.Raw(kOk); });
        action_ = Action::kCloseAfterFlush;
        return;
      }
      registry.Kill(e->id);
      Reply([](RespWriter& w) { w.Raw(kOk); });
      return;
    }
    ReplyError("ERR No such client");
    return;
  }
  if ((argv.size() - 2) % 2 != 0) {
    ReplyError(kSyntaxError);
    return;
  }
  uint64_t id = 0;
  int64_t max_age = 0;
  std::string type, addr, laddr;
  bool skip_me = true;
  for (size_t i = 2; i < argv.size(); i += 2) {
    const std::string_view opt = argv[i], value = argv[i + 1];
    if (EqualsIgnoreCase(opt, "id")) {
      std::optional<int64_t> v = ParseInt64(value);
      if (!v || *v <= 0) {
        ReplyError("ERR client-id should be greater than 0");
        return;
      }
      id = static_cast<uint64_t>(*v);
    } else if (EqualsIgnoreCase(opt, "type")) {
      if (!ParseClientType(value, &type)) {
        ReplyError("ERR Unknown client type '" + Truncate(value, 128) + "'");
        return;
      }
    } else if (EqualsIgnoreCase(opt, "addr")) {
      addr = value;
    } else if (EqualsIgnoreCase(opt, "laddr")) {
      laddr = value;
    } else if (EqualsIgnoreCase(opt, "user")) {
      // Redis looks the user up first: an unknown one is an error, not 0.
      // `default` is the only user (names are case-sensitive).
      if (value != "default") {
        ReplyError("ERR No such user '" + Truncate(value, 128) + "'");
        return;
      }
    } else if (EqualsIgnoreCase(opt, "skipme")) {
      if (EqualsIgnoreCase(value, "yes")) {
        skip_me = true;
      } else if (EqualsIgnoreCase(value, "no")) {
        skip_me = false;
      } else {
        ReplyError(kSyntaxError);
        return;
      }
    } else if (EqualsIgnoreCase(opt, "maxage")) {
      std::optional<int64_t> v = ParseInt64(value);
      if (!v) {
        ReplyError(kNotInteger);
        return;
      }
      max_age = *v;
    } else {
      ReplyError(kSyntaxError);
      return;
    }
  }
  int64_t killed = 0;
  bool kill_self = false;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& e : registry.Snapshot()) {
    if (id != 0 && e->id != id) continue;
    if (!type.empty() && !HasType(*e, type)) continue;
    if (!addr.empty() && e->addr != addr) continue;
    if (!laddr.empty() && e->laddr != laddr) continue;
    if (max_age > 0 &&
        std::chrono::duration_cast<std::chrono::seconds>(now - e->created).count() < max_age) {
      continue;
    }
    if (e->id == conn_.id()) {
      if (skip_me) continue;
      kill_self = true;
      ++killed;
      continue;
    }
    if (registry.Kill(e->id)) ++killed;
  }
  Reply([&](RespWriter& w) { w.Integer(killed); });
  if (kill_self) action_ = Action::kCloseAfterFlush;
}

}  // namespace runnel::resp
