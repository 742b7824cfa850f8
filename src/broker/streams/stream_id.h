// StreamId: a Redis stream entry ID, `<ms>-<seq>`, both unsigned 64-bit,
// ordered by ms then seq (reference/resp.md §4.1). Parsing follows Redis
// 7.0's streamParseID / streamGenericParseIDOrReply: at most 127 bytes,
// digits only, `-`/`+` only where a command allows them, `ms` alone takes a
// caller-chosen seq (0 for starts and XADD, UINT64_MAX for range ends).
//
// Pure values and functions; any thread.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::broker::streams {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  static constexpr StreamId Min() { return {0, 0}; }
  static constexpr StreamId Max() {
    return {std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint64_t>::max()};
  }
  bool IsZero() const { return ms == 0 && seq == 0; }
  bool IsMax() const { return *this == Max(); }
  // The next ID in order; nullopt at Max.
  std::optional<StreamId> Next() const;
  // The previous ID in order; nullopt at 0-0.
  std::optional<StreamId> Prev() const;
  // "ms-seq", always the full form.
  std::string ToString() const;

  auto operator<=>(const StreamId&) const = default;
};

// How a bare `ms` (no `-seq`) is completed.
enum class MissingSeq : uint8_t { kZero, kMax };

// Parses `text` as an ID. `allow_minmax`: `-` is 0-0 and `+` is max (XRANGE
// bounds only). Invalid → nullopt (the caller replies the invalid-ID error).
std::optional<StreamId> ParseStreamId(std::string_view text, MissingSeq missing, bool allow_minmax);

// The ID argument of XADD.
struct AddIdSpec {
  enum class Kind : uint8_t { kAuto, kAutoSeq, kExplicit };  // `*`, `ms-*`, `ms[-seq]`
  Kind kind = Kind::kAuto;
  StreamId id;  // kAutoSeq: ms only
};
std::optional<AddIdSpec> ParseAddId(std::string_view text);

// Why an XADD ID cannot be used.
enum class AddIdError : uint8_t { kNone, kZero, kNotGreater, kExhausted };

// The ID a new entry gets, given the stream's last-generated-id and the
// wall clock (reference §4.1 table). On error, *error says why.
std::optional<StreamId> NextAddId(const AddIdSpec& spec, StreamId last, uint64_t now_ms,
                                  AddIdError* error);

}  // namespace runnel::broker::streams
