// RespSession: one Redis-protocol client, from parsed commands to replies,
// subscriptions and deliveries. Behaviour is Redis 7.0's (reference/resp.md);
// where runnel differs it says so in docs/protocols/resp.md.
//
// Life: made by the listener's session factory on the connection's io
// thread; OnOpen registers the client (or refuses it at max clients),
// OnInput executes every complete command read, OnClose unsubscribes
// everything and unregisters. The connection owns the session and outlives
// OnClose.
//
// Per wake-up: all buffered commands are parsed and executed, their replies
// appended to the connection's outbound buffer, then the router's outbox of
// this thread is flushed (one hand-off per destination thread for every
// PUBLISH in the batch) and the connection writes once.
//
// Replies in order (reply_queue.h): a command whose answer comes later (a
// durable append answers at its fsync policy's durability point; a blocked
// XREAD when an entry arrives or the timeout passes) takes a slot; later
// commands still run at once and their replies queue behind it. Completions
// run on storage writer or timer threads and are posted to this io thread
// through the broker's post with a token the session clears in OnClose, so
// a closed connection drops them.
//
// Pausing: a command that reads or changes keys (kSeesAppends) while this
// connection has appends not yet acknowledged waits for them, so a client
// always reads its own writes; a blocked XREAD pauses the connection as
// Redis blocks a client. While paused, input is kept (the rest of a parsed
// batch re-encoded as RESP) and run when the pause ends.
//
// Deliveries (Deliver) arrive on the same io thread through LocalClients.
// Moving (resp_session_move.cc): a connection that only publishes, and
// whose publishes of the last several wake-ups all went to subscribers on
// one other io thread, moves there (net::Connection::RequestMove), so its
// messages reach them with no cross-thread hand-off and wake-up: on a small
// machine that hop costs more than the delivery itself. Not when the target
// thread already has far more clients than this one, not more than once a
// second, not with anything in flight (CanMove); CONFIG SET
// follow-subscribers no turns it off. INFO stats counts connections_moved.
//
// Output limits follow Redis' `client-output-buffer-limit pubsub`: a client
// with subscriptions whose queued output reaches the hard limit, or stays at
// or above the soft limit for more than soft-seconds, is closed (logged and
// counted); publishers never block on it.
//
// Thread safety: every method runs on the connection's io thread.
#pragma once

#include "broker/broker.h"
#include "broker/streams/stream_store.h"
#include "net/connection.h"
#include "net/io_pool.h"
#include "net/session.h"
#include "protocol/resp/reply_queue.h"
#include "protocol/resp/resp_parser.h"
#include "protocol/resp/resp_writer.h"
#include "util/string_hash.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace runnel {
class Log;
}

namespace runnel::resp {

struct CommandSpec;

// Facts about the running server that INFO and CONFIG GET report.
struct ServerFacts {
  std::string version;  // runnel's
  std::string executable;
  std::string config_file;  // empty: none
  std::string data_dir;
  std::string bind;       // RESP listener host
  uint16_t port = 0;      // RESP listener port
  uint16_t tls_port = 0;  // 0: no TLS listener
  int io_threads = 0;
  int64_t shutdown_timeout_ms = 0;
};

// What every RESP session of a server shares. Owned by the server; outlives
// every session.
struct RespContext {
  broker::Broker* broker = nullptr;
  Log* log = nullptr;  // durable topics: DBSIZE, FLUSHALL, INFO keyspace
  broker::streams::StreamStore* streams = nullptr;  // XADD, XRANGE, … (commands_stream.cc)
  const net::IoPool* pool = nullptr;  // INFO's idle polling counters; null in unit tests
  ServerFacts facts;
};

class RespSession final : public net::Session, public broker::LocalClient {
 public:
  // `conn` owns this session; `ctx` outlives it.
  RespSession(net::Connection& conn, RespContext* ctx);
  ~RespSession() override;

  // net::Session
  Action OnOpen() override;
  Action OnInput(std::string_view input, size_t* consumed, size_t* need_at_least) override;
  void OnClose() override;

  // broker::LocalClient
  void Deliver(const broker::Delivery& delivery) override;
  void EndDeliveries() override;
  void Cron(std::chrono::steady_clock::time_point now) override;
  void Shutdown() override { conn_.CloseAfterFlush(); }

  // net::Session: moving to another io thread (resp_session_move.cc).
  bool CanMove() const override;
  // A client that has published holds its input while this thread's
  // deliveries to the other threads are behind (Router::Backlogged).
  bool HoldInput() const override { return published_ && broker_.router().Backlogged(thread_); }
  void Detach() override;
  std::unique_ptr<net::Session> Reattach(net::Connection& conn) override;

