#include "broker/glob_match.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <string_view>

namespace runnel::broker {
namespace {

struct GlobCase {
  std::string_view pattern;
  std::string_view subject;
  bool match;
};

// Every expected value below is what a live redis-server 7.0.15 (Debian 12,
// x86-64) answered: the subjects were subscribed and `PUBSUB CHANNELS
// <pattern>` (stringmatchlen, nocase=0) was asked for each pattern.
constexpr GlobCase kRedisCases[] = {
    {"", "", true},
    {"", "a", false},
    {"*", "", false},
    {"*", "a", true},
    {"**", "abc", true},
    {"*?", "", false},
    {"?", "", false},
    {"?", "a", true},
    {"?", "ab", false},
    {"a?c", "abc", true},
    {"a?c", "ac", false},
    {"*?", "a", true},
    {"?*", "a", true},
    {"a*", "", false},
    {"a*", "a", true},
    {"a*", "ab", true},
    {"*a", "ba", true},
    {"*a", "ab", false},
    {"*a*", "a", true},
    {"a*b*c", "axxbyyc", true},
    {"a*b*c", "abcb", false},
    {"a*b", "abab", true},
    {"abc***", "abc", true},
    {"abc*?", "abc", false},
    {"h?llo", "hello", true},
    {"h*llo", "hllo", true},
    {"h*llo", "heeeello", true},
    {"h[ae]llo", "hallo", true},
    {"h[ae]llo", "hello", true},
    {"h[ae]llo", "hxllo", false},
    {"h[^e]llo", "hallo", true},
    {"h[^e]llo", "hello", false},
    {"h[a-b]llo", "hbllo", true},
    {"h[a-b]llo", "hcllo", false},
    {"[a-c]", "b", true},
    {"[a-c]", "d", false},
    {"[c-a]", "b", true},
    {"[c-a]", "d", false},
    {"[a-cx]", "x", true},
    {"[a-cx]", "d", false},
    {"[^abc]", "a", false},
    {"[^abc]", "d", true},
    {"[^a-c]", "b", false},
    {"[^a-c]", "z", true},
    {"[]", "]", false},
    {"[]", "a", false},
    {"[]", "", false},
    {"[^]", "a", true},
    {"[^]", "]", true},
    {"[^]", "^", true},
    {"[^]", "ab", false},
    {"[]]", "]", false},
    {"[]]", "]]", false},
    {"[\\]]", "]", true},
    {"[\\]]", "\\", false},
    {"[a-]", "]", true},
    {"[a-]", "a", true},
    {"[a-]", "_", true},
    {"[a-]", "b", false},
    {"[a-]", "-", false},
    {"[a-]x", "x", true},
    {"[a-]x", "a", true},
    {"[a-]x", "ax", false},
    {"[-a]", "-", true},
    {"[-a]", "a", true},
    {"[-]", "-", true},
    {"a[b", "ab", true},
    {"a[bc", "ac", true},
    {"a[bc", "abc", false},
    {"a[", "a", false},
    {"a[", "ab", false},
    {"a[", "a[", false},
    {"[", "[", false},
    {"[", "a", false},
    {"[^", "x", true},
    {"[^", "", false},
    {"[\\", "\\", true},
    {"[a\\", "\\", true},
    {"a\\*", "a*", true},
    {"a\\*", "ab", false},
    {"\\?", "?", true},
    {"\\?", "a", false},
    {"a\\", "a\\", true},
    {"a\\", "a", false},
    {"\\", "\\", true},
    {"\\\\", "\\", true},
    {"[\\-]", "-", true},
    {"[a\\-z]", "b", false},
    {"[a\\-z]", "-", true},
    {"[\\^a]", "^", true},
    {"\\[a]", "[a]", true},
    {"\\[a]", "a", false},
    {"[*]", "*", true},
    {"[*]", "a", false},
    {"[?]", "a", false},
    {"[A-a]", "A", true},
    {"[A-a]", "[", true},
    {"[A-a]", "_", true},
    {"[A-a]", "a", true},
    {"[A-a]", "b", false},
    {"[A-a]", "@", false},
    {"a]", "a]", true},
    {"]", "]", true},
    {"^a", "^a", true},
    {"-", "-", true},
    {"Hello", "hello", false},
    {"h[A-Z]llo", "heLlo", false},
    {"h[A-Z]llo", "hEllo", true},
    {"*[ab]*", "xxbxx", true},
    {"*[ab]*", "xxcxx", false},
    {"*[ab]", "xa", true},
    {"*?*?*", "ab", true},
    {"*?*?*", "a", false},
    {"a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true},
    {"*.log", ".log", true},
    {"news.*", "news.", true},
    {"news.*", "news", false},
    {"news.*", "news.eu.fr", true},
    {"$*", "$SYS/x", true},
    {"*", "$SYS/x", true},
    {"__keyspace@0__:*", "__keyspace@0__:k", true},
    {std::string_view("\000*", 2), std::string_view("\000abc", 4), true},
    {std::string_view("*", 1), std::string_view("\000", 1), true},
    {std::string_view("a\000b", 3), std::string_view("a\000b", 3), true},
    {std::string_view("a?b", 3), std::string_view("a\000b", 3), true},
    {std::string_view("[\001-\377]", 5), std::string_view("\000", 1), true},
    {"[\001-\377]", "\001", true},
    {"[\001-\377]", "\377", true},
    {"[\001-\377]", "a", false},
    {"[\001-\377]", "\200", false},
    {"[a-\200]", "a", true},
    {"[a-\200]", "\200", true},
    {"[a-\200]", "z", false},
    {std::string_view("[a-\200]", 5), std::string_view("\000", 1), true},
    {"[\200-\377]", "\220", true},
    {"[\200-\377]", "a", false},
    {"\351t\351", "\351t\351", true},
    {"[^\200]", "\201", true},
    {"[^\200]", "\200", false},
    {"\303*", "\303\251", true},
};

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 32 && c < 127) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

TEST(GlobMatchTest, AgreesWithRedisOnEveryTableCase) {
  for (const GlobCase& c : kRedisCases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.subject), c.match)
        << "pattern '" << Printable(c.pattern) << "' subject '" << Printable(c.subject) << "'";
  }
}

