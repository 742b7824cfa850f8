#include "net/outbound_buffer.h"

namespace runnel::net {

std::string& OutboundBuffer::Tail() {
  if (chunks_.size() <= sealed_ || chunks_.back().size() >= kChunkBytes) {
    chunks_.emplace_back();
    chunks_.back().reserve(kChunkBytes);
  }
  return chunks_.back();
}

void OutboundBuffer::Append(std::string_view bytes) {
  if (bytes.size() >= kChunkBytes) {
    chunks_.emplace_back(bytes);  // big payloads: their own chunk, no re-copy
  } else {
    Tail().append(bytes);
  }
  bytes_ += bytes.size();
}

const std::vector<boost::asio::const_buffer>& OutboundBuffer::Gather() {
  gather_.clear();
  size_t n = std::min(chunks_.size(), kMaxBuffersPerWrite);
  for (size_t i = 0; i < n; ++i) {
    const std::string& c = chunks_[i];
    size_t skip = i == 0 ? front_offset_ : 0;
    gather_.emplace_back(c.data() + skip, c.size() - skip);
  }
  sealed_ = n;
  return gather_;
}

void OutboundBuffer::Consume(size_t n) {
  bytes_ -= n;
  while (n > 0 && !chunks_.empty()) {
    size_t left = chunks_.front().size() - front_offset_;
    if (n < left) {
      front_offset_ += n;
      break;
    }
    n -= left;
    chunks_.pop_front();
    front_offset_ = 0;
    if (sealed_ > 0) --sealed_;
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
