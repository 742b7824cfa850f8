// The RESP command table: every command runnel answers, with Redis 7.0's
// arity, flags and ACL categories (COMMAND INFO reports them), and the
// subcommands of containers (CLIENT, COMMAND, CONFIG, PUBSUB).
//
// Arity as Redis: argc including the name; negative = at least -arity.
// Immutable after static initialisation; any thread may read it.
#pragma once

#include "protocol/resp/resp_parser.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace runnel::resp {

class RespSession;

enum CommandFlag : uint32_t {
  kNoAuth = 1 << 0,    // allowed before AUTH (AUTH, HELLO, QUIT, RESET)
  kPubSubOk = 1 << 1,  // allowed in RESP2 subscribed mode
  kPubSub = 1 << 2,    // a pub/sub command (COMMAND INFO flag "pubsub")
  kFast = 1 << 3,
  kLoading = 1 << 4,
  kStale = 1 << 5,
  kAdmin = 1 << 6,
  kWrite = 1 << 7,
  kReadOnly = 1 << 8,
  kNoScript = 1 << 9,
  // Reads or changes keys: waits for this connection's unacknowledged
  // appends first, so a client reads its own writes (resp_session.h).
  kSeesAppends = 1 << 10,
};

struct CommandSpec {
  std::string_view name;  // lower case: "client", "client|list" for a subcommand
  int arity;
  uint32_t flags;
  std::string_view categories;  // "@connection @fast", space separated
  std::string_view group;       // COMMAND DOCS group: "connection", "pubsub", "server"
  std::string_view summary;
  void (RespSession::*handler)(Command argv);  // null for a container: see subcommands
  std::span<const CommandSpec> subcommands;
};

// The command named argv[0] (any case), or null.
const CommandSpec* FindCommand(std::string_view name);
// The subcommand of `container` named `name` (any case), or null.
const CommandSpec* FindSubcommand(const CommandSpec& container, std::string_view name);
std::span<const CommandSpec> AllCommands();

}  // namespace runnel::resp
