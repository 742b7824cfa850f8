#include "protocol/kafka/group.h"

#include <algorithm>

namespace runnel::kafka {

std::string_view GroupStateName(GroupState s) {
  switch (s) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

const std::string* GroupMember::MetadataFor(std::string_view protocol) const {
  for (const auto& [name, metadata] : protocols) {
    if (name == protocol) return &metadata;
  }
  return nullptr;
}

bool Group::AllMembersJoined() const {
  if (!pending.empty()) return false;  // Kafka waits for members told MEMBER_ID_REQUIRED too
  return std::all_of(members.begin(), members.end(),
                     [](const auto& m) { return static_cast<bool>(m.second.awaiting_join); });
}

bool Group::IsFenced(std::string_view member_id,
                     const std::optional<std::string_view>& instance_id) const {
  if (!instance_id) return false;
  auto it = static_members.find(*instance_id);
  return it != static_members.end() && it->second != member_id;
}

int32_t Group::MaxRebalanceTimeoutMs() const {
  int32_t max = 0;
  for (const auto& [id, m] : members) max = std::max(max, m.rebalance_timeout_ms);
  return max;
}

namespace {

bool SupportedByAll(const std::map<std::string, GroupMember, std::less<>>& members,
                    std::string_view protocol, std::string_view except) {
  for (const auto& [id, m] : members) {
    if (id != except && !m.MetadataFor(protocol)) return false;
  }
  return true;
}

}  // namespace

std::string Group::SelectProtocol() const {
  if (members.empty()) return "";
  const GroupMember* oldest = nullptr;
  for (const auto& [id, m] : members) {
    if (!oldest || m.joined_seq < oldest->joined_seq) oldest = &m;
  }
  std::vector<std::string> candidates;  // in the oldest member's order
  for (const auto& p : oldest->protocols) {
    if (SupportedByAll(members, p.first, "")) candidates.push_back(p.first);
  }
  if (candidates.empty()) return "";
  std::map<std::string, int, std::less<>> votes;
  for (const auto& [id, m] : members) {
    for (const auto& p : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.first) != candidates.end()) {
        votes[p.first]++;
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (const std::string& c : candidates) {
    if (votes[c] > votes[best]) best = c;
  }
  return best;
}

bool Group::AcceptsProtocols(std::string_view type,
                             const std::vector<std::pair<std::string, std::string>>& protocols,
                             std::string_view self) const {
  if (type.empty() || protocols.empty()) return false;
  bool others = false;
  for (const auto& [id, m] : members) others = others || id != self;
  if (!others) return true;
  if (type != protocol_type) return false;
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const auto& p) { return SupportedByAll(members, p.first, self); });
}

}  // namespace runnel::kafka
