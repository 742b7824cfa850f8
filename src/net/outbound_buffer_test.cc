#include "net/outbound_buffer.h"

#include <gtest/gtest.h>

namespace runnel::net {
namespace {

std::string Drain(OutboundBuffer& out, size_t max_per_write) {
  std::string sent;
  while (!out.empty()) {
    size_t budget = max_per_write, n = 0;
    for (const auto& b : out.Gather()) {
      size_t take = std::min(budget, b.size());
      sent.append(static_cast<const char*>(b.data()), take);
      budget -= take;
      n += take;
      if (budget == 0) break;
    }
    out.Consume(n);  // a short write, as the kernel may do
  }
  return sent;
}

TEST(OutboundBufferTest, PartialWritesSendEveryByteOnceInOrder) {
  OutboundBuffer out;
  std::string expect;
  for (int i = 0; i < 5000; ++i) {
    std::string piece = "+reply " + std::to_string(i) + "\r\n";
    if (i % 997 == 0) piece += std::string(40000, 'b');  // a large payload
    expect += piece;
    if (i % 2) {
      out.Append(piece);
    } else {
      out.AppendWith([&](std::string& s) { s += piece; });
    }
  }
  EXPECT_EQ(out.size(), expect.size());
  EXPECT_EQ(Drain(out, 7777), expect);
  EXPECT_EQ(out.size(), 0u);
}

TEST(OutboundBufferTest, AppendsDuringAWriteLandAfterTheGatheredBytes) {
  OutboundBuffer out;
  out.Append("first;");
  const auto& g = out.Gather();
  std::string in_flight(static_cast<const char*>(g[0].data()), g[0].size());
  out.Append("second;");  // must not change the bytes being written
  EXPECT_EQ(in_flight, std::string(static_cast<const char*>(g[0].data()), g[0].size()));
  out.Consume(in_flight.size());
  EXPECT_EQ(Drain(out, 100), "second;");
}

}  // namespace
}  // namespace runnel::net
