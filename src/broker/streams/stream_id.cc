#include "broker/streams/stream_id.h"

#include <charconv>

namespace runnel::broker::streams {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// Digits only (Redis' string2ull refuses signs, spaces and empty text).
std::optional<uint64_t> ParseU64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<StreamId> StreamId::Next() const {
  if (seq != kU64Max) return StreamId{ms, seq + 1};
  if (ms != kU64Max) return StreamId{ms + 1, 0};
  return std::nullopt;
}

std::optional<StreamId> StreamId::Prev() const {
  if (seq != 0) return StreamId{ms, seq - 1};
  if (ms != 0) return StreamId{ms - 1, kU64Max};
  return std::nullopt;
}

std::string StreamId::ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::optional<StreamId> ParseStreamId(std::string_view text, MissingSeq missing,
                                      bool allow_minmax) {
  if (text.size() > 127) return std::nullopt;
  if (allow_minmax && text.size() == 1) {
    if (text[0] == '-') return StreamId::Min();
    if (text[0] == '+') return StreamId::Max();
  }
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto ms = ParseU64(text);
    if (!ms) return std::nullopt;
    return StreamId{*ms, missing == MissingSeq::kMax ? kU64Max : 0};
  }
  auto ms = ParseU64(text.substr(0, dash));
  auto seq = ParseU64(text.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return StreamId{*ms, *seq};
}

std::optional<AddIdSpec> ParseAddId(std::string_view text) {
  if (text == "*") return AddIdSpec{AddIdSpec::Kind::kAuto, {}};
  if (text.size() > 2 && text.size() <= 127 && text.substr(text.size() - 2) == "-*") {
    auto ms = ParseU64(text.substr(0, text.size() - 2));
    if (!ms) return std::nullopt;
    return AddIdSpec{AddIdSpec::Kind::kAutoSeq, {*ms, 0}};
  }
  auto id = ParseStreamId(text, MissingSeq::kZero, false);
  if (!id) return std::nullopt;
  return AddIdSpec{AddIdSpec::Kind::kExplicit, *id};
}

std::optional<StreamId> NextAddId(const AddIdSpec& spec, StreamId last, uint64_t now_ms,
                                  AddIdError* error) {
  *error = AddIdError::kNone;
  switch (spec.kind) {
    case AddIdSpec::Kind::kAuto: {
      // Never back in time: a clock that went backwards keeps last.ms.
      if (now_ms > last.ms) return StreamId{now_ms, 0};
      auto next = last.Next();
      if (!next) *error = AddIdError::kExhausted;
      return next;
    }
    case AddIdSpec::Kind::kAutoSeq: {
      if (spec.id.ms == last.ms) {
        if (last.seq == kU64Max) {
          *error = AddIdError::kNotGreater;
          return std::nullopt;
        }
        return StreamId{last.ms, last.seq + 1};
      }
      if (spec.id.ms < last.ms) {
        *error = AddIdError::kNotGreater;
        return std::nullopt;
      }
      return StreamId{spec.id.ms, 0};
    }
    case AddIdSpec::Kind::kExplicit:
      if (spec.id.IsZero()) {
        *error = AddIdError::kZero;
        return std::nullopt;
      }
      if (spec.id <= last) {
        *error = AddIdError::kNotGreater;
        return std::nullopt;
      }
      return spec.id;
  }
  return std::nullopt;
}

}  // namespace runnel::broker::streams
