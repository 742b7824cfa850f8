// Redis streams (reference/resp.md §4) over broker::streams::StreamStore.
// Parsing, checks and reply shapes follow Redis 7.0's t_stream.c; the store
// keeps state and storage. Replies of commands that write go out after the
// write is durable (resp_session.h, "Replies in order").
#include "broker/streams/stream_store.h"
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

namespace runnel::resp {

namespace streams = broker::streams;
using streams::StreamError;
using streams::StreamId;

namespace {

constexpr std::string_view kInvalidId =
    "ERR Invalid stream ID specified as stream command argument";

// The one table from a store outcome to Redis' error text (§4.9).
std::string ErrorFor(const streams::Outcome& o) {
  switch (o.error) {
    case StreamError::kOk:
      return {};
    case StreamError::kNoKey:
      return "ERR no such key";
    case StreamError::kIdZero:
      return "ERR The ID specified in XADD must be greater than 0-0";
    case StreamError::kIdNotGreater:
      return "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    case StreamError::kExhausted:
      return "ERR The stream has exhausted the last possible ID, unable to add more items";
    case StreamError::kSetIdSmall:
      return "ERR The ID specified in XSETID is smaller than the target stream top item";
    case StreamError::kSetIdAdded:
      return "ERR The entries_added specified in XSETID is smaller than the target stream length";
    case StreamError::kSetIdMaxDeleted:
      return "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
    case StreamError::kTooLarge:
      return "ERR the entry is larger than the stream's max message size";
    case StreamError::kWrongType:
      return "WRONGTYPE Operation against a key holding the wrong kind of value";
    case StreamError::kNoGroup:
    case StreamError::kBusyGroup:  // group commands have their own texts
    case StreamError::kStorage:
      return "ERR " + o.detail;
  }
  return "ERR internal error";
}

std::string Encode(Protocol p, const std::function<void(RespWriter&)>& f) {
  std::string s;
  RespWriter w(&s, p);
  f(w);
  return s;
}

void WriteEntry(RespWriter& w, const streams::Entry& e) {
  w.ArrayHeader(2);
  w.Bulk(e.id.ToString());
  w.ArrayHeader(e.fields.size());
  for (const std::string& f : e.fields) w.Bulk(f);
}

void WriteEntries(RespWriter& w, const std::vector<streams::Entry>& entries) {
  w.ArrayHeader(entries.size());
  for (const auto& e : entries) WriteEntry(w, e);
}

std::optional<StreamId> StrictId(std::string_view s) {
  return streams::ParseStreamId(s, streams::MissingSeq::kZero, false);
}

// MAXLEN/MINID/LIMIT options shared by XADD and XTRIM (streamParseAddOrTrimArgsOrReply).
// Returns the index of the first argument not consumed; error text on failure.
struct TrimArgs {
  streams::TrimSpec trim;
  bool nomkstream = false;
  bool limit_given = false;
};

}  // namespace

// Parses options from argv[2]; for XADD stops at the ID (returned in *id_pos).
static std::string ParseTrimArgs(Command argv, bool xadd, TrimArgs* a, size_t* id_pos) {
  size_t i = 2;
  for (; i < argv.size(); ++i) {
    const std::string_view opt = argv[i];
    const size_t more = argv.size() - 1 - i;
    if (xadd && opt == "*") break;
    if (EqualsIgnoreCase(opt, "maxlen") && more >= 1) {
      if (a->trim.kind == streams::TrimSpec::Kind::kMinId) {
        return "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
      }
      std::string_view next = argv[i + 1];
      if (more >= 2 && (next == "~" || next == "=")) {
        a->trim.approx = next == "~";
        ++i;
      }
      auto n = ParseInt64(argv[i + 1]);
      if (!n) return std::string(kNotInteger);
      if (*n < 0) return "ERR The MAXLEN argument must be >= 0.";
      a->trim.kind = streams::TrimSpec::Kind::kMaxLen;
      a->trim.maxlen = *n;
      ++i;
    } else if (EqualsIgnoreCase(opt, "minid") && more >= 1) {
      if (a->trim.kind == streams::TrimSpec::Kind::kMaxLen) {
        return "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
      }
      std::string_view next = argv[i + 1];
      if (more >= 2 && (next == "~" || next == "=")) {
        a->trim.approx = next == "~";
        ++i;
      }
      auto id = StrictId(argv[i + 1]);
      if (!id) return std::string(kInvalidId);
      a->trim.kind = streams::TrimSpec::Kind::kMinId;
      a->trim.minid = *id;
      ++i;
    } else if (EqualsIgnoreCase(opt, "limit") && more >= 1) {
      auto n = ParseInt64(argv[i + 1]);
      if (!n) return std::string(kNotInteger);
      if (*n < 0) return "ERR The LIMIT argument must be >= 0.";
      a->trim.limit = *n;
      a->limit_given = true;
      ++i;
    } else if (xadd && EqualsIgnoreCase(opt, "nomkstream")) {
      a->nomkstream = true;
    } else if (xadd) {
      break;  // the ID
    } else {
      return std::string(kSyntaxError);
    }
  }
  if (a->limit_given && a->trim.kind == streams::TrimSpec::Kind::kNone) {
    return "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
  }
  if (a->limit_given && !a->trim.approx) {
    return "ERR syntax error, LIMIT cannot be used without the special ~ option";
  }
  if (!xadd && a->trim.kind == streams::TrimSpec::Kind::kNone) {
    return "ERR syntax error, XTRIM must be called with a trimming strategy";
  }
  *id_pos = i;
  return {};
}

void RespSession::XAdd(Command argv) {
  TrimArgs a;
  size_t id_pos = 0;
  if (std::string err = ParseTrimArgs(argv, true, &a, &id_pos); !err.empty()) {
    return ReplyError(err);
  }
  if (id_pos >= argv.size()) return ReplyError("ERR wrong number of arguments for 'xadd' command");
  auto spec = streams::ParseAddId(argv[id_pos]);
  if (!spec) return ReplyError(kInvalidId);
  const size_t nfields = argv.size() - id_pos - 1;
  if (nfields < 2 || nfields % 2 == 1) {
    return ReplyError("ERR wrong number of arguments for 'xadd' command");
  }
  if (spec->kind == streams::AddIdSpec::Kind::kExplicit && spec->id.IsZero()) {
    return ReplyError("ERR The ID specified in XADD must be greater than 0-0");
  }
  // Queued (see PendingAdds): joins the XADDs before it when they go to the
  // same key with the same options.
  PendingAdds& q = pending_adds_;
  const bool batchable = streams::StreamStore::BatchableTrim(a.trim);
  if (!q.empty() && (q.key != argv[1] || q.nomkstream != a.nomkstream || !(q.trim == a.trim))) {
    FlushAdds();
  }
  if (q.empty()) {
    q.key.assign(argv[1]);
    q.nomkstream = a.nomkstream;
    q.trim = a.trim;
  }
  q.ids.push_back(*spec);
  q.first_field.push_back(static_cast<uint32_t>(q.fields.size()));
  for (std::string_view f : argv.subspan(id_pos + 1)) {
    q.fields.emplace_back(q.arena.size(), f.size());
    q.arena.append(f);
  }
  ++inflight_appends_;
  q.slots.emplace_back(replies_.Reserve(), /*suppressed=*/reply_mode_ != ReplyMode::kOn);
  if (!batchable) FlushAdds();  // `~` or LIMIT trims once per XADD, as Redis
}

void RespSession::FlushAdds() {
  PendingAdds q = std::move(pending_adds_);
  pending_adds_ = PendingAdds();
  if (q.empty()) return;
  std::vector<std::string_view> views;
  views.reserve(q.fields.size());
  for (auto [offset, length] : q.fields) views.emplace_back(q.arena.data() + offset, length);
  std::vector<streams::StreamStore::AddRequest> requests;
  requests.reserve(q.ids.size());
  for (size_t i = 0; i < q.ids.size(); ++i) {
    const size_t begin = q.first_field[i];
    const size_t end = i + 1 < q.ids.size() ? q.first_field[i + 1] : views.size();
    requests.push_back({q.ids[i], std::span<const std::string_view>(views).subspan(begin, end - begin)});
  }
  // One post back to this thread for the whole batch; replies are encoded
  // there, not on the storage thread every append waits behind.
  ctx_->streams->AddBatch(
      q.key, q.nomkstream, q.trim, requests,
      [post = broker_.post(), thread = thread_, alive = alive_, p = protocol_,
       slots = std::move(q.slots)](std::vector<streams::StreamStore::AddResult> results) mutable {
        post(thread, [alive, p, slots = std::move(slots), results = std::move(results)] {
          if (RespSession* s = *alive) s->FillAddReplies(slots, results, p);
        });
      });
}

void RespSession::FillAddReplies(const std::vector<std::pair<uint64_t, bool>>& slots,
                                 const std::vector<streams::StreamStore::AddResult>& results,
                                 Protocol protocol) {
  if (conn_.closed()) return;
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& [seq, suppressed] = slots[i];
    const streams::Outcome& o = results[i].outcome;
    std::string bytes;
    if (!suppressed) {
      bytes = Encode(protocol, [&](RespWriter& w) {
        if (o.error == StreamError::kNoKey) return w.Null();
        if (!o.ok()) return w.Error(ErrorFor(o));
        w.Bulk(results[i].id.ToString());
      });
    }
    PlaceReply(seq, std::move(bytes), /*append=*/true);
  }
  AfterReplies();
}

