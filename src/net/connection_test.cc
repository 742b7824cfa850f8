// Connections over real loopback sockets: an echo-lines session, pipelining,
// a client that does not read, and clean close.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <thread>

#include "net/listener.h"

namespace runnel::net {
namespace {

namespace asio = boost::asio;

// Replies to each "\n"-terminated line with the line; "quit" closes.
class EchoSession : public Session {
 public:
  EchoSession(Connection& conn, std::atomic<int>* closed, std::atomic<size_t>* largest_input)
      : conn_(conn), closed_(closed), largest_input_(largest_input) {}
  Action OnInput(std::string_view in, size_t* consumed, size_t*) override {
    if (in.size() > largest_input_->load()) largest_input_->store(in.size());
    size_t pos = 0;
    for (size_t nl; (nl = in.find('\n', pos)) != std::string_view::npos; pos = nl + 1) {
      std::string_view line = in.substr(pos, nl - pos);
      if (line == "quit") {
        conn_.out().Append("bye\n");
        *consumed = nl + 1;
        return Action::kCloseAfterFlush;
      }
      conn_.out().AppendWith([&](std::string& s) {
        s.append(line);
        s.push_back('\n');
      });
    }
    *consumed = pos;
    return Action::kContinue;
  }
  void OnClose() override { closed_->fetch_add(1); }

 private:
  Connection& conn_;
  std::atomic<int>* closed_;
  std::atomic<size_t>* largest_input_;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ListenerConfig config;
    config.name = "echo";
    config.limits.pause_reading_above = 1 << 20;
    listener_ = std::make_unique<Listener>(&pool_, config, [this](Connection& c) {
      return std::make_unique<EchoSession>(c, &closed_, &largest_input_);
    });
    ASSERT_TRUE(listener_->Start().ok());
    pool_.Start();
  }
  void TearDown() override {
    listener_->Stop();
    pool_.Stop();
  }
  asio::ip::tcp::socket Connect() {
    asio::ip::tcp::socket s(client_ctx_);
    s.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
    return s;
  }

  IoPool pool_{2};
  std::unique_ptr<Listener> listener_;
  std::atomic<int> closed_{0};
  std::atomic<size_t> largest_input_{0};
  asio::io_context client_ctx_;
};

TEST_F(ConnectionTest, PipelinedLinesComeBackInOrder) {
  auto s = Connect();
  std::string sent;
  for (int i = 0; i < 10000; ++i) sent += "line " + std::to_string(i) + "\n";
  asio::write(s, asio::buffer(sent));  // one write, many commands
  std::string got(sent.size(), '\0');
  asio::read(s, asio::buffer(got));
  EXPECT_EQ(got, sent);
}

// A partial command is pending (kept in the connection's own buffer) when a
// burst arrives: the session must get the burst in one piece, not one
// 16 KiB read at a time (each piece would cost its replies a write).
TEST_F(ConnectionTest, ABurstBehindAPartialCommandArrivesWhole) {
  auto s = Connect();
  asio::write(s, asio::buffer(std::string("a\npartial")));
  std::string got(2, '\0');
  asio::read(s, asio::buffer(got));  // "a\n": the partial line is now held
  std::string burst = " line\n";
  while (burst.size() < (100u << 10)) burst += std::string(99, 'y') + "\n";
  largest_input_.store(0);
  asio::write(s, asio::buffer(burst));
  std::string echoed(burst.size() + 7, '\0');
  asio::read(s, asio::buffer(echoed));
  EXPECT_EQ(echoed, "partial" + burst);
  // Loopback delivers a 100 KiB write in 64 KiB segments or larger.
  EXPECT_GE(largest_input_.load(), 64u << 10);
}

TEST_F(ConnectionTest, QuitFlushesTheReplyThenCloses) {
  auto s = Connect();
  asio::write(s, asio::buffer(std::string("a\nquit\nignored\n")));
  std::string got;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(got, "a\nbye\n");
  for (int i = 0; i < 100 && closed_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(closed_.load(), 1);
}

TEST_F(ConnectionTest, AClientThatNeverReadsDoesNotGrowServerMemoryWithoutBound) {
  auto s = Connect();
  // Send far more than the pause threshold plus socket buffers; the server
  // must stop reading rather than queue it all.
  std::string chunk(64 << 10, 'x');
  chunk.back() = '\n';
  s.non_blocking(true);
  size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline && sent < (256u << 20)) {
    boost::system::error_code ec;
    size_t n = s.write_some(asio::buffer(chunk), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    ASSERT_FALSE(ec) << ec.message();
    sent += n;
  }
  // Socket buffers hold a few MB at most: the server stopped reading long
  // before 256 MB.
  EXPECT_LT(sent, 64u << 20);
}

TEST_F(ConnectionTest, PeerCloseEndsTheSession) {
  {
    auto s = Connect();
    asio::write(s, asio::buffer(std::string("x\n")));
    std::string got(2, '\0');
    asio::read(s, asio::buffer(got));
  }
  for (int i = 0; i < 200 && closed_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(closed_.load(), 1);
}

}  // namespace
}  // namespace runnel::net
