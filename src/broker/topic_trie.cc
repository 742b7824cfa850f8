#include "broker/topic_trie.h"

#include <string>

namespace runnel::broker {

Status ValidateTopicFilter(std::string_view filter) {
  if (filter.empty()) return Status::InvalidArgument("empty topic filter");
  if (filter.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("topic filter contains NUL");
  }
  size_t pos = 0;
  while (true) {
    size_t end = filter.find('/', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = filter.size();
    const std::string_view level = filter.substr(pos, end - pos);
    if (level.size() > 1 && level.find_first_of("+#") != std::string_view::npos) {
      // [MQTT-4.7.1-2], [MQTT-4.7.1-3]: wildcards are whole levels.
      return Status::InvalidArgument("wildcard must be a whole level in topic filter '" +
                                     std::string(filter) + "'");
    }
    if (level == "#" && !last) {
      return Status::InvalidArgument("'#' must be the last level in topic filter '" +
                                     std::string(filter) + "'");
    }
    if (last) return Status::OK();
    pos = end + 1;
  }
}

Result<SharedSubscription> ParseSharedSubscription(std::string_view s) {
  if (!IsSharedSubscription(s)) {
    return Status::InvalidArgument("not a shared subscription: '" + std::string(s) + "'");
  }
  const std::string_view rest = s.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view group = rest.substr(0, slash);
  if (group.empty() || group.find_first_of("+#") != std::string_view::npos) {
    return Status::InvalidArgument("bad share name in '" + std::string(s) +
                                   "' (one or more bytes, no '/', '+' or '#')");
  }
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument("no topic filter after the share name in '" + std::string(s) +
                                   "'");
  }
  const std::string_view filter = rest.substr(slash + 1);
  if (Status st = ValidateTopicFilter(filter); !st.ok()) return st;
  return SharedSubscription{group, filter};
}

}  // namespace runnel::broker
