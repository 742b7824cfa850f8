// ParseXReadReply against the reply shapes Redis 7 sends (RESP2 and RESP3).
#include "cli/xread_reply.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace runnel::cli {
namespace {

std::vector<StreamEntryView> Parse(std::string_view frame, bool* ok, std::string* why) {
  std::vector<StreamEntryView> entries;
  *ok = ParseXReadReply(frame, &entries, why);
  return entries;
}

TEST(XReadReply, Resp2StreamsOfEntries) {
  const std::string frame =
      "*2\r\n"
      "*2\r\n$1\r\na\r\n*2\r\n"
      "*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nv\r\n$5\r\nhello\r\n"
      "*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nv\r\n$2\r\nhi\r\n$1\r\nw\r\n$1\r\nx\r\n"
      "*2\r\n$1\r\nb\r\n*1\r\n"
      "*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nv\r\n$0\r\n\r\n";
  bool ok;
  std::string why;
  auto e = Parse(frame, &ok, &why);
  ASSERT_TRUE(ok) << why;
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].id, "1-0");
  EXPECT_EQ(e[0].value, "hello");
  EXPECT_EQ(e[1].id, "2-0");
  EXPECT_EQ(e[1].value, "hi");  // the first field's value
  EXPECT_EQ(e[2].id, "5-1");
  EXPECT_EQ(e[2].value, "");
}

TEST(XReadReply, Resp3MapOfStreams) {
  const std::string frame =
      "%1\r\n$1\r\na\r\n*1\r\n*2\r\n$3\r\n7-3\r\n*2\r\n$1\r\nv\r\n$3\r\nabc\r\n";
  bool ok;
  std::string why;
  auto e = Parse(frame, &ok, &why);
  ASSERT_TRUE(ok) << why;
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].id, "7-3");
  EXPECT_EQ(e[0].value, "abc");
}

TEST(XReadReply, TimeoutIsNoEntries) {
  for (const char* frame : {"*-1\r\n", "_\r\n"}) {
    bool ok;
    std::string why;
    EXPECT_TRUE(Parse(frame, &ok, &why).empty());
    EXPECT_TRUE(ok) << frame << ": " << why;
  }
}

TEST(XReadReply, ErrorsAndWrongShapesAreReported) {
  bool ok;
  std::string why;
  Parse("-ERR no such key\r\n", &ok, &why);
  EXPECT_FALSE(ok);
  EXPECT_EQ(why, "ERR no such key");
  why.clear();
  Parse(":3\r\n", &ok, &why);
  EXPECT_FALSE(ok);
  EXPECT_NE(why.find("array or map"), std::string::npos) << why;
  why.clear();
  Parse("*1\r\n*2\r\n$1\r\na\r\n*1\r\n*3\r\n", &ok, &why);  // an entry of 3 parts, truncated
  EXPECT_FALSE(ok);
  EXPECT_FALSE(why.empty());
  why.clear();
  Parse("*1\r\n*2\r\n$1\r\na\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*0\r\n", &ok, &why);  // cut short
  EXPECT_FALSE(ok);
  EXPECT_EQ(why, "truncated or malformed reply");
}

}  // namespace
}  // namespace runnel::cli
