// Segment-level helpers shared by the writer, readers, the steward and verify.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runnel/status.h"

namespace runnel {
class Env;
}

namespace runnel::storage {

// Base offsets of the .log files in a partition directory, ascending.
Result<std::vector<int64_t>> ListSegmentBases(Env* env, const std::string& partition_dir);

// Rewrites a segment's .index and .timeindex from its .log (scanning every
// batch; stops at the first bad one). For a sealed segment a closing time
// entry is added. Writes *.tmp, syncs, renames over the old files.
Status RebuildSegmentIndexes(Env* env, const std::string& partition_dir, int64_t base,
                             bool sealed);

// Removes what an interrupted rewrite left behind: <base>.index.tmp,
// <base>.timeindex.tmp (RebuildSegmentIndexes), <base>.log.compacting (the
// steward) and log_start.tmp (WriteLogStart). Only the writer-lock holder writes these, so it calls this while
// holding the lock (writer open, steward pass).
Status RemoveInterruptedRewrites(Env* env, const std::string& partition_dir);

}  // namespace runnel::storage
