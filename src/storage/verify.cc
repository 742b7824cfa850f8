#include "storage/verify.h"

#include <algorithm>

#include "storage/batch_scanner.h"
#include "storage/data_dir.h"
#include "storage/hwm_file.h"
#include "storage/log_start_file.h"
#include "storage/segment_index.h"
#include "storage/segment_list.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {
namespace {

class Verifier {
 public:
  Verifier(Env* env, VerifyReport* report) : env_(env), report_(report) {}

  void Damaged(const std::string& file, uint64_t begin, uint64_t end, std::string problem) {
    report_->damage.push_back({file, begin, end, std::move(problem)});
  }

  Status Partition(const std::string& dir) {
    report_->partitions++;
    // A log start (deleted records) is fine wherever it points: segments
    // below it wait for the steward. Only a damaged file is reported.
    auto log_start = ReadLogStart(env_, dir);
    if (!log_start.ok() && log_start.status().Is(StatusCode::kCorruption)) {
      Damaged(dir + "/" + std::string(kLogStartFile), 0, kLogStartSize,
              log_start.status().message() + " (readers use 0; the next DeleteRecordsBefore "
              "rewrites it)");
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env_, dir));
    int64_t prev_next = -1;
    for (size_t i = 0; i < bases.size(); ++i) {
      // A segment's offsets end before the next segment's base.
      int64_t bound = i + 1 < bases.size() ? bases[i + 1] : INT64_MAX;
      RETURN_IF_ERROR(Segment(dir, bases[i], i + 1 == bases.size(), bound, &prev_next));
    }
    return Status::OK();
  }

 private:
  Status Segment(const std::string& dir, int64_t base, bool active, int64_t bound,
                 int64_t* prev_next) {
    report_->segments++;
    const std::string path = SegmentPath(dir, base, SegmentFileKind::kLog);
    ASSIGN_OR_RETURN(auto log, env_->OpenFile(path, OpenMode::kRead));
    ASSIGN_OR_RETURN(uint64_t size, log->Size());
    report_->bytes += static_cast<int64_t>(size);
    if (*prev_next > base) {
      Damaged(path, 0, 0, "segment base " + std::to_string(base) + " overlaps the previous segment, which ends at offset " + std::to_string(*prev_next));
    }
    // Where the published data of the active segment ends; past it a torn
    // tail is normal (the next writer truncates it), not damage.
    uint64_t published = size;
    if (active) {
      auto hwm_file = env_->OpenFile(dir + "/" + std::string(kHwmFile), OpenMode::kRead);
      if (hwm_file.ok()) {
        auto hwm = ReadHwm(hwm_file->get());
        if (hwm.ok() && hwm->segment_base == base) {
          published = std::min(size, hwm->segment_size);
          bound = hwm->next_offset;
        }
      }
    }
    std::vector<std::pair<int64_t, uint64_t>> batch_starts;  // base offset, position
    BatchScanner scanner(log.get(), 0, size);
    BatchHeader h;
    std::string_view bytes;
    int64_t expect_min = std::max(base, *prev_next);
    for (;;) {
      uint64_t pos = scanner.position();
      auto o = scanner.Next(&h, &bytes);
      if (o == BatchScanner::Outcome::kEnd) break;
      if (o == BatchScanner::Outcome::kError) return scanner.status();
      if (o == BatchScanner::Outcome::kTorn || o == BatchScanner::Outcome::kBad) {
        if (active && pos >= published) break;  // unpublished torn write: the writer cuts it
        std::string problem = o == BatchScanner::Outcome::kBad
                                  ? scanner.problem()
                                  : "batch runs past the end of the segment";
        uint64_t end = scanner.Resync(expect_min) ? scanner.position() : size;
        Damaged(path, pos, end, problem);
        if (end == size) break;
        continue;
      }
      // Whole batches past the hwm were written but never published (the
      // writer died before publishing): the next writer keeps or cuts them.
      if (active && pos >= published) break;
      // The base offset is outside the CRC: check it against its neighbours.
      if (h.base_offset < expect_min || h.next_offset() > bound) {
        Damaged(path, pos, pos + h.total_size(),
                "batch offsets " + std::to_string(h.base_offset) + "-" +
                    std::to_string(h.last_offset()) + " outside the expected range " +
                    std::to_string(expect_min) + "-" +
                    (bound == INT64_MAX ? std::string("") : std::to_string(bound - 1)));
        continue;
      }
      std::vector<DecodedRecord> records;
      std::vector<HeaderView> headers;
      Status st = DecodeRecords(bytes, h, &records, &headers);
      if (!st.ok() && !st.Is(StatusCode::kNotSupported)) {
        Damaged(path, pos, pos + h.total_size(), st.message());
      }
      batch_starts.emplace_back(h.base_offset, pos);
      report_->batches++;
      report_->records += h.records_count;
      expect_min = h.next_offset();
    }
    *prev_next = expect_min;
    CheckIndex(dir, base, size, published, batch_starts);
    return Status::OK();
  }

