// Who receives a message: the Subscriber handle, the SubscriberSet every
// member of which receives it (a channel's, a pattern's, a filter's
// subscribers), and the SharedGroup one member of which receives it (MQTT
// `$share/<group>/<filter>`, any protocol may join).
//
// These are plain values owned by the Router, which serialises changes under
// its exclusive lock and reads them under its shared lock (router.h). Only
// SharedGroup::Pick() is called by many readers at once, hence its atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace runnel::broker {

// An opaque subscriber: whatever owns it (a RESP connection, an MQTT session,
// a WebSocket) lives on io thread `thread` and calls itself `id` there. The
// router never looks inside; a delivery is routed to `thread` and names `id`.
struct Subscriber {
  uint32_t thread = 0;
  uint64_t id = 0;

  friend bool operator==(const Subscriber&, const Subscriber&) = default;
};

struct SubscriberHash {
  size_t operator()(const Subscriber& s) const {
    // ids are usually dense counters: mix so neighbours spread over buckets.
    uint64_t x = s.id ^ (uint64_t{s.thread} << 56);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<size_t>(x);
  }
};

// A set of subscribers that is cheap to iterate (a flat array, for publish)
// and to change (O(1) insert and erase, for subscribe churn). Small sets are
// scanned; past kIndexFrom members a position index is kept as well, so the
// last client leaving a channel of 100,000 does not scan 100,000 entries.
// Iteration order is unspecified and changes when members leave.
class SubscriberSet {
 public:
  SubscriberSet() = default;
  SubscriberSet(SubscriberSet&&) = default;
  SubscriberSet& operator=(SubscriberSet&&) = default;

  // False if `s` was already a member (then nothing changes).
  bool Insert(Subscriber s);
  // False if `s` was not a member.
  bool Erase(Subscriber s);
  bool Contains(Subscriber s) const { return Find(s) != kAbsent; }

  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  std::span<const Subscriber> members() const { return members_; }
  const Subscriber& operator[](size_t i) const { return members_[i]; }

  static constexpr size_t kIndexFrom = 16;

 private:
  static constexpr size_t kAbsent = ~size_t{0};
  size_t Find(Subscriber s) const;

  std::vector<Subscriber> members_;
  // members_[pos_[s]] == s; present only while size() >= kIndexFrom / 2
  // (hysteresis, so a set hovering near the threshold does not rebuild it).
  std::unique_ptr<std::unordered_map<Subscriber, uint32_t, SubscriberHash>> pos_;
};

// A shared subscription group: `$share/<group>/<filter>`. Each message that
// matches the filter goes to exactly one member, chosen round-robin.
class SharedGroup {
 public:
  // `name` is the full subscription string, "$share/<group>/<filter>"; it is
  // what deliveries carry, so a member can tell which subscription fired.
  explicit SharedGroup(std::string name) : name_(std::move(name)) {}

  SharedGroup(const SharedGroup&) = delete;
  SharedGroup& operator=(const SharedGroup&) = delete;

  const std::string& name() const { return name_; }
  SubscriberSet& members() { return members_; }
  const SubscriberSet& members() const { return members_; }

  // The member that gets the next message. Requires !members().empty().
  // Safe to call from many threads at once as long as nobody changes the
  // membership meanwhile (the router's shared lock): each call draws its own
  // ticket from an atomic counter, so concurrent publishes spread evenly and
  // each gets one member. Round-robin over the current member order; a
  // member joining or leaving may shift whose turn it is once.
  Subscriber Pick() const;

 private:
  std::string name_;
  SubscriberSet members_;
  mutable std::atomic<uint64_t> next_{0};
};

}  // namespace runnel::broker
