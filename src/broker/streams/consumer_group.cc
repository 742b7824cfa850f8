#include "broker/streams/consumer_group.h"

#include <charconv>

namespace runnel::broker::streams {

// docs/format/streams-meta.md, version 2 group events:
//   "2 GC <g> <last-id> <entries-read>"   XGROUP CREATE
//   "2 GS <g> <last-id> <entries-read>"   XGROUP SETID
//   "2 GX <g>"                            XGROUP DESTROY
//   "2 CC <g> <c> <seen-ms>"              XGROUP CREATECONSUMER
//   "2 CD <g> <c>"                        XGROUP DELCONSUMER (its PEL dropped)
//   "2 P <g> <c> <seen-ms> <last-id|-> <entries-read> *(<id> <ms> <count>)"
//                                         deliveries and claims
//   "2 A <g> *<id>"                       acknowledged / dropped from the PEL
// Names: "x" then lowercase hex of the bytes (so the empty name is "x").

std::string HexEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "x";
  out.reserve(1 + 2 * s.size());
  for (unsigned char ch : s) {
    out += kHex[ch >> 4];
    out += kHex[ch & 15];
  }
  return out;
}

namespace {

bool HexDecode(std::string_view s, std::string* out) {
  if (s.empty() || s[0] != 'x' || s.size() % 2 != 1) return false;
  out->clear();
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 1; i < s.size(); i += 2) {
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

template <typename T>
bool ToNum(std::string_view s, T* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ToId(std::string_view s, StreamId* id) {
  auto r = ParseStreamId(s, MissingSeq::kZero, false);
  if (!r) return false;
  *id = *r;
  return true;
}

void DropPending(Group& g, StreamId id) {
  auto it = g.pel.find(id);
  if (it == g.pel.end()) return;
  auto c = g.consumers.find(it->second.consumer);
  if (c != g.consumers.end()) c->second.pending.erase(id);
  g.pel.erase(it);
}

}  // namespace

std::string GroupCreateEvent(std::string_view group, StreamId last, int64_t entries_read) {
  return "2 GC " + HexEncode(group) + " " + last.ToString() + " " + std::to_string(entries_read);
}

std::string GroupSetIdEvent(std::string_view group, StreamId last, int64_t entries_read) {
  return "2 GS " + HexEncode(group) + " " + last.ToString() + " " + std::to_string(entries_read);
}

std::string GroupDestroyEvent(std::string_view group) { return "2 GX " + HexEncode(group); }

std::string ConsumerCreateEvent(std::string_view group, std::string_view consumer,
                                int64_t seen_ms) {
  return "2 CC " + HexEncode(group) + " " + HexEncode(consumer) + " " + std::to_string(seen_ms);
}

std::string ConsumerDeleteEvent(std::string_view group, std::string_view consumer) {
  return "2 CD " + HexEncode(group) + " " + HexEncode(consumer);
}

std::string PendingEvent(std::string_view group, std::string_view consumer, int64_t seen_ms,
                         const StreamId* advance, int64_t entries_read,
                         const std::vector<PelSet>& set) {
  std::string e = "2 P " + HexEncode(group) + " " + HexEncode(consumer) + " " +
                  std::to_string(seen_ms) + " " + (advance ? advance->ToString() : "-") + " " +
                  std::to_string(entries_read);
  for (const PelSet& p : set) {
    e += " " + p.id.ToString() + " " + std::to_string(p.delivery_ms) + " " +
         std::to_string(p.count);
  }
  return e;
}

std::string AckEvent(std::string_view group, const std::vector<StreamId>& ids) {
  std::string e = "2 A " + HexEncode(group);
  for (StreamId id : ids) e += " " + id.ToString();
  return e;
}

bool IsGroupEvent(std::string_view kind) {
  return kind == "GC" || kind == "GS" || kind == "GX" || kind == "CC" || kind == "CD" ||
         kind == "P" || kind == "A";
}

bool ApplyGroupEvent(Groups* groups, const std::vector<std::string_view>& w) {
  if (w.size() < 3 || w[0] != "2") return false;
  const std::string_view kind = w[1];
  std::string name;
  if (!HexDecode(w[2], &name)) return false;
  if (kind == "GC" || kind == "GS") {
    StreamId last;
    int64_t er;
    if (w.size() != 5 || !ToId(w[3], &last) || !ToNum(w[4], &er)) return false;
    Group& g = (*groups)[name];  // GC on an existing group cannot be written
    g.last_delivered = last;
    g.entries_read = er;
    return true;
  }
  if (kind == "GX") {
    if (w.size() != 3) return false;
    groups->erase(name);
    return true;
  }
  auto git = groups->find(name);
  std::string consumer;
  if (kind == "CC") {
    int64_t seen;
    if (w.size() != 5 || !HexDecode(w[3], &consumer) || !ToNum(w[4], &seen)) return false;
    if (git == groups->end()) return false;
    git->second.consumers.try_emplace(consumer).first->second.seen_ms = seen;
    return true;
  }
  if (kind == "CD") {
    if (w.size() != 4 || !HexDecode(w[3], &consumer) || git == groups->end()) return false;
    Group& g = git->second;
    auto c = g.consumers.find(consumer);
    if (c == g.consumers.end()) return true;
    for (StreamId id : c->second.pending) g.pel.erase(id);
    g.consumers.erase(c);
    return true;
  }
  if (kind == "P") {
    int64_t seen, er;
    StreamId last;
    const bool advance = w.size() > 5 && w[5] != "-";
    if (w.size() < 7 || (w.size() - 7) % 3 != 0 || git == groups->end() ||
        !HexDecode(w[3], &consumer) || !ToNum(w[4], &seen) || (advance && !ToId(w[5], &last)) ||
        !ToNum(w[6], &er)) {
      return false;
    }
    std::vector<PelSet> set;
    for (size_t i = 7; i < w.size(); i += 3) {
      PelSet p;
      if (!ToId(w[i], &p.id) || !ToNum(w[i + 1], &p.delivery_ms) || !ToNum(w[i + 2], &p.count)) {
        return false;
      }
      set.push_back(p);
    }
    Group& g = git->second;
    if (advance) {
      g.last_delivered = last;
      g.entries_read = er;
    }
    Consumer& c = g.consumers[consumer];
    c.seen_ms = seen;
    for (const PelSet& p : set) {
      DropPending(g, p.id);
      g.pel[p.id] = PendingEntry{consumer, p.delivery_ms, p.count};
      c.pending.insert(p.id);
    }
    return true;
  }
  if (kind == "A") {
    if (git == groups->end()) return false;
    for (size_t i = 3; i < w.size(); ++i) {
      StreamId id;
      if (!ToId(w[i], &id)) return false;
    }
    for (size_t i = 3; i < w.size(); ++i) {
      StreamId id;
      ToId(w[i], &id);
      DropPending(git->second, id);
    }
    return true;
  }
  return false;
}

}  // namespace runnel::broker::streams
