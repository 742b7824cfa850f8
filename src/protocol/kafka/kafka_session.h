// KafkaSession: one Kafka client connection (reference/kafka.md;
// docs/protocols/kafka.md), a net::Session on the connection's io thread.
//
// Per wake-up every whole request frame buffered is decoded and run. Each
// request that gets an answer takes a slot in order; a request answered
// later (Produce and OffsetCommit after their durability point, a
// long-polling Fetch, a JoinGroup held until the join phase ends, a follower's
// SyncGroup waiting for the leader's) keeps its slot while later requests
// run, and answers go out strictly in request order, as Kafka's
// one-request-at-a-time-per-connection guarantees.
// Produce with acks=0 takes no slot: no answer is ever sent for it.
//
// Completions from storage writer threads, the group coordinator (another
// io thread or its timer thread), wake-ups from FetchWaiters and timers are
// posted to this io thread (holding the connection alive, or — group
// answers — only a weak reference to it); once OnClose has run they do
// nothing.
//
// Closing: a frame that cannot be framed (negative, over the limit), an
// undecodable header or body, an unknown API key or a version not
// advertised (except ApiVersions, answered UNSUPPORTED_VERSION per KIP-511)
// closes the connection without an answer, as Kafka does; answers already
// due for earlier requests are sent first.
//
// Thread safety: every method runs on the connection's io thread.
#pragma once

#include "net/connection.h"
#include "net/io_pool.h"
#include "net/session.h"
#include "protocol/kafka/fetch_waiters.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/group_coordinator.h"
#include "protocol/kafka/messages.h"
#include "protocol/kafka/offset_retention.h"
#include "protocol/kafka/offset_store.h"
#include "protocol/kafka/sasl_credentials.h"
#include "protocol/kafka/sasl_mechanism.h"
#include "protocol/kafka/producer_ids.h"

#include "runnel/log.h"
#include "runnel/options.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::kafka {

struct ProduceState;  // produce_fetch.cc

// One Kafka listener's own settings, as Kafka's `listeners`,
// `advertised.listeners` and `listener.security.protocol.map`: a
// connection's Metadata and FindCoordinator answers name the listener it
// came in on (so a TLS client is sent to the TLS port), and `sasl` makes it
// SASL_PLAINTEXT / SASL_SSL instead of PLAINTEXT / SSL. Owned by the
// KafkaContext; immutable once sessions exist.
struct KafkaListener {
  std::string name;  // "kafka", "kafka-tls" (logs)
  std::string advertised_host = "127.0.0.1";
  int32_t advertised_port = 9092;
  bool sasl = false;
};

// What every Kafka session of a server shares. Owned by the server; outlives
// every session. Construction registers the Log's append listener (to wake
// FetchWaiters); destruction removes it, stops the group coordinator and
// flushes the offset store.
struct KafkaContext {
  KafkaContext(Log* log, net::IoPool* pool);
  ~KafkaContext();
  KafkaContext(const KafkaContext&) = delete;
  KafkaContext& operator=(const KafkaContext&) = delete;

  Log* const log;
  net::IoPool* const pool;
  TopicConfig default_topic_config;
  bool auto_create_topics = true;  // Metadata creates unknown topics (Kafka's default)
  int32_t node_id = 0;
  // Listeners, filled by the server before it accepts; sessions point in.
  std::deque<KafkaListener> listeners;
  // SASL (handlers_sasl.cc): the enabled mechanisms, in the order the
  // config gives them (the SaslHandshake answer lists them), and the users.
  std::vector<std::string> sasl_mechanisms;
  CredentialStore sasl_users;
  size_t max_request_bytes = kDefaultMaxRequestBytes;
  FetchWaiters waiters;
  // Topic administration goes through these so the other faces see it
  // (server.cc wires them to the topic rules and the stream store). Unset:
  // default_topic_config, nothing, log->DeleteTopic.
  std::function<TopicConfig(std::string_view)> topic_config;  // for a topic created now
  std::function<void(std::string_view)> topic_created;
  std::function<Status(std::string_view)> delete_topic;
  TopicConfig ConfigFor(std::string_view topic) const {
    return topic_config ? topic_config(topic) : default_topic_config;
  }
  void Created(std::string_view topic) const {
    if (topic_created) topic_created(topic);
  }
  Status Delete(std::string_view topic) const {
    return delete_topic ? delete_topic(topic) : log->DeleteTopic(topic);
  }
  // One namespace for live delivery: produced batches are handed to the
  // router (server.cc decodes them and publishes each record's value on the
  // topic's name, as PUBLISH would) once durable, on the producing
  // connection's io thread. `has_subscribers` is asked first so a topic
  // nobody subscribes to costs nothing. Unset: no fan-out.
  std::function<bool(std::string_view topic)> has_subscribers;
  std::function<void(uint32_t thread, std::string_view topic, std::string_view batch)> produced;
  // True while the deliveries `produced` posted from this io thread to the
  // others wait beyond the router's bound (broker::Router::Backlogged).
  // Unset: never.
  std::function<bool(uint32_t thread)> backlogged;
  // Every successful append of a Produce, once its records are committed:
  // the end offset (exclusive) it reached. Runs on a storage writer thread.
  // server.cc tells the stream store (XREAD of Kafka topics). Unset: nothing.
  std::function<void(std::string_view topic, int32_t partition, int64_t end)> appended;
  // Bumped on every topic create/delete so sessions drop cached readers
  // and producers of topics that may have been replaced.
  std::atomic<uint64_t> topics_generation{0};

