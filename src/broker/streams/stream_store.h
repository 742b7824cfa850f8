// StreamStore: Redis streams on durable topics (docs/protocols/resp.md,
// "Streams"). A stream is a durable topic with one partition; each entry is
// one record (stream_entry.h). What an append-only log cannot say by itself
// — deletions (XDEL), the logical start after trimming, XSETID values — is
// kept as events in the internal topic `__runnel.streams`
// (docs/format/streams-meta.md) and rebuilt at start.
//
// Per stream, in memory: last-generated-id, entries-added,
// max-deleted-entry-id, the logical start offset, the live length, the set
// of hidden offsets (deleted entries and records that are not entries) and a
// sparse index (one ID → offset pair every kIndexEvery entries) that finds
// an ID's offset without keeping every ID. A stream is loaded (one scan of
// its records) the first time it is used.
//
// Consumer groups (stream_groups.cc, consumer_group.h) live with the
// stream: each change is a version-2 meta event applied to memory under the
// stream's mutex (so meta log order = memory order) and its callback runs
// once the event is durable; the replay applies the same events at start.
//
// Freeing disk: once the meta event that moves a stream's first live entry
// forward (XTRIM, XADD MAXLEN/MINID, XDEL of the first entries) is durable,
// the topic's log start offset is raised to that entry's offset by a
// LogStartMover (log_start_mover.h) on its own thread, and the next steward
// pass deletes the segments wholly below it. A stream's load raises it too
// (a crash between the two). DEL deletes the topic, freeing it all at once.
//
// Durability: an append's callback runs once the record is durable under
// the topic's fsync policy (Producer::AppendAsync); XDEL/XTRIM/XSETID
// callbacks once their meta event is. In-memory state changes when the
// append commits, so a reader never sees an entry the log does not hold.
//
// Threads: any thread may call any method. Each stream has a mutex held for
// in-memory work, for queueing appends (AppendAsync only copies and
// queues), and for one bounded read (≤ one sparse-index block) when MINID
// trimming must find an ID; range reads take it only to snapshot bounds
// and to filter each batch read, never across disk reads. A stream's first
// load (one scan) and DEL run under its mutex, blocking only that stream.
// `mu_` (the name map) is never held while taking a stream's mutex.
// Lock order: Stream::mu → meta producer (internal). Callbacks (done, wake,
// timers) run on storage writer threads, the timer thread, or inline for
// errors found before anything is queued; they must not call back into the
// store with a stream lock expectation (they are called without locks).
#pragma once

#include "broker/streams/consumer_group.h"
#include "broker/streams/stream_entry.h"
#include "broker/streams/stream_id.h"
#include "broker/topic_rules.h"
#include "util/string_hash.h"

#include "runnel/log.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace runnel::broker::streams {

class LogStartMover;

// Internal topics start with this prefix; they are not keys (DBSIZE, KEYS).
inline constexpr std::string_view kInternalPrefix = "__runnel.";
inline constexpr std::string_view kMetaTopic = "__runnel.streams";
inline bool IsInternalTopic(std::string_view name) { return name.starts_with(kInternalPrefix); }

enum class StreamError : uint8_t {
  kOk,
  kNoKey,            // NOMKSTREAM on a missing key; XSETID / XINFO on a missing key
  kIdZero,           // XADD 0-0
  kIdNotGreater,     // XADD ID <= last-generated-id
  kExhausted,        // last-generated-id is the max ID
  kSetIdSmall,       // XSETID below the top item
  kSetIdAdded,       // XSETID ENTRIESADDED below the length
  kSetIdMaxDeleted,  // XSETID below MAXDELETEDID
  kTooLarge,         // the entry exceeds the topic's max_message_bytes
  kNoGroup,          // the key or the consumer group does not exist
  kBusyGroup,        // XGROUP CREATE of a group that exists
  kWrongType,        // XADD / XSETID on a record topic (stream_entry.h)
  kStorage,          // the log failed: see detail
};

struct Outcome {
  StreamError error = StreamError::kOk;
  std::string detail;
  bool ok() const { return error == StreamError::kOk; }
};

