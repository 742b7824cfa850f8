#include "storage/batch_scanner.h"

#include <algorithm>

#include "util/env.h"

namespace runnel::storage {
namespace {
constexpr size_t kReadChunk = 1 << 20;
}

BatchScanner::Outcome CheckBatch(std::string_view bytes, BatchHeader* h, std::string* problem) {
  if (bytes.size() < kBatchHeaderSize) return BatchScanner::Outcome::kTorn;
  Status st = ParseBatchHeader(bytes, h);
  if (!st.ok()) {
    *problem = st.message();
    return BatchScanner::Outcome::kBad;
  }
  if (bytes.size() < h->total_size()) return BatchScanner::Outcome::kTorn;
  if (!BatchCrcMatches(bytes, *h)) {
    *problem = "CRC mismatch in batch at offset " + std::to_string(h->base_offset);
    return BatchScanner::Outcome::kBad;
  }
  return BatchScanner::Outcome::kBatch;
}

BatchScanner::BatchScanner(File* file, uint64_t start, uint64_t limit)
    : file_(file), position_(start), limit_(limit) {}

bool BatchScanner::Fill(uint64_t pos, size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, limit_ - pos));
  if (pos >= buffer_start_ && pos + n <= buffer_start_ + buffer_.size()) return true;
  size_t want = std::max(n, std::min<size_t>(kReadChunk, limit_ - pos));
  buffer_.resize(want);
  auto got = file_->ReadAt(pos, buffer_.data(), want);
  if (!got.ok()) {
    status_ = got.status();
    buffer_.clear();
    return false;
  }
  buffer_.resize(*got);
  buffer_start_ = pos;
  return *got >= n;
}

BatchScanner::Outcome BatchScanner::Next(BatchHeader* h, std::string_view* bytes) {
  if (position_ >= limit_) return Outcome::kEnd;
  if (!Fill(position_, kBatchHeaderSize)) return status_.ok() ? Outcome::kTorn : Outcome::kError;
  if (limit_ - position_ < kBatchHeaderSize) return Outcome::kTorn;
  std::string_view avail(buffer_.data() + (position_ - buffer_start_),
                         buffer_.size() - (position_ - buffer_start_));
  Outcome o = CheckBatch(avail, h, &problem_);
  if (o == Outcome::kTorn) {
    // The header is here but the body is not in the buffer yet.
    if (limit_ - position_ < h->total_size()) return Outcome::kTorn;
    if (!Fill(position_, h->total_size())) return status_.ok() ? Outcome::kTorn : Outcome::kError;
    avail = std::string_view(buffer_.data() + (position_ - buffer_start_),
                             buffer_.size() - (position_ - buffer_start_));
    o = CheckBatch(avail, h, &problem_);
  }
  if (o != Outcome::kBatch) return o;
  *bytes = avail.substr(0, h->total_size());
  position_ += h->total_size();
  return Outcome::kBatch;
}

bool BatchScanner::Resync(int64_t min_offset) {
  for (uint64_t pos = position_ + 1; pos + kBatchHeaderSize <= limit_; ++pos) {
    if (!Fill(pos, kBatchHeaderSize)) return false;
    const char* p = buffer_.data() + (pos - buffer_start_);
    if (p[kMagicOffset] != kMagicV2) continue;
    BatchHeader h;
    if (!ParseBatchHeader(std::string_view(p, kBatchHeaderSize), &h).ok()) continue;
    if (h.base_offset < min_offset || h.total_size() > limit_ - pos) continue;
    if (!Fill(pos, h.total_size())) return false;
    std::string problem;
    std::string_view avail(buffer_.data() + (pos - buffer_start_), h.total_size());
    if (CheckBatch(avail, &h, &problem) == Outcome::kBatch) {
      position_ = pos;
      return true;
    }
  }
  return false;
}

}  // namespace runnel::storage
