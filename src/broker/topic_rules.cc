#include "broker/topic_rules.h"

#include "broker/glob_match.h"

namespace runnel::broker {

const TopicRule* TopicRules::Match(std::string_view name) const {
  for (const TopicRule& r : rules_) {
    if (GlobMatch(r.pattern, name)) return &r;
  }
  return nullptr;
}

const TopicConfig& TopicRules::ConfigFor(std::string_view name) const {
  const TopicRule* r = Match(name);
  return r ? r->config : defaults_;
}

bool TopicRules::Durable(std::string_view name) const {
  const TopicRule* r = Match(name);
  return r && r->durable;
}

}  // namespace runnel::broker
