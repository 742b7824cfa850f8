#include "broker/glob_index.h"

namespace runnel::broker::glob_index_internal {

uint64_t PrefixHasher::value() const {
  uint64_t x = state_;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t HashPrefix(std::string_view prefix) {
  PrefixHasher hasher;
  hasher.Add(prefix);
  return hasher.value();
}

}  // namespace runnel::broker::glob_index_internal