struct TrimSpec {
  enum class Kind : uint8_t { kNone, kMaxLen, kMinId };
  Kind kind = Kind::kNone;
  bool approx = false;  // `~`: runnel trims exactly, at most `limit` entries
  int64_t maxlen = 0;
  StreamId minid;
  int64_t limit = -1;  // -1: none given (10000 with `~`, unlimited with `=`)
  bool operator==(const TrimSpec&) const = default;
};

struct StreamInfo {
  int64_t length = 0;
  StreamId last_id;
  StreamId max_deleted;
  uint64_t entries_added = 0;
  std::optional<Entry> first;
  std::optional<Entry> last;
  int64_t index_entries = 0;  // sparse-index pairs (XINFO radix-tree-nodes)
  int32_t segments = 0;       // log segments (XINFO radix-tree-keys)
  int64_t groups = 0;
};

// What group replies need of the stream (lag, XINFO).
struct StreamCounters {
  int64_t length = 0;
  StreamId last_id;
  StreamId max_deleted;
  uint64_t entries_added = 0;
  StreamId first_id;  // 0-0 when empty
};

// One entry a group read returns: fields absent when the entry is pending
// but no longer in the stream (XREADGROUP history replies [id, null]).
struct GroupEntry {
  StreamId id;
  std::optional<std::vector<std::string>> fields;
};

// Redis' lag / entries-read arithmetic (streamEstimateDistanceFromFirstEverEntry,
// streamRangeHasTombstones); -1 when unknown.
int64_t EstimateEntriesRead(const StreamCounters& s, StreamId id);
bool RangeHasTombstones(const StreamCounters& s, StreamId start);
// XINFO's lag of a group; nullopt when unknown (null in the reply).
std::optional<int64_t> GroupLag(const StreamCounters& s, const Group& g);

class StreamStore {
 public:
  static constexpr int64_t kIndexEvery = 128;

  // Replays the meta topic (creating it if needed). `log` (and `rules`,
  // when given) must outlive the store; the store must be destroyed before
  // the log. `rules` decide the config of the topics the store creates and
  // which names PUBLISH makes durable before they exist (topic_rules.h).
  static Result<std::unique_ptr<StreamStore>> Open(Log* log,
                                                   const TopicRules* rules = nullptr);
  ~StreamStore();
  StreamStore(const StreamStore&) = delete;
  StreamStore& operator=(const StreamStore&) = delete;

  using AddDone = std::function<void(Outcome, StreamId)>;
  using CountDone = std::function<void(Outcome, int64_t)>;
  using Done = std::function<void(Outcome)>;

  // XADD. `fields` is the flat list (even, ≥ 2); the views are copied
  // before this returns. `nomkstream` and a missing key: kNoKey, nothing made.
  void Add(std::string_view key, bool nomkstream, const AddIdSpec& id,
           std::span<const std::string_view> fields, const TrimSpec& trim, AddDone done);

  // Pipelined XADDs to one key as one append: each request gets its own ID
  // (or its own error) in order, exactly as that many Add calls would, but
  // the stream is locked once, the entries go to the log as one append and
  // `done` runs once, with one result per request, when they are durable.
  // `trim` (applied once, after all of them) must be exact and unlimited
  // or none: the same end state as trimming after each (see BatchableTrim).
  struct AddRequest {
    AddIdSpec id;
    std::span<const std::string_view> fields;
  };
  struct AddResult {
    Outcome outcome;
    StreamId id;
  };
  using AddBatchDone = std::function<void(std::vector<AddResult>)>;
  void AddBatch(std::string_view key, bool nomkstream, const TrimSpec& trim,
                std::span<const AddRequest> requests, AddBatchDone done);
  static bool BatchableTrim(const TrimSpec& t) {
    return t.kind == TrimSpec::Kind::kNone || (!t.approx && t.limit < 0);
  }
  // PUBLISH to a durable topic: a record with a null key and the payload as
  // value. Returns false (nothing done) when `topic` is not a durable topic.
  // A name a `durable` rule matches is created first if missing.
  bool AppendMessage(std::string_view topic, std::string_view payload, Done done);
  // Whether `topic` is a durable topic this process knows, or a rule makes
  // it one (cheap when there are neither: PUBLISH asks it every time).
  bool IsDurable(std::string_view topic);
  // Whether `topic` is a durable topic this process knows (rules aside).
  bool IsKnownTopic(std::string_view topic);
  // Another face (Kafka) created a topic: PUBLISH to it appends from now on.
  // (Deleting goes through Delete, as DEL does.)
  void NoteTopicCreated(std::string_view topic);
  // Another face (Kafka) appended to `topic` and its records up to
  // `end_offset` (exclusive) are committed: a record topic's XREAD and XLEN
  // see them and blocked readers wake. Streams (XADD-made) skip them.
  void NoteAppended(std::string_view topic, int32_t partition, int64_t end_offset);

