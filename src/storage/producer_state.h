// ProducerStateTable: the idempotent-producer state of one partition, as
// Kafka's ProducerStateManager keeps it (docs/format/producer-state.md).
//
// Per producer id: its epoch and the sequence ranges and base offsets of its
// last kCachedBatches appended batches. A batch that carries a producer id
// (a Kafka idempotent producer's) is checked against it before it is
// appended:
//   epoch lower than the known one                       -> kStaleEpoch
//   same epoch, same first/last sequence as a cached one -> kDuplicate (the
//                                                           original offset)
//   unknown producer (or a new epoch), first sequence 0  -> kAppend
//   unknown producer, first sequence != 0                -> kUnknownProducer
//   new epoch, first sequence != 0                       -> kOutOfOrder
//   same epoch, first sequence != last + 1 (wrapping)    -> kOutOfOrder
//
// The PartitionWriter checks and records on its commit thread while it
// assigns offsets, so the check and the append are atomic with respect to
// every other append to the partition. The table covers the log below
// end_offset(); when that differs from the log's end (first open, a crash,
// another process appended) the writer rebuilds it: the snapshot file
// written at each segment roll and at close, then the batch headers past it.
//
// Thread safety: none; the owner (the partition's writers) holds mu().
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/status.h"

namespace runnel {
class Env;
}

namespace runnel::storage {

struct BatchHeader;

// The producer fields of one batch. producer_id < 0: not idempotent.
struct ProducerBatch {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t first_seq = -1;
  int32_t last_seq = -1;

  bool idempotent() const { return producer_id >= 0; }
  static ProducerBatch From(const BatchHeader& h);
};

class ProducerStateTable {
 public:
  static constexpr size_t kCachedBatches = 5;  // Kafka's max.in.flight for idempotence
  // Producers remembered per partition; past it the one that appended
  // longest ago is forgotten (Kafka expires ids after producer.id.expiration.ms).
  static constexpr size_t kMaxProducers = 10000;

  struct CachedBatch {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t base_offset = 0;
  };
  struct Entry {
    int16_t epoch = -1;
    std::vector<CachedBatch> batches;  // oldest first, at most kCachedBatches
    int64_t last_offset = -1;          // for eviction: the latest append
  };

  enum class Verdict : uint8_t { kAppend, kDuplicate, kOutOfOrder, kUnknownProducer, kStaleEpoch };
  struct Decision {
    Verdict verdict = Verdict::kAppend;
    int64_t duplicate_offset = -1;
  };

  Decision Check(const ProducerBatch& b) const;
  // The Status a rejected Decision becomes (kOutOfOrderSequence, ...).
  static Status ToStatus(const Decision& d, const ProducerBatch& b);

  // Records a batch appended at base_offset (after Check said kAppend).
  void Record(const ProducerBatch& b, int64_t base_offset);

  // Undo support for a group commit that fails after Record.
  std::optional<Entry> Get(int64_t producer_id) const;
  void Put(int64_t producer_id, std::optional<Entry> entry);

  int64_t end_offset() const { return end_offset_; }
  // `segment`/`position`: where end_offset lies in the log (the byte after
  // the last batch covered), when the writer knows it; lets a catch-up read
  // only the batches past it. -1: unknown.
  void set_end_offset(int64_t o, int64_t segment = -1, uint64_t position = 0) {
    end_offset_ = o;
    end_segment_ = segment;
    end_position_ = position;
  }
  int64_t end_segment() const { return end_segment_; }
  uint64_t end_position() const { return end_position_; }
  size_t size() const { return producers_.size(); }
  void Clear() {
    producers_.clear();
    set_end_offset(-1);
  }

  // Snapshot bytes (docs/format/producer-state.md) and back. Decode
  // replaces the table; kCorruption on bad bytes (the caller rebuilds).
  std::string Encode() const;
  Status Decode(std::string_view bytes);

  std::mutex& mu() { return mu_; }

 private:
  void EvictIfFull();

  std::map<int64_t, Entry> producers_;
  int64_t end_offset_ = -1;  // -1: nothing loaded yet
  int64_t end_segment_ = -1;
  uint64_t end_position_ = 0;
  std::mutex mu_;
};

inline constexpr std::string_view kProducerStateFile = "producer.state";

// Writes the table's snapshot to <partition_dir>/producer.state (a .tmp file
// renamed over it; synced when `sync`).
Status WriteProducerSnapshot(Env* env, const std::string& partition_dir,
                             const ProducerStateTable& table, bool sync);

// Makes `table` cover [.., log_end). A table that already covers a prefix
// and knows where it ends in the log (another process appended) reads only
// the batch headers past that point. Otherwise: the snapshot when it is
// readable and not past log_end, else empty, then the producer fields of
// every batch header from there to log_end, scanning at most the segments
// from the one holding the snapshot's offset (without a snapshot: the active
// segment only, so startup cost is bounded by one segment's batch headers).
// Reads headers only: the writer has already validated the tail.
Status RebuildProducerState(Env* env, const std::string& partition_dir, int64_t log_end,
                            ProducerStateTable* table);

}  // namespace runnel::storage
