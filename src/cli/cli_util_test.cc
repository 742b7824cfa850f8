#include "cli/cli_util.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace runnel::cli {
namespace {

using namespace std::string_view_literals;
using namespace std::string_literals;

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string BytesField(std::optional<std::string_view> bytes) {
  std::string out;
  AppendJsonBytesField(&out, "value", bytes);
  return out;
}

std::vector<std::string> Lines(std::string_view data, bool at_eof, size_t* used) {
  std::vector<std::string_view> views;
  *used = SplitLines(data, at_eof, &views);
  return {views.begin(), views.end()};
}

// ---- JSON --------------------------------------------------------------------

TEST(JsonStringTest, PlainTextIsQuoted) { EXPECT_EQ(JsonString("hello"), "\"hello\""); }

TEST(JsonStringTest, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonStringTest, ControlCharactersBecomeUnicodeEscapes) {
  EXPECT_EQ(JsonString("\n\t\x01\x1f\x7f"sv), "\"\\u000a\\u0009\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonString("a\0b"sv), "\"a\\u0000b\"");
}

TEST(JsonStringTest, MultibyteUtf8PassesThrough) {
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(Utf8Test, AcceptsWellFormedAndRejectsTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
}

TEST(JsonBytesFieldTest, NullTextAndBinaryTakeTheirOwnForms) {
  EXPECT_EQ(BytesField(std::nullopt), "\"value\":null");
  EXPECT_EQ(BytesField(""sv), "\"value\":\"\"");
  EXPECT_EQ(BytesField("hi\n"sv), "\"value\":\"hi\\u000a\"");
  EXPECT_EQ(BytesField("\xff\x00"sv), "\"value_b64\":\"/wA=\"");
}

TEST(RecordJsonTest, HasEveryFieldInOrder) {
  HeaderView headers[] = {{"h", "v"}, {"n", std::nullopt}};
  RecordView r;
  r.offset = 7;
  r.timestamp_ms = 1700000000123;
  r.value = "x\"y";
  r.headers = headers;
  std::string out;
  AppendRecordJson(&out, 2, r);
  EXPECT_EQ(out,
            "{\"partition\":2,\"offset\":7,\"timestamp\":1700000000123,\"key\":null,"
            "\"value\":\"x\\\"y\",\"headers\":[{\"key\":\"h\",\"value\":\"v\"},"
            "{\"key\":\"n\",\"value\":null}]}");
}

TEST(RecordJsonTest, BinaryKeyUsesB64Member) {
  RecordView r;
  r.offset = 0;
  r.timestamp_ms = 1;
  r.key = "\x80"sv;
  std::string out;
  AppendRecordJson(&out, 0, r);
  EXPECT_EQ(out,
            "{\"partition\":0,\"offset\":0,\"timestamp\":1,\"key_b64\":\"gA==\","
            "\"value\":null,\"headers\":[]}");
}

// ---- Line escaping (topic list) ------------------------------------------------

TEST(EscapeLineTest, OneLinePerNameWhateverTheBytes) {
  EXPECT_EQ(EscapeLine("orders"), "orders");
  EXPECT_EQ(EscapeLine("a\nb"), "a\\nb");
  EXPECT_EQ(EscapeLine("a\\nb"), "a\\\\nb");
  EXPECT_EQ(EscapeLine("\r\t\x01\x7f"), "\\r\\t\\x01\\x7f");
  EXPECT_EQ(EscapeLine("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeLine("\xff\xc3"), "\\xff\\xc3");
}

TEST(WrapTextTest, BreaksBetweenWordsAndKeepsNewlines) {
  EXPECT_EQ(WrapText("aaa bbb ccc", 7), "aaa bbb\nccc");
  EXPECT_EQ(WrapText("one\n\ntwo three", 5), "one\n\ntwo\nthree");
  EXPECT_EQ(WrapText("averyverylongword x", 5), "averyverylongword\nx");
}

// ---- --from ------------------------------------------------------------------------

TEST(ParseStartPositionTest, AcceptsTheFourForms) {
  auto e = ParseStartPosition("earliest");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, StartPosition::Kind::kEarliest);
  auto l = ParseStartPosition("latest");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->kind, StartPosition::Kind::kLatest);
  auto o = ParseStartPosition("42");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, StartPosition::Kind::kOffset);
  EXPECT_EQ(o->value, 42);
  auto t = ParseStartPosition("@1700000000000");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, StartPosition::Kind::kTimestamp);
  EXPECT_EQ(t->value, 1700000000000);
}

TEST(ParseStartPositionTest, RejectsMalformedValuesAsInvalidArgument) {
  for (std::string_view bad :
       {"", "-1", "12x", "@", "@-5", "@abc", "Earliest", " 1", "99999999999999999999"}) {
    auto r = ParseStartPosition(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().Is(StatusCode::kInvalidArgument)) << bad;
    EXPECT_EQ(ExitCodeFor(r.status()), kExitUsage);
  }
}

// ---- Line splitting --------------------------------------------------------------

TEST(SplitLinesTest, KeepsAPartialLineForLater) {
  size_t used = 0;
  EXPECT_EQ(Lines("a\nbb\nccc", false, &used), (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(used, 5u);
}

TEST(SplitLinesTest, AFinalLineWithoutNewlineCountsAtEof) {
  size_t used = 0;
  EXPECT_EQ(Lines("a\nbb\nccc", true, &used), (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_EQ(used, 8u);
}

TEST(SplitLinesTest, EmptyLinesAreRecordsAndNoTrailingEmptyOne) {
  size_t used = 0;
  EXPECT_EQ(Lines("\n\nx\n", true, &used), (std::vector<std::string>{"", "", "x"}));
  EXPECT_EQ(used, 4u);
  EXPECT_TRUE(Lines("", true, &used).empty());
  EXPECT_EQ(used, 0u);
}

TEST(SplitLinesTest, CarriageReturnsAndNulBytesAreKept) {
  size_t used = 0;
  EXPECT_EQ(Lines("a\r\nb\0c\n"sv, false, &used), (std::vector<std::string>{"a\r", "b\0c"s}));
}

// ---- Exit codes and output ----------------------------------------------------------

TEST(ExitCodeTest, InvalidArgumentIsUsageEverythingElseIsFailure) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(Status::TooLarge("x")), kExitFailure);
}

TEST(OutputTest, ClosedPipeIsReportedAsBrokenPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  Output out(fds[1]);
  out.Write("hello\n");
  EXPECT_FALSE(out.Flush());
  EXPECT_TRUE(out.broken_pipe());
  ::close(fds[1]);
}

}  // namespace
}  // namespace runnel::cli