  // Closes every open Kafka connection (each on its io thread) and waits up
  // to `timeout` for them to go: at shutdown, before the io threads stop,
  // so no session outlives the Log its readers and producers belong to.
  void CloseAll(std::chrono::milliseconds timeout);
  size_t sessions();

  // Produce appends whose callbacks have not returned. A callback reads this
  // context (and, through `appended`, the stream store) on a writer thread,
  // possibly after its session closed: the destructor waits for them all.
  void AppendStarted();
  void AppendFinished();
  // Waits until every append started has run its callback (which posts the
  // answer to the session's io thread). Ends: the log outlives this context
  // and runs every callback. The server calls it once the io threads have
  // stopped (none starts an append then), before it drops their queues.
  void WaitForAppends();

  // Opens the offset store (creating `__runnel.kafka_offsets` with
  // `offsets_fsync` if needed, loading every commit and group record), makes
  // an Empty group of every group it knows, wires the coordinator's
  // membership changes to the store (retention's Empty clock), and starts the
  // coordinator's timer.
  // Before the first session.
  // Also starts the offsets retention check (`retention`).
  Status StartGroups(const GroupSettings& settings, FsyncSpec offsets_fsync,
                     RetentionSettings retention = {});
  // Set by StartGroups; shared by every session (see their class comments).
  std::unique_ptr<OffsetStore> offsets;
  std::unique_ptr<GroupCoordinator> groups;
  std::unique_ptr<OffsetRetention> retention;
  // InitProducerId's ids (<data>/meta/kafka_producer_ids); no I/O until used.
  ProducerIdAllocator producer_ids{log->dir()};

 private:
  friend class KafkaSession;
  std::mutex sessions_mu_;
  std::map<uint64_t, std::pair<int, std::weak_ptr<net::Connection>>> sessions_;  // by id
  std::mutex appends_mu_;
  std::condition_variable appends_done_;
  int64_t appends_in_flight_ = 0;
};

// Kafka error for a storage Status (the one mapping table).
ErrorCode ErrorFromStatus(const Status& st);

class KafkaSession final : public net::Session {
 public:
  // `conn` owns the session; `ctx` and `listener` (one of ctx->listeners)
  // outlive it.
  KafkaSession(net::Connection& conn, KafkaContext* ctx, const KafkaListener* listener);
  ~KafkaSession() override;

  Action OnInput(std::string_view input, size_t* consumed, size_t* need_at_least) override;
  void OnClose() override;
  // A connection whose produced records went live holds its input while this
  // io thread's deliveries to the other threads are behind, as a RESP
  // publisher does (KafkaContext::backlogged).
  bool HoldInput() const override;

 private:
  struct FetchOp;
  using Key = FetchWaiters::Key;

  // false: close the connection.
  bool Dispatch(const RequestHeader& h, const ApiRange& api, std::string_view body);
  // Response slots, in request order.
  uint64_t Reserve();
  void Complete(uint64_t slot, std::string frame);
  // A frame whose bytes are interleaved with file ranges (a Fetch's record
  // sets, sent with sendfile): each range goes at byte `at` of the frame.
  struct FileSplice {
    size_t at = 0;
    net::FileChunk chunk;
  };
  void CompleteWithFiles(uint64_t slot, std::string frame, std::vector<FileSplice> files);
  void Respond(uint64_t slot, const RequestHeader& h, bool header_v1,
               const std::function<void(std::string*)>& body);
  void Drain();
  // Runs fn on this io thread later, unless the connection closed by then.
  void PostHere(std::function<void()> fn);

