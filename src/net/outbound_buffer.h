// OutboundBuffer: bytes queued for one connection, sent with one gathered
// write per wake-up. Small replies are appended into the tail chunk; large
// payloads get their own chunk. A chunk may also name a range of an open
// file (AppendFile), sent in its place in the order with sendfile(2) by a
// plain TCP connection. Byte accounting (file bytes included) drives the
// output limits. Owned by one connection; used only on its io thread.
#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::net {

// Bytes [offset, offset + length) of descriptor fd; `keep` holds it open
// until the chunk is sent or dropped.
struct FileChunk {
  std::shared_ptr<const void> keep;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

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
  // Queues a file range after everything appended so far; its length counts
  // in size() like bytes. An empty range is dropped.
  void AppendFile(FileChunk file);
  // Bytes still queued (written bytes are subtracted by Consume).
  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // True when the next bytes to send are a file range: send FrontFile()
  // then Consume what was sent. Otherwise Gather gives the memory chunks.
  bool front_is_file() const { return !chunks_.empty() && chunks_.front().is_file(); }
  // The front file range with its sent bytes skipped.
  FileChunk FrontFile() const;
  // Replaces the front file range by its bytes, read with pread, for a
  // stream that cannot send files (TLS). false: the read failed or the
  // file was shorter than the range.
  bool ReadFrontFile();

  // The next buffers to write (at most kMaxBuffersPerWrite, none past a
  // file range). Stable until Consume: appends during a write go to chunks
  // after the ones returned.
  const std::vector<boost::asio::const_buffer>& Gather();
  void Consume(size_t n);
  void Clear();  // drops everything, releasing the files

 private:
  struct Chunk {
    std::string bytes;
    FileChunk file;  // length > 0: this chunk is a file range, bytes unused
    bool is_file() const { return file.length > 0; }
    size_t size() const { return is_file() ? file.length : bytes.size(); }
  };
  std::string& Tail();  // the chunk small appends go to

  std::deque<Chunk> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already written
  size_t bytes_ = 0;
  size_t sealed_ = 0;  // chunks_[0, sealed_) are in flight: no appends
  std::vector<boost::asio::const_buffer> gather_;
};

}  // namespace runnel::net
