// The generic key commands over durable topics, the only keys runnel has
// (docs/protocols/resp.md, "Keys"): every durable topic is a key of type
// "stream"; internal topics (`__runnel.`) are not keys.
#include "broker/glob_match.h"
#include "broker/streams/stream_store.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

namespace runnel::resp {

void RespSession::Del(Command argv) {
  int64_t n = 0;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (broker::streams::IsInternalTopic(argv[i])) continue;
    auto r = ctx_->streams->Delete(argv[i]);
    if (!r.ok()) return ReplyError("ERR " + r.status().message());
    if (*r) ++n;
  }
  Reply([&](RespWriter& w) { w.Integer(n); });
}

void RespSession::Exists(Command argv) {
  int64_t n = 0;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (!broker::streams::IsInternalTopic(argv[i]) && ctx_->streams->Exists(argv[i])) ++n;
  }
  Reply([&](RespWriter& w) { w.Integer(n); });
}

void RespSession::Type(Command argv) {
  const bool stream = !broker::streams::IsInternalTopic(argv[1]) && ctx_->streams->Exists(argv[1]);
  Reply([&](RespWriter& w) { w.SimpleString(stream ? "stream" : "none"); });
}

void RespSession::Keys(Command argv) {
  auto keys = ctx_->streams->Keys();
  if (!keys.ok()) return ReplyError("ERR " + keys.status().message());
  std::erase_if(*keys, [&](const std::string& k) { return !broker::GlobMatch(argv[1], k); });
  Reply([&](RespWriter& w) {
    w.ArrayHeader(keys->size());
    for (const auto& k : *keys) w.Bulk(k);
  });
}

// SCAN cursor [MATCH p] [COUNT n] [TYPE t]: every key in one call, cursor
// 0 back. COUNT is a hint in Redis; one full pass keeps SCAN's guarantee
// (every key present for the whole scan is returned) without a cursor into
// a keyspace that other processes may change.
void RespSession::Scan(Command argv) {
  if (!ParseInt64(argv[1]) || argv[1][0] == '-') return ReplyError("ERR invalid cursor");
  std::string_view match = "*";
  std::optional<std::string_view> type;
  for (size_t i = 2; i < argv.size(); i += 2) {
    if (i + 1 >= argv.size()) return ReplyError(kSyntaxError);
    if (EqualsIgnoreCase(argv[i], "match")) {
      match = argv[i + 1];
    } else if (EqualsIgnoreCase(argv[i], "count")) {
      auto n = ParseInt64(argv[i + 1]);
      if (!n) return ReplyError("ERR value is not an integer or out of range");
      if (*n < 1) return ReplyError(kSyntaxError);
    } else if (EqualsIgnoreCase(argv[i], "type")) {
      type = argv[i + 1];
    } else {
      return ReplyError(kSyntaxError);
    }
  }
  std::vector<std::string> keys;
  if (!type || EqualsIgnoreCase(*type, "stream")) {
    auto all = ctx_->streams->Keys();
    if (!all.ok()) return ReplyError("ERR " + all.status().message());
    keys = std::move(*all);
    std::erase_if(keys, [&](const std::string& k) { return !broker::GlobMatch(match, k); });
  }
  Reply([&](RespWriter& w) {
    w.ArrayHeader(2);
    w.Bulk("0");
    w.ArrayHeader(keys.size());
    for (const auto& k : keys) w.Bulk(k);
  });
}

}  // namespace runnel::resp
