#include "storage/segment_list.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "storage/batch_scanner.h"
#include "storage/data_dir.h"
#include "storage/segment_index.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {

Result<std::vector<int64_t>> ListSegmentBases(Env* env, const std::string& partition_dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(partition_dir));
  std::vector<int64_t> bases;
  for (const std::string& name : names) {
    if (auto base = ParseSegmentFileName(name, SegmentFileKind::kLog)) bases.push_back(*base);
  }
  std::sort(bases.begin(), bases.end());
  return bases;
}

Status RemoveInterruptedRewrites(Env* env, const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  bool removed = false;
  for (const std::string& name : names) {
    std::string_view n = name;
    std::optional<int64_t> base;
    if (n.ends_with(".compacting")) {
      base = ParseSegmentFileName(n.substr(0, n.size() - 11), SegmentFileKind::kLog);
    } else if (n.ends_with(".tmp")) {
      std::string_view stem = n.substr(0, n.size() - 4);
      base = ParseSegmentFileName(stem, SegmentFileKind::kIndex);
      if (!base) base = ParseSegmentFileName(stem, SegmentFileKind::kTimeIndex);
    }
    if (!base && name != std::string(kLogStartFile) + ".tmp") continue;
    Status st = env->RemoveFile(dir + "/" + name);
    if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
    removed = true;
  }
  return removed ? env->SyncDir(dir) : Status::OK();
}

Status RebuildSegmentIndexes(Env* env, const std::string& dir, int64_t base, bool sealed) {
  ASSIGN_OR_RETURN(auto log, env->OpenFile(SegmentPath(dir, base, SegmentFileKind::kLog),
                                           OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, log->Size());
  std::string index, timeindex;
  BatchScanner scanner(log.get(), 0, size);
  BatchHeader h;
  std::string_view bytes;
  uint64_t last_index_position = 0;
  int64_t max_ts = -1, last_time_ts = -1, next = base;
  for (;;) {
    uint64_t pos = scanner.position();
    auto o = scanner.Next(&h, &bytes);
    if (o == BatchScanner::Outcome::kError) return scanner.status();
    if (o != BatchScanner::Outcome::kBatch) break;
    if (pos - last_index_position >= kIndexIntervalBytes) {
      auto rel = static_cast<uint32_t>(h.base_offset - base);
      index += EncodeIndexEntry({rel, static_cast<uint32_t>(pos)});
      last_index_position = pos;
      if (max_ts > last_time_ts) {
        timeindex += EncodeTimeIndexEntry({max_ts, rel});
        last_time_ts = max_ts;
      }
    }
    max_ts = std::max(max_ts, h.max_timestamp);
    next = h.next_offset();
  }
  if (sealed && max_ts >= 0) {
    timeindex += EncodeTimeIndexEntry({max_ts, static_cast<uint32_t>(next - base)});
  }
  auto write = [&](SegmentFileKind kind, const std::string& data) -> Status {
    std::string path = SegmentPath(dir, base, kind);
    std::string tmp = path + ".tmp";
    ASSIGN_OR_RETURN(auto f, env->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Append(data));
    RETURN_IF_ERROR(f->Sync());
    return env->Rename(tmp, path);
  };
  RETURN_IF_ERROR(write(SegmentFileKind::kIndex, index));
  RETURN_IF_ERROR(write(SegmentFileKind::kTimeIndex, timeindex));
  return env->SyncDir(dir);
}

}  // namespace runnel::storage