namespace {

// An XRANGE bound: `-`, `+`, `id`, `ms`, or `(id` exclusive (streamRangeParseIDOrReply).
std::optional<StreamId> RangeBound(std::string_view s, bool is_end, std::string* err) {
  const bool exclusive = !s.empty() && s[0] == '(';
  if (exclusive) s.remove_prefix(1);
  auto id = streams::ParseStreamId(
      s, is_end ? streams::MissingSeq::kMax : streams::MissingSeq::kZero, !exclusive);
  if (!id) {
    *err = kInvalidId;
    return std::nullopt;
  }
  if (exclusive) {
    auto moved = is_end ? id->Prev() : id->Next();
    if (!moved) {
      *err =
          is_end ? "ERR invalid end ID for the interval" : "ERR invalid start ID for the interval";
      return std::nullopt;
    }
    return moved;
  }
  return id;
}

}  // namespace

static void RangeCommand(RespSession& session, Command argv, bool reverse,
                         const std::function<void(std::string_view)>& error,
                         const std::function<void(const std::vector<streams::Entry>*)>& reply,
                         streams::StreamStore* store) {
  std::string err;
  auto start = RangeBound(reverse ? argv[3] : argv[2], false, &err);
  if (!start) return error(err);
  auto end = RangeBound(reverse ? argv[2] : argv[3], true, &err);
  if (!end) return error(err);
  int64_t count = -1;
  for (size_t j = 4; j < argv.size(); ++j) {
    if (EqualsIgnoreCase(argv[j], "count") && j + 1 < argv.size()) {
      auto n = ParseInt64(argv[j + 1]);
      if (!n) return error(kNotInteger);
      count = *n < 0 ? 0 : *n;
      ++j;
    } else {
      return error(kSyntaxError);
    }
  }
  (void)session;
  if (!store->Exists(argv[1])) {
    static const std::vector<streams::Entry> kNone;
    return reply(&kNone);
  }
  if (count == 0) return reply(nullptr);  // Redis' quirk: a null array
  auto r = store->Range(argv[1], *start, *end, count < 0 ? 0 : static_cast<size_t>(count), reverse);
  if (!r.ok()) return error("ERR " + r.status().message());
  reply(&*r);
}

