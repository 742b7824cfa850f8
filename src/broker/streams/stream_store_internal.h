// The private parts of StreamStore shared by stream_store.cc and
// stream_groups.cc. Not for other users.
#pragma once

#include "broker/streams/consumer_group.h"
#include "broker/streams/stream_store.h"

namespace runnel::broker::streams {

// Meta events (docs/format/streams-meta.md): key = stream name, value = one
// line of ASCII words, the first the format version.
//   "1 D <offset> <id> [<offset> <id>…]"  entries deleted by XDEL
//   "1 T <start-offset>"                  logical start after trimming
//   "1 S <last-id> <entries-added> <max-deleted-id> <end-offset>"  XSETID
//   "1 R"                                 the stream was deleted (DEL)
struct StreamStore::MetaState {
  int64_t start = 0;
  std::map<int64_t, StreamId> deleted;
  StreamId max_deleted;
  bool has_set = false;
  StreamId set_last;
  uint64_t set_added = 0;
  int64_t set_end = 0;
  Groups groups;  // version 2 events (consumer_group.h)
};

struct StreamStore::Stream {
  // What the topic's records are (stream_entry.h): XADD entries (other
  // records are hidden), or records of another face, each an entry. Decided
  // by the first record (at load) or the first append to an empty topic.
  enum class Kind : uint8_t { kUndecided, kEntries, kRecords };

  struct Waiter {
    uint64_t token;
    StreamId after;
    std::function<void()> wake;
  };

  std::mutex mu;
  std::string name;
  bool loaded = false;  // exists and scanned
  bool dead = false;    // deleted: the map holds a new object
  Kind kind = Kind::kUndecided;
  std::unique_ptr<Producer> producer;
  StreamId assigned_last;  // last ID given to an append, committed or in flight
  StreamId last_id;        // last-generated-id of committed state
  StreamId max_deleted;
  uint64_t entries_added = 0;
  int64_t start = 0;                                // logical start offset
  int64_t end = 0;                                  // next offset after the last committed record
  int64_t length = 0;                               // live entries in [start, end)
  std::set<int64_t> hidden;                         // not live, in [start, end)
  std::vector<std::pair<StreamId, int64_t>> index;  // sparse, ascending
  int64_t last_indexed = -(1LL << 62);
  std::vector<Waiter> waiters;
  Groups groups;  // consumer groups (stream_groups.cc)
  uint64_t token = 0;       // this object's registration with the LogStartMover
  int64_t start_asked = 0;  // log start last asked of the mover

  bool records() const { return kind == Kind::kRecords; }
  std::optional<StreamId> IdOf(const RecordView& r) const {
    if (records()) return RecordIdAt(r.offset);
    return EntryIdOf(r);
  }
  void IndexLocked(StreamId id, int64_t offset) {
    if (records()) return;  // a record topic's IDs are its offsets
    if (offset - last_indexed >= kIndexEvery) {
      index.emplace_back(id, offset);
      last_indexed = offset;
    }
  }
};

std::vector<std::string_view> MetaWords(std::string_view s);
int64_t NowMs();

}  // namespace runnel::broker::streams