  bool HandleApiVersions(const RequestHeader& h);
  bool HandleMetadata(const RequestHeader& h, std::string_view body);
  bool HandleProduce(const RequestHeader& h, std::string_view body);
  void FanOut(ProduceState& state);  // produce_fetch.cc
  bool HandleFetch(const RequestHeader& h, std::string_view body);
  bool HandleListOffsets(const RequestHeader& h, std::string_view body);
  bool HandleFindCoordinator(const RequestHeader& h, std::string_view body);
  bool HandleCreateTopics(const RequestHeader& h, std::string_view body);
  bool HandleDeleteTopics(const RequestHeader& h, std::string_view body);
  bool HandleJoinGroup(const RequestHeader& h, std::string_view body);
  bool HandleSyncGroup(const RequestHeader& h, std::string_view body);
  bool HandleHeartbeat(const RequestHeader& h, std::string_view body);
  bool HandleLeaveGroup(const RequestHeader& h, std::string_view body);
  bool HandleOffsetCommit(const RequestHeader& h, std::string_view body);
  bool HandleOffsetFetch(const RequestHeader& h, std::string_view body);
  bool HandleListGroups(const RequestHeader& h, std::string_view body);
  bool HandleDescribeGroups(const RequestHeader& h, std::string_view body);
  bool HandleDeleteGroups(const RequestHeader& h, std::string_view body);
  bool HandleOffsetDelete(const RequestHeader& h, std::string_view body);
  bool HandleInitProducerId(const RequestHeader& h, std::string_view body);
  bool HandleCreatePartitions(const RequestHeader& h, std::string_view body);
  bool HandleDescribeConfigs(const RequestHeader& h, std::string_view body);

  // SASL (handlers_sasl.cc). Before authentication only ApiVersions and
  // SaslHandshake (then only SaslAuthenticate, or raw tokens after a v0
  // handshake) are allowed; anything else closes the connection, as Kafka.
  enum class SaslState : uint8_t { kOff, kHandshake, kAuthenticate, kRawTokens, kDone };
  bool SaslAllows(ApiKey key) const;
  bool HandleSaslHandshake(const RequestHeader& h, std::string_view body);
  bool HandleSaslAuthenticate(const RequestHeader& h, std::string_view body);
  // One raw token (a frame without a Kafka header); false: close.
  bool HandleRawSaslToken(std::string_view token);

  // For an answer completed on any thread: the returned function posts the
  // whole response frame to this io thread, where it fills `slot` — unless
  // the connection has closed by then (it holds only a weak reference).
  std::function<void(std::string)> Deferred(uint64_t slot);
  bool HandleDeleteRecords(const RequestHeader& h, std::string_view body);  // handle_delete_records.cc

  void RunFetch(const std::shared_ptr<FetchOp>& op);
  void RespondWithFiles(const std::shared_ptr<FetchOp>& op, const FetchResponse& r,
                        std::vector<std::vector<StoredRange>> files);
  void WakeFetch(const std::shared_ptr<FetchOp>& op);

  // Cached per session; nullptr with *error set when the topic/partition
  // does not exist.
  Reader* ReaderFor(const std::string& topic, int32_t partition, Status* error);
  Producer* ProducerFor(std::string_view topic, Status* error);
  void CheckGeneration();

  net::Connection& conn_;
  KafkaContext* const ctx_;
  std::deque<std::optional<std::string>> slots_;
  uint64_t first_slot_ = 0;  // id of slots_.front()
  std::map<uint64_t, std::vector<FileSplice>> slot_files_;  // by slot, for filled slots
  bool closed_ = false;
  bool closing_ = false;  // stop reading; close once the due answers are out
  // A Produce went to the router (HoldInput).
  bool fanned_out_ = false;
  const KafkaListener* const listener_;
  SaslState sasl_state_;
  std::unique_ptr<SaslServer> sasl_;
  uint64_t generation_ = 0;
  std::map<Key, std::unique_ptr<Reader>> readers_;
  std::map<std::string, std::unique_ptr<Producer>, std::less<>> producers_;
  std::map<uint64_t, std::shared_ptr<FetchOp>> parked_;  // long-polling fetches by waiter id
};

}  // namespace runnel::kafka
