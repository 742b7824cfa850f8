#include "broker/broker.h"

#include <random>

namespace runnel::broker {

namespace {

std::string RandomHex(size_t n) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (char& c : out) c = kHex[rd() & 15];
  return out;
}

}  // namespace

Broker::Broker(uint32_t threads, Router::Post post, int64_t max_clients)
    : post_(post),
      router_(threads, std::move(post)),
      clients_(max_clients),
      run_id_(RandomHex(40)) {
  for (uint32_t t = 0; t < threads; ++t) {
    local_.push_back(std::make_unique<LocalClients>());
    router_.SetSink(t, local_.back().get());
  }
}

}  // namespace runnel::broker
