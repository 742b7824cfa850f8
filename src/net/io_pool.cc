#include "net/io_pool.h"

namespace runnel::net {
namespace {
thread_local int current_index = -1;
}

IoPool::IoPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    // concurrency_hint 1: each context is run by exactly one thread, so Asio
    // can skip internal locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() { Stop(); }

void IoPool::Start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      current_index = static_cast<int>(i);
      contexts_[i]->run();
    });
  }
}

void IoPool::Stop() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

int IoPool::CurrentIndex() { return current_index; }

}  // namespace runnel::net