  // Entries with start <= id <= end, ascending (or descending with
  // `reverse`), at most `count` (0 = all). Missing key: empty.
  Result<std::vector<Entry>> Range(std::string_view key, StreamId start, StreamId end, size_t count,
                                   bool reverse);
  int64_t Length(std::string_view key);
  bool Exists(std::string_view key);
  // Committed last-generated-id (XREAD `$`); nullopt when missing.
  std::optional<StreamId> LastId(std::string_view key);
  std::optional<StreamInfo> Info(std::string_view key);

  void DeleteIds(std::string_view key, std::vector<StreamId> ids, CountDone done);
  void Trim(std::string_view key, const TrimSpec& trim, CountDone done);
  void SetId(std::string_view key, StreamId last, std::optional<uint64_t> entries_added,
             std::optional<StreamId> max_deleted, Done done);
  // DEL / FLUSHALL: deletes the topic and its stream state. True if it existed.
  Result<bool> Delete(std::string_view key);
  // Durable topics that are keys (internal ones left out), sorted.
  Result<std::vector<std::string>> Keys();

  // Consumer groups (stream_groups.cc; reference §4.6). Each change is a
  // version-2 meta event; `done` runs once it is durable. `id` nullopt =
  // `$` (the stream's last ID). entries_read nullopt = not given.
  void CreateGroup(std::string_view key, std::string_view group, std::optional<StreamId> id,
                   bool mkstream, std::optional<int64_t> entries_read, Done done);
  void SetGroupId(std::string_view key, std::string_view group, std::optional<StreamId> id,
                  std::optional<int64_t> entries_read, Done done);
  // The count is 1/0 (destroyed, created) or the pending count (DELCONSUMER).
  void DestroyGroup(std::string_view key, std::string_view group, CountDone done);
  void CreateConsumer(std::string_view key, std::string_view group, std::string_view consumer,
                      CountDone done);
  void DeleteConsumer(std::string_view key, std::string_view group, std::string_view consumer,
                      CountDone done);
  // XREADGROUP on one stream. history nullopt = `>`; else the consumer's
  // own pending entries with ID > *history. count 0 = all. kNoKey /
  // kNoGroup when the key / group is missing (done may then run inline,
  // under the stream's lock: it must not call the store).
  using ReadGroupDone = std::function<void(Outcome, std::vector<GroupEntry>)>;
  void ReadGroup(std::string_view key, std::string_view group, std::string_view consumer,
                 std::optional<StreamId> history, size_t count, bool noack, ReadGroupDone done);
  void Ack(std::string_view key, std::string_view group, std::vector<StreamId> ids,
           CountDone done);
  // XCLAIM / XAUTOCLAIM (reference §4.6).
  struct ClaimSpec {
    int64_t min_idle = 0;
    std::optional<int64_t> delivery_ms;  // IDLE / TIME: the new delivery time
    std::optional<int64_t> retry_count;
    bool force = false;
    bool justid = false;
    std::optional<StreamId> last_id;  // LASTID
  };
  using ClaimDone = std::function<void(Outcome, std::vector<GroupEntry> claimed,
                                       std::vector<StreamId> deleted, StreamId next)>;
  void Claim(std::string_view key, std::string_view group, std::string_view consumer,
             std::vector<StreamId> ids, const ClaimSpec& spec, ClaimDone done);
  // XAUTOCLAIM: scans the PEL from `start`, at most count*10 entries.
  void AutoClaim(std::string_view key, std::string_view group, std::string_view consumer,
                 StreamId start, int64_t count, const ClaimSpec& spec, ClaimDone done);
  // Runs fn with the stream's groups and counters under its lock (XPENDING,
  // XINFO). False (fn not run) if the key is missing.
  bool WithGroups(std::string_view key,
                  const std::function<void(const Groups&, const StreamCounters&)>& fn);

