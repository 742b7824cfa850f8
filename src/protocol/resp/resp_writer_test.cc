#include "protocol/resp/resp_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace runnel::resp {
namespace {

// The bytes `write` produces on a RESP2 and on a RESP3 connection.
std::string In(Protocol protocol, const std::function<void(RespWriter&)>& write) {
  std::string out = "<";  // writers append: existing bytes stay
  RespWriter w(&out, protocol);
  write(w);
  EXPECT_EQ(out[0], '<');
  return out.substr(1);
}
std::string Resp2(const std::function<void(RespWriter&)>& write) {
  return In(Protocol::kResp2, write);
}
std::string Resp3(const std::function<void(RespWriter&)>& write) {
  return In(Protocol::kResp3, write);
}

// The same bytes in both protocols.
void ExpectBoth(const std::function<void(RespWriter&)>& write, std::string_view bytes) {
  EXPECT_EQ(Resp2(write), bytes);
  EXPECT_EQ(Resp3(write), bytes);
}

TEST(RespWriterTest, SimpleStringIsOneLine) {
  ExpectBoth([](RespWriter& w) { w.SimpleString("OK"); }, "+OK\r\n");
  ExpectBoth([](RespWriter& w) { w.SimpleString("a\r\nb"); }, "+a  b\r\n");
}

TEST(RespWriterTest, ErrorKeepsItsCodeAndStaysOneLine) {
  ExpectBoth([](RespWriter& w) { w.Error("ERR syntax error"); }, "-ERR syntax error\r\n");
  ExpectBoth(
      [](RespWriter& w) {
        w.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
      },
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  ExpectBoth([](RespWriter& w) { w.Error("NOPROTO unsupported protocol version"); },
             "-NOPROTO unsupported protocol version\r\n");
  ExpectBoth([](RespWriter& w) { w.Error("NOAUTH Authentication required."); },
             "-NOAUTH Authentication required.\r\n");
  ExpectBoth(
      [](RespWriter& w) {
        w.Error("WRONGPASS invalid username-password pair or user is disabled.");
      },
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  ExpectBoth([](RespWriter& w) { w.Error("ERR unknown command 'a\r\nb'"); },
             "-ERR unknown command 'a  b'\r\n");
}

TEST(RespWriterTest, IntegersAreSigned64Bit) {
  ExpectBoth([](RespWriter& w) { w.Integer(-12); }, ":-12\r\n");
  ExpectBoth([](RespWriter& w) { w.Integer(0); }, ":0\r\n");
  ExpectBoth([](RespWriter& w) { w.Integer(std::numeric_limits<int64_t>::min()); },
             ":-9223372036854775808\r\n");
  ExpectBoth([](RespWriter& w) { w.Integer(std::numeric_limits<int64_t>::max()); },
             ":9223372036854775807\r\n");
}

TEST(RespWriterTest, BulkIsBinarySafe) {
  ExpectBoth([](RespWriter& w) { w.Bulk("hello"); }, "$5\r\nhello\r\n");
  ExpectBoth([](RespWriter& w) { w.Bulk(""); }, "$0\r\n\r\n");
  // A default-constructed view (null data) is an empty bulk, not UB: RESP2
  // PING in subscribed mode writes one, and UBSan aborted the server.
  ExpectBoth([](RespWriter& w) { w.Bulk(std::string_view()); }, "$0\r\n\r\n");
  ExpectBoth([](RespWriter& w) { w.Bulk(std::string_view("a\r\n\0", 4)); },
             std::string_view("$4\r\na\r\n\0\r\n", 10));
  ExpectBoth([](RespWriter& w) { w.BulkHeader(123456); }, "$123456\r\n");
}

TEST(RespWriterTest, NullsDependOnTheProtocol) {
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Null(); }), "$-1\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Null(); }), "_\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.NullArray(); }), "*-1\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.NullArray(); }), "_\r\n");
}

TEST(RespWriterTest, AggregateHeadersDependOnTheProtocol) {
  ExpectBoth([](RespWriter& w) { w.ArrayHeader(2); }, "*2\r\n");
  ExpectBoth([](RespWriter& w) { w.ArrayHeader(0); }, "*0\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.MapHeader(2); }), "*4\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.MapHeader(2); }), "%2\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.SetHeader(3); }), "*3\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.SetHeader(3); }), "~3\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.PushHeader(3); }), "*3\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.PushHeader(3); }), ">3\r\n");
}

