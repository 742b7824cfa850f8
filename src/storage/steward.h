// The steward: retention and compaction of one partition. Runs under the
// partition's writer lock (PartitionWriter::RunExclusive) and touches only
// sealed segments, those below the active one.
//
// Retention deletes whole sealed segments, oldest first: while the oldest's
// largest timestamp is older than retention_ms, and while the partition
// without it is still at least retention_bytes. Readers in other processes
// keep reading a deleted segment through their open file; a reader that
// later asks for an offset below the new start is moved to the start.
//
// Before retention, sealed segments wholly below the partition's log start
// offset (log_start_file.h; Log::DeleteRecordsBefore) are deleted: those
// whose next segment's base is <= the log start. The segment the log start
// points into stays until it is wholly below; the active one always stays.
// Retention and compaction then work on what is left. Retention never
// lowers the start readers see: it is the larger of the stored log start
// and the first remaining segment's base, both only ever growing.
//
// Compaction keeps, in each sealed segment, only the newest record of each
// key across the whole partition (records without a key are kept), drops
// tombstones older than delete_retention_ms, and preserves every kept
// record's offset (each batch keeps its offset range and producer fields).
// Compressed batches are decoded, with the reader's bound, both to find the
// newest offset of each key and to filter them; one that loses records is
// re-encoded with its own codec (batch_rewrite.h), one that keeps them all
// stays byte for byte. A batch that loses every record goes, except an
// idempotent producer's newest batch, whose header stays with no records
// (as Kafka's cleaner does, so producer state survives). A changed segment is
// written to <base>.log.compacting, synced, and renamed over the original;
// its indexes are removed first and rebuilt after, so a crash at any point
// leaves either segment version whole and at worst a missing index, which
// the next open rebuilds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runnel/options.h"
#include "runnel/status.h"

namespace runnel {
class Env;
}

namespace runnel::storage {

struct StewardStats {
  int64_t segments_deleted = 0;
  int64_t segments_compacted = 0;
  int64_t records_removed = 0;
  int64_t bytes_freed = 0;
};

// Removes the records at `offsets` from the partition's sealed segments
// (Log::PurgeRecords), rewriting each affected segment as compaction does:
// every other record keeps its offset, files are replaced atomically;
// compressed batches are decoded (bounded by max_message_bytes as the
// reader is) and re-encoded with their codec. An idempotent producer's
// batch that loses every record keeps its header. Offsets in the active
// segment (>= active_base) are not touched and are returned in *not_yet;
// offsets no segment holds any more are done. Runs under the partition's
// writer lock.
Status PurgeOffsets(Env* env, const std::string& partition_dir, int64_t active_base,
                    std::span<const int64_t> offsets, int32_t max_message_bytes,
                    std::vector<int64_t>* not_yet, StewardStats* stats = nullptr);

Status TendPartition(Env* env, const std::string& partition_dir, const TopicConfig& config,
                     int64_t active_base, int64_t now_ms, StewardStats* stats = nullptr);

}  // namespace runnel::storage
