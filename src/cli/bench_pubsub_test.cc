// Unit tests for `runnel bench pubsub`'s pieces that need no server: the RESP
// reply scanner and its message fast path, the payload stamp, loss/order
// bookkeeping and the latency percentiles.
#include "cli/bench_pubsub.h"

#include "cli/latency_histogram.h"
#include "cli/resp_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

namespace runnel::cli {
namespace {

using namespace std::string_literals;

// Scans exactly one frame that must fill `wire`. The frame's views point
// into a copy that lives until the end of the test program.
RespFrame ScanWhole(const std::string& wire) {
  static std::deque<std::string> kept;
  const std::string& bytes = kept.emplace_back(wire);
  RespFrame frame;
  size_t used = 0;
  EXPECT_EQ(ScanFrame(bytes, &frame, &used), ScanStatus::kFrame) << wire;
  EXPECT_EQ(used, bytes.size()) << wire;
  return frame;
}

ScanStatus Scan(const std::string& wire) {
  RespFrame frame;
  size_t used = 0;
  return ScanFrame(wire, &frame, &used);
}

TEST(RespScanner, ScalarsOfEveryType) {
  EXPECT_EQ(ScanWhole("+OK\r\n").head.str, "OK");
  RespFrame err = ScanWhole("-ERR unknown command\r\n");
  EXPECT_TRUE(err.is_error());
  EXPECT_EQ(err.head.str, "ERR unknown command");
  EXPECT_EQ(ScanWhole(":-12\r\n").head.integer, -12);
  EXPECT_EQ(ScanWhole(":9223372036854775807\r\n").head.integer, INT64_MAX);
  EXPECT_EQ(ScanWhole("$5\r\nhello\r\n").head.str, "hello");
  EXPECT_EQ(ScanWhole("$0\r\n\r\n").head.str, "");
  EXPECT_EQ(ScanWhole("$4\r\na\r\nb\r\n").head.str, "a\r\nb");  // binary safe
  EXPECT_EQ(ScanWhole("$-1\r\n").head.type, '_');
  EXPECT_EQ(ScanWhole("*-1\r\n").head.type, '_');
  EXPECT_EQ(ScanWhole("_\r\n").head.type, '_');
  EXPECT_EQ(ScanWhole("#t\r\n").head.integer, 1);
  EXPECT_EQ(ScanWhole("#f\r\n").head.integer, 0);
  EXPECT_EQ(ScanWhole(",1.5\r\n").head.str, "1.5");
  EXPECT_EQ(ScanWhole("(12345678901234567890\r\n").head.str, "12345678901234567890");
  RespFrame blob = ScanWhole("!21\r\nSYNTAX invalid syntax\r\n");
  EXPECT_TRUE(blob.is_error());
  EXPECT_EQ(blob.head.str, "SYNTAX invalid syntax");
  EXPECT_EQ(ScanWhole("=15\r\ntxt:Some string\r\n").head.str, "txt:Some string");
}

TEST(RespScanner, AggregateCapturesFirstItemsAndSkipsNestedOnes) {
  RespFrame f = ScanWhole("*5\r\n:1\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n+v\r\n+x\r\n$-1\r\n:7\r\n");
  EXPECT_EQ(f.head.type, '*');
  EXPECT_EQ(f.head.integer, 5);
  ASSERT_EQ(f.num_items, 4);  // the fifth is scanned but not kept
  EXPECT_EQ(f.items[0].integer, 1);
  EXPECT_EQ(f.items[1].type, '*');
  EXPECT_EQ(f.items[1].integer, 2);
  EXPECT_EQ(f.items[2].str, "x");
  EXPECT_EQ(f.items[3].type, '_');
}

TEST(RespScanner, MapCountsPairsAndEmptyAggregatesEnd) {
  RespFrame f = ScanWhole("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n");
  EXPECT_EQ(f.head.integer, 2);
  ASSERT_EQ(f.num_items, 4);
  EXPECT_EQ(f.items[3].integer, 2);
  EXPECT_EQ(ScanWhole("*0\r\n").num_items, 0);
  EXPECT_EQ(ScanWhole("~0\r\n").head.type, '~');
}

TEST(RespScanner, AttributeBeforeAReplyIsSkipped) {
  RespFrame f = ScanWhole("|1\r\n+key-popularity\r\n*1\r\n:1\r\n:42\r\n");
  EXPECT_EQ(f.head.type, ':');
  EXPECT_EQ(f.head.integer, 42);
  // ... and inside an aggregate, where it does not count as an element.
  RespFrame g = ScanWhole("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n");
  ASSERT_EQ(g.num_items, 2);
  EXPECT_EQ(g.items[0].integer, 1);
  EXPECT_EQ(g.items[1].integer, 2);
}

TEST(RespScanner, DeepNestingNeedsNoStack) {
  std::string wire;
  for (int i = 0; i < 100000; ++i) wire += "*1\r\n";
  wire += ":1\r\n";
  RespFrame f = ScanWhole(wire);
  EXPECT_EQ(f.head.integer, 1);
}

TEST(RespScanner, EveryPrefixIsIncomplete) {
  const std::string wire =
      "*4\r\n$8\r\npmessage\r\n$7\r\nbench.*\r\n$9\r\nbench.0.x\r\n$5\r\nhello\r\n";
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_EQ(Scan(wire.substr(0, n)), ScanStatus::kIncomplete) << n;
  }
  EXPECT_EQ(Scan(wire), ScanStatus::kFrame);
}

TEST(RespScanner, MalformedInputIsAnError) {
  for (const std::string& bad :
       {"?x\r\n"s, "$5\r\nhelloXY"s, "$-2\r\n"s, "*-2\r\n"s, "$?\r\n"s, "*?\r\n"s, ":12a\r\n"s,
        ":\r\n"s, "+OK\rX"s, "_x\r\n"s, "#x\r\n"s, ":99999999999999999999\r\n"s, "$536870913\r\n"s,
        "*1\r\n$1\r\nab\r\n"s}) {
    EXPECT_EQ(Scan(bad), ScanStatus::kError) << bad;
  }
}

TEST(RespScanner, ScansAStreamFrameByFrame) {
  const std::string wire = "+OK\r\n:3\r\n$3\r\nabc\r\n";
  RespFrame f;
  size_t at = 0;
  std::vector<char> types;
  while (at < wire.size()) {
    size_t used = 0;
    ASSERT_EQ(ScanFrame(std::string_view(wire).substr(at), &f, &used), ScanStatus::kFrame);
    types.push_back(f.head.type);
    at += used;
  }
  EXPECT_EQ(types, (std::vector<char>{'+', ':', '$'}));
}

// ---- Pub/sub events ------------------------------------------------------------

TEST(PubSubEvents, MessagesAndConfirmationsInBothProtocols) {
  for (char agg : {'*', '>'}) {
    const std::string a(1, agg);
    PubSubEvent m = AsPubSubEvent(ScanWhole(a + "3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n"));
    EXPECT_EQ(m.kind, PushKind::kMessage);
    EXPECT_EQ(m.channel, "ch");
    EXPECT_EQ(m.payload, "abc");
    PubSubEvent pm =
        AsPubSubEvent(ScanWhole(a + "4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$2\r\nch\r\n$1\r\nz\r\n"));
    EXPECT_EQ(pm.kind, PushKind::kPMessage);
    EXPECT_EQ(pm.pattern, "ch*");
    EXPECT_EQ(pm.channel, "ch");
    EXPECT_EQ(pm.payload, "z");
    PubSubEvent sub = AsPubSubEvent(ScanWhole(a + "3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"));
    EXPECT_EQ(sub.kind, PushKind::kSubscribe);
    EXPECT_EQ(sub.count, 1);
    PubSubEvent psub =
        AsPubSubEvent(ScanWhole(a + "3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:2\r\n"));
    EXPECT_EQ(psub.kind, PushKind::kPSubscribe);
    EXPECT_EQ(psub.count, 2);
    PubSubEvent unsub_all = AsPubSubEvent(
        ScanWhole(a + "3\r\n$11\r\nunsubscribe\r\n" + (agg == '*' ? "$-1" : "_") + "\r\n:0\r\n"));
    EXPECT_EQ(unsub_all.kind, PushKind::kUnsubscribe);
    EXPECT_EQ(unsub_all.channel, "");
  }
}

TEST(PubSubEvents, OrdinaryRepliesAreNotEvents) {
  EXPECT_EQ(AsPubSubEvent(ScanWhole(":1\r\n")).kind, PushKind::kNone);
  EXPECT_EQ(AsPubSubEvent(ScanWhole("*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n")).kind, PushKind::kNone);
  EXPECT_EQ(AsPubSubEvent(ScanWhole("*2\r\n$4\r\npong\r\n$0\r\n\r\n")).kind, PushKind::kNone);
  EXPECT_EQ(AsPubSubEvent(ScanWhole(">3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$1\r\nx\r\n")).kind,
            PushKind::kOtherPush);
  EXPECT_EQ(AsPubSubEvent(ScanWhole(">2\r\n$10\r\ninvalidate\r\n*0\r\n")).kind,
            PushKind::kOtherPush);
}

// ---- The message fast path --------------------------------------------------------

TEST(ScanMessage, AgreesWithTheFullScanner) {
  for (const std::string& wire :
       {"*3\r\n$7\r\nmessage\r\n$9\r\nbench.0.x\r\n$5\r\nhello\r\n"s,
        ">3\r\n$7\r\nmessage\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"s,
        "*4\r\n$8\r\npmessage\r\n$9\r\nbench.0.*\r\n$9\r\nbench.0.x\r\n$3\r\nxyz\r\n"s,
        ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nc\r\n$0\r\n\r\n"s}) {
    std::string_view pattern, channel, payload;
    size_t used = 0;
    ASSERT_EQ(ScanMessage(wire, &pattern, &channel, &payload, &used), MessageScan::kMessage)
        << wire;
    EXPECT_EQ(used, wire.size());
    const PubSubEvent ev = AsPubSubEvent(ScanWhole(wire));
    EXPECT_EQ(pattern, ev.pattern);
    EXPECT_EQ(channel, ev.channel);
    EXPECT_EQ(payload, ev.payload);
    for (size_t n = 0; n < wire.size(); ++n) {
      EXPECT_EQ(ScanMessage(wire.substr(0, n), &pattern, &channel, &payload, &used),
                MessageScan::kIncomplete)
          << n;
    }
  }
}

TEST(ScanMessage, LeavesEverythingElseToTheFullScanner) {
  for (const std::string& wire :
       {":1\r\n"s, "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"s,
        "*3\r\n$7\r\nmessagX\r\n$1\r\nc\r\n$1\r\nx\r\n"s,
        "*3\r\n+message\r\n$1\r\nc\r\n$1\r\nx\r\n"s, "*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\nx\r\n"s,
        "*3\r\n$7\r\nmessage\r\n$1\r\ncXX$1\r\nx\r\n"s, "-ERR x\r\n"s}) {
    std::string_view pattern, channel, payload;
    size_t used = 0;
    EXPECT_EQ(ScanMessage(wire, &pattern, &channel, &payload, &used), MessageScan::kOther) << wire;
  }
}

// The subscriber's loop: bytes arrive in arbitrary pieces; the fast path and
// the full scanner together must see every frame once, whole.
TEST(ScanMessage, ChunkedStreamYieldsEveryMessage) {
  std::string wire = "*3\r\n$9\r\nsubscribe\r\n$9\r\nbench.0.x\r\n:1\r\n";
  for (int i = 0; i < 500; ++i) {
    const std::string payload = std::to_string(i) + std::string(static_cast<size_t>(i % 37), 'p');
    const char agg = i % 3 == 0 ? '>' : '*';
    if (i % 2 == 0) {
      wire += std::string(1, agg) + "3\r\n$7\r\nmessage\r\n$9\r\nbench.0.x\r\n$" +
              std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
    } else {
      wire += std::string(1, agg) +
              "4\r\n$8\r\npmessage\r\n$9\r\nbench.0.*\r\n$9\r\nbench.0.x\r\n$" +
              std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
    }
  }
  std::mt19937 rng(7);
  std::string buf;
  size_t fed = 0;
  int messages = 0, others = 0;
  while (fed < wire.size() || !buf.empty()) {
    const size_t piece = std::min<size_t>(wire.size() - fed, rng() % 64 + 1);
    buf.append(wire, fed, piece);
    fed += piece;
    for (;;) {
      std::string_view pattern, channel, payload;
      size_t used = 0;
      const MessageScan ms = ScanMessage(buf, &pattern, &channel, &payload, &used);
      if (ms == MessageScan::kMessage) {
        EXPECT_EQ(payload.substr(0, std::to_string(messages).size()), std::to_string(messages));
        ++messages;
        buf.erase(0, used);
        continue;
      }
      if (ms == MessageScan::kIncomplete) break;
      RespFrame f;
      const ScanStatus st = ScanFrame(buf, &f, &used);
      ASSERT_NE(st, ScanStatus::kError);
      if (st == ScanStatus::kIncomplete) break;
      ++others;
      buf.erase(0, used);
    }
    if (fed == wire.size() && !buf.empty()) FAIL() << "left over: " << buf;
  }
  EXPECT_EQ(messages, 500);
  EXPECT_EQ(others, 1);
}

// ---- Commands, endpoints, stamps ---------------------------------------------------

TEST(AppendCommand, WritesMultibulk) {
  std::string out;
  AppendCommand(&out, {"PUBLISH", "ch", ""});
  EXPECT_EQ(out, "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
}

TEST(ParseEndpoint, HostPortAndIpv6) {
  auto a = ParseEndpoint("127.0.0.1:6379");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
  auto b = ParseEndpoint("[::1]:7000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 7000);
  for (const char* bad : {"localhost", ":6379", "h:0", "h:65536", "h:12x", "[::1]7000", "h:"}) {
    EXPECT_FALSE(ParseEndpoint(bad).ok()) << bad;
  }
}

TEST(Stamp, RoundTripsAndRejectsShortPayloads) {
  char buf[kStampBytes + 4] = {};
  WriteStamp(buf, Stamp{123456789012345, 65535, (uint64_t{1} << kSequenceBits) - 1});
  Stamp s;
  ASSERT_TRUE(ReadStamp(std::string_view(buf, sizeof(buf)), &s));
  EXPECT_EQ(s.send_ns, 123456789012345);
  EXPECT_EQ(s.publisher, 65535u);
  EXPECT_EQ(s.sequence, (uint64_t{1} << kSequenceBits) - 1);
  EXPECT_FALSE(ReadStamp(std::string_view(buf, kStampBytes - 1), &s));
}

TEST(SequenceTracker, CountsLossPerPublisherAndLateMessagesAsReordered) {
  SequenceTracker t(2);
  for (uint64_t seq : {1, 2, 4, 3, 5}) t.Observe(0, seq);  // 3 late, none lost
  for (uint64_t seq : {1, 2, 5}) t.Observe(1, seq);        // 3 and 4 lost
  EXPECT_EQ(t.order_violations(), 1u);
  EXPECT_EQ(t.Lost(0, 5), 0u);
  EXPECT_EQ(t.Lost(1, 5), 2u);
  EXPECT_EQ(t.Lost(1, 7), 4u);  // the tail that never came counts too
}

// ---- Latency percentiles ------------------------------------------------------------

TEST(LatencyHistogram, ExactNearestRankPercentiles) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.5), 0);
  for (int v = 1000; v >= 1; --v) h.Record(v);
  EXPECT_EQ(h.count(), 1000);
  EXPECT_EQ(h.Percentile(0.50), 500);
  EXPECT_EQ(h.Percentile(0.99), 990);
  EXPECT_EQ(h.Percentile(0.999), 999);
  EXPECT_EQ(h.Percentile(1.0), 1000);
  EXPECT_EQ(h.Percentile(0.0), 1);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 1000);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  h.Record(-5);  // clamped
  EXPECT_EQ(h.min(), 0);
}

TEST(LatencyHistogram, PastCapacityKeepsAnEvenlySpacedSubset) {
  LatencyHistogram h(1000);
  for (int v = 1; v <= 100000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100000);
  EXPECT_GE(h.kept(), 500u);
  EXPECT_LE(h.kept(), 1000u);
  EXPECT_EQ(h.max(), 100000);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 50000, 200);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 99000, 200);
}

TEST(LatencyHistogram, MergeKeepsProportions) {
  LatencyHistogram a(1000), b(1000);
  for (int i = 0; i < 3000; ++i) a.Record(10);
  for (int i = 0; i < 1000; ++i) b.Record(20);
  a.Merge(b);
  EXPECT_EQ(a.count(), 4000);
  EXPECT_LE(a.kept(), 1000u);
  EXPECT_EQ(a.Percentile(0.70), 10);
  EXPECT_EQ(a.Percentile(0.80), 20);
  EXPECT_EQ(a.max(), 20);
  LatencyHistogram small1, small2;
  small1.Record(1);
  small2.Record(2);
  small1.Merge(small2);
  EXPECT_EQ(small1.kept(), 2u);
  EXPECT_EQ(small1.Percentile(1.0), 2);
}

}  // namespace
}  // namespace runnel::cli
