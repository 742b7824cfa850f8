// Consumer groups of one stream (reference/resp.md §4.6): last-delivered-id,
// entries-read, the pending entries list (PEL) and the consumers, and the
// meta events that change them (docs/format/streams-meta.md, version 2).
//
// Every change is made by building an event and applying it with
// ApplyGroupEvent — the same function replays the events at start — so
// the state after a restart is the state the replies described, exactly.
//
// Pure values and functions; the caller (StreamStore) holds the stream's
// mutex.
#pragma once

#include "broker/streams/stream_id.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::broker::streams {

inline constexpr int64_t kEntriesReadUnknown = -1;

struct PendingEntry {
  std::string consumer;
  int64_t delivery_ms = 0;  // wall clock of the last delivery
  uint64_t count = 0;       // deliveries
};

struct Consumer {
  int64_t seen_ms = 0;
  std::set<StreamId> pending;  // its part of the group's PEL
};

struct Group {
  StreamId last_delivered;
  int64_t entries_read = kEntriesReadUnknown;
  std::map<StreamId, PendingEntry> pel;
  std::map<std::string, Consumer> consumers;  // ordered by name (XPENDING, XINFO)
};

using Groups = std::map<std::string, Group>;

// One PEL entry as an event sets it: owner, delivery time, count.
struct PelSet {
  StreamId id;
  int64_t delivery_ms;
  uint64_t count;
};

// Event text (without the key), version 2. Names are hex-encoded.
std::string GroupCreateEvent(std::string_view group, StreamId last, int64_t entries_read);
std::string GroupSetIdEvent(std::string_view group, StreamId last, int64_t entries_read);
std::string GroupDestroyEvent(std::string_view group);
std::string ConsumerCreateEvent(std::string_view group, std::string_view consumer, int64_t seen_ms);
std::string ConsumerDeleteEvent(std::string_view group, std::string_view consumer);
// Deliveries and claims: consumer `c` (made if missing) seen at seen_ms;
// with `advance`, the group's last-delivered-id and entries-read are set;
// each PelSet makes (or moves) that PEL entry to c.
std::string PendingEvent(std::string_view group, std::string_view consumer, int64_t seen_ms,
                         const StreamId* advance, int64_t entries_read,
                         const std::vector<PelSet>& set);
// XACK (and pending IDs found deleted by XCLAIM/XAUTOCLAIM): removed from the PEL.
std::string AckEvent(std::string_view group, const std::vector<StreamId>& ids);

// Whether `version kind` is a group event (version 2).
bool IsGroupEvent(std::string_view kind);
// Applies a group event given as its words (w[0] = version, w[1] = kind).
// False if malformed (nothing is applied then).
bool ApplyGroupEvent(Groups* groups, const std::vector<std::string_view>& w);

std::string HexEncode(std::string_view s);

}  // namespace runnel::broker::streams
