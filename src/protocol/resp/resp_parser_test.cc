#include "protocol/resp/resp_parser.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

// Counts heap allocations so the limit tests can prove that a bad length is
// refused before anything is allocated. Every non-aligned form is replaced,
// so each allocation and its release go through the same malloc/free pair.
namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// gcc sees malloc'd memory reach free() through these and, after inlining,
// mistakes the pair for a new/free mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace runnel::resp {
namespace {

using Argvs = std::vector<std::vector<std::string>>;

void Collect(const CommandBatch& batch, Argvs* out) {
  for (Command cmd : batch) out->emplace_back(cmd.begin(), cmd.end());
}

// What parsing a byte stream produced: the commands, how it ended, and the
// bytes left unconsumed at the end.
struct Outcome {
  Argvs commands;
  ParseError error = ParseError::kNone;
  char got = 0;
  size_t left = 0;

  bool operator==(const Outcome&) const = default;
};

Outcome ParseWhole(std::string_view input, ParserLimits limits = {}) {
  RespParser parser(limits);
  CommandBatch batch;
  ParseResult r = parser.Parse(input, &batch);
  Outcome o;
  Collect(batch, &o.commands);
  o.error = r.error;
  o.got = r.got;
  o.left = input.size() - r.consumed;
  return o;
}

// Feeds `input` in chunks of the given sizes (cycled), as a connection would:
// append, parse, run the commands, drop what was consumed. Checks the
// need_at_least contract on the way.
Outcome ParseChunked(std::string_view input, const std::vector<size_t>& sizes,
                     ParserLimits limits = {}) {
  RespParser parser(limits);
  CommandBatch batch;
  std::string buf;
  Outcome o;
  size_t at = 0, k = 0;
  while (at < input.size()) {
    size_t n = std::min(input.size() - at, std::max<size_t>(1, sizes[k++ % sizes.size()]));
    buf.append(input.substr(at, n));
    at += n;
    ParseResult r = parser.Parse(buf, &batch);
    Collect(batch, &o.commands);
    batch.clear();
    buf.erase(0, r.consumed);
    if (!r.ok()) {
      o.error = r.error;
      o.got = r.got;
      o.left = buf.size() + (input.size() - at);
      return o;
    }
    if (buf.empty()) {
      EXPECT_EQ(r.need_at_least, 0u);
    } else {
      EXPECT_GT(r.need_at_least, buf.size()) << "stalled with enough bytes";
    }
  }
  o.left = buf.size();
  return o;
}

Argvs Commands(std::string_view input) { return ParseWhole(input).commands; }

ParseError ErrorOf(std::string_view input, ParserLimits limits = {}) {
  return ParseWhole(input, limits).error;
}

// ---------------------------------------------------------------------------
// Multibulk requests (reference §1.2)

TEST(RespParserTest, MultibulkCommandIsSplitIntoItsBulkStrings) {
  EXPECT_EQ(Commands("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n"),
            (Argvs{{"SET", "key", "hello"}}));
}

TEST(RespParserTest, BulkStringsAreBinarySafe) {
  const char raw[] = "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xffz\r\n";
  std::string input(raw, sizeof(raw) - 1);
  EXPECT_EQ(Commands(input), (Argvs{{"ECHO", std::string("a\r\n\0\xffz", 6)}}));
}

TEST(RespParserTest, EmptyBulkIsAnEmptyArgument) {
  EXPECT_EQ(Commands("*2\r\n$7\r\nPUBLISH\r\n$0\r\n\r\n"), (Argvs{{"PUBLISH", ""}}));
}

TEST(RespParserTest, ArgumentsAreViewsIntoTheInput) {
  std::string input = "*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n";
  RespParser parser;
  CommandBatch batch;
  ParseResult r = parser.Parse(input, &batch);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0][0].data(), input.data() + 8);
  EXPECT_EQ(batch[0][1].data(), input.data() + 18);
}

TEST(RespParserTest, ZeroAndNegativeCountsAreConsumedSilently) {
  std::string input = "*0\r\n*-1\r\n*-7\r\n*1\r\n$4\r\nPING\r\n";
  Outcome o = ParseWhole(input);
  EXPECT_EQ(o.commands, (Argvs{{"PING"}}));
  EXPECT_EQ(o.left, 0u);
  EXPECT_TRUE(o.error == ParseError::kNone);
}

