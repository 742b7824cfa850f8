// SpareBuffers: an io thread's stack of byte buffers that connections hand
// back when a burst is over and take again for the next one, instead of
// freeing and allocating them. A freed 64-256 KiB buffer lets glibc give its
// pages back (trim or munmap), and the next one faults them in again and
// zero-fills them: in streaming TLS pub/sub at 1 KiB that was tens of
// thousands of page faults per second on one io thread. Idle connections
// still hold nothing; the thread holds at most kMaxBuffers.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace runnel::net {

class SpareBuffers {
 public:
  static constexpr size_t kMaxBuffers = 8;
  static constexpr size_t kMaxBufferBytes = 512 << 10;  // at most 4 MiB per thread

  // Gives `*buf` a spare's storage (size and contents as the spare left
  // them) if a spare is larger than what it has; otherwise leaves it.
  static void Take(std::string* buf) {
    auto& spares = Stack();
    if (spares.empty() || spares.back().capacity() <= buf->capacity()) return;
    *buf = std::move(spares.back());
    spares.pop_back();
  }
  // Takes `*buf`'s storage (when it is worth keeping) and leaves it empty,
  // holding no memory.
  static void Give(std::string* buf) {
    auto& spares = Stack();
    if (spares.size() < kMaxBuffers && buf->capacity() >= kMinBufferBytes &&
        buf->capacity() <= kMaxBufferBytes) {
      spares.push_back(std::move(*buf));
    }
    std::string().swap(*buf);
  }

 private:
  static constexpr size_t kMinBufferBytes = 16 << 10;  // smaller ones cost little to redo
  static std::vector<std::string>& Stack() {
    thread_local std::vector<std::string> spares;
    return spares;
  }
};

}  // namespace runnel::net
