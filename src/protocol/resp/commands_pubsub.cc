// Pub/sub commands (reference/resp.md §3). The session keeps the names it is
// subscribed to (for counts, replies and unsubscribe-all); the router keeps
// who receives what.
#include "broker/streams/stream_store.h"
#include "protocol/resp/command_table.h"
#include "protocol/resp/resp_session.h"
#include "protocol/resp/resp_util.h"

#include <string>
#include <vector>

namespace runnel::resp {

namespace {

constexpr std::string_view kPubSubHelp[] = {
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Print this help.",
};

}  // namespace

// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: per argument, add it to `held` and
// the router, then push [kind, name, count].
void RespSession::SubscribeEach(Command argv, NameSet* held, RouterCall add,
                                std::string_view kind) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string_view name = argv[i];
    if (held->emplace(name).second) (broker_.router().*add)(self(), name);
    UpdateEntryCounts();
    const int64_t count = CountFor(held);
    Push([&](RespWriter& w) { w.SubscriptionEvent(kind, name, count); });
  }
}

// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or everything
// held (in the set's order; Redis uses its hash order); with nothing held
// and no names, one [kind, null, count] push.
void RespSession::UnsubscribeEach(Command argv, NameSet* held, RouterCall remove,
                                  std::string_view kind) {
  if (!held->empty()) unsubscribed_any_ = true;
  std::vector<std::string> names;
  if (argv.size() > 1) {
    for (size_t i = 1; i < argv.size(); ++i) names.emplace_back(argv[i]);
  } else {
    names.assign(held->begin(), held->end());
  }
  for (const std::string& name : names) {
    if (held->erase(name) > 0) (broker_.router().*remove)(self(), name);
    UpdateEntryCounts();
    const int64_t count = CountFor(held);
    Push([&](RespWriter& w) { w.SubscriptionEvent(kind, name, count); });
  }
  if (names.empty()) {
    const int64_t count = CountFor(held);
    Push([&](RespWriter& w) { w.SubscriptionEventNoChannel(kind, count); });
  }
  if (!subscribed()) soft_since_ = {};
}

int64_t RespSession::CountFor(const NameSet* held) const {
  // Shard replies count shard channels only; the others count channels
  // plus patterns (reference §3.2).
  return held == &shard_channels_ ? static_cast<int64_t>(shard_channels_.size())
                                  : SubscriptionCount();
}

void RespSession::Subscribe(Command argv) {
  SubscribeEach(argv, &channels_, &broker::Router::Subscribe, "subscribe");
}
void RespSession::PSubscribe(Command argv) {
  SubscribeEach(argv, &patterns_, &broker::Router::PSubscribe, "psubscribe");
}
void RespSession::SSubscribe(Command argv) {
  SubscribeEach(argv, &shard_channels_, &broker::Router::SSubscribe, "ssubscribe");
}
void RespSession::Unsubscribe(Command argv) {
  UnsubscribeEach(argv, &channels_, &broker::Router::Unsubscribe, "unsubscribe");
}
void RespSession::PUnsubscribe(Command argv) {
  UnsubscribeEach(argv, &patterns_, &broker::Router::PUnsubscribe, "punsubscribe");
}
void RespSession::SUnsubscribe(Command argv) {
  UnsubscribeEach(argv, &shard_channels_, &broker::Router::SUnsubscribe, "sunsubscribe");
}

