#include "protocol/resp/resp_util.h"

#include <algorithm>

namespace runnel::resp {

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  if (s[i] == '0' && s.size() > i + 1) return std::nullopt;  // leading zero
  if (s[i] == '0' && negative) return std::nullopt;          // "-0"
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > uint64_t{1} << 63) return std::nullopt;
    return static_cast<int64_t>(0 - v);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string Truncate(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

std::string UnknownCommandError(Command argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    const size_t room = 128 - args.size();  // Redis: "'%.*s' " with 128 - sdslen(args)
    args += '\'';
    args.append(argv[i].substr(0, room));
    args += "' ";
  }
  return "ERR unknown command '" + Truncate(argv[0], 128) + "', with args beginning with: " + args;
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

std::string ParseXReadOptions(Command argv, bool group_form, XReadOptions* out) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const size_t more = argv.size() - 1 - i;
    const std::string_view o = argv[i];
    if (EqualsIgnoreCase(o, "block") && more) {
      auto n = ParseInt64(argv[++i]);
      if (!n) return "ERR timeout is not an integer or out of range";
      if (*n < 0) return "ERR timeout is negative";
      out->timeout = *n;
    } else if (EqualsIgnoreCase(o, "count") && more) {
      auto n = ParseInt64(argv[++i]);
      if (!n) return std::string(kNotInteger);
      out->count = *n < 0 ? 0 : *n;
    } else if (EqualsIgnoreCase(o, "streams") && more) {
      out->streams_arg = i + 1;
      if ((argv.size() - out->streams_arg) % 2 != 0) {
        // Redis 7.0 uses XREAD's text for both commands (reference §4.5).
        return "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
               "specified.";
      }
      break;
    } else if (EqualsIgnoreCase(o, "group") && more >= 2) {
      if (!group_form) {
        return "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
      }
      out->group = argv[i + 1];
      out->consumer = argv[i + 2];
      out->have_group = true;
      i += 2;
    } else if (EqualsIgnoreCase(o, "noack")) {
      if (!group_form) {
        return "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
      }
      out->noack = true;
    } else {
      return std::string(kSyntaxError);
    }
  }
  if (out->streams_arg == 0) return std::string(kSyntaxError);
  return {};
}

bool SecureEquals(std::string_view a, std::string_view b) {
  // Compare every byte of the longer input so the time does not depend on
  // where the first difference is.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace runnel::resp