TEST(GlobMatchTest, NocaseFoldsLettersButNotEscapesInsideSets) {
  EXPECT_TRUE(GlobMatch("HeLLo", "hello", true));
  EXPECT_FALSE(GlobMatch("HeLLo", "hello", false));
  EXPECT_TRUE(GlobMatch("h[A-Z]llo", "hello", true));
  EXPECT_TRUE(GlobMatch("[x]", "X", true));
  EXPECT_FALSE(GlobMatch("[\\x]", "X", true));  // Redis compares \x in a set exactly
  EXPECT_TRUE(GlobMatch("\\x", "X", true));     // ... but folds \x outside one
  // glibc's tolower() lifts -128..-2 to 128..254: the range 'a'..0x80 becomes
  // 128..97, which holds nothing.
  EXPECT_FALSE(GlobMatch("[a-\x80]", "a", true));
  EXPECT_TRUE(GlobMatch("[a-\x80]", "a", false));
}

TEST(GlobMatchTest, ManyStarsFailFast) {
  // Naive recursion takes exponential time here; the matcher must not.
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "a*";
  pattern += "b";
  const std::string subject(4000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(GlobMatch(pattern, subject));
  EXPECT_TRUE(GlobMatch(pattern, subject + "b"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(GlobMatchTest, LiteralPrefixStopsAtTheFirstSpecialByte) {
  EXPECT_EQ(GlobLiteralPrefix("news.*"), "news.");
  EXPECT_EQ(GlobLiteralPrefix("news.eu"), "news.eu");
  EXPECT_EQ(GlobLiteralPrefix("*.log"), "");
  EXPECT_EQ(GlobLiteralPrefix("a?c"), "a");
  EXPECT_EQ(GlobLiteralPrefix("ab[cd]"), "ab");
  EXPECT_EQ(GlobLiteralPrefix("ab\\*"), "ab");
  EXPECT_EQ(GlobLiteralPrefix("a]b^-"), "a]b^-");
  EXPECT_EQ(GlobLiteralPrefix(""), "");
}

// The index relies on this: whatever a pattern matches starts with its prefix.
TEST(GlobMatchTest, EveryMatchStartsWithTheLiteralPrefix) {
  std::mt19937 rng(7);
  const std::string pattern_bytes = "ab*?[]^-\\";
  const std::string subject_bytes = "ab]-\\";
  int matches = 0;
  for (int k = 0; k < 200000; ++k) {
    std::string pattern, subject;
    for (int i = rng() % 7; i > 0; --i) pattern += pattern_bytes[rng() % pattern_bytes.size()];
    for (int i = rng() % 6; i > 0; --i) subject += subject_bytes[rng() % subject_bytes.size()];
    if (!GlobMatch(pattern, subject)) continue;
    ++matches;
    ASSERT_EQ(subject.compare(0, GlobLiteralPrefix(pattern).size(), GlobLiteralPrefix(pattern)), 0)
        << "pattern '" << pattern << "' subject '" << subject << "'";
  }
  EXPECT_GT(matches, 1000);
}

}  // namespace
}  // namespace runnel::broker
