// Redis glob patterns (PSUBSCRIBE, PUBSUB CHANNELS <pattern>): a matcher with
// exactly the results of Redis 7.0's stringmatchlen(), and the literal prefix
// the router indexes patterns by. See docs/router.md "Glob patterns".
//
// Pure functions of their arguments; any thread may call them.
#pragma once

#include <string_view>

namespace runnel::broker {

// Whether `subject` matches `pattern`, byte for byte as Redis 7.0.15 decides:
//
//   *      any run of bytes, including none; consecutive stars act as one
//   ?      exactly one byte
//   [set]  one byte of the set: single bytes, ranges `a-z` (ends swapped if
//          reversed), `\x` for a literal x; `[^set]` negates (`^` only first)
//   \x     the literal byte x; a trailing `\` is a literal backslash
//   other  itself (`]`, `-`, `^` outside a set included)
//
// Redis' quirks are kept, because clients can observe them:
//   - an empty subject matches only the empty pattern (`*` does not match "");
//   - an unclosed `[` runs to the end of the pattern (`a[b` matches "ab");
//   - `[]` matches nothing and `[^]` any byte; `[a-]` is the range a..']'
//     and, like any set whose `]` was eaten by a range, runs to the end;
//   - range ends compare as *signed* chars, as Redis built for x86-64 does
//     (so `[\x01-\xff]` is the range -1..1: it holds 0x00, 0x01 and 0xff);
//   - `nocase` folds ASCII letters (and, in ranges, the high bytes as glibc
//     tolower() does), but not for `\x` inside a set.
//
// Iterative (backtracks to the last `*` only, as every token but `*` eats one
// byte), so the cost is O(|pattern| * |subject|) at worst, never exponential.
bool GlobMatch(std::string_view pattern, std::string_view subject, bool nocase = false);

// The bytes of `pattern` before its first `*`, `?`, `[` or `\`. Any subject
// the pattern matches starts with them (the empty subject matches only the
// empty pattern, whose prefix is empty), which is what makes an index by
// prefix exact. Escapes end the prefix rather than being decoded: rare in
// channel names, and the index stays correct, only less selective.
std::string_view GlobLiteralPrefix(std::string_view pattern);

}  // namespace runnel::broker
