// Connection commands: PING, ECHO, HELLO, AUTH, QUIT, RESET, SELECT
// (reference/resp.md §2).
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include <spdlog/spdlog.h>

namespace runnel::resp {

void RespSession::Ping(Command argv) {
  if (argv.size() > 2) {
    ReplyError("ERR wrong number of arguments for 'ping' command");
    return;
  }
  // RESP2 subscribed mode answers with a pub/sub-shaped array.
  if (protocol_ == Protocol::kResp2 && subscribed()) {
    Reply([&](RespWriter& w) {
      w.ArrayHeader(2);
      w.Bulk("pong");
      w.Bulk(argv.size() == 2 ? argv[1] : std::string_view());
    });
    return;
  }
  if (argv.size() == 2) {
    Reply([&](RespWriter& w) { w.Bulk(argv[1]); });
  } else {
    Reply([](RespWriter& w) { w.Raw(kPong); });
  }
}

void RespSession::Echo(Command argv) {
  Reply([&](RespWriter& w) { w.Bulk(argv[1]); });
}

bool RespSession::CheckPassword(std::string_view user, std::string_view pass) const {
  if (user != "default") return false;  // the only user; names are case-sensitive
  const std::string required = broker_.settings().requirepass();
  // The default user without a password (no requirepass) accepts any.
  if (required.empty()) return true;
  return SecureEquals(pass, required);
}

void RespSession::Hello(Command argv) {
  Protocol wanted = protocol_;
  size_t i = 1;
  if (argv.size() >= 2) {
    std::optional<int64_t> ver = ParseInt64(argv[1]);
    if (!ver) {
      ReplyError("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (*ver != 2 && *ver != 3) {
      ReplyError("NOPROTO unsupported protocol version");
      return;
    }
    wanted = *ver == 3 ? Protocol::kResp3 : Protocol::kResp2;
    i = 2;
  }
  std::string_view user, pass, name;
  bool has_auth = false, has_name = false;
  for (; i < argv.size(); ++i) {
    const size_t more = argv.size() - i - 1;
    if (EqualsIgnoreCase(argv[i], "auth") && more >= 2) {
      has_auth = true;
      user = argv[i + 1];
      pass = argv[i + 2];
      i += 2;
    } else if (EqualsIgnoreCase(argv[i], "setname") && more >= 1) {
      has_name = true;
      name = argv[i + 1];
      i += 1;
    } else {
      ReplyError("ERR Syntax error in HELLO option '" + Truncate(argv[i], 128) + "'");
      return;
    }
  }
  if (has_auth) {
    if (!CheckPassword(user, pass)) {
      ReplyError("WRONGPASS invalid username-password pair or user is disabled.");
      return;
    }
    authenticated_ = true;
  }
  if (!authenticated_) {
    ReplyError(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
        "protocol version at the same time");
    return;
  }
  if (has_name) {
    if (!ValidClientName(name)) {
      ReplyError("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    entry_->SetName(std::string(name));
  }
  protocol_ = wanted;
  entry_->resp_version.store(static_cast<int>(protocol_), std::memory_order_relaxed);
  Reply([&](RespWriter& w) {
    w.MapHeader(7);
    w.Bulk("server");
    w.Bulk("redis");
    w.Bulk("version");
    w.Bulk(kRedisVersion);
    w.Bulk("proto");
    w.Integer(static_cast<int64_t>(protocol_));
    w.Bulk("id");
    w.Integer(static_cast<int64_t>(conn_.id()));
    w.Bulk("mode");
    w.Bulk("standalone");
    w.Bulk("role");
    w.Bulk("master");
    w.Bulk("modules");
    w.ArrayHeader(0);
  });
}

void RespSession::Auth(Command argv) {
  if (argv.size() > 3) {
    ReplyError(kSyntaxError);
    return;
  }
  if (argv.size() == 2 && !broker_.settings().auth_required()) {
    ReplyError(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
    return;
  }
  const std::string_view user = argv.size() == 3 ? argv[1] : "default";
  const std::string_view pass = argv.size() == 3 ? argv[2] : argv[1];
  if (!CheckPassword(user, pass)) {
    spdlog::info("AUTH failed for client id={} addr={}", conn_.id(), conn_.remote_address());
    ReplyError("WRONGPASS invalid username-password pair or user is disabled.");
    return;
  }
  authenticated_ = true;
  Reply([](RespWriter& w) { w.Raw(kOk); });
}

void RespSession::Quit(Command) {
  // QUIT is answered even under CLIENT REPLY OFF (Redis sends +OK always).
  conn_.out().Append(kOk);
  action_ = Action::kCloseAfterFlush;
}

void RespSession::ResetCmd(Command) {
  // Subscriptions go without notifications (reference §2.2).
  UnsubscribeAll();
  protocol_ = Protocol::kResp2;
  entry_->resp_version.store(2, std::memory_order_relaxed);
  entry_->SetName("");
  entry_->no_evict.store(false, std::memory_order_relaxed);
  authenticated_ = !broker_.settings().auth_required();
  reply_mode_ = ReplyMode::kOn;
  conn_.out().Append("+RESET\r\n");
}

void RespSession::Select(Command argv) {
  // One database: runnel's namespace is the data directory's topics.
  std::optional<int64_t> db = ParseInt64(argv[1]);
  if (!db) {
    ReplyError(kNotInteger);
    return;
  }
  if (*db != 0) {
    ReplyError("ERR DB index is out of range");
    return;
  }
  Reply([](RespWriter& w) { w.Raw(kOk); });
}

void RespSession::SecurityWarning(Command) {
  spdlog::warn(
      "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands "
      "to runnel's RESP port (client addr={}). Connection aborted.",
      conn_.remote_address());
  action_ = Action::kCloseNow;
}

}  // namespace runnel::resp
