// GlobIndex<T>: Redis glob patterns, each with a value, indexed so that
// finding the patterns that match a channel tests only the patterns that can.
//
// Every pattern is filed under its literal prefix (GlobLiteralPrefix: the
// bytes before its first `*?[\`). A channel can only be matched by patterns
// whose prefix is a prefix of the channel, so Match() looks up, for each
// distinct prefix *length* in use that fits the channel, the one bucket whose
// prefix equals the channel's first bytes, and runs GlobMatch on that
// bucket's patterns alone. The prefix hashes of the channel are computed
// incrementally in one pass, so Match() costs
//
//   O(|channel|) + one hash probe per distinct prefix length <= |channel|
//   + one GlobMatch per pattern sharing a matching prefix.
//
// Limit, by construction: patterns with an empty prefix (`*foo`, `?x`,
// `[ab]*`) share one bucket that every channel probes, so each of them is
// tested on every Match(). Prefer `news.*` to `*.news` at scale.
//
// Not thread-safe; the Router guards it (Match() is const and may run in
// many threads at once while nothing changes the index). Empty buckets are
// freed at once and the hash tables shrink as they empty, so an index whose
// patterns were all erased holds no memory beyond its empty tables.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/glob_match.h"

namespace runnel::broker {

namespace glob_index_internal {

// FNV-1a, fed one prefix at a time: the state after n bytes hashes the
// n-byte prefix, so all prefixes of a channel cost one pass.
class PrefixHasher {
 public:
  void Add(std::string_view bytes) {
    for (unsigned char c : bytes) state_ = (state_ ^ c) * 0x100000001b3ULL;
  }
  // Finalised (murmur3 fmix64) so the table sees well-mixed low bits.
  uint64_t value() const;

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

uint64_t HashPrefix(std::string_view prefix);

}  // namespace glob_index_internal

template <typename T>
class GlobIndex {
 public:
  GlobIndex() = default;
  GlobIndex(const GlobIndex&) = delete;
  GlobIndex& operator=(const GlobIndex&) = delete;

  // A pattern's stored string and value. Both stay at the same address until
  // the pattern is erased.
  struct Ref {
    const std::string* pattern;
    T* value;
  };

  T* Find(std::string_view pattern) {
    auto it = patterns_.find(pattern);
    return it == patterns_.end() ? nullptr : &it->second->value;
  }
  const T* Find(std::string_view pattern) const {
    auto it = patterns_.find(pattern);
    return it == patterns_.end() ? nullptr : &it->second->value;
  }

  // The pattern's entry, created with a default T if absent (*inserted tells).
  Ref FindOrInsert(std::string_view pattern, bool* inserted);

  // False if the pattern was absent.
  bool Erase(std::string_view pattern);

  // Calls f(const std::string& pattern, const T& value) for every pattern that
  // matches `subject`, in unspecified order.
  template <typename F>
  void Match(std::string_view subject, F&& f) const;

  // Calls f(const std::string& pattern, const T& value) for every pattern.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [key, entry] : patterns_) f(entry->pattern, entry->value);
  }

  size_t size() const { return patterns_.size(); }
  bool empty() const { return patterns_.empty(); }
  size_t prefix_count() const { return buckets_.size(); }
  size_t distinct_prefix_lengths() const { return lengths_.size(); }
  // Heap objects held (pattern entries + prefix buckets): 0 once empty.
  size_t NodeCount() const { return patterns_.size() + buckets_.size(); }
  // Hash buckets held by both tables (they shrink as the index empties).
  size_t BucketCount() const { return patterns_.bucket_count() + buckets_.bucket_count(); }

 private:
  struct Bucket;
  struct Entry {
    std::string pattern;
    T value{};
    Bucket* bucket = nullptr;
    size_t slot = 0;  // bucket->entries[slot] == this
  };
  struct Bucket {
    std::string prefix;
    uint64_t hash = 0;
    std::vector<Entry*> entries;
  };
  // A prefix with its hash precomputed; a lookup key may view the channel.
  struct PrefixKey {
    std::string_view bytes;
    uint64_t hash;
  };
  struct PrefixKeyHash {
    size_t operator()(const PrefixKey& k) const { return static_cast<size_t>(k.hash); }
  };
  struct PrefixKeyEq {
    bool operator()(const PrefixKey& a, const PrefixKey& b) const { return a.bytes == b.bytes; }
  };

