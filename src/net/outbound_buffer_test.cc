#include "net/outbound_buffer.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

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

TEST(OutboundBufferTest, ASentChunksMemoryIsReusedByTheNextChunkOnTheThread) {
  OutboundBuffer out;
  out.Append("first");
  const void* first = out.Gather().front().data();
  out.Consume(5);
  ASSERT_TRUE(out.empty());
  OutboundBuffer other;  // any connection of this thread
  other.AppendWith([](std::string& s) { s += "second"; });
  EXPECT_EQ(other.Gather().front().data(), first);
  EXPECT_EQ(Drain(other, 64), "second");
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

// A temporary file holding `contents`, unlinked at once (the fd keeps it).
std::shared_ptr<int> TempFile(const std::string& contents) {
  char path[] = "/tmp/runnel-outbound-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::unlink(path);
  EXPECT_EQ(::pwrite(fd, contents.data(), contents.size(), 0),
            static_cast<ssize_t>(contents.size()));
  return std::shared_ptr<int>(new int(fd), [](int* f) {
    ::close(*f);
    delete f;
  });
}

// As Drain, with file chunks "sent" by a pread of at most max_per_write.
std::string DrainWithFiles(OutboundBuffer& out, size_t max_per_write) {
  std::string sent;
  while (!out.empty()) {
    if (out.front_is_file()) {
      FileChunk f = out.FrontFile();
      std::string part(std::min<uint64_t>(f.length, max_per_write), '\0');
      EXPECT_EQ(::pread(f.fd, part.data(), part.size(), static_cast<off_t>(f.offset)),
                static_cast<ssize_t>(part.size()));
      sent += part;
      out.Consume(part.size());
      continue;
    }
    size_t budget = max_per_write, n = 0;
    for (const auto& b : out.Gather()) {
      size_t take = std::min(budget, b.size());
      sent.append(static_cast<const char*>(b.data()), take);
      budget -= take;
      n += take;
      if (budget == 0) break;
    }
    EXPECT_GT(n, 0u);
    out.Consume(n);
  }
  return sent;
}

TEST(OutboundBufferTest, FileChunksCountInSizeAndKeepTheirPlace) {
  const std::string contents = "0123456789abcdefghij";
  auto file = TempFile(contents);
  OutboundBuffer out;
  out.Append("head;");
  out.AppendFile({file, *file, 4, 10});  // "456789abcd"
  out.AppendWith([](std::string& s) { s += ";tail"; });  // not into the file chunk
  out.AppendFile({file, *file, 0, 0});   // empty: dropped
  EXPECT_EQ(out.size(), 5u + 10u + 5u);
  EXPECT_FALSE(out.front_is_file());
  ASSERT_EQ(out.Gather().size(), 1u);  // memory up to the file chunk only
  out.Consume(5);
  ASSERT_TRUE(out.front_is_file());
  EXPECT_EQ(out.FrontFile().offset, 4u);
  out.Consume(3);  // a partial send
  EXPECT_EQ(out.size(), 7u + 5u);
  EXPECT_EQ(out.FrontFile().offset, 7u);
  EXPECT_EQ(out.FrontFile().length, 7u);
  EXPECT_EQ(DrainWithFiles(out, 4), "789abcd;tail");
  EXPECT_TRUE(out.empty());
}

TEST(OutboundBufferTest, PartialSendsOfMixedChunksSendEveryByteOnceInOrder) {
  std::string contents(100000, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>('A' + i % 26);
  auto file = TempFile(contents);
  OutboundBuffer out;
  std::string expect;
  for (int i = 0; i < 300; ++i) {
    std::string piece = "<" + std::to_string(i) + ">";
    if (i % 7 == 0) piece += std::string(20000, 'm');  // its own chunk
    out.Append(piece);
    expect += piece;
    const uint64_t offset = (i * 977) % 90000, length = 1 + (i * 131) % 9000;
    out.AppendFile({file, *file, offset, length});
    expect += contents.substr(offset, length);
  }
  EXPECT_EQ(out.size(), expect.size());
  EXPECT_TRUE(DrainWithFiles(out, 3001) == expect);
  EXPECT_EQ(file.use_count(), 1);  // every chunk let its handle go
}

TEST(OutboundBufferTest, AnEmptyChunkBeforeAFileChunkDoesNotStallTheSend) {
  auto file = TempFile("xyz");
  OutboundBuffer out;
  out.AppendWith([](std::string&) {});  // a writer that added nothing
  out.AppendFile({file, *file, 0, 3});
  ASSERT_FALSE(out.front_is_file());
  for (const auto& b : out.Gather()) EXPECT_EQ(b.size(), 0u);
  out.Consume(0);  // the empty write
  EXPECT_TRUE(out.front_is_file());
  EXPECT_EQ(DrainWithFiles(out, 10), "xyz");
}

TEST(OutboundBufferTest, ClearAndReadFrontFileReleaseTheHandles) {
  auto file = TempFile("hello world");
  OutboundBuffer out;
  out.AppendFile({file, *file, 6, 5});
  out.Append("!");
  EXPECT_EQ(file.use_count(), 2);
  ASSERT_TRUE(out.ReadFrontFile());  // a TLS connection's fallback
  EXPECT_EQ(file.use_count(), 1);
  EXPECT_FALSE(out.front_is_file());
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(DrainWithFiles(out, 100), "world!");
  out.AppendFile({file, *file, 0, 5});
  out.AppendFile({file, *file, 5, 100});  // past the end of the file
  out.Consume(5);
  EXPECT_FALSE(out.ReadFrontFile());
  out.Clear();
  EXPECT_EQ(file.use_count(), 1);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace runnel::net
