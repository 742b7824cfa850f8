// MQTT-style topic filters: syntax checks, `$share/<group>/<filter>` parsing,
// and TopicTrie<T>, the prefix tree over `/` levels that finds every filter
// matching a topic in time proportional to the topic's levels and the
// filters that match, not to how many filters exist. See docs/router.md.
//
//   filter "a/+/c"   root ─a─> n1 ─+─> n2 ─c─> n3 [value]
//   filter "a/#"     n1 [hash_value]     ("#" is kept on the node it follows)
//   filter "#"       root [hash_value]
//
// Matching rules (reference/mqtt.md §5):
//   - levels are split on '/', empty levels are ordinary levels ("a//b", "/a");
//   - `+` matches exactly one level, `#` any number of levels including none,
//     so "a/#" matches "a", "a/" and "a/b/c" [MQTT-4.7.1-2];
//   - a topic starting with '$' is not matched by a filter whose first level
//     is `+` or `#` [MQTT-4.7.2-1] ("$SYS/#" matches it, "#" does not);
//   - bytes are compared exactly (no UTF-8 normalisation; the MQTT layer
//     validates UTF-8). Topics from other protocols may contain '+' or '#';
//     they are plain characters in a topic.
#pragma once

#include "runnel/status.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace runnel::broker {

// OK if `filter` is a well-formed MQTT topic filter: at least one byte, no
// NUL [MQTT-4.7.3-1, -2]; `+` only as a whole level [MQTT-4.7.1-3]; `#` only as
// the whole last level [MQTT-4.7.1-2]. Otherwise InvalidArgument saying why.
Status ValidateTopicFilter(std::string_view filter);

inline constexpr std::string_view kSharePrefix = "$share/";

// Whether a subscription string names a shared subscription ("$share/...").
inline bool IsSharedSubscription(std::string_view s) { return s.starts_with(kSharePrefix); }

struct SharedSubscription {
  std::string_view group;   // the ShareName
  std::string_view filter;  // the topic filter after it
};

// Splits "$share/<group>/<filter>" (MQTT 5.0 §4.8.2): the group is at least
// one byte without '/', '+' or '#', and a valid filter must follow. The views
// point into `s`.
Result<SharedSubscription> ParseSharedSubscription(std::string_view s);

// A map from valid topic filters to values of T, with Match(topic). Not
// thread-safe; the Router guards it (Match() is const and may run in many
// threads at once while nothing changes the trie). A node lives exactly as
// long as some filter passes through it: Erase() frees the nodes it empties,
// and NodeCount() is 0 again once every filter is gone.
template <typename T>
class TopicTrie {
 public:
  TopicTrie() = default;
  TopicTrie(const TopicTrie&) = delete;
  TopicTrie& operator=(const TopicTrie&) = delete;

  // `filter` must pass ValidateTopicFilter (Find/Erase of an invalid one
  // find nothing; FindOrInsert of one is a bug).
  T* Find(std::string_view filter);
  // The filter's value, created with a default T if absent (*inserted tells).
  // It stays at the same address until the filter is erased.
  T& FindOrInsert(std::string_view filter, bool* inserted);
  // False if the filter was absent.
  bool Erase(std::string_view filter);

  // Calls f(const T&) once for every filter that matches `topic`, in
  // unspecified order.
  template <typename F>
  void Match(std::string_view topic, F&& f) const;

  size_t size() const { return filters_; }
  bool empty() const { return filters_ == 0; }
  // Nodes besides the root: 0 once every filter is erased.
  size_t NodeCount() const { return nodes_; }

 private:
  struct Node {
    Node* parent = nullptr;
    std::string level;  // the level leading here ("+" for a plus child)
    // Keys view the child's own `level`.
    std::unordered_map<std::string_view, std::unique_ptr<Node>> children;
    std::unique_ptr<Node> plus;
    std::unique_ptr<T> value;       // a filter ends at this node
    std::unique_ptr<T> hash_value;  // the filter "<this node>/#" ("#" at the root)

    bool Unused() const { return children.empty() && !plus && !value && !hash_value; }
  };

  // Where `filter`'s value lives: the node its last non-'#' level leads to,
  // and that node's value or hash_value. Walks down the filter's levels,
  // creating nodes if `create`; {nullptr, nullptr} if absent and !create.
  struct Place {
    Node* node;
    std::unique_ptr<T>* slot;
  };
  Place Locate(std::string_view filter, bool create);

  Node root_;
  size_t nodes_ = 0;
  size_t filters_ = 0;
};