TEST(RespWriterTest, DoublesUseRedis70Formatting) {
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(1.5); }), ",1.5\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Double(1.5); }), "$3\r\n1.5\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(0.1); }), ",0.10000000000000001\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(1e10); }), ",10000000000\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(1e300); }), ",1.0000000000000001e+300\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(-2); }), ",-2\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(INFINITY); }), ",inf\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(-INFINITY); }), ",-inf\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Double(std::nan("")); }), ",nan\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Double(INFINITY); }), "$3\r\ninf\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Double(-INFINITY); }), "$4\r\n-inf\r\n");
}

TEST(RespWriterTest, BooleansAreIntegersInResp2) {
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Boolean(true); }), "#t\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Boolean(false); }), "#f\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Boolean(true); }), ":1\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Boolean(false); }), ":0\r\n");
}

TEST(RespWriterTest, VerbatimCountsItsFormatPrefix) {
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Verbatim("txt", "Some string"); }),
            "=15\r\ntxt:Some string\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Verbatim("txt", "Some string"); }),
            "$11\r\nSome string\r\n");
}

TEST(RespWriterTest, BigNumberIsABulkStringInResp2) {
  EXPECT_EQ(
      Resp3([](RespWriter& w) { w.BigNumber("3492890328409238509324850943850943825024385"); }),
      "(3492890328409238509324850943850943825024385\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.BigNumber("-12345678901234567890"); }),
            "$21\r\n-12345678901234567890\r\n");
}

TEST(RespWriterTest, ConstantRepliesArePreEncoded) {
  EXPECT_EQ(kOk, "+OK\r\n");
  EXPECT_EQ(kPong, "+PONG\r\n");
  EXPECT_EQ(kZero, ":0\r\n");
  EXPECT_EQ(kOne, ":1\r\n");
  EXPECT_EQ(kQueued, "+QUEUED\r\n");
  EXPECT_EQ(kEmptyArray, "*0\r\n");
  ExpectBoth([](RespWriter& w) { w.Raw(kOk); }, "+OK\r\n");
}

TEST(RespWriterTest, MapInResp2IsAFlatArray) {
  auto hello = [](RespWriter& w) {
    w.MapHeader(2);
    w.Bulk("server");
    w.Bulk("redis");
    w.Bulk("proto");
    w.Integer(w.resp3() ? 3 : 2);
  };
  EXPECT_EQ(Resp2(hello), "*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:2\r\n");
  EXPECT_EQ(Resp3(hello), "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n");
}

// ---------------------------------------------------------------------------
// Pub/sub frames (reference §3.2)

TEST(RespWriterTest, MessageIsAnArrayInResp2AndAPushInResp3) {
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Message("chan", "hello"); }),
            "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.Message("chan", "hello"); }),
            ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.Message("", ""); }),
            "*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$0\r\n\r\n");
}

TEST(RespWriterTest, PMessageCarriesPatternThenChannel) {
  EXPECT_EQ(Resp2([](RespWriter& w) { w.PMessage("ch*", "chan", "x"); }),
            "*4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$4\r\nchan\r\n$1\r\nx\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.PMessage("ch*", "chan", "x"); }),
            ">4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$4\r\nchan\r\n$1\r\nx\r\n");
}

TEST(RespWriterTest, SMessageHasItsOwnKind) {
  EXPECT_EQ(Resp2([](RespWriter& w) { w.SMessage("s", "p"); }),
            "*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\np\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.SMessage("s", "p"); }),
            ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\np\r\n");
}

TEST(RespWriterTest, LargePayloadMessageIsExact) {
  std::string payload(100000, 'p');
  std::string expected = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$100000\r\n" + payload + "\r\n";
  EXPECT_EQ(Resp2([&](RespWriter& w) { w.Message("c", payload); }), expected);
}

TEST(RespWriterTest, SubscriptionEventsCarryTheCount) {
  EXPECT_EQ(Resp2([](RespWriter& w) { w.SubscriptionEvent("subscribe", "a", 1); }),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.SubscriptionEvent("psubscribe", "a*", 2); }),
            ">3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:2\r\n");
  EXPECT_EQ(Resp2([](RespWriter& w) { w.SubscriptionEventNoChannel("unsubscribe", 0); }),
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(Resp3([](RespWriter& w) { w.SubscriptionEventNoChannel("punsubscribe", 3); }),
            ">3\r\n$12\r\npunsubscribe\r\n_\r\n:3\r\n");
}

TEST(RespWriterTest, PingWhileSubscribedInResp2IsAnArray) {
  // reference §3.3: `*2 $4 pong $0 ""`, built from the generic calls.
  EXPECT_EQ(Resp2([](RespWriter& w) {
              w.ArrayHeader(2);
              w.Bulk("pong");
              w.Bulk("");
            }),
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

}  // namespace
}  // namespace runnel::resp