  // Entries at or past `published` describe unpublished batches of the
  // active segment; the next writer truncates them, so they are not damage.
  void CheckIndex(const std::string& dir, int64_t base, uint64_t size, uint64_t published,
                  const std::vector<std::pair<int64_t, uint64_t>>& batch_starts) {
    const std::string path = SegmentPath(dir, base, SegmentFileKind::kIndex);
    if (!env_->FileExists(path)) {
      if (size > 0) Damaged(path, 0, 0, "index file missing (rebuilt by the next writer)");
      return;
    }
    auto index = LoadOffsetIndex(env_, path, size);
    if (!index.ok()) {
      Damaged(path, 0, 0, index.status().message());
      return;
    }
    for (size_t i = 0; i < index->entries.size(); ++i) {
      const IndexEntry& e = index->entries[i];
      if (e.position >= published) break;
      bool found = std::binary_search(batch_starts.begin(), batch_starts.end(),
                                      std::make_pair(base + e.relative_offset, uint64_t{e.position}));
      if (!found) {
        Damaged(path, i * kIndexEntrySize, (i + 1) * kIndexEntrySize,
                "index entry " + std::to_string(i) + " names offset " +
                    std::to_string(base + e.relative_offset) + " at byte " +
                    std::to_string(e.position) + ", where no such batch starts");
        return;
      }
    }
    if (index->damaged) {
      uint64_t good = index->entries.size() * kIndexEntrySize;
      Damaged(path, good, index->file_bytes, "index entries out of order or past the log");
    }
  }

  Env* env_;
  VerifyReport* report_;
};

}  // namespace

Result<VerifyReport> VerifyDirectory(Env* env, const std::string& dir) {
  VerifyReport report;
  if (!env->FileExists(dir + "/" + std::string(kMarkerFile))) {
    return Status::InvalidArgument(dir + " is not a runnel data directory (no " +
                                   std::string(kMarkerFile) + " marker)");
  }
  Verifier v(env, &report);
  RETURN_IF_ERROR(v.Partition(MetaDir(dir) + "/topics/0"));
  auto topics = env->ListDir(TopicsDir(dir));
  if (!topics.ok()) return topics.status();
  std::sort(topics->begin(), topics->end());
  for (const std::string& t : *topics) {
    report.topics++;
    const std::string tdir = TopicsDir(dir) + "/" + t;
    ASSIGN_OR_RETURN(std::vector<std::string> parts, env->ListDir(tdir));
    std::vector<int> ids;
    for (const std::string& p : parts) {
      if (!p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) && p.size() < 7) {
        ids.push_back(std::stoi(p));
      }
    }
    std::sort(ids.begin(), ids.end());
    for (int id : ids) RETURN_IF_ERROR(v.Partition(PartitionDir(tdir, id)));
  }
  return report;
}

}  // namespace runnel::storage
