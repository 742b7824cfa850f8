// Out-of-line parts of the public value types: Status, FsyncSpec, TopicConfig
// and Record (include/runnel/{status,options,record}.h).

#include "runnel/status.h"

#include "runnel/options.h"
#include "runnel/record.h"

#include <cctype>
#include <charconv>
#include <string>

namespace runnel {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kTooLarge:
      return "TooLarge";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kIoError:
      return "IoError";
    case StatusCode::kNoSpace:
      return "NoSpace";
    case StatusCode::kReadOnly:
      return "ReadOnly";
    case StatusCode::kBusy:
      return "Busy";
    case StatusCode::kTimedOut:
      return "TimedOut";
    case StatusCode::kClosed:
      return "Closed";
    case StatusCode::kNotSupported:
      return "NotSupported";
    case StatusCode::kOutOfRange:
      return "OutOfRange";
    case StatusCode::kOutOfOrderSequence:
      return "OutOfOrderSequence";
    case StatusCode::kUnknownProducer:
      return "UnknownProducer";
    case StatusCode::kStaleEpoch:
      return "StaleEpoch";
  }
  return "Unknown";  // a value cast from a newer build's wire or file
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

// ---- FsyncSpec ----------------------------------------------------------------

namespace {

constexpr int64_t kMinFsyncIntervalMs = 1;
constexpr int64_t kMaxFsyncIntervalMs = 3'600'000;  // one hour

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Status BadFsync(std::string_view text, std::string_view why) {
  std::string msg = "invalid fsync policy \"";
  msg.append(text);
  msg += "\": ";
  msg.append(why);
  return Status::InvalidArgument(std::move(msg));
}

std::string IntervalRange() {
  return std::to_string(kMinFsyncIntervalMs) + ".." + std::to_string(kMaxFsyncIntervalMs);
}

}  // namespace

Result<FsyncSpec> FsyncSpec::Parse(std::string_view text) {
  const std::string_view t = Trim(text);
  if (EqualsIgnoreCase(t, "always")) return FsyncSpec{FsyncPolicy::kAlways, 0};
  if (EqualsIgnoreCase(t, "never")) return FsyncSpec{FsyncPolicy::kNever, 0};

  constexpr std::string_view kInterval = "interval";
  if (t.size() < kInterval.size() || !EqualsIgnoreCase(t.substr(0, kInterval.size()), kInterval)) {
    return BadFsync(text, "expected always, never or interval:MS");
  }
  std::string_view rest = t.substr(kInterval.size());
  if (rest.empty() || (rest[0] != ':' && rest[0] != '=')) {
    return BadFsync(text, "expected interval:MS, e.g. interval:1000");
  }
  rest.remove_prefix(1);
  int64_t ms = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ms);
  if (rest.empty() || ec == std::errc::invalid_argument || end != rest.data() + rest.size()) {
    return BadFsync(text, "interval is not a whole number of milliseconds");
  }
  if (ec == std::errc::result_out_of_range || ms < kMinFsyncIntervalMs ||
      ms > kMaxFsyncIntervalMs) {
    return BadFsync(text, "interval must be " + IntervalRange() + " ms");
  }
  return FsyncSpec{FsyncPolicy::kInterval, ms};
}

std::string FsyncSpec::ToString() const {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kNever:
      return "never";
    case FsyncPolicy::kInterval:
      return "interval:" + std::to_string(interval_ms);
  }
  return "unknown";
}

// ---- TopicConfig --------------------------------------------------------------

namespace {

// Smaller than a production segment would ever be, but lets tests roll
// segments after a handful of records.
constexpr int64_t kMinSegmentBytes = 4 << 10;
constexpr int64_t kMaxSegmentBytes = 1LL << 30;
constexpr int32_t kMaxMaxMessageBytes = 64 << 20;

Status BadField(std::string_view field, int64_t value, std::string_view rule) {
  std::string msg = "topic config ";
  msg.append(field);
  msg += " = " + std::to_string(value) + ": must be ";
  msg.append(rule);
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace

Status TopicConfig::Validate() const {
  if (partitions < 1 || partitions > kMaxPartitions) {
    return BadField("partitions", partitions, "1.." + std::to_string(kMaxPartitions));
  }
  if (retention_ms == 0 || retention_ms < -1) {
    return BadField("retention_ms", retention_ms, "-1 (keep forever) or > 0");
  }
  if (retention_bytes == 0 || retention_bytes < -1) {
    return BadField("retention_bytes", retention_bytes, "-1 (unlimited) or > 0");
  }
  if (delete_retention_ms < 0) {
    return BadField("delete_retention_ms", delete_retention_ms, ">= 0");
  }
  if (fsync.policy == FsyncPolicy::kInterval &&
      (fsync.interval_ms < kMinFsyncIntervalMs || fsync.interval_ms > kMaxFsyncIntervalMs)) {
    return BadField("fsync interval_ms", fsync.interval_ms, IntervalRange());
  }
  if (max_message_bytes < 1 || max_message_bytes > kMaxMaxMessageBytes) {
    return BadField("max_message_bytes", max_message_bytes,
                    "1.." + std::to_string(kMaxMaxMessageBytes) + " (64 MiB)");
  }
  if (segment_bytes < kMinSegmentBytes || segment_bytes > kMaxSegmentBytes) {
    return BadField("segment_bytes", segment_bytes,
                    std::to_string(kMinSegmentBytes) + ".." + std::to_string(kMaxSegmentBytes) +
                        " (4 KiB..1 GiB)");
  }
  if (segment_ms <= 0) return BadField("segment_ms", segment_ms, "> 0");
  return Status::OK();
}

// ---- Record -------------------------------------------------------------------

namespace {

std::optional<std::string> Copy(const std::optional<std::string_view>& v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace

Record Record::From(const RecordView& view) {
  Record r;
  r.offset = view.offset;
  r.timestamp_ms = view.timestamp_ms;
  r.key = Copy(view.key);
  r.value = Copy(view.value);
  r.headers.reserve(view.headers.size());
  for (const HeaderView& h : view.headers) {
    r.headers.push_back(Header{std::string(h.key), Copy(h.value)});
  }
  return r;
}

}  // namespace runnel
