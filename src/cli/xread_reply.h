// Reading XREAD replies in place, for `runnel bench xread` (a load
// generator must not build a tree of strings for every reply).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace runnel::cli {

// One entry of an XREAD reply: its ID and the value of its first field.
struct StreamEntryView {
  std::string_view id;
  std::string_view value;
};

// Walks one complete XREAD reply frame (RESP2 array or RESP3 map of
// streams, each an array of [id, [field, value, ...]]) and appends every
// entry to `*entries`. A null reply (the BLOCK timed out) yields none.
// False if the frame is not shaped like an XREAD reply (`*why` says how).
bool ParseXReadReply(std::string_view frame, std::vector<StreamEntryView>* entries,
                     std::string* why);

}  // namespace runnel::cli
