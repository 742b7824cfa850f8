#include "storage/producer_state.h"

#include <algorithm>
#include <climits>

#include "storage/batch_format.h"
#include "storage/segment_list.h"
#include "storage/data_dir.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {
namespace {

// The sequence after `last`; sequences wrap from INT32_MAX to 0 (Kafka).
int32_t NextSeq(int32_t last) { return last == INT32_MAX ? 0 : last + 1; }

constexpr std::string_view kMagic = "RNPS";
constexpr uint16_t kVersion = 1;
constexpr size_t kFixed = 4 + 2 + 8 + 4;        // magic, version, end offset, count
constexpr size_t kEntryFixed = 8 + 2 + 8 + 1;   // id, epoch, last offset, batch count
constexpr size_t kBatchBytes = 4 + 4 + 8;

}  // namespace

ProducerBatch ProducerBatch::From(const BatchHeader& h) {
  ProducerBatch b;
  if (h.producer_id < 0 || h.is_control()) return b;
  b.producer_id = h.producer_id;
  b.epoch = h.producer_epoch;
  b.first_seq = h.base_sequence;
  // last = first + delta, wrapping past INT32_MAX to 0.
  const int64_t last = int64_t{h.base_sequence} + h.last_offset_delta;
  b.last_seq = static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);
  return b;
}

ProducerStateTable::Decision ProducerStateTable::Check(const ProducerBatch& b) const {
  auto it = producers_.find(b.producer_id);
  if (it == producers_.end()) {
    if (b.first_seq != 0) return {Verdict::kUnknownProducer};
    return {Verdict::kAppend};
  }
  const Entry& e = it->second;
  if (b.epoch < e.epoch) return {Verdict::kStaleEpoch};
  if (b.epoch != e.epoch) {
    // A new epoch starts its sequences again at 0.
    return {b.first_seq == 0 ? Verdict::kAppend : Verdict::kOutOfOrder};
  }
  for (const CachedBatch& c : e.batches) {
    if (c.first_seq == b.first_seq && c.last_seq == b.last_seq) {
      return {Verdict::kDuplicate, c.base_offset};
    }
  }
  if (e.batches.empty()) {
    return {b.first_seq == 0 ? Verdict::kAppend : Verdict::kOutOfOrder};
  }
  if (b.first_seq != NextSeq(e.batches.back().last_seq)) return {Verdict::kOutOfOrder};
  return {Verdict::kAppend};
}

Status ProducerStateTable::ToStatus(const Decision& d, const ProducerBatch& b) {
  const std::string who = "producer " + std::to_string(b.producer_id) + " epoch " +
                          std::to_string(b.epoch) + " sequence " + std::to_string(b.first_seq);
  switch (d.verdict) {
    case Verdict::kOutOfOrder:
      return {StatusCode::kOutOfOrderSequence, who + ": out of order"};
    case Verdict::kUnknownProducer:
      return {StatusCode::kUnknownProducer, who + ": unknown producer id"};
    case Verdict::kStaleEpoch:
      return {StatusCode::kStaleEpoch, who + ": epoch is older than the partition's"};
    case Verdict::kAppend:
    case Verdict::kDuplicate:
      break;
  }
  return Status::OK();
}

void ProducerStateTable::Record(const ProducerBatch& b, int64_t base_offset) {
  Entry& e = producers_[b.producer_id];
  if (e.epoch != b.epoch) {
    e.epoch = b.epoch;
    e.batches.clear();
  }
  if (e.batches.size() >= kCachedBatches) e.batches.erase(e.batches.begin());
  e.batches.push_back({b.first_seq, b.last_seq, base_offset});
  e.last_offset = base_offset;
  EvictIfFull();
}

void ProducerStateTable::EvictIfFull() {
  if (producers_.size() <= kMaxProducers) return;
  auto oldest = std::min_element(producers_.begin(), producers_.end(), [](const auto& a,
                                                                          const auto& b) {
    return a.second.last_offset < b.second.last_offset;
  });
  producers_.erase(oldest);
}

std::optional<ProducerStateTable::Entry> ProducerStateTable::Get(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return std::nullopt;
  return it->second;
}