  template <typename Map>
  static void ShrinkIfSparse(Map& map) {
    if (map.bucket_count() > 64 && map.size() < map.bucket_count() / 8) map.rehash(0);
  }

  void AddLength(size_t len);
  void RemoveLength(size_t len);

  // Keys view Entry::pattern and Bucket::prefix, which live as long as the key.
  std::unordered_map<std::string_view, std::unique_ptr<Entry>> patterns_;
  std::unordered_map<PrefixKey, std::unique_ptr<Bucket>, PrefixKeyHash, PrefixKeyEq> buckets_;
  // Distinct prefix lengths in use, ascending, each with its bucket count.
  std::vector<std::pair<size_t, size_t>> lengths_;
};

template <typename T>
typename GlobIndex<T>::Ref GlobIndex<T>::FindOrInsert(std::string_view pattern, bool* inserted) {
  if (auto it = patterns_.find(pattern); it != patterns_.end()) {
    *inserted = false;
    return {&it->second->pattern, &it->second->value};
  }
  auto entry = std::make_unique<Entry>();
  entry->pattern.assign(pattern);
  const std::string_view prefix = GlobLiteralPrefix(entry->pattern);
  const PrefixKey key{prefix, glob_index_internal::HashPrefix(prefix)};
  auto bit = buckets_.find(key);
  if (bit == buckets_.end()) {
    auto bucket = std::make_unique<Bucket>();
    bucket->prefix.assign(prefix);
    bucket->hash = key.hash;
    const PrefixKey owned{bucket->prefix, bucket->hash};
    bit = buckets_.emplace(owned, std::move(bucket)).first;
    AddLength(prefix.size());
  }
  Bucket* bucket = bit->second.get();
  entry->bucket = bucket;
  entry->slot = bucket->entries.size();
  bucket->entries.push_back(entry.get());
  Entry* raw = entry.get();
  patterns_.emplace(raw->pattern, std::move(entry));
  *inserted = true;
  return {&raw->pattern, &raw->value};
}

template <typename T>
bool GlobIndex<T>::Erase(std::string_view pattern) {
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) return false;
  Entry* entry = it->second.get();
  Bucket* bucket = entry->bucket;
  Entry* moved = bucket->entries.back();
  bucket->entries[entry->slot] = moved;
  moved->slot = entry->slot;
  bucket->entries.pop_back();
  if (bucket->entries.empty()) {
    RemoveLength(bucket->prefix.size());
    // Erase by iterator: the key views the bucket's own string.
    buckets_.erase(buckets_.find(PrefixKey{bucket->prefix, bucket->hash}));
    ShrinkIfSparse(buckets_);
  }
  patterns_.erase(it);
  ShrinkIfSparse(patterns_);
  return true;
}

template <typename T>
template <typename F>
void GlobIndex<T>::Match(std::string_view subject, F&& f) const {
  glob_index_internal::PrefixHasher hasher;
  size_t hashed = 0;
  for (const auto& [len, count] : lengths_) {
    if (len > subject.size()) break;
    hasher.Add(subject.substr(hashed, len - hashed));
    hashed = len;
    auto it = buckets_.find(PrefixKey{subject.substr(0, len), hasher.value()});
    if (it == buckets_.end()) continue;
    for (const Entry* e : it->second->entries) {
      if (GlobMatch(e->pattern, subject)) f(e->pattern, e->value);
    }
  }
}

template <typename T>
void GlobIndex<T>::AddLength(size_t len) {
  auto it = std::lower_bound(lengths_.begin(), lengths_.end(), std::make_pair(len, size_t{0}));
  if (it != lengths_.end() && it->first == len) {
    ++it->second;
  } else {
    lengths_.insert(it, {len, 1});
  }
}

template <typename T>
void GlobIndex<T>::RemoveLength(size_t len) {
  auto it = std::lower_bound(lengths_.begin(), lengths_.end(), std::make_pair(len, size_t{0}));
  if (--it->second == 0) lengths_.erase(it);
}

}  // namespace runnel::broker