  // Command handlers, one per command or container (commands_*.cc). The
  // dispatcher has checked arity, authentication and subscribed mode.
  void Ping(Command argv);
  void Echo(Command argv);
  void Hello(Command argv);
  void Auth(Command argv);
  void Quit(Command argv);
  void ResetCmd(Command argv);
  void Select(Command argv);
  void ClientCmd(Command argv);
  void CommandCmd(Command argv);
  void ConfigCmd(Command argv);
  void Info(Command argv);
  void DbSize(Command argv);
  void FlushAll(Command argv);
  void Time(Command argv);
  void Subscribe(Command argv);
  void Unsubscribe(Command argv);
  void PSubscribe(Command argv);
  void PUnsubscribe(Command argv);
  void SSubscribe(Command argv);
  void SUnsubscribe(Command argv);
  void Publish(Command argv);
  void SPublish(Command argv);
  void PubSubCmd(Command argv);
  void SecurityWarning(Command argv);  // "POST" / "Host:": an HTTP request
  // Streams (commands_stream.cc) and keys (commands_keys.cc).
  void XAdd(Command argv);
  void XRange(Command argv);
  void XRevRange(Command argv);
  void XLen(Command argv);
  void XDel(Command argv);
  void XTrim(Command argv);
  void XRead(Command argv);
  void XSetId(Command argv);
  void XInfo(Command argv);
  void XGroupLater(Command argv);  // a group command not implemented yet
  // Consumer groups (commands_stream_groups.cc).
  void XGroup(Command argv);
  void XReadGroup(Command argv);
  void XAck(Command argv);
  void XPending(Command argv);
  void XClaim(Command argv);
  void XAutoClaim(Command argv);
  void Del(Command argv);
  void Exists(Command argv);
  void Type(Command argv);
  void Keys(Command argv);
  void Scan(Command argv);

 private:
  // Runs one parsed command: lookup, arity, auth, subscribed-mode checks,
  // then its handler.
  void Execute(Command argv);
  // Parses and runs `input`; returns the bytes consumed (all of it when a
  // command paused the connection: the rest is kept in deferred_).
  size_t Process(std::string_view input, size_t* need_at_least);
  // Runs kept input once no pause holds it; then flushes.
  void RunDeferred(bool from_input);
  void SaveRest(size_t from);

  // A reply that comes later (see the class comment): completion(bytes)
  // may be called once from any thread.
  struct Completion {
    broker::Router::Post post;
    uint32_t thread;
    std::shared_ptr<RespSession*> alive;
    uint64_t seq;
    bool suppressed;
    bool append;
    void operator()(std::string bytes) const;
  };
  Completion Later(bool append);
  void FillReply(uint64_t seq, std::string bytes, bool append);
  // FillReply's two halves, for a batch of replies that arrive together.
  void PlaceReply(uint64_t seq, std::string bytes, bool append);
  void AfterReplies();

  // Pipelined XADDs to one key (commands_stream.cc): queued while the
  // input's next command is another XADD to that key with the same options,
  // then handed to the store as one append (StreamStore::AddBatch) by
  // FlushAdds — before any other command runs and when the input is used
  // up. Each XADD takes its reply slot when it is read, so replies keep
  // command order.
  struct PendingAdds {
    std::string key;
    bool nomkstream = false;
    broker::streams::TrimSpec trim;
    std::vector<broker::streams::AddIdSpec> ids;
    std::vector<uint32_t> first_field;       // per XADD, into fields
    std::vector<std::pair<size_t, size_t>> fields;  // offset, length in arena
    std::string arena;
    std::vector<std::pair<uint64_t, bool>> slots;  // reply seq, suppressed
    bool empty() const { return ids.empty(); }
  };
  void FlushAdds();
  void FillAddReplies(const std::vector<std::pair<uint64_t, bool>>& slots,
                      const std::vector<broker::streams::StreamStore::AddResult>& results,
                      Protocol protocol);

  // XREAD BLOCK (commands_stream.cc).
  struct Blocked {
    uint64_t generation = 0;
    uint64_t seq = 0;
    bool suppressed = false;
    std::vector<std::pair<std::string, uint64_t>> keys;  // key, watch token
    std::vector<std::pair<uint64_t, uint64_t>> after;    // ms, seq per key
    size_t count = 0;
    uint64_t timer = 0;
    // XREADGROUP BLOCK: group mode when `group` is set. While `serving`, a
    // read is in flight; a timeout then only sets `timed_out`.
    std::string group;
    std::string consumer;
    bool noack = false;
    bool serving = false;
    bool timed_out = false;
    std::vector<std::pair<uint64_t, uint64_t>> group_pos;  // per key, at the last try
  };
  void WatchKey(size_t index);
  void OnStreamWake(uint64_t generation, size_t index);
  void OnBlockTimeout(uint64_t generation);
  void EndBlock();
  // XREADGROUP (commands_stream_groups.cc).
  void ServeGroupRead(std::vector<std::string> keys, std::string group, std::string consumer,
                      std::vector<std::optional<broker::streams::StreamId>> history,
                      size_t count, bool noack, bool blocked,
                      std::function<void(std::string, bool)> finish);
  void ServeBlockedGroup();
  void OnGroupServed(uint64_t generation, std::string bytes, bool empty);
  void XInfoGroups(Command argv, bool consumers);
  // Runs fn(session) on this io thread later, unless the session is gone.
  std::function<void(std::function<void(RespSession&)>)> Poster();

