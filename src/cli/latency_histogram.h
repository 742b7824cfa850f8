// Latency samples for `runnel bench`: exact percentiles from sorted samples.
//
// Each measuring thread owns one LatencyHistogram (no locks) and the
// results are merged at the end. Up to `capacity` samples are kept as they
// are, so percentiles are exact for runs of that size. Past it, every other
// kept sample is dropped and from then on only every 2nd (then 4th, ...)
// sample is kept: an evenly spaced subset of the whole run, never fewer than
// capacity/2 samples, so a long run's percentiles describe all of it rather
// than its first seconds. Systematic rather than random (reservoir)
// sampling because Record() stays a sequential append: a random write into
// 16 MiB per message costs a cache miss, which at a few million messages a
// second would make the tool the bottleneck. Count, min, max and mean always
// cover every sample.
//
// "Histogram" is the file's name for what `bench` prints; there are no
// buckets, because bucketed percentiles would blur the tail we compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace runnel::cli {

class LatencyHistogram {
 public:
  // 2M samples = 16 MiB: enough for exact p999 over any realistic run.
  static constexpr size_t kDefaultCapacity = size_t{2} << 20;

  explicit LatencyHistogram(size_t capacity = kDefaultCapacity);

  // Records one latency in nanoseconds (negative values are clamped to 0:
  // clocks of different cores can disagree by a little).
  void Record(int64_t ns) {
    if (ns < 0) ns = 0;
    ++count_;
    sum_ += ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
    if (++phase_ < stride_) return;
    phase_ = 0;
    if (samples_.size() == capacity_) Decimate();
    samples_.push_back(ns);
    sorted_ = false;
  }

  // Adds `other`'s samples. When the union would exceed capacity, each side
  // keeps an evenly spaced share proportional to the number of samples it
  // stands for.
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  size_t kept() const { return samples_.size(); }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The q-quantile (0 <= q <= 1) by the nearest-rank method over the kept
  // samples: the smallest sample with at least q of the samples <= it.
  // 0 when empty. Sorts once; recording again after this re-sorts later.
  int64_t Percentile(double q);

 private:
  void Decimate();

  size_t capacity_;
  std::vector<int64_t> samples_;
  bool sorted_ = true;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  int64_t stride_ = 1;  // keep one sample in `stride_`
  int64_t phase_ = 0;
};

}  // namespace runnel::cli
