// File chunks over real loopback sockets: sendfile in order with the memory
// bytes around them, through a reader slower than the socket buffers
// (EAGAIN and partial sends), and the file handles let go when the client
// closes mid-send.
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "net/listener.h"

namespace runnel::net {
namespace {

namespace asio = boost::asio;

// An open descriptor, closed when the last FileChunk holding it goes.
struct OpenFd {
  explicit OpenFd(int f) : fd(f) {}
  ~OpenFd() { ::close(fd); }
  int fd;
};

// For each input line "<offset> <length>\n": "[" + those file bytes + "]",
// the bytes queued as a file chunk.
class FileSession : public Session {
 public:
  FileSession(Connection& conn, std::shared_ptr<OpenFd> file, std::atomic<int>* closed)
      : conn_(conn), file_(std::move(file)), closed_(closed) {}
  Action OnInput(std::string_view in, size_t* consumed, size_t*) override {
    size_t pos = 0;
    for (size_t nl; (nl = in.find('\n', pos)) != std::string_view::npos; pos = nl + 1) {
      std::string line(in.substr(pos, nl - pos));
      char* end = nullptr;
      const uint64_t offset = std::strtoull(line.c_str(), &end, 10);
      const uint64_t length = std::strtoull(end, nullptr, 10);
      conn_.out().Append("[");
      conn_.out().AppendFile({file_, file_->fd, offset, length});
      conn_.out().Append("]");
    }
    *consumed = pos;
    return Action::kContinue;
  }
  void OnClose() override {
    file_.reset();
    closed_->fetch_add(1);
  }

 private:
  Connection& conn_;
  std::shared_ptr<OpenFd> file_;
  std::atomic<int>* closed_;
};

class ConnectionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as the binary's main: sendfile cannot say MSG_NOSIGNAL
    char path[] = "/tmp/runnel-file-chunk-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);  // the descriptor keeps it
    contents_.resize(8 << 20);
    for (size_t i = 0; i < contents_.size(); ++i) {
      contents_[i] = static_cast<char>((i * 2654435761u) >> 13);  // no period of a power of 2
    }
    ASSERT_EQ(::pwrite(fd, contents_.data(), contents_.size(), 0),
              static_cast<ssize_t>(contents_.size()));
    auto file = std::make_shared<OpenFd>(fd);
    file_ = file;
    ListenerConfig config;
    config.name = "files";
    config.limits.pause_reading_above = 1 << 20;
    listener_ = std::make_unique<Listener>(&pool_, config, [this, file](Connection& c) {
      return std::make_unique<FileSession>(c, file, &closed_);
    });
    ASSERT_TRUE(listener_->Start().ok());
    pool_.Start();
  }
  void TearDown() override {
    listener_->Stop();
    pool_.Stop();
  }
  // A small receive window, so the server's socket fills and sendfile
  // meets EAGAIN and partial sends.
  asio::ip::tcp::socket Connect() {
    asio::ip::tcp::socket s(client_ctx_);
    s.open(asio::ip::tcp::v4());
    s.set_option(asio::socket_base::receive_buffer_size(4096));
    s.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
    return s;
  }
  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  IoPool pool_{1};
  std::unique_ptr<Listener> listener_;
  std::atomic<int> closed_{0};
  asio::io_context client_ctx_;
  std::string contents_;
  std::weak_ptr<OpenFd> file_;  // expires once no chunk or session holds it
};

TEST_F(ConnectionFileTest, FileChunksArriveInOrderWithTheBytesAroundThem) {
  auto s = Connect();
  // Whole file (far more than the socket buffers), then small and odd ranges.
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, contents_.size()}, {1, 1}, {12345, 70000}, {contents_.size() - 3, 3}};
  std::string request, expect;
  for (auto [offset, length] : ranges) {
    request += std::to_string(offset) + " " + std::to_string(length) + "\n";
    expect += "[" + contents_.substr(offset, length) + "]";
  }
  asio::write(s, asio::buffer(request));
  // Read slowly at first, so the server's sendfile meets a full socket.
  std::string got(expect.size(), '\0');
  size_t done = 0;
  for (int i = 0; i < 20 && done < got.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    done += s.read_some(asio::buffer(got.data() + done, std::min<size_t>(4096, got.size() - done)));
  }
  asio::read(s, asio::buffer(got.data() + done, got.size() - done));
  EXPECT_TRUE(got == expect) << "the bytes differ";
}

TEST_F(ConnectionFileTest, AClientClosingMidSendReleasesTheFiles) {
  {
    auto s = Connect();
    std::string request;
    for (int i = 0; i < 4; ++i) request += "0 " + std::to_string(contents_.size()) + "\n";
    asio::write(s, asio::buffer(request));
    std::string some(64 << 10, '\0');
    asio::read(s, asio::buffer(some));  // the send has started; the rest waits
    EXPECT_EQ(some.substr(1, 100), contents_.substr(0, 100));
  }  // closed with ~32 MiB unsent
  EXPECT_TRUE(WaitFor([&] { return closed_.load() == 1; }));
  // The listener's factory still holds one reference; the chunks none.
  EXPECT_TRUE(WaitFor([&] { return file_.use_count() == 1; })) << file_.use_count();
}

}  // namespace
}  // namespace runnel::net
