#include "storage/segment_index.h"

#include <algorithm>

#include "util/bytes.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {
namespace {

Result<std::string> ReadWholeFile(Env* env, const std::string& path, bool* missing) {
  *missing = false;
  auto file = env->OpenFile(path, OpenMode::kRead);
  if (!file.ok()) {
    if (file.status().Is(StatusCode::kNotFound)) {
      *missing = true;
      return std::string();
    }
    return file.status();
  }
  ASSIGN_OR_RETURN(uint64_t size, (*file)->Size());
  // An index is bounded by its segment (at most 1 GiB of log -> 2 MiB of
  // entries at the default interval); refuse absurd sizes before allocating.
  if (size > (256ULL << 20)) return Status::Corruption(path + ": index file too large");
  std::string data(size, '\0');
  ASSIGN_OR_RETURN(size_t n, (*file)->ReadAt(0, data.data(), size));
  data.resize(n);
  return data;
}

}  // namespace

Result<LoadedOffsetIndex> LoadOffsetIndex(Env* env, const std::string& path, uint64_t log_size) {
  bool missing;
  ASSIGN_OR_RETURN(std::string data, ReadWholeFile(env, path, &missing));
  LoadedOffsetIndex out;
  out.file_bytes = data.size();
  size_t n = data.size() / kIndexEntrySize;
  out.damaged = data.size() % kIndexEntrySize != 0;
  out.entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    IndexEntry e{GetBE32(&data[i * kIndexEntrySize]), GetBE32(&data[i * kIndexEntrySize + 4])};
    bool increasing = out.entries.empty() || (e.relative_offset > out.entries.back().relative_offset &&
                                              e.position > out.entries.back().position);
    if (!increasing || e.position >= log_size) {
      out.damaged = true;
      break;
    }
    out.entries.push_back(e);
  }
  return out;
}

Result<LoadedTimeIndex> LoadTimeIndex(Env* env, const std::string& path) {
  bool missing;
  ASSIGN_OR_RETURN(std::string data, ReadWholeFile(env, path, &missing));
  LoadedTimeIndex out;
  out.file_bytes = data.size();
  size_t n = data.size() / kTimeIndexEntrySize;
  out.damaged = data.size() % kTimeIndexEntrySize != 0;
  for (size_t i = 0; i < n; ++i) {
    const char* p = &data[i * kTimeIndexEntrySize];
    TimeIndexEntry e{static_cast<int64_t>(GetBE64(p)), GetBE32(p + 8)};
    if (!out.entries.empty() && (e.timestamp < out.entries.back().timestamp ||
                                 e.relative_offset < out.entries.back().relative_offset)) {
      out.damaged = true;
      break;
    }
    out.entries.push_back(e);
  }
  return out;
}

IndexEntry FloorEntry(const std::vector<IndexEntry>& entries, int64_t target_relative) {
  auto it = std::upper_bound(entries.begin(), entries.end(), target_relative,
                             [](int64_t t, const IndexEntry& e) { return t < e.relative_offset; });
  if (it == entries.begin()) return {0, 0};
  return *(it - 1);
}

uint32_t TimeLookup(const std::vector<TimeIndexEntry>& entries, int64_t target) {
  auto it = std::lower_bound(entries.begin(), entries.end(), target,
                             [](const TimeIndexEntry& e, int64_t t) { return e.timestamp < t; });
  if (it == entries.begin()) return 0;
  return (it - 1)->relative_offset;
}

std::string EncodeIndexEntry(IndexEntry e) {
  std::string s(kIndexEntrySize, '\0');
  PutBE32(s.data(), e.relative_offset);
  PutBE32(s.data() + 4, e.position);
  return s;
}

std::string EncodeTimeIndexEntry(TimeIndexEntry e) {
  std::string s(kTimeIndexEntrySize, '\0');
  PutBE64(s.data(), static_cast<uint64_t>(e.timestamp));
  PutBE32(s.data() + 8, e.relative_offset);
  return s;
}

}  // namespace runnel::storage
