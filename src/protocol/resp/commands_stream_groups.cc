// Redis stream consumer groups (reference/resp.md §4.6-4.7) over
// broker::streams::StreamStore: XGROUP, XREADGROUP [BLOCK], XACK, XPENDING,
// XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS. Parsing, checks and error
// texts follow Redis 7.0's t_stream.c. Every command that changes group
// state replies after its meta event is durable (resp_session.h, "Replies
// in order").
#include "broker/streams/stream_store.h"
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include <mutex>

namespace runnel::resp {

namespace streams = broker::streams;
using streams::StreamError;
using streams::StreamId;

namespace {

constexpr std::string_view kInvalidId =
    "ERR Invalid stream ID specified as stream command argument";
constexpr std::string_view kRequiresKey =
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically.";

std::string NoGroupFor(std::string_view key, std::string_view group) {
  return "NOGROUP No such consumer group '" + std::string(group) + "' for key name '" +
         std::string(key) + "'";
}
std::string NoKeyOrGroup(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) +
         "'";
}

std::string Encode(Protocol p, const std::function<void(RespWriter&)>& f) {
  std::string s;
  RespWriter w(&s, p);
  f(w);
  return s;
}

std::optional<StreamId> StrictId(std::string_view s) {
  return streams::ParseStreamId(s, streams::MissingSeq::kZero, false);
}

void WriteGroupEntry(RespWriter& w, const streams::GroupEntry& e) {
  w.ArrayHeader(2);
  w.Bulk(e.id.ToString());
  if (!e.fields) return w.NullArray();
  w.ArrayHeader(e.fields->size());
  for (const std::string& f : *e.fields) w.Bulk(f);
}

std::string StorageText(const streams::Outcome& o) { return "ERR " + o.detail; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string SubcommandSyntax(Command argv) {
  return "ERR unknown subcommand or wrong number of arguments for '" +
         std::string(argv[1].substr(0, 128)) + "'. Try " + Upper(argv[0]) + " HELP.";
}

}  // namespace

// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP (xgroupCommand).
void RespSession::XGroup(Command argv) {
  const std::string_view sub = current_->name.substr(current_->name.find('|') + 1);
  if (sub == "help") {
    static constexpr std::string_view kHelp[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Print this help."};
    return Reply([&](RespWriter& w) {
      w.ArrayHeader(std::size(kHelp));
      for (auto line : kHelp) w.SimpleString(line);
    });
  }
  const std::string_view key = argv[2], group = argv[3];
  bool mkstream = false;
  std::optional<int64_t> entries_read;
  auto parse_er = [&](std::string_view v) -> bool {
    auto n = ParseInt64(v);
    if (!n) {
      ReplyError(kNotInteger);
      return false;
    }
    if (*n < 0 && *n != streams::kEntriesReadUnknown) {
      ReplyError("ERR value for ENTRIESREAD must be positive or -1");
      return false;
    }
    entries_read = *n;
    return true;
  };
  if (sub == "create") {
    for (size_t j = 5; j < argv.size(); ++j) {
      if (EqualsIgnoreCase(argv[j], "mkstream")) {
        mkstream = true;
      } else if (EqualsIgnoreCase(argv[j], "entriesread") && j + 1 < argv.size()) {
        if (!parse_er(argv[++j])) return;
      } else {
        return ReplyError(SubcommandSyntax(argv));
      }
    }
  } else if (sub == "setid") {
    if (argv.size() == 7) {
      if (!EqualsIgnoreCase(argv[5], "entriesread")) return ReplyError(SubcommandSyntax(argv));
      if (!parse_er(argv[6])) return;
    } else if (argv.size() != 5) {
      return ReplyError(SubcommandSyntax(argv));
    }
  }
  const Protocol p = protocol_;
  auto* store = ctx_->streams;
  // Missing key / group checks come before the ID (Redis' order).
  bool group_exists = false;
  const bool key_exists = store->WithGroups(key, [&](const streams::Groups& gs, const auto&) {
    group_exists = gs.count(std::string(group)) > 0;
  });
  if (!key_exists && !mkstream) return ReplyError(kRequiresKey);
  if (key_exists && !group_exists && sub != "create" && sub != "destroy") {
    return ReplyError(NoGroupFor(key, group));
  }
  const std::string k(key), g(group);
  auto error_for = [k, g](const streams::Outcome& o) -> std::string {
    switch (o.error) {
      case StreamError::kNoKey:
        return std::string(kRequiresKey);
      case StreamError::kNoGroup:
        return NoGroupFor(k, g);
      case StreamError::kBusyGroup:
        return "BUSYGROUP Consumer Group name already exists";
      default:
        return StorageText(o);
    }
  };
  if (sub == "create" || sub == "setid") {
    std::optional<StreamId> id;
    if (argv[4] != "$") {
      id = sub == "create" ? StrictId(argv[4])
                           : streams::ParseStreamId(argv[4], streams::MissingSeq::kZero, true);
      if (!id) return ReplyError(kInvalidId);
    }
    Completion done = Later(/*append=*/true);
    auto reply = [done, p, error_for](streams::Outcome o) {
      done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Raw(kOk) : w.Error(error_for(o)); }));
    };
    if (sub == "create") return store->CreateGroup(key, group, id, mkstream, entries_read, reply);
    return store->SetGroupId(key, group, id, entries_read, reply);
  }
  Completion done = Later(/*append=*/true);
  auto reply = [done, p, error_for](streams::Outcome o, int64_t n) {
    done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Integer(n) : w.Error(error_for(o)); }));
  };
  if (sub == "destroy") return store->DestroyGroup(key, group, reply);
  if (sub == "createconsumer") return store->CreateConsumer(key, group, argv[4], reply);
  return store->DeleteConsumer(key, group, argv[4], reply);
}

// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key… id… (xreadCommand).
void RespSession::XReadGroup(Command argv) {
  XReadOptions opts;
  if (std::string err = ParseXReadOptions(argv, /*group_form=*/true, &opts); !err.empty()) {
    return ReplyError(err);
  }
  const int64_t timeout = opts.timeout, count = opts.count;
  const size_t streams_arg = opts.streams_arg;
  const std::string_view group = opts.group, consumer = opts.consumer;
  const bool have_group = opts.have_group, noack = opts.noack;
  if (!have_group) return ReplyError("ERR Missing GROUP option for XREADGROUP");
  const size_t n = (argv.size() - streams_arg) / 2;
  std::vector<std::optional<StreamId>> history(n);
  bool any_history = false;
  for (size_t k = 0; k < n; ++k) {
    const std::string_view key = argv[streams_arg + k];
    bool found = false;
    ctx_->streams->WithGroups(key, [&](const streams::Groups& gs, const auto&) {
      found = gs.count(std::string(group)) > 0;
    });
    if (!found) {
      return ReplyError("NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
                        std::string(group) + "' in XREADGROUP with GROUP option");
    }
    const std::string_view id = argv[streams_arg + n + k];
    if (id == "$") {
      return ReplyError(
          "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
          "history of this consumer by specifying a proper ID, or use the > ID to get new "
          "messages. The $ ID would just return an empty result set.");
    }
    if (id == ">") continue;
    auto parsed = StrictId(id);
    if (!parsed) return ReplyError(kInvalidId);
    history[k] = *parsed;
    any_history = true;
  }
  std::vector<std::string> keys;
  for (size_t k = 0; k < n; ++k) keys.emplace_back(argv[streams_arg + k]);
  if (timeout < 0 || any_history) {
    Completion done = Later(/*append=*/true);
    ServeGroupRead(std::move(keys), std::string(group), std::string(consumer), std::move(history),
                   static_cast<size_t>(count), noack, /*blocked=*/false,
                   [done](std::string bytes, bool) { done(std::move(bytes)); });
    return;
  }
  // BLOCK with only `>`: served at once if there is anything, else blocked
  // (this connection runs nothing else meanwhile) until an XADD wakes it.
  Blocked b;
  b.generation = ++block_generation_;
  b.suppressed = reply_mode_ != ReplyMode::kOn;
  b.seq = replies_.Reserve();
  b.count = static_cast<size_t>(count);
  b.group = std::string(group);
  b.consumer = std::string(consumer);
  b.noack = noack;
  for (const std::string& key : keys) {
    b.keys.emplace_back(key, 0);
    b.after.emplace_back(0, 0);
  }
  blocked_ = std::move(b);
  paused_ = true;
  if (timeout > 0) {
    auto poster = Poster();
    const uint64_t gen = blocked_->generation;
    blocked_->timer = ctx_->streams->AddTimer(
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout),
        [poster, gen] { poster([gen](RespSession& s) { s.OnBlockTimeout(gen); }); });
  }
  ServeBlockedGroup();
}

