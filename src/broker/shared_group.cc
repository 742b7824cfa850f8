#include "broker/shared_group.h"

namespace runnel::broker {

size_t SubscriberSet::Find(Subscriber s) const {
  if (pos_) {
    auto it = pos_->find(s);
    return it == pos_->end() ? kAbsent : it->second;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i] == s) return i;
  }
  return kAbsent;
}

bool SubscriberSet::Insert(Subscriber s) {
  if (Find(s) != kAbsent) return false;
  members_.push_back(s);
  if (pos_) {
    pos_->emplace(s, static_cast<uint32_t>(members_.size() - 1));
  } else if (members_.size() >= kIndexFrom) {
    pos_ = std::make_unique<std::unordered_map<Subscriber, uint32_t, SubscriberHash>>();
    pos_->reserve(members_.size() * 2);
    for (size_t i = 0; i < members_.size(); ++i) {
      pos_->emplace(members_[i], static_cast<uint32_t>(i));
    }
  }
  return true;
}

bool SubscriberSet::Erase(Subscriber s) {
  const size_t i = Find(s);
  if (i == kAbsent) return false;
  // Swap-remove: order is not part of the contract, O(1) is.
  const Subscriber last = members_.back();
  members_[i] = last;
  members_.pop_back();
  if (pos_) {
    pos_->erase(s);
    if (!(last == s)) (*pos_)[last] = static_cast<uint32_t>(i);
    if (members_.size() < kIndexFrom / 2) pos_.reset();
  }
  // Give memory back once a crowd has left, not on every departure.
  if (members_.capacity() > 2 * kIndexFrom && members_.size() < members_.capacity() / 4) {
    members_.shrink_to_fit();
  }
  return true;
}

Subscriber SharedGroup::Pick() const {
  const uint64_t ticket = next_.fetch_add(1, std::memory_order_relaxed);
  return members_[ticket % members_.size()];
}

}  // namespace runnel::broker