void RespSession::XRange(Command argv) {
  RangeCommand(
      *this, argv, false, [&](std::string_view e) { ReplyError(e); },
      [&](const std::vector<streams::Entry>* v) {
        Reply([&](RespWriter& w) { v ? WriteEntries(w, *v) : w.NullArray(); });
      },
      ctx_->streams);
}

void RespSession::XRevRange(Command argv) {
  RangeCommand(
      *this, argv, true, [&](std::string_view e) { ReplyError(e); },
      [&](const std::vector<streams::Entry>* v) {
        Reply([&](RespWriter& w) { v ? WriteEntries(w, *v) : w.NullArray(); });
      },
      ctx_->streams);
}

void RespSession::XLen(Command argv) {
  const int64_t n = ctx_->streams->Length(argv[1]);
  Reply([&](RespWriter& w) { w.Integer(n); });
}

void RespSession::XDel(Command argv) {
  std::vector<StreamId> ids;
  for (size_t i = 2; i < argv.size(); ++i) {
    auto id = StrictId(argv[i]);
    if (!id) return ReplyError(kInvalidId);
    ids.push_back(*id);
  }
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  ctx_->streams->DeleteIds(argv[1], std::move(ids), [done, p](streams::Outcome o, int64_t n) {
    done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Integer(n) : w.Error(ErrorFor(o)); }));
  });
}