void ProducerStateTable::Put(int64_t producer_id, std::optional<Entry> entry) {
  if (entry) {
    producers_[producer_id] = std::move(*entry);
  } else {
    producers_.erase(producer_id);
  }
}

std::string ProducerStateTable::Encode() const {
  std::string s(kMagic);
  AppendBE16(&s, kVersion);
  AppendBE64(&s, static_cast<uint64_t>(end_offset_));
  AppendBE32(&s, static_cast<uint32_t>(producers_.size()));
  for (const auto& [id, e] : producers_) {
    AppendBE64(&s, static_cast<uint64_t>(id));
    AppendBE16(&s, static_cast<uint16_t>(e.epoch));
    AppendBE64(&s, static_cast<uint64_t>(e.last_offset));
    s.push_back(static_cast<char>(e.batches.size()));
    for (const CachedBatch& c : e.batches) {
      AppendBE32(&s, static_cast<uint32_t>(c.first_seq));
      AppendBE32(&s, static_cast<uint32_t>(c.last_seq));
      AppendBE64(&s, static_cast<uint64_t>(c.base_offset));
    }
  }
  AppendBE32(&s, crc32c::Value(s));
  return s;
}

Status ProducerStateTable::Decode(std::string_view b) {
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("producer state snapshot: ") + what);
  };
  if (b.size() < kFixed + 4 || b.substr(0, 4) != kMagic) return bad("bad magic");
  if (GetBE16(b.data() + 4) != kVersion) return bad("unknown version");
  const size_t body = b.size() - 4;
  if (crc32c::Value(b.data(), body) != GetBE32(b.data() + body)) return bad("CRC mismatch");
  const auto end = static_cast<int64_t>(GetBE64(b.data() + 6));
  const uint32_t count = GetBE32(b.data() + 14);
  if (end < 0) return bad("negative end offset");
  // Bounded before anything is sized from it.
  if (count > kMaxProducers || count > (body - kFixed) / kEntryFixed) return bad("bad count");
  std::map<int64_t, Entry> producers;
  size_t p = kFixed;
  for (uint32_t i = 0; i < count; ++i) {
    if (body - p < kEntryFixed) return bad("truncated entry");
    const auto id = static_cast<int64_t>(GetBE64(b.data() + p));
    Entry e;
    e.epoch = static_cast<int16_t>(GetBE16(b.data() + p + 8));
    e.last_offset = static_cast<int64_t>(GetBE64(b.data() + p + 10));
    const auto n = static_cast<uint8_t>(b[p + 18]);
    p += kEntryFixed;
    if (n > kCachedBatches || body - p < n * kBatchBytes) return bad("truncated batches");
    for (uint8_t j = 0; j < n; ++j) {
      CachedBatch c;
      c.first_seq = static_cast<int32_t>(GetBE32(b.data() + p));
      c.last_seq = static_cast<int32_t>(GetBE32(b.data() + p + 4));
      c.base_offset = static_cast<int64_t>(GetBE64(b.data() + p + 8));
      e.batches.push_back(c);
      p += kBatchBytes;
    }
    if (id < 0) return bad("negative producer id");
    producers[id] = std::move(e);
  }
  if (p != body) return bad("bytes after the last entry");
  producers_ = std::move(producers);
  end_offset_ = end;
  return Status::OK();
}

Status WriteProducerSnapshot(Env* env, const std::string& dir, const ProducerStateTable& table,
                             bool sync) {
  const std::string path = dir + "/" + std::string(kProducerStateFile);
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->WriteAt(0, table.Encode()));
    if (sync) RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  if (sync) RETURN_IF_ERROR(env->SyncDir(dir));
  return Status::OK();
}