// Runs ReadGroup on each stream; `finish(bytes, empty)` runs once all are
// back (on a storage thread): the reply, or empty = nothing served.
void RespSession::ServeGroupRead(std::vector<std::string> keys, std::string group,
                                 std::string consumer, std::vector<std::optional<StreamId>> history,
                                 size_t count, bool noack, bool blocked,
                                 std::function<void(std::string, bool)> finish) {
  struct State {
    std::mutex mu;
    size_t left;
    std::vector<std::optional<std::vector<streams::GroupEntry>>> found;
    std::string error;
  };
  auto st = std::make_shared<State>();
  st->left = keys.size();
  st->found.resize(keys.size());
  const Protocol p = protocol_;
  auto* store = ctx_->streams;
  for (size_t k = 0; k < keys.size(); ++k) {
    const bool is_history = history[k].has_value();
    store->ReadGroup(
        keys[k], group, consumer, history[k], count, noack,
        [st, k, keys, group, p, is_history, blocked, finish](
            streams::Outcome o, std::vector<streams::GroupEntry> entries) {
          bool last;
          {
            std::lock_guard lock(st->mu);
            if (!o.ok() && st->error.empty()) {
              if (o.error != StreamError::kNoGroup && o.error != StreamError::kNoKey) {
                st->error = StorageText(o);
              } else if (!blocked) {
                st->error = "NOGROUP No such key '" + keys[k] + "' or consumer group '" + group +
                            "' in XREADGROUP with GROUP option";
              } else if (o.error == StreamError::kNoKey) {
                st->error = "UNBLOCKED the stream key no longer exists";
              } else {
                st->error =
                    "NOGROUP the consumer group this client was blocked on no longer exists";
              }
            }
            if (o.ok() && (is_history || !entries.empty())) st->found[k] = std::move(entries);
            last = --st->left == 0;
          }
          if (!last) return;
          if (!st->error.empty()) {
            return finish(Encode(p, [&](RespWriter& w) { w.Error(st->error); }), false);
          }
          size_t served = 0;
          for (const auto& f : st->found) served += f.has_value();
          if (served == 0) {
            return finish(Encode(p, [&](RespWriter& w) { w.NullArray(); }), true);
          }
          finish(Encode(p,
                        [&](RespWriter& w) {
                          w.resp3() ? w.MapHeader(served) : w.ArrayHeader(served);
                          for (size_t i = 0; i < keys.size(); ++i) {
                            if (!st->found[i]) continue;
                            if (!w.resp3()) w.ArrayHeader(2);
                            w.Bulk(keys[i]);
                            w.ArrayHeader(st->found[i]->size());
                            for (const auto& e : *st->found[i]) WriteGroupEntry(w, e);
                          }
                        }),
                 false);
        });
  }
}