void RespSession::XTrim(Command argv) {
  TrimArgs a;
  size_t pos = 0;
  if (std::string err = ParseTrimArgs(argv, false, &a, &pos); !err.empty()) return ReplyError(err);
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  ctx_->streams->Trim(argv[1], a.trim, [done, p](streams::Outcome o, int64_t n) {
    done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Integer(n) : w.Error(ErrorFor(o)); }));
  });
}

void RespSession::XSetId(Command argv) {
  auto id = StrictId(argv[2]);
  if (!id) return ReplyError(kInvalidId);
  std::optional<uint64_t> added;
  std::optional<StreamId> max_deleted;
  for (size_t i = 3; i < argv.size(); ++i) {
    const bool more = i + 1 < argv.size();
    if (EqualsIgnoreCase(argv[i], "entriesadded") && more) {
      auto n = ParseInt64(argv[i + 1]);
      if (!n) return ReplyError(kNotInteger);
      if (*n < 0) return ReplyError("ERR entries_added must be positive");
      added = static_cast<uint64_t>(*n);
      ++i;
    } else if (EqualsIgnoreCase(argv[i], "maxdeletedid") && more) {
      auto m = StrictId(argv[i + 1]);
      if (!m) return ReplyError(kInvalidId);
      max_deleted = *m;
      ++i;
    } else {
      return ReplyError(kSyntaxError);
    }
  }
  Completion done = Later(/*append=*/true);
  const Protocol p = protocol_;
  ctx_->streams->SetId(argv[1], *id, added, max_deleted, [done, p](streams::Outcome o) {
    done(Encode(p, [&](RespWriter& w) { o.ok() ? w.Raw(kOk) : w.Error(ErrorFor(o)); }));
  });
}

