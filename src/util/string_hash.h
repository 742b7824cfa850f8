// StringHash: a transparent hash, so unordered containers keyed by
// std::string can be probed with a std::string_view without building a
// string (pair it with std::equal_to<>).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace runnel {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace runnel