namespace {

// Reads the snapshot into *table; false (table cleared) when it is missing,
// damaged or not usable for a log that ends at log_end.
bool LoadSnapshot(Env* env, const std::string& dir, int64_t log_end, ProducerStateTable* table) {
  table->Clear();
  const std::string path = dir + "/" + std::string(kProducerStateFile);
  if (!env->FileExists(path)) return false;
  auto f = env->OpenFile(path, OpenMode::kRead);
  if (!f.ok()) return false;
  auto size = (*f)->Size();
  // The count bound keeps a snapshot below ~1.1 MiB; anything larger is not ours.
  constexpr uint64_t kMaxBytes = 2 << 20;
  if (!size.ok() || *size > kMaxBytes) return false;
  std::string bytes(*size, '\0');
  auto got = (*f)->ReadAt(0, bytes.data(), bytes.size());
  if (!got.ok() || *got != bytes.size()) return false;
  if (!table->Decode(bytes).ok() || table->end_offset() > log_end) {
    table->Clear();  // a snapshot past the log (the tail was lost): start over
    return false;
  }
  return true;
}

}  // namespace

namespace {

// Applies the batches with base offset in [from, log_end) found by reading
// headers from `pos` in segment bases[i], then from the start of each later
// segment. With `exact`, the first batch read must start at `from` (the
// position is a hint that may have gone stale, e.g. compaction rewrote the
// segment): false when it does not, before anything is applied.
Result<bool> ScanHeaders(Env* env, const std::string& dir, const std::vector<int64_t>& bases,
                         size_t i, uint64_t pos, int64_t from, int64_t log_end, bool exact,
                         ProducerStateTable* table) {
  for (; i < bases.size() && from < log_end; ++i, pos = 0) {
    auto f = env->OpenFile(SegmentPath(dir, bases[i], SegmentFileKind::kLog), OpenMode::kRead);
    if (!f.ok()) {
      if (f.status().Is(StatusCode::kNotFound) && !exact) continue;  // removed by retention
      if (f.status().Is(StatusCode::kNotFound)) return false;
      return f.status();
    }
    ASSIGN_OR_RETURN(uint64_t size, (*f)->Size());
    if (pos > size) return false;
    char buf[kBatchHeaderSize];
    while (pos + kBatchHeaderSize <= size) {
      ASSIGN_OR_RETURN(size_t n, (*f)->ReadAt(pos, buf, sizeof(buf)));
      BatchHeader h;
      if (n != sizeof(buf) || !ParseBatchHeader(std::string_view(buf, n), &h).ok()) {
        if (exact) return false;
        break;
      }
      if (exact && h.base_offset != from) return false;
      exact = false;
      if (h.base_offset >= log_end) return true;
      if (h.base_offset >= from) {
        ProducerBatch b = ProducerBatch::From(h);
        if (b.idempotent()) table->Record(b, h.base_offset);
      }
      pos += h.total_size();
    }
  }
  return true;
}

}  // namespace

Status RebuildProducerState(Env* env, const std::string& dir, int64_t log_end,
                            ProducerStateTable* table) {
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegmentBases(env, dir));
  if (table->end_offset() >= 0 && table->end_offset() <= log_end && table->end_segment() >= 0) {
    auto it = std::find(bases.begin(), bases.end(), table->end_segment());
    if (it != bases.end()) {
      // ScanHeaders says false only before it applied anything (the hint's
      // first batch is not where it should be), so the table is intact for
      // the full rebuild then.
      ASSIGN_OR_RETURN(bool ok, ScanHeaders(env, dir, bases, static_cast<size_t>(it - bases.begin()),
                                            table->end_position(), table->end_offset(), log_end,
                                            /*exact=*/true, table));
      if (ok) {
        table->set_end_offset(log_end);
        return Status::OK();
      }
    }
  }
  const bool have = LoadSnapshot(env, dir, log_end, table);
  const int64_t from = have ? table->end_offset() : 0;
  size_t first = bases.empty() ? 0 : bases.size() - 1;
  if (have) {
    // The segment that holds `from`: the last base not above it.
    while (first > 0 && bases[first] > from) --first;
  }
  if (!bases.empty()) {
    ASSIGN_OR_RETURN(bool ok, ScanHeaders(env, dir, bases, first, 0, from, log_end,
                                          /*exact=*/false, table));
    (void)ok;  // never false without `exact`
  }
  table->set_end_offset(log_end);
  return Status::OK();
}

}  // namespace runnel::storage
