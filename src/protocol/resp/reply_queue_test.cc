#include "protocol/resp/reply_queue.h"

#include <gtest/gtest.h>

namespace runnel::resp {
namespace {

TEST(ReplyQueueTest, RepliesLeaveInCommandOrderWhateverOrderResultsArrive) {
  ReplyQueue q;
  std::string out;
  auto sink = [&](std::string&& s) { out += s; };
  EXPECT_TRUE(q.idle());
  const uint64_t a = q.Reserve();  // XADD 1
  q.Tail() += "+PONG\r\n";         // PING answered at once, queued behind it
  const uint64_t b = q.Reserve();  // XADD 2
  q.Tail() += ":1\r\n";
  q.Tail() += ":2\r\n";
  EXPECT_TRUE(q.Fill(b, "$3\r\n2-0\r\n", sink));
  EXPECT_EQ(out, "");  // a still pending
  EXPECT_TRUE(q.Fill(a, "$3\r\n1-0\r\n", sink));
  EXPECT_EQ(out, "$3\r\n1-0\r\n+PONG\r\n$3\r\n2-0\r\n:1\r\n:2\r\n");
  EXPECT_TRUE(q.idle());
}

TEST(ReplyQueueTest, FillingTwiceOrAnUnknownSlotIsIgnored) {
  ReplyQueue q;
  std::string out;
  auto sink = [&](std::string&& s) { out += s; };
  const uint64_t a = q.Reserve();
  EXPECT_TRUE(q.Fill(a, "x", sink));
  EXPECT_FALSE(q.Fill(a, "y", sink));
  EXPECT_FALSE(q.Fill(a + 5, "z", sink));
  EXPECT_EQ(out, "x");
  const uint64_t b = q.Reserve();
  EXPECT_EQ(b, a + 1);
  EXPECT_TRUE(q.Fill(b, "", sink));  // a suppressed reply (CLIENT REPLY OFF)
  EXPECT_TRUE(q.idle());
}

}  // namespace
}  // namespace runnel::resp
