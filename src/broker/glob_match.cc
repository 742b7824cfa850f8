#include "broker/glob_match.h"

#include <cstddef>
#include <utility>

namespace runnel::broker {
namespace {

// Redis compares bytes through `int c = char`, signed on x86-64; range tests
// depend on that, so it is fixed here rather than left to the platform.
int Signed(char c) { return static_cast<signed char>(c); }

// Redis folds case with the C library's tolower() on that signed value; glibc
// (C locale) lowers A-Z and maps -128..-2 to 128..254, leaving -1 (EOF) as
// is. Only ranges can tell the difference, and only under nocase.
int Fold(int c) {
  if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
  return c < -1 ? c + 256 : c;
}

bool SameByte(char a, char b, bool nocase) {
  return nocase ? Fold(Signed(a)) == Fold(Signed(b)) : a == b;
}

// Matches the set that opens at pattern[open] == '[' against byte c and
// stores the position after the set in *next. Where the set ends depends on
// the pattern only, never on c.
bool MatchSet(std::string_view pattern, size_t open, char c, bool nocase, size_t* next) {
  const size_t n = pattern.size();
  size_t i = open + 1;
  const bool negate = i < n && pattern[i] == '^';
  if (negate) ++i;
  bool match = false;
  while (true) {
    if (i >= n) break;  // unclosed: the set runs to the end of the pattern
    const size_t left = n - i;
    if (pattern[i] == '\\' && left >= 2) {
      // Escaped member: an exact comparison, even under nocase (as Redis).
      if (pattern[i + 1] == c) match = true;
      i += 2;
    } else if (pattern[i] == ']') {
      ++i;
      break;
    } else if (left >= 3 && pattern[i + 1] == '-') {
      // A range may end in ']' ("[a-]"): that bracket is then an end point,
      // not the close of the set.
      int lo = Signed(pattern[i]);
      int hi = Signed(pattern[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      int b = Signed(c);
      if (nocase) {
        lo = Fold(lo);
        hi = Fold(hi);
        b = Fold(b);
      }
      if (b >= lo && b <= hi) match = true;
      i += 3;
    } else {
      if (SameByte(pattern[i], c, nocase)) match = true;
      ++i;
    }
  }
  *next = i;
  return negate ? !match : match;
}

// Matches the one-byte token at pattern[p] (anything but '*') against c and
// stores the position after it in *next.
bool MatchToken(std::string_view pattern, size_t p, char c, bool nocase, size_t* next) {
  switch (pattern[p]) {
    case '?':
      *next = p + 1;
      return true;
    case '[':
      return MatchSet(pattern, p, c, nocase, next);
    case '\\':
      if (p + 1 < pattern.size()) {
        *next = p + 2;
        return SameByte(pattern[p + 1], c, nocase);
      }
      [[fallthrough]];  // a trailing backslash is itself
    default:
      *next = p + 1;
      return SameByte(pattern[p], c, nocase);
  }
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view subject, bool nocase) {
  // Redis' loop runs only while both remain, so "" is matched by "" alone.
  if (subject.empty()) return pattern.empty();

  const size_t n = pattern.size();
  size_t p = 0;  // next pattern byte
  size_t s = 0;  // next subject byte
  // Where to resume after the latest '*': the token after it, and the subject
  // byte the star's expansion currently stops before. Only the latest star is
  // ever retried: each other token eats exactly one byte, so giving an earlier
  // star more bytes can only reach states the latest star already tried.
  size_t star_p = std::string_view::npos;
  size_t star_s = 0;

  while (s < subject.size()) {
    if (p < n && pattern[p] == '*') {
      while (p < n && pattern[p] == '*') ++p;
      if (p == n) return true;  // a final star takes the rest
      star_p = p;
      star_s = s;
      continue;
    }
    size_t next;
    if (p < n && MatchToken(pattern, p, subject[s], nocase, &next)) {
      p = next;
      ++s;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    s = ++star_s;
  }
  // Subject used up: only stars may remain.
  while (p < n && pattern[p] == '*') ++p;
  return p == n;
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[' || c == '\\') break;
    ++i;
  }
  return pattern.substr(0, i);
}

}  // namespace runnel::broker
