// The Router's indexes: (un)subscribe, Publish and introspection. The
// outboxes and their hand-off are in router_outbox.cc.
#include "broker/router.h"

#include "broker/glob_match.h"
#include "broker/router_impl.h"
#include "util/check.h"

#include <algorithm>
#include <mutex>
#include <utility>

namespace runnel::broker {

using router_internal::Bump;
using router_internal::ChannelMap;
using router_internal::FilterEntry;
using router_internal::Outbox;
using router_internal::PatternEntry;
using router_internal::SharedEntry;

namespace {

// As GlobIndex: give a table's buckets back once it is mostly empty.
template <typename Map>
void ShrinkIfSparse(Map& map) {
  if (map.bucket_count() > 64 && map.size() < map.bucket_count() / 8) map.rehash(0);
}

bool AddToChannel(ChannelMap& map, Subscriber s, std::string_view channel) {
  auto it = map.find(channel);
  if (it == map.end()) it = map.emplace(std::string(channel), SubscriberSet()).first;
  return it->second.Insert(s);
}

bool RemoveFromChannel(ChannelMap& map, Subscriber s, std::string_view channel) {
  auto it = map.find(channel);
  if (it == map.end() || !it->second.Erase(s)) return false;
  if (it->second.empty()) {
    map.erase(it);
    ShrinkIfSparse(map);
  }
  return true;
}

std::vector<std::string> ListChannels(const ChannelMap& map, std::string_view pattern) {
  std::vector<std::string> out;
  for (const auto& [name, subs] : map) {
    if (pattern.empty() || GlobMatch(pattern, name)) out.push_back(name);
  }
  return out;
}

size_t CountSubscribers(const ChannelMap& map, std::string_view channel) {
  auto it = map.find(channel);
  return it == map.end() ? 0 : it->second.size();
}

}  // namespace

Router::Impl::Impl(uint32_t threads_in, Post post_in)
    : threads(threads_in),
      post(std::move(post_in)),
      sinks(threads_in, nullptr),
      outboxes(std::make_unique<Outbox[]>(threads_in)),
      mu(threads_in) {
  for (uint32_t i = 0; i < threads; ++i) {
    outboxes[i].to.resize(threads);
    outboxes[i].backlog = std::make_shared<router_internal::Backlog>(threads);
  }
}

Router::Router(uint32_t threads, Post post)
    : impl_(std::make_unique<Impl>(threads, std::move(post))) {
  RUNNEL_CHECK(threads > 0, "a router needs at least one io thread");
}

Router::~Router() = default;

void Router::SetSink(uint32_t thread, DeliverySink* sink) {
  RUNNEL_CHECK(thread < impl_->threads, "thread %u of %u", thread, impl_->threads);
  impl_->sinks[thread] = sink;
}

#define RUNNEL_CHECK_SUBSCRIBER(s)                                                \
  RUNNEL_CHECK((s).thread < impl_->threads, "subscriber %llu on thread %u of %u", \
               static_cast<unsigned long long>((s).id), (s).thread, impl_->threads)

bool Router::Subscribe(Subscriber s, std::string_view channel) {
  RUNNEL_CHECK_SUBSCRIBER(s);
  std::unique_lock lock(impl_->mu);
  return AddToChannel(impl_->channels, s, channel);
}

bool Router::Unsubscribe(Subscriber s, std::string_view channel) {
  std::unique_lock lock(impl_->mu);
  return RemoveFromChannel(impl_->channels, s, channel);
}

bool Router::SSubscribe(Subscriber s, std::string_view channel) {
  RUNNEL_CHECK_SUBSCRIBER(s);
  std::unique_lock lock(impl_->mu);
  return AddToChannel(impl_->shards, s, channel);
}

bool Router::SUnsubscribe(Subscriber s, std::string_view channel) {
  std::unique_lock lock(impl_->mu);
  return RemoveFromChannel(impl_->shards, s, channel);
}

bool Router::PSubscribe(Subscriber s, std::string_view pattern) {
  RUNNEL_CHECK_SUBSCRIBER(s);
  std::unique_lock lock(impl_->mu);
  bool inserted = false;
  const auto ref = impl_->patterns.FindOrInsert(pattern, &inserted);
  if (inserted) ref.value->pattern = std::make_shared<const std::string>(*ref.pattern);
  return ref.value->subscribers.Insert(s);
}

bool Router::PUnsubscribe(Subscriber s, std::string_view pattern) {
  std::unique_lock lock(impl_->mu);
  PatternEntry* entry = impl_->patterns.Find(pattern);
  if (entry == nullptr || !entry->subscribers.Erase(s)) return false;
  if (entry->subscribers.empty()) impl_->patterns.Erase(pattern);
  return true;
}

Status Router::SubscribeFilter(Subscriber s, std::string_view filter, bool* added) {
  RUNNEL_CHECK_SUBSCRIBER(s);
  *added = false;
  if (IsSharedSubscription(filter)) {
    Result<SharedSubscription> shared = ParseSharedSubscription(filter);
    if (!shared.ok()) return shared.status();
    std::unique_lock lock(impl_->mu);
    bool inserted = false;
    FilterEntry& entry = impl_->filters.FindOrInsert(shared->filter, &inserted);
    if (inserted) entry.filter = std::make_shared<const std::string>(shared->filter);
    auto it = entry.groups.find(shared->group);
    if (it == entry.groups.end()) {
      it = entry.groups
               .emplace(std::string(shared->group),
                        std::make_unique<SharedEntry>(std::string(filter)))
               .first;
      ++impl_->shared_groups;
    }
    SubscriberSet& members = it->second->group.members();
    *added = members.Insert(s);
    if (*added && members.size() == 1) ++impl_->filter_subscriptions;
    return Status::OK();
  }
  if (Status st = ValidateTopicFilter(filter); !st.ok()) return st;
  std::unique_lock lock(impl_->mu);
  bool inserted = false;
  FilterEntry& entry = impl_->filters.FindOrInsert(filter, &inserted);
  if (inserted) entry.filter = std::make_shared<const std::string>(filter);
  *added = entry.subscribers.Insert(s);
  if (*added && entry.subscribers.size() == 1) ++impl_->filter_subscriptions;
  return Status::OK();
}

bool Router::UnsubscribeFilter(Subscriber s, std::string_view filter) {
  std::string_view plain = filter;
  std::string_view group;
  if (IsSharedSubscription(filter)) {
    Result<SharedSubscription> shared = ParseSharedSubscription(filter);
    if (!shared.ok()) return false;
    plain = shared->filter;
    group = shared->group;
  } else if (!ValidateTopicFilter(filter).ok()) {
    // Nothing invalid was ever stored; and the trie's lookup is defined
    // for valid filters only ("a/#/b" would walk to "a/#").
    return false;
  }
  std::unique_lock lock(impl_->mu);
  FilterEntry* entry = impl_->filters.Find(plain);
  if (entry == nullptr) return false;
  if (group.empty()) {
    if (!entry->subscribers.Erase(s)) return false;
    if (entry->subscribers.empty()) --impl_->filter_subscriptions;
  } else {
    auto it = entry->groups.find(group);
    if (it == entry->groups.end() || !it->second->group.members().Erase(s)) return false;
    if (it->second->group.members().empty()) {
      entry->groups.erase(it);
      --impl_->shared_groups;
      --impl_->filter_subscriptions;
    }
  }
  if (entry->empty()) impl_->filters.Erase(plain);
  return true;
}

namespace {

// Calls add(subscriber, kind, subscription) for every receiver of a message
// on `channel` among channel, pattern and filter subscriptions (one member
// per shared group). Under the caller's read lock.
template <typename Impl, typename Add>
void MatchPublish(Impl& impl, std::string_view channel, Add&& add) {
  if (auto it = impl.channels.find(channel); it != impl.channels.end()) {
    for (const Subscriber& s : it->second.members()) add(s, MatchKind::kChannel, nullptr);
  }
  impl.patterns.Match(channel, [&](const std::string&, const PatternEntry& e) {
    for (const Subscriber& s : e.subscribers.members()) add(s, MatchKind::kPattern, e.pattern);
  });
  impl.filters.Match(channel, [&](const FilterEntry& e) {
    for (const Subscriber& s : e.subscribers.members()) add(s, MatchKind::kFilter, e.filter);
    // Groups are never empty (the last member leaving erases its group).
    for (const auto& [name, shared] : e.groups) {
      add(shared->group.Pick(), MatchKind::kShared, shared->name);
    }
  });
}

template <typename Impl, typename Add>
void MatchShard(Impl& impl, std::string_view channel, Add&& add) {
  if (auto it = impl.shards.find(channel); it != impl.shards.end()) {
    for (const Subscriber& s : it->second.members()) add(s, MatchKind::kShard, nullptr);
  }
}

// The adder of a borrowed publish (Router::PublishBorrowed): deliveries on
// the source thread point at a Message of views kept in the outbox until
// the flush; the first delivery to another thread makes the one owned copy
// they all share.
struct BorrowedAdd {
  uint32_t from;
  std::string_view channel, payload;
  const Message* local = nullptr;
  MessagePtr owned;