TEST(RespParserTest, PipelinedCommandsAllComeOutInOrder) {
  EXPECT_EQ(Commands("*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n"),
            (Argvs{{"PING"}, {"PING"}, {"ECHO", "x"}}));
}

TEST(RespParserTest, PartialCommandIsNotConsumed) {
  std::string input = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhel";
  RespParser parser;
  CommandBatch batch;
  ParseResult r = parser.Parse(input, &batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_EQ(r.consumed, 14u);
  EXPECT_EQ(r.need_at_least, input.size() - 14 + 4);  // "lo\r\n" missing
  EXPECT_TRUE(parser.has_pending());
}

TEST(RespParserTest, LineTerminatorBytesAreNotCheckedLikeRedis) {
  // Redis needs a byte after each CR and two after each value, but does not
  // look at them.
  EXPECT_EQ(Commands("*1\rX$4\r?PING!!"), (Argvs{{"PING"}}));
}

TEST(RespParserTest, CountsFollowRedisIntegerSyntax) {
  EXPECT_EQ(ErrorOf("*+1\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*01\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("* 1\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*-\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*-0\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*1x\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*99999999999999999999\r\n"), ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(ErrorOf("*1\r\n$01\r\nx\r\n"), ParseError::kInvalidBulkLength);
  EXPECT_EQ(ErrorOf("*1\r\n$-1\r\n"), ParseError::kInvalidBulkLength);
  EXPECT_EQ(ErrorOf("*1\r\n$\r\n"), ParseError::kInvalidBulkLength);
  EXPECT_EQ(ErrorOf("*1\r\n$18446744073709551616\r\n"), ParseError::kInvalidBulkLength);
}

// ---------------------------------------------------------------------------
// Inline requests (reference §1.2, sdssplitargs)

TEST(RespParserTest, InlineCommandIsSplitOnBlanks) {
  EXPECT_EQ(Commands("PING\r\n"), (Argvs{{"PING"}}));
  EXPECT_EQ(Commands("PING\n"), (Argvs{{"PING"}}));
  EXPECT_EQ(Commands("  SET \t k   v \r\n"), (Argvs{{"SET", "k", "v"}}));
  EXPECT_EQ(Commands("\vPING\f\n"), (Argvs{{"PING\f"}}))
      << "isspace skips \\v and \\f before a word, but only SP TAB CR LF end one";
}

TEST(RespParserTest, BlankInlineLinesAreIgnored) {
  Outcome o = ParseWhole("\r\n\n   \t\r\nPING\r\n");
  EXPECT_EQ(o.commands, (Argvs{{"PING"}}));
  EXPECT_EQ(o.left, 0u);
}

TEST(RespParserTest, InlineDoubleQuotesUnderstandEscapes) {
  EXPECT_EQ(Commands("SET k \"a\\nb\\rc\\td\\be\\af\\\\g\\\"h\"\n"),
            (Argvs{{"SET", "k", "a\nb\rc\td\be\af\\g\"h"}}));
  EXPECT_EQ(Commands("SET k \"\\x41\\x7a\\xff\\x00\"\n"),
            (Argvs{{"SET", "k", std::string("Az\xff\0", 4)}}));
  EXPECT_EQ(Commands("SET k \"\\xZZ\\q\"\n"), (Argvs{{"SET", "k", "xZZq"}}))
      << "a bad \\x escape and an unknown escape keep the escaped byte";
  EXPECT_EQ(Commands("SET k \"\"\n"), (Argvs{{"SET", "k", ""}}));
  EXPECT_EQ(Commands("SET k \"a b\"\n"), (Argvs{{"SET", "k", "a b"}}));
}

TEST(RespParserTest, InlineSingleQuotesOnlyUnderstandEscapedQuote) {
  EXPECT_EQ(Commands("SET k 'it\\'s \\n'\n"), (Argvs{{"SET", "k", "it's \\n"}}));
  EXPECT_EQ(Commands("SET k 'a\"b'\n"), (Argvs{{"SET", "k", "a\"b"}}));
}

TEST(RespParserTest, QuoteInsideAWordStartsQuotingThere) {
  EXPECT_EQ(Commands("SET a\"b c\" x\n"), (Argvs{{"SET", "ab c", "x"}}));
  EXPECT_EQ(Commands("SET a'b c' x\n"), (Argvs{{"SET", "ab c", "x"}}));
}

TEST(RespParserTest, UnbalancedOrIllClosedQuotesAreProtocolErrors) {
  for (const char* line : {"ECHO \"a\n", "ECHO 'a\r\n", "ECHO \"a\"x\n", "ECHO 'a'x\n",
                           "ECHO \"a\\\"\n", "ECHO 'a\\'\n", "ECHO \"a\\\n"}) {
    EXPECT_EQ(ErrorOf(line), ParseError::kUnbalancedQuotes) << line;
  }
}

TEST(RespParserTest, PlainAndSimplyQuotedInlineWordsAreViews) {
  std::string input = "SET \"key\" 'v' plain\n";
  RespParser parser;
  CommandBatch batch;
  ASSERT_TRUE(parser.Parse(input, &batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0][1].data(), input.data() + 5);
  EXPECT_EQ(batch[0][2].data(), input.data() + 11);
  EXPECT_EQ(batch[0][3].data(), input.data() + 14);
}

TEST(RespParserTest, NulIsAnOrdinaryByteInInlineRequests) {
  EXPECT_EQ(Commands(std::string("EC\0HO\n", 6)), (Argvs{{std::string("EC\0HO", 5)}}));
}

TEST(RespParserTest, SplitInlineArgsLeavesNothingBehindOnError) {
  CommandBatch batch;
  EXPECT_FALSE(RespParser::SplitInlineArgs("a \"b\\x41\" \"c", &batch));
  EXPECT_EQ(batch.arg_count(), 0u);
  EXPECT_TRUE(RespParser::SplitInlineArgs("x", &batch));
}

// ---------------------------------------------------------------------------
// Protocol errors (reference §1.3): exact texts, consumed bytes, stickiness

TEST(RespParserTest, EveryErrorHasRedisText) {
  auto text = [](ParseError e, char got = 0) {
    ParseResult r;
    r.error = e;
    r.got = got;
    return ErrorText(r);
  };
  EXPECT_EQ(text(ParseError::kNone), "");
  EXPECT_EQ(text(ParseError::kInvalidMultibulkLength),
            "ERR Protocol error: invalid multibulk length");
  EXPECT_EQ(text(ParseError::kInvalidBulkLength), "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(text(ParseError::kExpectedDollar, 'X'), "ERR Protocol error: expected '$', got 'X'");
  EXPECT_EQ(text(ParseError::kExpectedDollar, '\r'), "ERR Protocol error: expected '$', got ' '");
  EXPECT_EQ(text(ParseError::kTooBigInlineRequest), "ERR Protocol error: too big inline request");
  EXPECT_EQ(text(ParseError::kUnbalancedQuotes),
            "ERR Protocol error: unbalanced quotes in request");
  EXPECT_EQ(text(ParseError::kTooBigMbulkCountString),
            "ERR Protocol error: too big mbulk count string");
  EXPECT_EQ(text(ParseError::kTooBigBulkCountString),
            "ERR Protocol error: too big bulk count string");
  EXPECT_EQ(text(ParseError::kUnauthenticatedMultibulkLength),
            "ERR Protocol error: unauthenticated multibulk length");
  EXPECT_EQ(text(ParseError::kUnauthenticatedBulkLength),
            "ERR Protocol error: unauthenticated bulk length");
}

TEST(RespParserTest, ElementNotStartingWithDollarNamesTheByte) {
  Outcome o = ParseWhole("*2\r\n$4\r\nECHO\r\n:12\r\n");
  EXPECT_EQ(o.error, ParseError::kExpectedDollar);
  EXPECT_EQ(o.got, ':');
  // An empty line where "$len" belongs: the CR itself, shown as a space.
  o = ParseWhole("*1\r\n\r\n");
  EXPECT_EQ(o.error, ParseError::kExpectedDollar);
  EXPECT_EQ(o.got, '\r');
}

TEST(RespParserTest, CommandsBeforeAnErrorAreReturnedAndConsumed) {
  std::string good = "*1\r\n$4\r\nPING\r\nPING\n";
  RespParser parser;
  CommandBatch batch;
  ParseResult r = parser.Parse(good + "*x\r\n", &batch);
  EXPECT_EQ(r.error, ParseError::kInvalidMultibulkLength);
  EXPECT_EQ(r.consumed, good.size());
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(ErrorText(r), "ERR Protocol error: invalid multibulk length");
}

TEST(RespParserTest, ErrorIsStickyUntilReset) {
  RespParser parser;
  CommandBatch batch;
  EXPECT_FALSE(parser.Parse("*1\r\n$x\r\n", &batch).ok());
  ParseResult again = parser.Parse("PING\r\n", &batch);
  EXPECT_EQ(again.error, ParseError::kInvalidBulkLength);
  EXPECT_EQ(batch.size(), 0u);
  parser.Reset();
  EXPECT_TRUE(parser.Parse("PING\r\n", &batch).ok());
  EXPECT_EQ(batch.size(), 1u);
}

TEST(RespParserTest, PartialArgumentsOfAFailedCommandLeaveTheBatch) {
  RespParser parser;
  CommandBatch batch;
  ParseResult r = parser.Parse("*3\r\n$1\r\na\r\n$1\r\nb\r\n#", &batch);
  EXPECT_TRUE(r.ok());
  r = parser.Parse("*3\r\n$1\r\na\r\n$1\r\nb\r\n#\r\n", &batch);
  EXPECT_EQ(r.error, ParseError::kExpectedDollar);
  EXPECT_EQ(batch.arg_count(), 0u);
}

// ---------------------------------------------------------------------------
// Limits: refused on the header, before any allocation or wait for data

template <typename F>
size_t AllocationsDuring(F&& f) {
  size_t before = g_allocations.load();
  f();
  return g_allocations.load() - before;
}

TEST(RespParserTest, MultibulkCountOf2To31FailsAtOnceWithoutAllocating) {
  for (int64_t max : {int64_t{1024 * 1024}, int64_t{INT32_MAX}, INT64_MAX}) {
    ParserLimits limits;
    limits.max_multibulk_len = max;
    RespParser parser(limits);
    CommandBatch batch;
    ParseResult r;
    EXPECT_EQ(AllocationsDuring([&] { r = parser.Parse("*2147483648\r\n", &batch); }), 0u);
    EXPECT_EQ(r.error, ParseError::kInvalidMultibulkLength) << max;
  }
}

TEST(RespParserTest, LargestAllowedCountAllocatesNothingUpFront) {
  ParserLimits limits;
  limits.max_multibulk_len = INT32_MAX;
  RespParser parser(limits);
  CommandBatch batch;
  ParseResult r;
  EXPECT_EQ(AllocationsDuring([&] { r = parser.Parse("*2147483647\r\n$1\r\n", &batch); }), 0u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.consumed, 0u);
}

TEST(RespParserTest, MultibulkCountOverTheConfiguredLimitFails) {
  ParserLimits limits;
  limits.max_multibulk_len = 3;
  EXPECT_EQ(ErrorOf("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", limits), ParseError::kNone);
  EXPECT_EQ(ErrorOf("*4\r\n", limits), ParseError::kInvalidMultibulkLength);
}

TEST(RespParserTest, BulkOverTheLimitFailsBeforeItsBytesArrive) {
  ParserLimits limits;
  limits.max_bulk_len = 100;
  EXPECT_EQ(ErrorOf("*1\r\n$100\r\n", limits), ParseError::kNone);
  RespParser parser(limits);
  CommandBatch batch;
  ParseResult r;
  EXPECT_EQ(AllocationsDuring([&] { r = parser.Parse("*1\r\n$101\r\n", &batch); }), 0u);
  EXPECT_EQ(r.error, ParseError::kInvalidBulkLength);
  // The default is Redis' proto-max-bulk-len, 512 MiB.
  EXPECT_EQ(ErrorOf("*1\r\n$536870912\r\n"), ParseError::kNone);
  EXPECT_EQ(ErrorOf("*1\r\n$536870913\r\n"), ParseError::kInvalidBulkLength);
}

TEST(RespParserTest, InlineRequestOver64KiBFails) {
  EXPECT_EQ(ErrorOf(std::string(65536, 'x')), ParseError::kNone);
  EXPECT_EQ(ErrorOf(std::string(65537, 'x')), ParseError::kTooBigInlineRequest);
  // With the LF already there the outcome is the same: the rule is about the
  // line, not about what one read happened to bring.
  EXPECT_EQ(ErrorOf(std::string(65536, 'x') + "\n"), ParseError::kNone);
  EXPECT_EQ(ErrorOf(std::string(65537, 'x') + "\n"), ParseError::kTooBigInlineRequest);
  ParserLimits small;
  small.max_inline_len = 8;
  RespParser parser(small);
  CommandBatch batch;
  ParseResult r;
  EXPECT_EQ(AllocationsDuring([&] { r = parser.Parse("PING 1234", &batch); }), 0u);
  EXPECT_EQ(r.error, ParseError::kTooBigInlineRequest);
}

TEST(RespParserTest, CountLinesOver64KiBFail) {
  for (bool bulk : {false, true}) {
    std::string prefix = bulk ? "*1\r\n$" : "*";
    std::string digits(65535, '0');
    std::string line = prefix + digits;  // 65536 bytes from '*' or '$'
    EXPECT_EQ(ErrorOf(line), ParseError::kNone);
    EXPECT_EQ(ErrorOf(line + "0"),
              bulk ? ParseError::kTooBigBulkCountString : ParseError::kTooBigMbulkCountString);
    EXPECT_EQ(ErrorOf(line + "\r"), ParseError::kNone);
    EXPECT_EQ(ErrorOf(line + "\r\n"),
              bulk ? ParseError::kInvalidBulkLength : ParseError::kInvalidMultibulkLength);
    EXPECT_EQ(ErrorOf(line + "0\r\n"),
              bulk ? ParseError::kTooBigBulkCountString : ParseError::kTooBigMbulkCountString);
  }
}

TEST(RespParserTest, UnauthenticatedLimitsApplyWhenAuthIsRequired) {
  RespParser parser;
  parser.set_auth_required(true);
  CommandBatch batch;
  std::string eleven = "*11\r\n";
  EXPECT_EQ(parser.Parse(eleven, &batch).error, ParseError::kUnauthenticatedMultibulkLength);
  parser.Reset();
  EXPECT_EQ(parser.Parse("*1\r\n$16385\r\n", &batch).error, ParseError::kUnauthenticatedBulkLength);
  parser.Reset();
  EXPECT_TRUE(parser.Parse("*10\r\n$16384\r\n", &batch).ok());
  parser.Reset();
  parser.set_auth_required(false);
  EXPECT_TRUE(parser.Parse(eleven, &batch).ok());
}

TEST(RespParserTest, MaxCommandsStopsEarlyWithoutWaiting) {
  std::string input = "PING\r\n*1\r\n$4\r\nPING\r\nECHO x\r\n";
  RespParser parser;
  CommandBatch batch;
  ParseResult r = parser.Parse(input, &batch, 1);
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_EQ(r.consumed, 6u);
  EXPECT_EQ(r.need_at_least, 0u);
  input.erase(0, r.consumed);
  r = parser.Parse(input, &batch, 1);
  EXPECT_EQ(batch.size(), 2u);
  input.erase(0, r.consumed);
  r = parser.Parse(input, &batch, 1);
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_EQ(r.consumed, input.size());
}

TEST(RespParserTest, LargeBulkArrivingInPiecesIsSizedOnceAndNotCopied) {
  constexpr size_t kValue = 100 << 20;
  std::string header = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kValue) + "\r\n";
  RespParser parser;
  CommandBatch batch;
  std::string buf = header;
  ParseResult r = parser.Parse(buf, &batch);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.need_at_least, header.size() + kValue + 2);
  buf.reserve(r.need_at_least);
  const char* data = buf.data();
  std::string piece(64 << 10, 'v');
  while (buf.size() < header.size() + kValue) {
    buf.append(piece.data(), std::min(piece.size(), header.size() + kValue - buf.size()));
    r = parser.Parse(buf, &batch);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(batch.size(), 0u);
    ASSERT_EQ(r.need_at_least, header.size() + kValue + 2);
  }
  buf.append("\r\n");
  r = parser.Parse(buf, &batch);
  EXPECT_EQ(buf.data(), data) << "the buffer never had to grow again";
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_EQ(batch[0][1].size(), kValue);
  EXPECT_EQ(batch[0][1].data(), data + header.size());
}

// ---------------------------------------------------------------------------
// Chunking never changes the result

// A pipeline of every request shape: multibulk of various sizes, inline with
// and without quotes, blank lines, "*0".
std::string MakePipeline(size_t commands, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  auto word = [&](size_t max_len) {
    std::string w(rng() % (max_len + 1), 'a');
    for (char& c : w) c = static_cast<char>('a' + rng() % 26);
    return w;
  };
  for (size_t i = 0; i < commands; ++i) {
    switch (rng() % 8) {
      case 0:
        out += "PING\r\n";
        break;
      case 1:
        out += "SET " + word(8) + "x \"q " + word(5) + "\\x41\\n\" '" + word(3) + "\\''\n";
        break;
      case 2:
        out += (rng() % 2) ? "\r\n" : "*0\r\n";
        out += "*1\r\n$4\r\nPING\r\n";
        break;
      default: {
        size_t argc = 1 + rng() % 5;
        out += "*" + std::to_string(argc) + "\r\n";
        for (size_t a = 0; a < argc; ++a) {
          std::string arg = word(a == argc - 1 ? 300 : 12);
          if (rng() % 4 == 0) arg += "\r\n\0\xff";
          out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
        }
      }
    }
  }
  return out;
}

TEST(RespParserTest, EveryTwoWaySplitOfAFewCommandsParsesTheSame) {
  std::string input = MakePipeline(12, 7) + "*2\r\n$4\r\nECHO\r\n$3\r\nab";  // ends mid-value
  Outcome whole = ParseWhole(input);
  ASSERT_EQ(whole.commands.size(), 12u);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(ParseChunked(input, {cut, input.size()}), whole) << "cut at " << cut;
  }
}

TEST(RespParserTest, OneByteAtATimeParsesTheSame) {
  std::string input = MakePipeline(2000, 11);
  Outcome whole = ParseWhole(input);
  EXPECT_EQ(whole.left, 0u);
  EXPECT_EQ(ParseChunked(input, {1}), whole);
}

TEST(RespParserTest, TenThousandCommandsInRandomChunksParseTheSame) {
  std::string input = MakePipeline(10000, 3);
  Outcome whole = ParseWhole(input);
  ASSERT_EQ(whole.left, 0u);
  ASSERT_GE(whole.commands.size(), 10000u);
  std::mt19937 rng(5);
  for (int round = 0; round < 14; ++round) {  // one byte at a time is tested above
    std::vector<size_t> sizes(997);
    size_t max = size_t{2} << round;
    for (size_t& s : sizes) s = 1 + rng() % max;
    EXPECT_EQ(ParseChunked(input, sizes), whole) << "round " << round;
  }
}

TEST(RespParserTest, ErrorsAreTheSameHoweverTheInputIsChunked) {
  for (const std::string& bad : std::vector<std::string>{
           "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n:1\r\n", "PING\r\nECHO \"a\r\n",
           "*1\r\n$1x\r\n", std::string(70000, 'y'), "*3\r\n$1\r\n" + std::string(70000, '1')}) {
    Outcome whole = ParseWhole(bad);
    ASSERT_NE(whole.error, ParseError::kNone) << bad.substr(0, 40);
    for (size_t chunk : {1, 2, 3, 7, 4096}) {
      EXPECT_EQ(ParseChunked(bad, {chunk}), whole) << chunk;
    }
  }
}

}  // namespace
}  // namespace runnel::resp