void RespSession::ServeBlockedGroup() {
  blocked_->serving = true;
  std::vector<std::string> keys;
  for (size_t k = 0; k < blocked_->keys.size(); ++k) {
    keys.push_back(blocked_->keys[k].first);
    // Taken before the read, for the wait if it serves nothing: the
    // group's last-delivered-id, so that entries added meanwhile or left by
    // a read that lost a race with another consumer wake it at once; but
    // the stream's last ID when the group's position has not moved since
    // the last try (entries deleted after it would wake it forever).
    const StreamId last = ctx_->streams->LastId(keys.back()).value_or(StreamId::Min());
    StreamId pos = last;
    ctx_->streams->WithGroups(keys.back(), [&](const streams::Groups& gs, const auto&) {
      auto it = gs.find(blocked_->group);
      if (it != gs.end()) pos = it->second.last_delivered;
    });
    if (blocked_->group_pos.size() < blocked_->keys.size()) {
      blocked_->group_pos.assign(blocked_->keys.size(), {UINT64_MAX, UINT64_MAX});
    }
    const std::pair<uint64_t, uint64_t> p{pos.ms, pos.seq};
    const StreamId after = p != blocked_->group_pos[k] ? pos : last;
    blocked_->group_pos[k] = p;
    blocked_->after[k] = {after.ms, after.seq};
  }
  auto poster = Poster();
  const uint64_t gen = blocked_->generation;
  ServeGroupRead(std::move(keys), blocked_->group, blocked_->consumer,
                 std::vector<std::optional<StreamId>>(blocked_->keys.size()),
                 blocked_->count == 0 ? 1000 : blocked_->count, blocked_->noack, /*blocked=*/true,
                 [poster, gen](std::string bytes, bool empty) {
                   poster([gen, bytes = std::move(bytes), empty](RespSession& s) mutable {
                     s.OnGroupServed(gen, std::move(bytes), empty);
                   });
                 });
}

void RespSession::OnGroupServed(uint64_t generation, std::string bytes, bool empty) {
  if (!blocked_ || blocked_->generation != generation) return;
  blocked_->serving = false;
  if (empty && !blocked_->timed_out) {
    // Nothing yet: wait for an entry after the group's position as it was
    // when the read began.
    for (size_t k = 0; k < blocked_->keys.size() && blocked_ && !blocked_->serving; ++k) {
      WatchKey(k);
    }
    return;
  }
  if (blocked_->suppressed) bytes.clear();
  const uint64_t slot = blocked_->seq;
  EndBlock();
  FillReply(slot, std::move(bytes), false);
  paused_ = waiting_appends_;
  if (!paused_) RunDeferred(/*from_input=*/false);
}

// XACK key group id… (xackCommand): IDs all parsed first.
void RespSession::XAck(Command argv) {
  std::vector<StreamId> ids;
  for (size_t i = 3; i < argv.size(); ++i) {
    auto id = StrictId(argv[i]);
    if (!id) return ReplyError(kInvalidId);
    ids.push_back(*id);
  }
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  ctx_->streams->Ack(argv[1], argv[2], std::move(ids), [done, p](streams::Outcome o, int64_t n) {
    done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Integer(n) : w.Error(StorageText(o)); }));
  });
}

