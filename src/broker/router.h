// Router: who receives a published message, and getting it to them.
//
// Four kinds of subscription, each in its own index (docs/router.md):
//   channel   exact name, hash map          (RESP SUBSCRIBE)
//   pattern   Redis glob, GlobIndex         (RESP PSUBSCRIBE)
//   shard     exact name, own namespace     (RESP SSUBSCRIBE / SPUBLISH)
//   filter    MQTT `+`/`#` filter, TopicTrie, and `$share/<g>/<filter>`
//             shared groups on the same trie (one member per message)
// Publish() matches channel, pattern and filter subscriptions (a message
// published on any protocol reaches every protocol); SPublish() matches shard
// subscriptions only, as Redis keeps the two apart.
//
// Threads and locking. Subscribers live on io threads (Subscriber::thread).
// Every index is guarded by one PerThreadRwLock: (un)subscribe takes it
// exclusively, Publish/SPublish take their own thread's slot shared (and
// the introspection calls slot 0), so publishes on different io threads
// never wait for each other nor share a cache line. Match
// results are not delivered under the lock: Publish appends Delivery records
// to the *calling thread's* outbox (one per source thread, touched only by
// it, no lock), grouped by destination thread. FlushOutbox(from) then sends
// each destination its whole group with one post — one cross-thread hand-off
// per destination per wake-up, however many messages and subscribers — and
// hands deliveries for the caller's own thread to its sink directly. A
// session calls FlushOutbox once after it has executed everything it read.
//
// Ordering: deliveries from one source thread to one destination thread are
// handed over in Publish order, so a subscriber sees one connection's
// messages in the order they were published (DESIGN §8, at most once,
// ordered per publishing connection and topic).
//
// A delivery names its subscriber by id; the destination's DeliverySink looks
// it up and drops the delivery if the subscriber has gone meanwhile. The
// router never touches a connection.
//
// Lifetime: the Router outlives every io thread's use of it; sinks are set
// before the io threads start and outlive the router's last post.
#pragma once

#include "broker/shared_group.h"

#include "runnel/status.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace runnel::broker {

// A published message, immutable once published, shared by every delivery.
// The views point into the same block as the Message itself (MakeMessage).
struct Message {
  std::string_view channel;
  std::string_view payload;
};
using MessagePtr = std::shared_ptr<const Message>;

// One allocation per message: the reference count, the Message and a copy
// of its bytes share one block (three before: a PUBLISH storm paid for them
// on the publishing thread and again, freed, on the subscribers').
inline MessagePtr MakeMessage(std::string_view channel, std::string_view payload) {
  constexpr size_t kHeaderWords = (sizeof(Message) + sizeof(uint64_t) - 1) / sizeof(uint64_t);
  const size_t words =
      kHeaderWords + (channel.size() + payload.size() + sizeof(uint64_t) - 1) / sizeof(uint64_t);
  std::shared_ptr<uint64_t[]> block = std::make_shared_for_overwrite<uint64_t[]>(words);
  char* bytes = reinterpret_cast<char*>(block.get() + kHeaderWords);
  if (!channel.empty()) std::memcpy(bytes, channel.data(), channel.size());
  if (!payload.empty()) std::memcpy(bytes + channel.size(), payload.data(), payload.size());
  const Message* m = ::new (static_cast<void*>(block.get()))
      Message{std::string_view(bytes, channel.size()),
              std::string_view(bytes + channel.size(), payload.size())};
  // Message is trivially destructible: the block's own deleter is enough.
  static_assert(std::is_trivially_destructible_v<Message>);
  return MessagePtr(std::move(block), m);
}

// Which subscription matched.
enum class MatchKind : uint8_t {
  kChannel,  // SUBSCRIBE <channel>
  kPattern,  // PSUBSCRIBE <pattern>: `subscription` is the pattern
  kShard,    // SSUBSCRIBE <channel>
  kFilter,   // an MQTT filter: `subscription` is the filter
  kShared,   // a `$share/<g>/<filter>` group: `subscription` is the whole string
};

// One message for one subscriber. The pointers are valid while the sink's
// Deliver() call runs: the batch it belongs to holds one reference to each
// message and subscription string its deliveries point at (so a fan-out to
// N subscribers on a thread costs one reference count, not N, and no cache
// line bounces between threads per subscriber). Copy what must outlive it.
struct Delivery {
  uint64_t subscriber = 0;
  MatchKind kind = MatchKind::kChannel;
  // The pattern / filter / shared-group string that matched; null for
  // kChannel and kShard (the channel is message->channel).
  const std::string* subscription = nullptr;
  const Message* message = nullptr;
};

