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

// Constant-time comparison (passwords).
bool SecureEquals(std::string_view a, std::string_view b);

}  // namespace runnel::resp