  // Appends a reply unless CLIENT REPLY OFF/SKIP suppresses it.
  template <typename F>
  void Reply(F&& write);
  void ReplyError(std::string_view text);
  // Pushes (subscription events): sent even under CLIENT REPLY OFF.
  template <typename F>
  void Push(F&& write);

  // Whether `arg` lies in the input being processed (not in the parser's
  // own storage, as an unescaped inline word does).
  bool InInput(std::string_view arg) const {
    return !input_.empty() && arg.data() >= input_.data() &&
           arg.data() + arg.size() <= input_.data() + input_.size();
  }
  bool subscribed() const {
    return !channels_.empty() || !patterns_.empty() || !shard_channels_.empty();
  }
  int64_t SubscriptionCount() const {
    return static_cast<int64_t>(channels_.size() + patterns_.size());
  }
  using NameSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
  using RouterCall = bool (broker::Router::*)(broker::Subscriber, std::string_view);
  void SubscribeEach(Command argv, NameSet* held, RouterCall add, std::string_view kind);
  void UnsubscribeEach(Command argv, NameSet* held, RouterCall remove, std::string_view kind);
  int64_t CountFor(const NameSet* held) const;
  void UpdateEntryCounts();
  void UnsubscribeAll();
  // Whether the subscription `d` matched is still held (see Deliver).
  bool StillSubscribed(const broker::Delivery& d) const;
  bool CheckPassword(std::string_view user, std::string_view pass) const;
  // Closes the client if it is over its output limits (pub/sub class only).
  void CheckOutputLimits(std::chrono::steady_clock::time_point now);
  void CloseSoon(const char* why);
  broker::Subscriber self() const { return {thread_, conn_.id()}; }
  // entry_'s owner: this io thread and connection (OnOpen, Reattach).
  void SetOwner();
  // After a wake-up's publishes: the threads they went to (FlushOutbox's
  // answer). Asks for a move when they keep going to one other thread.
  void FollowDeliveries(uint64_t destinations);

  // CLIENT subcommands (commands_client.cc).
  void ClientList(Command argv);
  void ClientKill(Command argv);
  std::string ClientLine(const broker::ClientEntry& e) const;

  net::Connection& conn_;
  RespContext* const ctx_;
  broker::Broker& broker_;
  const uint32_t thread_;
  std::shared_ptr<broker::ClientEntry> entry_;
  bool registered_ = false;

  RespParser parser_;
  CommandBatch batch_;
  Protocol protocol_ = Protocol::kResp2;
  bool authenticated_ = false;
  Action action_ = Action::kContinue;  // set by QUIT, protocol errors, kills
  enum class ReplyMode : uint8_t { kOn, kOff, kSkipNext, kSkipThis } reply_mode_ = ReplyMode::kOn;
  const CommandSpec* current_ = nullptr;  // the command being executed
  uint64_t executed_ = 0;                 // commands run in this OnInput
  uint64_t delivered_bytes_ = 0;          // frames queued since EndDeliveries

  NameSet channels_;
  NameSet patterns_;
  NameSet shard_channels_;
  bool published_ = false;         // PUBLISH or SPUBLISH seen (HoldInput)
  bool unsubscribed_any_ = false;  // deliveries are then checked against the sets

  ReplyQueue replies_;
  std::shared_ptr<RespSession*> alive_;  // cleared in OnClose; completions check it
  int64_t inflight_appends_ = 0;         // appends whose reply is not back yet
  bool paused_ = false;
  bool waiting_appends_ = false;  // paused_ until inflight_appends_ is 0
  bool rerun_current_ = false;    // the pausing command runs again on resume
  std::string deferred_;          // input kept while paused (or a partial command)
  std::string_view input_;        // the input Process is running, for PUBLISH
  PendingAdds pending_adds_;
  std::optional<Blocked> blocked_;
  uint64_t block_generation_ = 0;

  // Output limits: when the soft limit was first reached (epoch = not over).
  std::chrono::steady_clock::time_point soft_since_{};
  bool close_pending_ = false;

  // Moving: wake-ups in a row whose deliveries all went to follow_thread_.
  uint32_t follow_thread_ = 0;
  uint32_t follow_streak_ = 0;
  std::chrono::steady_clock::time_point moved_at_{};
  bool detached_ = false;  // Detach ran: this thread's registrations are gone
};

template <typename F>
void RespSession::Reply(F&& write) {
  if (reply_mode_ != ReplyMode::kOn) return;
  if (!replies_.idle()) {
    RespWriter w(&replies_.Tail(), protocol_);
    write(w);
    return;
  }
  conn_.out().AppendWith([&](std::string& s) {
    RespWriter w(&s, protocol_);
    write(w);
  });
}

template <typename F>
void RespSession::Push(F&& write) {
  conn_.out().AppendWith([&](std::string& s) {
    RespWriter w(&s, protocol_);
    write(w);
  });
}

}  // namespace runnel::resp