// XPENDING key group [[IDLE min-idle] start end count [consumer]] (xpendingCommand).
void RespSession::XPending(Command argv) {
  const bool extended = argv.size() > 3;
  if (argv.size() != 3 && (argv.size() < 6 || argv.size() > 9)) return ReplyError(kSyntaxError);
  int64_t min_idle = 0, count = 0;
  StreamId start, end;
  std::optional<std::string_view> consumer;
  if (extended) {
    size_t at = 3;
    if (EqualsIgnoreCase(argv[3], "idle")) {
      auto n = ParseInt64(argv[4]);
      if (!n) return ReplyError(kNotInteger);
      if (argv.size() < 8) return ReplyError(kSyntaxError);
      min_idle = *n;
      at = 5;
    } else if (argv.size() > 7) {
      return ReplyError(kSyntaxError);
    }
    std::string err;
    auto parse_bound = [&](std::string_view s, bool is_end) -> std::optional<StreamId> {
      const bool exclusive = !s.empty() && s[0] == '(';
      if (exclusive) s.remove_prefix(1);
      auto id = streams::ParseStreamId(
          s, is_end ? streams::MissingSeq::kMax : streams::MissingSeq::kZero, !exclusive);
      if (!id) {
        err = kInvalidId;
        return std::nullopt;
      }
      if (!exclusive) return id;
      auto moved = is_end ? id->Prev() : id->Next();
      if (!moved) {
        err = is_end ? "ERR invalid end ID for the interval"
                     : "ERR invalid start ID for the interval";
      }
      return moved;
    };
    auto s = parse_bound(argv[at], false);
    if (!s) return ReplyError(err);
    auto e = parse_bound(argv[at + 1], true);
    if (!e) return ReplyError(err);
    auto c = ParseInt64(argv[at + 2]);
    if (!c) return ReplyError(kNotInteger);
    count = *c < 0 ? 0 : *c;
    start = *s;
    end = *e;
    if (at + 3 < argv.size()) consumer = argv[at + 3];
  }
  bool found = false;
  std::string bytes;
  const int64_t now = NowMs();
  const std::string group(argv[2]);
  ctx_->streams->WithGroups(argv[1], [&](const streams::Groups& gs, const auto&) {
    auto it = gs.find(group);
    if (it == gs.end()) return;
    found = true;
    const streams::Group& g = it->second;
    RespWriter w(&bytes, protocol_);
    if (!extended) {
      if (g.pel.empty()) {
        w.ArrayHeader(4);
        w.Integer(0);
        w.Null();
        w.Null();
        w.NullArray();
        return;
      }
      w.ArrayHeader(4);
      w.Integer(static_cast<int64_t>(g.pel.size()));
      w.Bulk(g.pel.begin()->first.ToString());
      w.Bulk(g.pel.rbegin()->first.ToString());
      size_t with = 0;
      for (const auto& [name, c] : g.consumers) with += !c.pending.empty();
      w.ArrayHeader(with);
      for (const auto& [name, c] : g.consumers) {
        if (c.pending.empty()) continue;
        w.ArrayHeader(2);
        w.Bulk(name);
        w.Bulk(std::to_string(c.pending.size()));
      }
      return;
    }
    std::vector<std::pair<StreamId, const streams::PendingEntry*>> rows;
    auto add = [&](StreamId id) {
      const streams::PendingEntry& pe = g.pel.at(id);
      if (min_idle > 0 && now - pe.delivery_ms < min_idle) return;
      rows.emplace_back(id, &pe);
    };
    if (consumer) {
      auto c = g.consumers.find(std::string(*consumer));
      if (c != g.consumers.end()) {
        for (auto i = c->second.pending.lower_bound(start);
             i != c->second.pending.end() && *i <= end && static_cast<int64_t>(rows.size()) < count;
             ++i) {
          add(*i);
        }
      }
    } else {
      for (auto i = g.pel.lower_bound(start);
           i != g.pel.end() && i->first <= end && static_cast<int64_t>(rows.size()) < count; ++i) {
        add(i->first);
      }
    }
    w.ArrayHeader(rows.size());
    for (const auto& [id, pe] : rows) {
      w.ArrayHeader(4);
      w.Bulk(id.ToString());
      w.Bulk(pe->consumer);
      w.Integer(std::max<int64_t>(0, now - pe->delivery_ms));
      w.Integer(static_cast<int64_t>(pe->count));
    }
  });
  if (!found) return ReplyError(NoKeyOrGroup(argv[1], argv[2]));
  Reply([&](RespWriter& w) { w.Raw(bytes); });
}

namespace {

void WriteClaimed(RespWriter& w, const std::vector<streams::GroupEntry>& claimed, bool justid) {
  w.ArrayHeader(claimed.size());
  for (const auto& e : claimed) {
    if (justid) {
      w.Bulk(e.id.ToString());
    } else {
      WriteGroupEntry(w, e);
    }
  }
}

}  // namespace

