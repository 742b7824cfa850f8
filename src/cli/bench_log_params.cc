// The pure pieces of `runnel bench log` (declared in bench_log.h): flag
// lists and the arithmetic of a cell, apart from the runs so that
// bench_log_test.cc links them alone.
#include "cli/bench_log.h"

#include <algorithm>
#include <charconv>

namespace runnel::cli {

namespace {

std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

Result<int64_t> ParsePositive(std::string_view item, std::string_view what, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
  int64_t unit = 1;
  std::string_view rest(end, static_cast<size_t>(item.data() + item.size() - end));
  if (rest == "k" || rest == "K") {
    unit = int64_t{1} << 10;
  } else if (rest == "m" || rest == "M") {
    unit = int64_t{1} << 20;
  } else if (!rest.empty()) {
    ec = std::errc::invalid_argument;
  }
  if (ec != std::errc() || item.empty() || v <= 0 || v > max / unit) {
    return Status::InvalidArgument("'" + std::string(item) + "' is not a valid " +
                                   std::string(what));
  }
  return v * unit;
}

}  // namespace

Result<std::vector<int64_t>> ParseSizeList(std::string_view text) {
  std::vector<int64_t> out;
  for (std::string_view item : SplitCommas(text)) {
    auto v = ParsePositive(item, "size (bytes, k or m suffix)", int64_t{1} << 30);
    if (!v.ok()) return v.status();
    out.push_back(*v);
  }
  return out;
}

Result<std::vector<int>> ParseCountList(std::string_view text) {
  std::vector<int> out;
  for (std::string_view item : SplitCommas(text)) {
    // No suffixes for counts: "8k producers" is a typo, not a wish.
    if (item.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::InvalidArgument("'" + std::string(item) + "' is not a positive count");
    }
    auto v = ParsePositive(item, "positive count", 1024);
    if (!v.ok()) return v.status();
    out.push_back(static_cast<int>(*v));
  }
  return out;
}

Result<std::vector<FsyncSpec>> ParseFsyncList(std::string_view text) {
  std::vector<FsyncSpec> out;
  for (std::string_view item : SplitCommas(text)) {
    auto spec = FsyncSpec::Parse(item);
    if (!spec.ok()) return spec.status();
    out.push_back(*spec);
  }
  return out;
}

Result<std::vector<std::string>> ParseWorkloadList(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view item : SplitCommas(text)) {
    if (item != "append" && item != "read" && item != "tail") {
      return Status::InvalidArgument("unknown workload '" + std::string(item) +
                                     "' (append, read, tail)");
    }
    for (const std::string& seen : out) {
      if (seen == item) return Status::InvalidArgument("workload '" + seen + "' given twice");
    }
    out.emplace_back(item);
  }
  return out;
}

int64_t RecordsPerAppend(int64_t batch, int64_t record_size) {
  if (batch > 0) return batch;
  return std::max<int64_t>(1, kAutoBatchBytes / std::max<int64_t>(record_size, 1));
}

std::vector<int> SplitInFlight(int in_flight, int producers) {
  std::vector<int> out(static_cast<size_t>(std::max(producers, 0)));
  for (int i = 0; i < producers; ++i) {
    out[static_cast<size_t>(i)] =
        std::max(1, in_flight / producers + (i < in_flight % producers ? 1 : 0));
  }
  return out;
}

}  // namespace runnel::cli
