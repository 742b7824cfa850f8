// OutboundBuffer: bytes queued for one connection, sent with one gathered
// write per wake-up. Small replies are appended into the tail chunk; large
// payloads get their own chunk. Byte accounting drives the output limits.
// Owned by one connection; used only on its io thread.
#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::net {

class OutboundBuffer {
 public:
  static constexpr size_t kChunkBytes = 16 << 10;
  static constexpr size_t kMaxBuffersPerWrite = 64;

  void Append(std::string_view bytes);
  // Calls write(std::string&) to append small replies in place (the RESP
  // writer's shape) and accounts for what it added.
  template <typename F>
  void AppendWith(F&& write) {
    std::string& tail = Tail();
    const size_t before = tail.size();
    write(tail);
    bytes_ += tail.size() - before;
  }
  // Bytes still queued (written bytes are subtracted by Consume).
  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // The next buffers to write (at most kMaxBuffersPerWrite). Stable until
  // Consume: appends during a write go to chunks after the ones returned.
  const std::vector<boost::asio::const_buffer>& Gather();
  void Consume(size_t n);
  void Clear();

 private:
  std::string& Tail();  // the chunk small appends go to

  std::deque<std::string> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already written
  size_t bytes_ = 0;
  size_t sealed_ = 0;  // chunks_[0, sealed_) are in flight: no appends
  std::vector<boost::asio::const_buffer> gather_;
};

}  // namespace runnel::net