template <typename T>
typename TopicTrie<T>::Place TopicTrie<T>::Locate(std::string_view filter, bool create) {
  Node* node = &root_;
  size_t pos = 0;
  while (true) {
    size_t end = filter.find('/', pos);
    if (end == std::string_view::npos) end = filter.size();
    const std::string_view level = filter.substr(pos, end - pos);
    if (level == "#") {
      // Valid filters end here; "a/#/b" must not find (or erase) "a/#".
      if (end != filter.size()) return {nullptr, nullptr};
      return {node, &node->hash_value};
    }
    Node* next = nullptr;
    if (level == "+") {
      if (!node->plus && create) {
        node->plus = std::make_unique<Node>();
        node->plus->parent = node;
        node->plus->level = "+";
        ++nodes_;
      }
      next = node->plus.get();
    } else if (auto it = node->children.find(level); it != node->children.end()) {
      next = it->second.get();
    } else if (create) {
      auto child = std::make_unique<Node>();
      child->parent = node;
      child->level.assign(level);
      next = child.get();
      node->children.emplace(next->level, std::move(child));
      ++nodes_;
    }
    if (next == nullptr) return {nullptr, nullptr};
    node = next;
    if (end == filter.size()) return {node, &node->value};
    pos = end + 1;
  }
}

template <typename T>
T* TopicTrie<T>::Find(std::string_view filter) {
  const Place place = Locate(filter, /*create=*/false);
  return place.slot ? place.slot->get() : nullptr;
}

template <typename T>
T& TopicTrie<T>::FindOrInsert(std::string_view filter, bool* inserted) {
  std::unique_ptr<T>& slot = *Locate(filter, /*create=*/true).slot;
  *inserted = !slot;
  if (!slot) {
    slot = std::make_unique<T>();
    ++filters_;
  }
  return *slot;
}

template <typename T>
bool TopicTrie<T>::Erase(std::string_view filter) {
  const Place place = Locate(filter, /*create=*/false);
  if (place.slot == nullptr || !*place.slot) return false;
  place.slot->reset();
  --filters_;
  Node* node = place.node;
  // Free the nodes that only this filter kept alive, deepest first.
  while (node != &root_ && node->Unused()) {
    Node* parent = node->parent;
    if (parent->plus.get() == node) {
      parent->plus.reset();
    } else {
      // Erase by iterator: the key views the child's own string.
      parent->children.erase(parent->children.find(node->level));
      if (parent->children.bucket_count() > 64 &&
          parent->children.size() < parent->children.bucket_count() / 8) {
        parent->children.rehash(0);
      }
    }
    --nodes_;
    node = parent;
  }
  return true;
}

template <typename T>
template <typename F>
void TopicTrie<T>::Match(std::string_view topic, F&& f) const {
  // [MQTT-4.7.2-1]: '$' topics are hidden from filters that start with a wildcard.
  const bool dollar = !topic.empty() && topic[0] == '$';
  // Depth-first over (node, start of the next topic level); a start past the
  // end means every level is consumed. A node is reached at most once per
  // topic (its path fixes the levels consumed), so each filter fires once.
  struct Frame {
    const Node* node;
    size_t pos;
  };
  // Each frame pushes at most two, so the stack stays within levels + 1;
  // deep topics spill to the heap.
  constexpr size_t kInline = 32;
  Frame inline_frames[kInline];
  size_t inline_size = 0;
  std::vector<Frame> spill;
  auto push = [&](Frame fr) {
    if (inline_size < kInline) {
      inline_frames[inline_size++] = fr;
    } else {
      spill.push_back(fr);
    }
  };
  push({&root_, 0});
  while (inline_size > 0) {
    Frame fr;
    if (!spill.empty()) {
      fr = spill.back();
      spill.pop_back();
    } else {
      fr = inline_frames[--inline_size];
    }
    const bool hide_wildcards = dollar && fr.node == &root_;
    if (fr.node->hash_value && !hide_wildcards) f(static_cast<const T&>(*fr.node->hash_value));
    if (fr.pos > topic.size()) {
      if (fr.node->value) f(static_cast<const T&>(*fr.node->value));
      continue;
    }
    size_t end = topic.find('/', fr.pos);
    if (end == std::string_view::npos) end = topic.size();
    const size_t next = end + 1;
    if (!fr.node->children.empty()) {
      auto it = fr.node->children.find(topic.substr(fr.pos, end - fr.pos));
      if (it != fr.node->children.end()) push({it->second.get(), next});
    }
    if (fr.node->plus && !hide_wildcards) push({fr.node->plus.get(), next});
  }
}

}  // namespace runnel::broker
