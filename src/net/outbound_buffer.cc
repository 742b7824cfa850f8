#include "net/outbound_buffer.h"

#include <unistd.h>

#include <cerrno>

namespace runnel::net {
namespace {

// Sent chunks' memory, kept for the next chunk a connection on this thread
// starts. Freeing a 16 KiB chunk often lets glibc trim its arena (an
// madvise per write) and the next chunk then faults the pages in again:
// ~7% of an io thread's time in 1 KiB pub/sub (docs/benchmarks.md).
thread_local std::vector<std::string> spare_chunks;
constexpr size_t kMaxSpareChunks = 64;  // 1-4 MiB per io thread (16-64 KiB each)

std::string NewChunk() {
  if (spare_chunks.empty()) {
    std::string c;
    c.reserve(OutboundBuffer::kChunkBytes);
    return c;
  }
  std::string c = std::move(spare_chunks.back());
  spare_chunks.pop_back();
  return c;
}

void Recycle(std::string&& c) {
  // Chunks of 1-4 times NewChunk's size are kept (a tail that grew, a big
  // payload's own chunk); smaller and larger ones are freed.
  if (spare_chunks.size() >= kMaxSpareChunks || c.capacity() < OutboundBuffer::kChunkBytes ||
      c.capacity() > 4 * OutboundBuffer::kChunkBytes) {
    return;
  }
  c.clear();
  spare_chunks.push_back(std::move(c));
}

}  // namespace

std::string& OutboundBuffer::Tail() {
  if (chunks_.size() <= sealed_ || chunks_.back().is_file() ||
      chunks_.back().bytes.size() >= kChunkBytes) {
    chunks_.emplace_back().bytes = NewChunk();
  }
  return chunks_.back().bytes;
}

void OutboundBuffer::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (bytes.size() >= kChunkBytes) {
    chunks_.push_back(Chunk{std::string(bytes), {}});  // big payloads: their own chunk
  } else {
    Tail().append(bytes);
  }
  bytes_ += bytes.size();
}

void OutboundBuffer::AppendFile(FileChunk file) {
  if (file.length == 0) return;
  bytes_ += file.length;
  chunks_.push_back(Chunk{{}, std::move(file)});
}

FileChunk OutboundBuffer::FrontFile() const {
  FileChunk f = chunks_.front().file;
  f.offset += front_offset_;
  f.length -= front_offset_;
  return f;
}

bool OutboundBuffer::ReadFrontFile() {
  const FileChunk f = FrontFile();
  std::string bytes(f.length, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::pread(f.fd, bytes.data() + done, bytes.size() - done,
                              static_cast<off_t>(f.offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  chunks_.front() = Chunk{std::move(bytes), {}};
  front_offset_ = 0;
  return true;
}

const std::vector<boost::asio::const_buffer>& OutboundBuffer::Gather() {
  gather_.clear();
  size_t n = std::min(chunks_.size(), kMaxBuffersPerWrite);
  size_t i = 0;
  for (; i < n && !chunks_[i].is_file(); ++i) {
    const std::string& c = chunks_[i].bytes;
    size_t skip = i == 0 ? front_offset_ : 0;
    gather_.emplace_back(c.data() + skip, c.size() - skip);
  }
  sealed_ = i;
  return gather_;
}

void OutboundBuffer::Consume(size_t n) {
  bytes_ -= n;
  // Sent chunks go, empty ones too: one left in front of a file chunk would
  // make every Gather an empty write.
  while (!chunks_.empty()) {
    size_t left = chunks_.front().size() - front_offset_;
    if (n < left) {
      front_offset_ += n;
      break;
    }
    n -= left;
    Recycle(std::move(chunks_.front().bytes));
    chunks_.pop_front();
    front_offset_ = 0;
  }
  sealed_ = 0;
}

void OutboundBuffer::Clear() {
  chunks_.clear();
  front_offset_ = 0;
  bytes_ = 0;
  sealed_ = 0;
}

}  // namespace runnel::net