  // Blocking reads: `wake` runs once (on a writer thread, or inline if an
  // entry after `after` is already there) when the stream has an entry
  // with ID > after. Works for missing keys (a later XADD wakes it). The
  // token cancels it.
  uint64_t Watch(std::string_view key, StreamId after, std::function<void()> wake);
  void Unwatch(std::string_view key, uint64_t token);
  // Runs `fn` on the timer thread at `deadline` unless cancelled first.
  uint64_t AddTimer(std::chrono::steady_clock::time_point deadline, std::function<void()> fn);
  void CancelTimer(uint64_t token);

  // Waits until every log start raise asked so far is applied (tests; the
  // server lets them happen in the background).
  void FlushLogStarts();

 private:
  struct Stream;
  struct MetaState;
  StreamStore(Log* log, const TopicRules* rules);
  Status ReplayMeta();
  // The stream's object (made absent if unknown); loaded when it exists.
  // create: make the topic if missing. Returns null if missing and !create.
  Result<std::shared_ptr<Stream>> Get(std::string_view key, bool create);
  std::shared_ptr<Stream> Slot(std::string_view key);
  Status LoadLocked(Stream& s, bool create);
  void CommitLocked(Stream& s, int64_t offset, std::optional<StreamId> id);
  // A record topic's records below `end` are committed entries.
  void AdvanceRecordsLocked(Stream& s, int64_t end);
  // Loading: sets s.kind from the first record in [physical_start, end)
  // and, for a stream, scans its entries (stream_store.cc).
  Status ScanLocked(Stream& s, const MetaState& m, int64_t physical_start, int64_t end);
  // Calls fn for the records of `name` in [from, end) in order, until it
  // returns false (partition 0, the stream's).
  Status ForEachRecord(const std::string& name, int64_t from, int64_t end,
                       const std::function<bool(const RecordView&)>& fn);
  std::vector<std::function<void()>> TakeWakeableLocked(Stream& s);
  // Offset of the first record that may hold an ID >= id (sparse index).
  int64_t FloorOffsetLocked(const Stream& s, StreamId id) const;
  // Where the block of records before offset `hi` starts (reverse reads).
  int64_t BlockBeforeLocked(const Stream& s, int64_t hi) const;
  int64_t StartAfterEvictingLocked(const Stream& s, int64_t k) const;
  // The offset of the first live entry (s.end if none), if it is past what
  // was last asked of the LogStartMover for s; else nullopt. Records it.
  std::optional<int64_t> TakeNewLogStartLocked(Stream& s);
  // Meta-event callback wrapper: asks the mover for `start` (if any), then
  // runs done. Runs on a writer thread without locks.
  Done RaiseAfter(const Stream& s, std::optional<int64_t> start, Done done);
  // Evicts per `trim`; returns the count and sets *new_start.
  Result<int64_t> TrimLocked(Stream& s, const TrimSpec& trim);
  // Reads records [from, to) of `s`'s topic; calls fn for each entry whose
  // offset is not hidden. fn returns false to stop.
  Status Scan(const std::shared_ptr<Stream>& s, int64_t from, int64_t to,
              const std::function<bool(Entry&&)>& fn);
  void AppendMeta(const std::string& key, std::string value, Done done);
  // Applies a group event to s (its mutex held) and appends it.
  void GroupEventLocked(Stream& s, std::string event, Done done);
  StreamCounters CountersLocked(const Stream& s, StreamId first_id) const;
  StreamId FirstId(std::string_view key);
  void TimerLoop();

  Log* const log_;
  const TopicRules* const rules_;  // may be null: server defaults, nothing durable by rule
  std::unique_ptr<Producer> meta_;
  std::unique_ptr<LogStartMover> mover_;

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Stream>, StringHash, std::equal_to<>>
      streams_;  // guarded by mu_
  std::unordered_map<std::string, std::unique_ptr<MetaState>> meta_state_;  // replayed; mu_

  // Durable topic names known to this process (PUBLISH's question).
  std::shared_mutex durable_mu_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> durable_;
  std::atomic<size_t> durable_count_{0};

  std::atomic<uint64_t> next_token_{1};

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::pair<uint64_t, std::function<void()>>>
      timers_;
  bool timer_stop_ = false;
  std::thread timer_thread_;
};

}  // namespace runnel::broker::streams