// Receives deliveries on one io thread (the server keeps one per thread,
// mapping subscriber ids to sessions). Called only on that thread.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  virtual void Deliver(std::span<const Delivery> deliveries) = 0;
};

struct RouterStats {
  uint64_t published = 0;   // Publish + SPublish calls
  uint64_t deliveries = 0;  // Delivery records produced
  uint64_t cross_thread_posts = 0;
};

class Router {
 public:
  // Runs `fn` on io thread `thread` (asio::post to its io_context).
  using Post = std::function<void(uint32_t thread, std::function<void()> fn)>;

  // `threads`: the number of io threads (valid Subscriber::thread and
  // source-thread values are 0..threads-1).
  Router(uint32_t threads, Post post);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The sink of io thread `thread`. Call before the io threads run.
  void SetSink(uint32_t thread, DeliverySink* sink);

  // Each returns true if it changed something (false: already subscribed /
  // was not subscribed). Callers keep their own list of what they hold, for
  // replies and to unsubscribe everything when they go.
  bool Subscribe(Subscriber s, std::string_view channel);
  bool Unsubscribe(Subscriber s, std::string_view channel);
  bool PSubscribe(Subscriber s, std::string_view pattern);
  bool PUnsubscribe(Subscriber s, std::string_view pattern);
  bool SSubscribe(Subscriber s, std::string_view channel);
  bool SUnsubscribe(Subscriber s, std::string_view channel);
  // An MQTT filter or "$share/<group>/<filter>"; InvalidArgument if
  // malformed (ValidateTopicFilter / ParseSharedSubscription say why).
  // *added tells whether it was new.
  Status SubscribeFilter(Subscriber s, std::string_view filter, bool* added);
  bool UnsubscribeFilter(Subscriber s, std::string_view filter);

  // Matches `msg` and queues a delivery per receiver in the outbox of
  // io thread `from` (the caller's own thread). Returns the number of
  // deliveries queued — Redis' PUBLISH reply: a client subscribed to the
  // channel and to a matching pattern counts twice.
  size_t Publish(uint32_t from, MessagePtr msg);
  // Shard channels only (SPUBLISH).
  size_t SPublish(uint32_t from, MessagePtr msg);
  // As Publish / SPublish for bytes the caller keeps unchanged until its
  // next FlushOutbox(from): deliveries on the caller's own thread point
  // into `channel` and `payload` (no copy, no allocation); one owned copy
  // is made, only if a subscriber on another thread matches. A RESP
  // session publishes from its input buffer this way.
  size_t PublishBorrowed(uint32_t from, std::string_view channel, std::string_view payload);
  size_t SPublishBorrowed(uint32_t from, std::string_view channel, std::string_view payload);
  // Hands over everything queued by thread `from` (see the class comment).
  // Must run on thread `from`. Returns the destination threads that got
  // deliveries, one bit each (bit 63 stands for thread 63 and above): a
  // publishing session uses it to follow its subscribers (resp_session.h,
  // "Moving").
  uint64_t FlushOutbox(uint32_t from);
  // True while the deliveries thread `from` handed to some other thread
  // and that thread has not run yet weigh more than kMaxBacklogBytes: the
  // subscribers' thread is behind, and thread `from` should stop reading
  // its publishers until it catches up (a RESP session holds its input,
  // resp_session.h). Must run on thread `from`.
  bool Backlogged(uint32_t from) const;
  static constexpr uint64_t kMaxBacklogBytes = 4 << 20;

  // Introspection (PUBSUB ...). `pattern` empty = all.
  std::vector<std::string> Channels(std::string_view pattern) const;
  std::vector<std::string> ShardChannels(std::string_view pattern) const;
  size_t NumSub(std::string_view channel) const;
  size_t ShardNumSub(std::string_view channel) const;
  size_t NumPat() const;  // distinct patterns with a subscriber
  // Distinct filter subscriptions with a subscriber: each plain filter and
  // each "$share/<group>/<filter>" counts once.
  size_t NumFilters() const;

  RouterStats stats() const;
  // Heap nodes held by the indexes: 0 once every subscription is gone (the
  // tests check that empty nodes are reclaimed).
  size_t NodeCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel::broker