void RespSession::XInfo(Command argv) {
  const std::string_view sub = current_->name.substr(current_->name.find('|') + 1);
  if (sub == "help") {
    static constexpr std::string_view kHelp[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "STREAM <key> [FULL [COUNT <count>]]",
        "    Show information about the stream.",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "HELP",
        "    Print this help."};
    return Reply([&](RespWriter& w) {
      w.ArrayHeader(std::size(kHelp));
      for (auto line : kHelp) w.SimpleString(line);
    });
  }
  if (sub == "groups") return XInfoGroups(argv, false);
  if (sub == "consumers") return XInfoGroups(argv, true);
  bool full = false;
  int64_t count = 10;
  if (argv.size() > 3) {
    if (!EqualsIgnoreCase(argv[3], "full")) return ReplyError(kSyntaxError);
    full = true;
    for (size_t i = 4; i < argv.size(); ++i) {
      if (EqualsIgnoreCase(argv[i], "count") && i + 1 < argv.size()) {
        auto n = ParseInt64(argv[i + 1]);
        if (!n) return ReplyError(kNotInteger);
        count = *n < 0 ? 0 : *n;
        ++i;
      } else {
        return ReplyError(kSyntaxError);
      }
    }
  }
  auto info = ctx_->streams->Info(argv[2]);
  if (!info) return ReplyError("ERR no such key");
  std::vector<streams::Entry> entries;
  if (full) {
    auto r = ctx_->streams->Range(argv[2], StreamId::Min(), StreamId::Max(),
                                  static_cast<size_t>(count), false);
    if (r.ok()) entries = std::move(*r);
  }
  const StreamId first = info->first ? info->first->id : StreamId::Min();
  std::string groups_full;
  if (full) {
    const int64_t limit = count;  // 0 = all, as Redis' FULL COUNT
    ctx_->streams->WithGroups(
        argv[2], [&](const streams::Groups& gs, const streams::StreamCounters& sc) {
          RespWriter w(&groups_full, protocol_);
          w.ArrayHeader(gs.size());
          for (const auto& [name, g] : gs) {
            w.MapHeader(7);
            w.Bulk("name");
            w.Bulk(name);
            w.Bulk("last-delivered-id");
            w.Bulk(g.last_delivered.ToString());
            w.Bulk("entries-read");
            g.entries_read == streams::kEntriesReadUnknown ? w.Null() : w.Integer(g.entries_read);
            w.Bulk("lag");
            auto lag = streams::GroupLag(sc, g);
            lag ? w.Integer(*lag) : w.Null();
            w.Bulk("pel-count");
            w.Integer(static_cast<int64_t>(g.pel.size()));
            w.Bulk("pending");
            const size_t np =
                limit == 0 ? g.pel.size() : std::min(g.pel.size(), static_cast<size_t>(limit));
            w.ArrayHeader(np);
            size_t i = 0;
            for (auto it = g.pel.begin(); i < np; ++it, ++i) {
              w.ArrayHeader(4);
              w.Bulk(it->first.ToString());
              w.Bulk(it->second.consumer);
              w.Integer(it->second.delivery_ms);
              w.Integer(static_cast<int64_t>(it->second.count));
            }
            w.Bulk("consumers");
            w.ArrayHeader(g.consumers.size());
            for (const auto& [cname, c] : g.consumers) {
              w.MapHeader(4);
              w.Bulk("name");
              w.Bulk(cname);
              w.Bulk("seen-time");
              w.Integer(c.seen_ms);
              w.Bulk("pel-count");
              w.Integer(static_cast<int64_t>(c.pending.size()));
              w.Bulk("pending");
              const size_t nc = limit == 0 ? c.pending.size()
                                           : std::min(c.pending.size(), static_cast<size_t>(limit));
              w.ArrayHeader(nc);
              size_t j = 0;
              for (auto it = c.pending.begin(); j < nc; ++it, ++j) {
                const streams::PendingEntry& pe = g.pel.at(*it);
                w.ArrayHeader(3);
                w.Bulk(it->ToString());
                w.Integer(pe.delivery_ms);
                w.Integer(static_cast<int64_t>(pe.count));
              }
            }
          }
        });
    if (groups_full.empty()) RespWriter(&groups_full, protocol_).ArrayHeader(0);
  }
  Reply([&](RespWriter& w) {
    w.MapHeader(full ? 9 : 10);
    w.Bulk("length");
    w.Integer(info->length);
    w.Bulk("radix-tree-keys");
    w.Integer(info->segments);
    w.Bulk("radix-tree-nodes");
    w.Integer(info->index_entries);
    w.Bulk("last-generated-id");
    w.Bulk(info->last_id.ToString());
    w.Bulk("max-deleted-entry-id");
    w.Bulk(info->max_deleted.ToString());
    w.Bulk("entries-added");
    w.Integer(static_cast<int64_t>(info->entries_added));
    w.Bulk("recorded-first-entry-id");
    w.Bulk(first.ToString());
    if (full) {
      w.Bulk("entries");
      WriteEntries(w, entries);
      w.Bulk("groups");
      w.Raw(groups_full);
      return;
    }
    w.Bulk("groups");
    w.Integer(info->groups);
    w.Bulk("first-entry");
    info->first ? WriteEntry(w, *info->first) : w.Null();
    w.Bulk("last-entry");
    info->last ? WriteEntry(w, *info->last) : w.Null();
  });
}

void RespSession::XGroupLater(Command argv) {
  ReplyError("ERR '" + Lower(argv[0]) +
             "' (consumer groups) is not implemented yet in runnel; streams without groups are");
}

