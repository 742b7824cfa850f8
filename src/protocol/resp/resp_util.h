// Small helpers shared by the RESP command handlers: Redis' integer parsing
// and the texts of its generic errors.
#pragma once

#include "protocol/resp/resp_parser.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::resp {

// Redis' string2ll: optional '-', digits, no '+', no spaces, no leading
// zeros (except "0"), fits in int64. nullopt otherwise.
std::optional<int64_t> ParseInt64(std::string_view s);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// The first `n` bytes of `s`.
std::string Truncate(std::string_view s, size_t n);

// "ERR unknown command 'FOO', with args beginning with: 'a' 'b' " as Redis
// 7.0 formats it (name cut at 128 bytes, the argument list at about 128).
std::string UnknownCommandError(Command argv);

// The Redis version runnel answers as (HELLO, INFO redis_version): the
// behaviour it follows, so clients that check versions enable what it has.
inline constexpr std::string_view kRedisVersion = "7.0.15";

// CLIENT SETNAME's rule: every byte in '!'..'~' (empty clears the name).
bool ValidClientName(std::string_view name);

inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";

// The options before STREAMS of XREAD and XREADGROUP, parsed as Redis'
// xreadCommand does for both (reference §4.5-4.6).
struct XReadOptions {
  int64_t timeout = -1;    // BLOCK ms; -1 = not blocking
  int64_t count = 0;       // COUNT (negative = 0 = unlimited)
  size_t streams_arg = 0;  // index of the first key after STREAMS; 0 = no STREAMS
  std::string_view group, consumer;
  bool have_group = false, noack = false;
};
// Fills *out from argv; returns the error reply text, or empty when it
// parsed. `group_form` is XREADGROUP: without it GROUP and NOACK are errors
// at the point they appear, as in Redis.
std::string ParseXReadOptions(Command argv, bool group_form, XReadOptions* out);

// Constant-time comparison (passwords).
bool SecureEquals(std::string_view a, std::string_view b);

}  // namespace runnel::resp