// XCLAIM key group consumer min-idle id… [IDLE ms] [TIME ms] [RETRYCOUNT n]
// [FORCE] [JUSTID] [LASTID id] (xclaimCommand).
void RespSession::XClaim(Command argv) {
  bool found = false;
  ctx_->streams->WithGroups(argv[1], [&](const streams::Groups& gs, const auto&) {
    found = gs.count(std::string(argv[2])) > 0;
  });
  if (!found) return ReplyError(NoKeyOrGroup(argv[1], argv[2]));
  auto min_idle = ParseInt64(argv[4]);
  if (!min_idle) return ReplyError("ERR Invalid min-idle-time argument for XCLAIM");
  streams::StreamStore::ClaimSpec spec;
  spec.min_idle = std::max<int64_t>(0, *min_idle);
  std::vector<StreamId> ids;
  size_t j = 5;
  for (; j < argv.size(); ++j) {
    auto id = StrictId(argv[j]);
    if (!id) break;
    ids.push_back(*id);
  }
  const int64_t now = NowMs();
  std::optional<int64_t> delivery;
  for (; j < argv.size(); ++j) {
    const bool more = j + 1 < argv.size();
    const std::string_view opt = argv[j];
    if (EqualsIgnoreCase(opt, "force")) {
      spec.force = true;
    } else if (EqualsIgnoreCase(opt, "justid")) {
      spec.justid = true;
    } else if (EqualsIgnoreCase(opt, "idle") && more) {
      auto n = ParseInt64(argv[++j]);
      if (!n) return ReplyError("ERR Invalid IDLE option argument for XCLAIM");
      delivery = now - *n;
    } else if (EqualsIgnoreCase(opt, "time") && more) {
      auto n = ParseInt64(argv[++j]);
      if (!n) return ReplyError("ERR Invalid TIME option argument for XCLAIM");
      delivery = *n;
    } else if (EqualsIgnoreCase(opt, "retrycount") && more) {
      auto n = ParseInt64(argv[++j]);
      if (!n) return ReplyError("ERR Invalid RETRYCOUNT option argument for XCLAIM");
      spec.retry_count = *n;
    } else if (EqualsIgnoreCase(opt, "lastid") && more) {
      auto id = StrictId(argv[++j]);
      if (!id) return ReplyError(kInvalidId);
      spec.last_id = *id;
    } else {
      return ReplyError("ERR Unrecognized XCLAIM option '" + std::string(opt) + "'");
    }
  }
  if (delivery && (*delivery < 0 || *delivery > now)) delivery = now;
  spec.delivery_ms = delivery;
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  const bool justid = spec.justid;
  const std::string k(argv[1]), g(argv[2]);
  ctx_->streams->Claim(
      argv[1], argv[2], argv[3], std::move(ids), spec,
      [done, p, justid, k, g](streams::Outcome o, std::vector<streams::GroupEntry> claimed,
                              std::vector<StreamId>, StreamId) {
        done(Encode(p, [&](RespWriter& w) {
          if (o.error == StreamError::kNoGroup) return w.Error(NoKeyOrGroup(k, g));
          if (!o.ok()) return w.Error(StorageText(o));
          WriteClaimed(w, claimed, justid);
        }));
      });
}

// XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID] (xautoclaimCommand).
void RespSession::XAutoClaim(Command argv) {
  auto min_idle = ParseInt64(argv[4]);
  if (!min_idle) return ReplyError("ERR Invalid min-idle-time argument for XAUTOCLAIM");
  std::string_view s = argv[5];
  const bool exclusive = !s.empty() && s[0] == '(';
  if (exclusive) s.remove_prefix(1);
  auto start = streams::ParseStreamId(s, streams::MissingSeq::kZero, !exclusive);
  if (!start) return ReplyError(kInvalidId);
  if (exclusive) {
    auto next = start->Next();
    if (!next) return ReplyError("ERR invalid start ID for the interval");
    start = next;
  }
  int64_t count = 100;
  bool justid = false;
  for (size_t j = 6; j < argv.size(); ++j) {
    if (EqualsIgnoreCase(argv[j], "count") && j + 1 < argv.size()) {
      auto n = ParseInt64(argv[j + 1]);
      constexpr int64_t kMax = INT64_MAX / 16;
      if (!n || *n < 1 || *n > kMax) return ReplyError("ERR COUNT must be > 0");
      count = *n;
      ++j;
    } else if (EqualsIgnoreCase(argv[j], "justid")) {
      justid = true;
    } else {
      return ReplyError(kSyntaxError);
    }
  }
  bool found = false;
  ctx_->streams->WithGroups(argv[1], [&](const streams::Groups& gs, const auto&) {
    found = gs.count(std::string(argv[2])) > 0;
  });
  if (!found) return ReplyError(NoKeyOrGroup(argv[1], argv[2]));
  streams::StreamStore::ClaimSpec spec;
  spec.min_idle = std::max<int64_t>(0, *min_idle);
  spec.justid = justid;
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  const std::string k(argv[1]), g(argv[2]);
  ctx_->streams->AutoClaim(
      argv[1], argv[2], argv[3], *start, count, spec,
      [done, p, justid, k, g](streams::Outcome o, std::vector<streams::GroupEntry> claimed,
                              std::vector<StreamId> deleted, StreamId next) {
        done(Encode(p, [&](RespWriter& w) {
          if (o.error == StreamError::kNoGroup) return w.Error(NoKeyOrGroup(k, g));
          if (!o.ok()) return w.Error(StorageText(o));
          w.ArrayHeader(3);
          w.Bulk(next.ToString());
          WriteClaimed(w, claimed, justid);
          w.ArrayHeader(deleted.size());
          for (StreamId id : deleted) w.Bulk(id.ToString());
        }));
      });
}

// XINFO GROUPS key / XINFO CONSUMERS key group (xinfoCommand, 7.0 fields).
void RespSession::XInfoGroups(Command argv, bool consumers) {
  std::string bytes;
  bool group_found = false;
  const int64_t now = NowMs();
  const bool key_found = ctx_->streams->WithGroups(
      argv[2], [&](const streams::Groups& gs, const streams::StreamCounters& sc) {
        RespWriter w(&bytes, protocol_);
        if (!consumers) {
          group_found = true;
          w.ArrayHeader(gs.size());
          for (const auto& [name, g] : gs) {
            w.MapHeader(6);
            w.Bulk("name");
            w.Bulk(name);
            w.Bulk("consumers");
            w.Integer(static_cast<int64_t>(g.consumers.size()));
            w.Bulk("pending");
            w.Integer(static_cast<int64_t>(g.pel.size()));
            w.Bulk("last-delivered-id");
            w.Bulk(g.last_delivered.ToString());
            w.Bulk("entries-read");
            g.entries_read == streams::kEntriesReadUnknown ? w.Null() : w.Integer(g.entries_read);
            w.Bulk("lag");
            auto lag = streams::GroupLag(sc, g);
            lag ? w.Integer(*lag) : w.Null();
          }
          return;
        }
        auto it = gs.find(std::string(argv[3]));
        if (it == gs.end()) return;
        group_found = true;
        w.ArrayHeader(it->second.consumers.size());
        for (const auto& [name, c] : it->second.consumers) {
          w.MapHeader(3);
          w.Bulk("name");
          w.Bulk(name);
          w.Bulk("pending");
          w.Integer(static_cast<int64_t>(c.pending.size()));
          w.Bulk("idle");
          w.Integer(std::max<int64_t>(0, now - c.seen_ms));
        }
      });
  if (!key_found) return ReplyError("ERR no such key");
  if (!group_found) return ReplyError(NoGroupFor(argv[2], argv[3]));
  Reply([&](RespWriter& w) { w.Raw(bytes); });
}

}  // namespace runnel::resp
