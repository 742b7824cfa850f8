// Re-encoding a stored batch with only some of its records, for compaction
// and record purges (steward.h). It follows what Kafka's log cleaner keeps
// of a batch it filters (MemoryRecords.filterTo), so that idempotent-
// producer state and clients see the batch as the producer wrote it, less
// the records that went:
//
//   kept as they were   base_offset, last_offset_delta (the offset range
//                       and, with base_sequence, the sequence range),
//                       partition_leader_epoch, producer_id,
//                       producer_epoch, base_sequence, the timestamp type
//                       (attributes bit 3) and the transactional bit (4);
//                       each kept record's offset, timestamp, key, value
//                       and headers
//   recomputed          batch_length, crc, records_count, base_timestamp
//                       (the first kept record's), max_timestamp (the
//                       largest kept record's; under LogAppendTime the
//                       original's, which is the append time)
//   compression         the original's codec; snappy in the original's
//                       framing (raw or xerial), so the producer's kind of
//                       client reads it back as before
//
// A negative record timestamp is written as -1 (Kafka's "no timestamp").
// The delete-horizon bit (6) is not carried over: runnel never sets it.
#pragma once

#include "storage/batch_format.h"

#include "runnel/record.h"
#include "runnel/status.h"

#include <span>
#include <string>
#include <string_view>

namespace runnel::storage {

// Appends to *dst `original` (a whole batch, CRC checked; `h` its parsed
// header) rewritten to hold `keep`: records decoded from it, in offset
// order, each with its offset. `keep` must not be empty (see
// AppendEmptyBatch). kIoError if the codec fails (*dst is then as it was).
Status AppendRetainedBatch(std::string_view original, const BatchHeader& h,
                           std::span<const RecordView> keep, std::string* dst);

// Appends the record-less batch Kafka's cleaner leaves for an idempotent
// producer's last batch, so its producer state survives a rebuild from the
// log: the original's offset range, producer fields, leader epoch, timestamp
// type and max_timestamp; records_count 0, uncompressed, base_timestamp -1.
void AppendEmptyBatch(const BatchHeader& h, std::string* dst);

}  // namespace runnel::storage
