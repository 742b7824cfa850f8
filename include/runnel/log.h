// The embedded log: open a data directory, manage topics, append and read.
//
//   auto log = runnel::Log::Open("/var/lib/app/events", {});
//   auto producer = (*log)->NewProducer("clicks");
//   auto offset = (*producer)->Append(0, {.value = "hello"});
//   auto reader = (*log)->NewReader("clicks", 0, runnel::StartPosition::Earliest());
//   while ((*reader)->Poll(std::chrono::seconds(1)).ok()) { auto batch = (*reader)->Read(); }
//
// Several processes may open the same directory at once. Appends to one
// partition are serialised by a file lock taken per group commit, so producers
// in different processes interleave whole batches; readers in any process see
// one order, the log's, and wake through inotify when another process appends.
//
// Thread safety: Log and Producer may be used from any number of threads.
// A Reader belongs to one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/options.h"
#include "runnel/record.h"
#include "runnel/status.h"

namespace runnel {

struct PartitionInfo {
  int32_t partition = 0;
  int64_t start_offset = 0;  // first offset still readable (the log start offset)
  int64_t end_offset = 0;    // next offset to be written (high-water mark)
  int64_t bytes = 0;         // log bytes on disk
  int32_t segments = 0;
};

struct TopicInfo {
  std::string name;
  TopicConfig config;
  std::vector<PartitionInfo> partitions;  // filled by DescribeTopic only
};

// Where a Reader starts.
struct StartPosition {
  enum class Kind : uint8_t { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;

  static StartPosition Earliest() { return {Kind::kEarliest, 0}; }
  static StartPosition Latest() { return {Kind::kLatest, 0}; }
  static StartPosition Offset(int64_t offset) { return {Kind::kOffset, offset}; }
  // First record whose timestamp is >= ms.
  static StartPosition Timestamp(int64_t ms) { return {Kind::kTimestamp, ms}; }
};

// Appends to one topic.
class Producer {
 public:
  virtual ~Producer() = default;

  // Appends records to a partition as one batch and returns the offset of
  // the first once the batch is durable under the topic's fsync policy.
  // partition -1 picks one from the first record's key (murmur2, as Kafka's
  // default partitioner) or round-robin when it has none.
  virtual Result<int64_t> Append(int32_t partition, std::span<const RecordView> records) = 0;
  Result<int64_t> Append(int32_t partition, const RecordView& record) {
    return Append(partition, std::span<const RecordView>(&record, 1));
  }

  // Same, without waiting: the records are copied before this returns and
  // `done` runs on a writer thread once the batch is durable (or failed).
  // Calls to one partition complete in call order.
  using AppendCallback = std::function<void(Result<int64_t> base_offset)>;
  virtual void AppendAsync(int32_t partition, std::span<const RecordView> records,
                           AppendCallback done) = 0;

  // Appends one Kafka RecordBatch v2 (magic 2) as it is — compressed or not
  // — with only its base offset rewritten (the CRC does not cover it), in
  // the same group commit as other appends to the partition. `batch` must
  // hold exactly one batch; it is checked first (storage::
  // ValidateProducedBatch: framing, CRC-32C, size against
  // max_message_bytes, record count and offset deltas) and on failure `done`
  // gets kCorruption (bad bytes or CRC), kInvalidArgument (a batch no
  // producer may send: no records, wrong magic, a control batch), kTooLarge
  // or kNotFound (no such partition) and nothing is appended. Otherwise
  // `done` runs on a writer thread with the batch's base offset once it is
  // durable under the topic's fsync policy (as AppendAsync). partition must
  // be an existing partition (no key-based choice: the batch is opaque).
  // A batch with a producer id >= 0 (a Kafka idempotent producer's) is
  // checked against the partition's producer state when it commits, in
  // commit order: a duplicate of one of that producer's last 5 batches gets
  // the original base offset and is not stored again; otherwise
  // kOutOfOrderSequence, kUnknownProducer or kStaleEpoch and nothing is
  // appended (docs/protocols/kafka.md, "Idempotent producer").
  virtual void AppendRawAsync(int32_t partition, std::string batch, AppendCallback done) = 0;

  // Waits until every AppendAsync issued before it has completed.
  virtual Status Flush() = 0;

  virtual int32_t partitions() const = 0;
  // The topic's limit on one record's encoded size (see EncodedRecordBytes);
  // Append fails with kTooLarge, appending nothing, if any record exceeds it.
  virtual int32_t max_message_bytes() const = 0;
};

// Bytes `record` takes when stored alone in a batch (header included): what
// max_message_bytes is compared with.
size_t EncodedRecordBytes(const RecordView& record);

// Bytes [offset, offset + length) of a segment file, holding whole stored
// batches (Reader::ReadRawRanges). `file` keeps descriptor `fd` open while
// any copy of the range lives, so the bytes stay valid — and can be sent
// with sendfile(2) — even after retention deletes the segment or compaction
// replaces it: the descriptor still names the file they were read from.
struct StoredRange {
  std::shared_ptr<const void> file;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Reads one partition in offset order.
class Reader {
 public:
  virtual ~Reader() = default;

  // Returns the records available now, up to about max_bytes of stored
  // batches (at least one batch when any is available). Empty = caught up.
  Result<ReadBatch> Read(size_t max_bytes = 1 << 20) {
    ReadBatch batch;
    Status st = ReadInto(&batch, max_bytes);
    if (!st.ok()) return st;
    return batch;
  }

  // Same as Read, refilling `batch` (its previous records are dropped) and
  // reusing its memory: the fast path for a consumer loop.
  virtual Status ReadInto(ReadBatch* batch, size_t max_bytes = 1 << 20) = 0;