// XREAD [COUNT n] [BLOCK ms] STREAMS key… id… (xreadCommand, reference §4.5).
void RespSession::XRead(Command argv) {
  XReadOptions opts;
  if (std::string err = ParseXReadOptions(argv, /*group_form=*/false, &opts); !err.empty()) {
    return ReplyError(err);
  }
  const int64_t timeout = opts.timeout, count = opts.count;
  const size_t streams_arg = opts.streams_arg;
  const size_t n = (argv.size() - streams_arg) / 2;
  std::vector<StreamId> after(n);
  for (size_t k = 0; k < n; ++k) {
    const std::string_view id = argv[streams_arg + n + k];
    if (id == "$") {
      after[k] = ctx_->streams->LastId(argv[streams_arg + k]).value_or(StreamId::Min());
    } else if (id == ">") {
      return ReplyError(
          "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
          "<consumer> option.");
    } else {
      auto parsed = StrictId(id);
      if (!parsed) return ReplyError(kInvalidId);
      after[k] = *parsed;
    }
  }
  std::vector<std::pair<size_t, std::vector<streams::Entry>>> found;
  for (size_t k = 0; k < n; ++k) {
    auto next = after[k].Next();
    if (!next) continue;
    auto r = ctx_->streams->Range(argv[streams_arg + k], *next, StreamId::Max(),
                                  static_cast<size_t>(count), false);
    if (!r.ok()) return ReplyError("ERR " + r.status().message());
    if (!r->empty()) found.emplace_back(k, std::move(*r));
  }
  if (!found.empty() || timeout < 0) {
    return Reply([&](RespWriter& w) {
      if (found.empty()) return w.NullArray();
      w.resp3() ? w.MapHeader(found.size()) : w.ArrayHeader(found.size());
      for (const auto& [k, entries] : found) {
        if (!w.resp3()) w.ArrayHeader(2);
        w.Bulk(argv[streams_arg + k]);
        WriteEntries(w, entries);
      }
    });
  }
  // Block: the reply slot waits; this connection runs nothing else until
  // it is served or times out, as a blocked Redis client.
  Blocked b;
  b.generation = ++block_generation_;
  b.suppressed = reply_mode_ != ReplyMode::kOn;
  b.seq = replies_.Reserve();
  b.count = count == 0 ? 1000 : static_cast<size_t>(count);
  for (size_t k = 0; k < n; ++k) {
    b.keys.emplace_back(std::string(argv[streams_arg + k]), 0);
    b.after.emplace_back(after[k].ms, after[k].seq);
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
  for (size_t k = 0; k < n && blocked_; ++k) WatchKey(k);
}

void RespSession::WatchKey(size_t index) {
  auto poster = Poster();
  const uint64_t gen = blocked_->generation;
  const auto [ms, seq] = blocked_->after[index];
  blocked_->keys[index].second =
      ctx_->streams->Watch(blocked_->keys[index].first, StreamId{ms, seq}, [poster, gen, index] {
        poster([gen, index](RespSession& s) { s.OnStreamWake(gen, index); });
      });
}

void RespSession::OnStreamWake(uint64_t generation, size_t index) {
  if (!blocked_ || blocked_->generation != generation) return;
  if (!blocked_->group.empty()) {
    // XREADGROUP: stop watching every key, try to serve the group.
    if (blocked_->serving) return;
    blocked_->keys[index].second = 0;  // fired: already removed
    for (auto& [key, token] : blocked_->keys) {
      if (token != 0) ctx_->streams->Unwatch(key, token);
      token = 0;
    }
    ServeBlockedGroup();
    return;
  }
  const auto [ms, seq] = blocked_->after[index];
  auto next = StreamId{ms, seq}.Next();
  auto r = ctx_->streams->Range(blocked_->keys[index].first, next.value_or(StreamId::Max()),
                                StreamId::Max(), blocked_->count, false);
  if (!r.ok() || r->empty()) {
    WatchKey(index);  // woken for nothing (deleted meanwhile): wait again
    return;
  }
  // Served with that one stream only, as Redis serves a blocked client.
  std::string bytes;
  if (!blocked_->suppressed) {
    RespWriter w(&bytes, protocol_);
    w.resp3() ? w.MapHeader(1) : w.ArrayHeader(1);
    if (!w.resp3()) w.ArrayHeader(2);
    w.Bulk(blocked_->keys[index].first);
    WriteEntries(w, *r);
  }
  const uint64_t slot = blocked_->seq;
  EndBlock();
  FillReply(slot, std::move(bytes), false);
  paused_ = waiting_appends_;
  if (!paused_) RunDeferred(/*from_input=*/false);
}

void RespSession::OnBlockTimeout(uint64_t generation) {
  if (!blocked_ || blocked_->generation != generation) return;
  blocked_->timer = 0;
  if (blocked_->serving) {
    blocked_->timed_out = true;  // the read in flight decides (OnGroupServed)
    return;
  }
  std::string bytes;
  if (!blocked_->suppressed) RespWriter(&bytes, protocol_).NullArray();
  const uint64_t slot = blocked_->seq;
  blocked_->timer = 0;
  EndBlock();
  FillReply(slot, std::move(bytes), false);
  paused_ = waiting_appends_;
  if (!paused_) RunDeferred(/*from_input=*/false);
}

void RespSession::EndBlock() {
  for (const auto& [key, token] : blocked_->keys) {
    if (token != 0) ctx_->streams->Unwatch(key, token);
  }
  if (blocked_->timer != 0) ctx_->streams->CancelTimer(blocked_->timer);
  blocked_.reset();
}

}  // namespace runnel::resp
