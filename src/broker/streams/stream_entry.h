// How a stream entry is stored as a log record (docs/protocols/resp.md,
// "Streams: storage mapping"):
//
//   key       the entry ID as text, "<ms>-<seq>" (canonical decimal form)
//   value     empty (never null: a null value is a tombstone to compaction)
//   headers   the field/value pairs in order, header key = field,
//             header value = value (duplicates allowed, as in Redis)
//   timestamp the wall clock at append (set by the producer), not the ID's
//             ms: explicit IDs such as 1-1 would otherwise look days old
//             and roll a segment at every commit, and ms > INT64_MAX has no
//             timestamp
//
// A record whose key is not a canonical ID (a PUBLISH to the stream, a
// record produced by another face) is not an entry: stream commands skip it.
//
// A topic another face wrote first (Kafka, PUBLISH to a durable name, the
// CLI) is a *record topic*: every record is an entry whose ID is made from
// its offset, `<offset>-1` (seq 1 so that offset 0 sorts after 0-0, which
// XREAD treats as "from the beginning"), with the fields
//   key <key>        when the key is not null
//   value <value>    when the value is not null (a tombstone has none)
//   <header> <value> for each header in order (a null value reads as "")
// and `value ""` when a record has none of these.
//
// Pure functions; any thread.
#pragma once

#include "broker/streams/stream_id.h"

#include "runnel/record.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::broker::streams {

// An entry read back: the ID and the flat field, value, field, value list.
struct Entry {
  StreamId id;
  int64_t offset = -1;
  std::vector<std::string> fields;  // even count
  bool operator==(const Entry&) const = default;
};

// Storage for one entry's record: owns the key text and the header views
// point into the caller's `fields` (which must outlive the record view).
struct EncodedEntry {
  std::string key;
  std::vector<HeaderView> headers;
  RecordView record;  // views into key, headers and the fields
};

// `fields` is the flat field/value list (even count).
void EncodeEntry(StreamId id, std::span<const std::string_view> fields, EncodedEntry* out);

// The ID of a record when it is an entry (canonical key, non-null values).
std::optional<StreamId> EntryIdOf(const RecordView& record);
// The whole entry; nullopt when the record is not one.
std::optional<Entry> DecodeEntry(const RecordView& record);

// Record topics (above): the ID of the record at `offset`, the offset an
// ID names (the first record at or after it), and a record as its entry.
StreamId RecordIdAt(int64_t offset);
int64_t RecordOffsetFloor(StreamId id);
Entry RecordAsEntry(const RecordView& record);

}  // namespace runnel::broker::streams