  void operator()(Outbox& out, const Subscriber& s, MatchKind kind,
                  const std::shared_ptr<const std::string>& subscription) {
    if (s.thread == from) {
      if (local == nullptr) local = out.borrowed.Add(Message{channel, payload});
      out.to[from].AddBorrowed(s.id, kind, subscription, local);
      return;
    }
    if (!owned) owned = MakeMessage(channel, payload);
    out.Add(s.thread, s.id, kind, subscription, owned);
  }
};

// One publish from io thread `from`: matches `channel` (shard channels
// only, or everything else) under that thread's read lock, hands each
// receiver to add(outbox, subscriber, kind, subscription), counts it in
// the outbox's stats and returns the number of deliveries queued.
template <typename Impl, typename Add>
size_t QueuePublish(Impl& impl, uint32_t from, std::string_view channel, bool shard, Add&& add) {
  RUNNEL_CHECK(from < impl.threads, "source thread %u of %u", from, impl.threads);
  Outbox& out = impl.outboxes[from];
  size_t queued = 0;
  auto each = [&](const Subscriber& s, MatchKind kind,
                  const std::shared_ptr<const std::string>& subscription) {
    add(out, s, kind, subscription);
    ++queued;
  };
  {
    auto lock = impl.mu.Read(from);
    if (shard) {
      MatchShard(impl, channel, each);
    } else {
      MatchPublish(impl, channel, each);
    }
  }
  Bump(out.published, 1);
  Bump(out.deliveries, queued);
  return queued;
}

// The adder of an owned message: every delivery holds it.
auto OwnedAdd(const MessagePtr& msg) {
  return [&msg](Outbox& out, const Subscriber& s, MatchKind kind,
                const std::shared_ptr<const std::string>& subscription) {
    out.Add(s.thread, s.id, kind, subscription, msg);
  };
}

}  // namespace

size_t Router::Publish(uint32_t from, MessagePtr msg) {
  return QueuePublish(*impl_, from, msg->channel, /*shard=*/false, OwnedAdd(msg));
}

size_t Router::SPublish(uint32_t from, MessagePtr msg) {
  return QueuePublish(*impl_, from, msg->channel, /*shard=*/true, OwnedAdd(msg));
}

size_t Router::PublishBorrowed(uint32_t from, std::string_view channel, std::string_view payload) {
  return QueuePublish(*impl_, from, channel, /*shard=*/false,
                      BorrowedAdd{from, channel, payload, nullptr, {}});
}

size_t Router::SPublishBorrowed(uint32_t from, std::string_view channel, std::string_view payload) {
  return QueuePublish(*impl_, from, channel, /*shard=*/true,
                      BorrowedAdd{from, channel, payload, nullptr, {}});
}

std::vector<std::string> Router::Channels(std::string_view pattern) const {
  auto lock = impl_->mu.Read(0);
  return ListChannels(impl_->channels, pattern);
}

std::vector<std::string> Router::ShardChannels(std::string_view pattern) const {
  auto lock = impl_->mu.Read(0);
  return ListChannels(impl_->shards, pattern);
}

size_t Router::NumSub(std::string_view channel) const {
  auto lock = impl_->mu.Read(0);
  return CountSubscribers(impl_->channels, channel);
}

size_t Router::ShardNumSub(std::string_view channel) const {
  auto lock = impl_->mu.Read(0);
  return CountSubscribers(impl_->shards, channel);
}

size_t Router::NumPat() const {
  auto lock = impl_->mu.Read(0);
  return impl_->patterns.size();
}

size_t Router::NumFilters() const {
  auto lock = impl_->mu.Read(0);
  return impl_->filter_subscriptions;
}

RouterStats Router::stats() const {
  RouterStats st;
  for (uint32_t i = 0; i < impl_->threads; ++i) {
    const Outbox& out = impl_->outboxes[i];
    st.published += out.published.load(std::memory_order_relaxed);
    st.deliveries += out.deliveries.load(std::memory_order_relaxed);
    st.cross_thread_posts += out.cross_thread_posts.load(std::memory_order_relaxed);
  }
  return st;
}

size_t Router::NodeCount() const {
  auto lock = impl_->mu.Read(0);
  // The trie's values are heap objects too: "#" lives on the root, which
  // TopicTrie::NodeCount() does not count.
  return impl_->channels.size() + impl_->shards.size() + impl_->patterns.NodeCount() +
         impl_->filters.NodeCount() + impl_->filters.size() + impl_->shared_groups;
}

}  // namespace runnel::broker