  // Blocks until a record at or past position() is readable (OK) or the
  // timeout passes (kTimedOut). Wakes for appends from any process.
  virtual Status Poll(std::chrono::milliseconds timeout) = 0;

  // Appends to *out the stored bytes of whole batches, untouched (compressed
  // batches stay compressed; transaction control batches are included),
  // starting with the batch that holds position() — which may begin before
  // it: the caller skips those records, as Kafka consumers do — and moves
  // position() past the last batch appended. Stops before a batch that
  // would take the appended bytes past max_bytes, except that the first
  // batch is appended whole however large when `at_least_one` (so a
  // consumer always progresses). Nothing appended = caught up. Damage is
  // reported as by ReadInto (kCorruption, then reading continues after it).
  // Reads with pread: from the page cache when the data is recent.
  virtual Status ReadRawInto(std::string* out, size_t max_bytes, bool at_least_one = true) = 0;

  // The same batches as ReadRawInto (same position, limits, at_least_one
  // and published-end rules, same damage reports), but instead of their
  // bytes appends to *out the file ranges holding them — adjacent batches
  // of one segment in one range — for a zero-copy send. Batch headers are
  // read and checked (framing, offsets); the CRCs are not, since the bytes
  // are not read (Kafka consumers check them). kNotSupported, with nothing
  // appended, when the log's files have no descriptor (a test Env).
  virtual Status ReadRawRanges(std::vector<StoredRange>* out, size_t max_bytes,
                               bool at_least_one = true) = 0;

  // The partition now: start_offset (first readable) and end_offset (the
  // published end, high-water mark); bytes and segments are not filled.
  virtual Result<PartitionInfo> Offsets() = 0;

  // Offset of the next record Read returns.
  virtual int64_t position() const = 0;
  virtual Status Seek(StartPosition start) = 0;
};

class Log {
 public:
  virtual ~Log() = default;

  // Opens (or creates, per options) the data directory at `dir`.
  static Result<std::unique_ptr<Log>> Open(const std::string& dir, const Options& options = {});

  virtual Status CreateTopic(std::string_view name, const TopicConfig& config) = 0;
  // Grows the topic to `new_total` partitions (existing ones keep their
  // data). kInvalidArgument unless new_total is larger than the partition
  // count now (and at most kMaxPartitions); kNotFound for no such topic.
  virtual Status CreatePartitions(std::string_view name, int32_t new_total) = 0;
  virtual Result<std::vector<TopicInfo>> ListTopics() = 0;
  virtual Result<TopicInfo> DescribeTopic(std::string_view name) = 0;
  // Removes the topic and its data. Readers already open keep reading what
  // they have; new appends fail with kNotFound.
  virtual Status DeleteTopic(std::string_view name) = 0;

  // A producer for `topic`; creates it with options.default_topic_config
  // when auto_create is set and it does not exist.
  virtual Result<std::unique_ptr<Producer>> NewProducer(std::string_view topic,
                                                        bool auto_create = true) = 0;
  virtual Result<std::unique_ptr<Reader>> NewReader(std::string_view topic, int32_t partition,
                                                    StartPosition start) = 0;

  // Deletes the records of one partition below `offset` (Kafka
  // DeleteRecords): raises the partition's log start offset to it, never
  // lowering it. Durable when this returns (the new start is fsynced under
  // the partition's writer lock, so it survives kill -9 and power loss).
  // From then on, in every process, readers that start or Seek below it
  // start at it, Offsets() and DescribeTopic report it as start_offset, and
  // the next steward pass (RunSteward) deletes the sealed segments wholly
  // below it; a segment it points into stays until it is wholly below. A
  // Reader already positioned below it keeps reading from where it is.
  // Returns the new start offset (Kafka's low watermark): the larger of it
  // and what retention already deleted. kOutOfRange when `offset` is past
  // the partition's end (an offset equal to the end deletes everything),
  // kNotFound for a missing topic or partition, kInvalidArgument for a
  // negative offset. Blocks for two fsyncs: not for an event loop thread.
  virtual Result<int64_t> DeleteRecordsBefore(std::string_view topic, int32_t partition,
                                              int64_t offset) = 0;

  // Removes the records at `offsets` of a partition for good, keeping every
  // other record at its offset (what XDEL needs from an append-only log):
  // each sealed segment holding one is rewritten without it and replaced
  // atomically, as compaction does, under the writer lock. The active
  // segment is never rewritten: offsets at or past its base (in it, or not
  // written yet) are returned, to be asked again once it has rolled.
  // Offsets no longer held (below the start, already purged) count as done. Readers positioned inside a rewritten
  // segment keep reading the old file. Blocks for the rewrites and their
  // fsyncs: not for an event loop thread.
  virtual Result<std::vector<int64_t>> PurgeRecords(std::string_view topic, int32_t partition,
                                                    std::span<const int64_t> offsets) = 0;

  // Runs `listener(topic, partition)` after every group commit of this
  // process that publishes records (from any Producer: Append, AppendAsync,
  // AppendRawAsync), on the writer thread, once the records are readable.
  // It must be quick and must not call into the Log (front-ends use it to
  // wake long-polling readers). Appends by other processes are not reported
  // (readers learn of them through Reader::Poll). One listener per Log; an
  // empty function removes it. May be called at any time.
  using AppendListener = std::function<void(std::string_view topic, int32_t partition)>;
  virtual void SetAppendListener(AppendListener listener) = 0;

  // Applies retention and compaction to every topic once, under each
  // partition's writer lock, and deletes the sealed segments wholly below
  // each partition's log start offset (DeleteRecordsBefore).
  virtual Status RunSteward() = 0;

  virtual const std::string& dir() const = 0;
};

}  // namespace runnel
