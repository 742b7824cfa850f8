#include "cli/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace runnel::cli {

namespace {

// `n` of `from`'s samples, evenly spaced (the first, then every size/n-th).
std::vector<int64_t> EvenlySpaced(const std::vector<int64_t>& from, size_t n) {
  std::vector<int64_t> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(from[i * from.size() / n]);
  return out;
}

}  // namespace

LatencyHistogram::LatencyHistogram(size_t capacity) : capacity_(capacity < 2 ? 2 : capacity) {}

// Keeps samples 1, 3, 5, ...: the ones a stride twice as long would have
// kept, so the subset stays evenly spaced over the run.
void LatencyHistogram::Decimate() {
  const size_t half = samples_.size() / 2;
  for (size_t i = 0; i < half; ++i) samples_[i] = samples_[2 * i + 1];
  samples_.resize(half);
  stride_ *= 2;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  const int64_t total = count_ + other.count_;
  if (samples_.size() + other.samples_.size() <= capacity_ && stride_ == other.stride_) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  } else {
    // Each side keeps a share of the capacity proportional to how many
    // samples it represents (its kept ones may stand for different strides).
    const size_t room = std::min(capacity_, samples_.size() + other.samples_.size());
    const size_t mine = static_cast<size_t>(
        std::llround(static_cast<double>(room) * count_ / static_cast<double>(total)));
    const size_t keep_mine = std::min(mine, samples_.size());
    const size_t keep_other = std::min(room - keep_mine, other.samples_.size());
    std::vector<int64_t> merged = EvenlySpaced(samples_, keep_mine);
    std::vector<int64_t> theirs = EvenlySpaced(other.samples_, keep_other);
    merged.insert(merged.end(), theirs.begin(), theirs.end());
    samples_ = std::move(merged);
    // Further samples: one per the stride that keeps the proportions.
    stride_ =
        std::max<int64_t>(1, total / static_cast<int64_t>(std::max<size_t>(samples_.size(), 1)));
    phase_ = 0;
  }
  sorted_ = false;
  count_ = total;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::Percentile(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: ceil(q * n), 1-based; q = 0 gives the minimum. The
  // epsilon keeps 0.999 * 1000 (= 999.0000000000001 in doubles) at 999.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples_.size()) - 1e-9));
  if (rank == 0) rank = 1;
  return samples_[rank - 1];
}

}  // namespace runnel::cli