void RespSession::Publish(Command argv) {
  broker::Router& router = broker_.router();
  published_ = true;
  // A durable topic: append first (key null, value = message), then fan
  // out and reply once the record is durable (DESIGN §3 write-ahead).
  if (ctx_->streams != nullptr && ctx_->streams->IsDurable(argv[1])) {
    Completion done = Later(/*append=*/true);
    auto poster = Poster();
    const Protocol p = protocol_;
    std::string channel(argv[1]), payload(argv[2]);
    const bool durable = ctx_->streams->AppendMessage(
        argv[1], argv[2],
        [done, poster, p, channel = std::move(channel),
         payload = std::move(payload)](broker::streams::Outcome o) {
          if (!o.ok()) {
            std::string e;
            RespWriter(&e, p).Error("ERR " + o.detail);
            return done(std::move(e));
          }
          poster([done, p, channel, payload](RespSession& s) {
            broker::Router& r = s.broker_.router();
            const size_t n = r.Publish(s.thread_, broker::MakeMessage(channel, payload));
            r.FlushOutbox(s.thread_);
            std::string bytes;
            RespWriter(&bytes, p).Integer(static_cast<int64_t>(n));
            done(std::move(bytes));
          });
        });
    if (durable) return;
    // Not durable: give the slot back at once, in order, as an ordinary reply.
    --inflight_appends_;
    const size_t receivers = router.Publish(thread_, broker::MakeMessage(argv[1], argv[2]));
    if (subscribed()) router.FlushOutbox(thread_);
    std::string bytes;
    RespWriter(&bytes, protocol_).Integer(static_cast<int64_t>(receivers));
    FillReply(done.seq, done.suppressed ? std::string() : std::move(bytes), false);
    return;
  }
  // Borrowed from the input when it lies there: the session flushes the
  // outbox before the input goes, so a subscriber on this thread costs no
  // copy of the message and no allocation.
  const size_t receivers = InInput(argv[1]) && InInput(argv[2])
                               ? router.PublishBorrowed(thread_, argv[1], argv[2])
                               : router.Publish(thread_, broker::MakeMessage(argv[1], argv[2]));
  // Redis delivers during PUBLISH, so a client subscribed to its own
  // channel (RESP3) sees the message before the reply: hand this thread's
  // deliveries over now in that case.
  if (subscribed()) router.FlushOutbox(thread_);
  Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(receivers)); });
}

void RespSession::SPublish(Command argv) {
  broker::Router& router = broker_.router();
  published_ = true;
  const size_t receivers = InInput(argv[1]) && InInput(argv[2])
                               ? router.SPublishBorrowed(thread_, argv[1], argv[2])
                               : router.SPublish(thread_, broker::MakeMessage(argv[1], argv[2]));
  if (subscribed()) router.FlushOutbox(thread_);
  Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(receivers)); });
}

void RespSession::PubSubCmd(Command argv) {
  const std::string_view sub = current_->name.substr(current_->name.find('|') + 1);
  broker::Router& router = broker_.router();
  if (sub == "help") {
    Reply([](RespWriter& w) {
      w.ArrayHeader(std::size(kPubSubHelp));
      for (std::string_view line : kPubSubHelp) w.SimpleString(line);
    });
  } else if (sub == "channels" || sub == "shardchannels") {
    if (argv.size() > 3) {
      ReplyError("ERR unknown subcommand or wrong number of arguments for '" +
                 std::string(argv[1]) + "'. Try PUBSUB HELP.");
      return;
    }
    const std::string_view pattern = argv.size() == 3 ? argv[2] : std::string_view();
    std::vector<std::string> names =
        sub == "channels" ? router.Channels(pattern) : router.ShardChannels(pattern);
    Reply([&](RespWriter& w) {
      w.ArrayHeader(names.size());
      for (const std::string& n : names) w.Bulk(n);
    });
  } else if (sub == "numsub" || sub == "shardnumsub") {
    Reply([&](RespWriter& w) {
      // A flat array channel, count, ... in both protocols: Redis 7.0
      // replies addReplyArrayLen(argc - 2) * 2, not a map (reference §3.1).
      w.ArrayHeader((argv.size() - 2) * 2);
      for (size_t i = 2; i < argv.size(); ++i) {
        w.Bulk(argv[i]);
        w.Integer(static_cast<int64_t>(sub == "numsub" ? router.NumSub(argv[i])
                                                       : router.ShardNumSub(argv[i])));
      }
    });
  } else if (sub == "numpat") {
    Reply([&](RespWriter& w) { w.Integer(static_cast<int64_t>(router.NumPat())); });
  }
}

}  // namespace runnel::resp
