// Topic rules: which names are durable topics and with what config, from the
// server's `[[topics]]` config (docs/config.md "Topic rules").
//
// A rule is a Redis glob pattern (glob_match.h) with topic settings. The
// first rule whose pattern matches a name decides for it:
//   - `durable = true`: PUBLISH to the name appends to a durable topic,
//     creating it with the rule's config if it does not exist yet (then fans
//     out); without a rule only names that already are topics are durable.
//   - its settings: the config of every topic the server creates under that
//     name — XADD's streams, PUBLISH's durable topics, Kafka's auto-created
//     and created topics (explicit Kafka configs still win).
// Names no rule matches get the server defaults (`fsync`).
//
// Immutable after construction: any thread may call any method.
#pragma once

#include "runnel/options.h"

#include <string>
#include <string_view>
#include <vector>

namespace runnel::broker {

struct TopicRule {
  std::string pattern;
  bool durable = false;
  TopicConfig config;  // the server default with this rule's settings applied
};

class TopicRules {
 public:
  TopicRules() = default;
  TopicRules(TopicConfig defaults, std::vector<TopicRule> rules)
      : defaults_(std::move(defaults)), rules_(std::move(rules)) {}

  // The first rule matching `name`, or nullptr.
  const TopicRule* Match(std::string_view name) const;
  // The config for a topic named `name` created now.
  const TopicConfig& ConfigFor(std::string_view name) const;
  // Whether a rule makes `name` durable even before the topic exists.
  bool Durable(std::string_view name) const;
  bool empty() const { return rules_.empty(); }
  const std::vector<TopicRule>& rules() const { return rules_; }

 private:
  TopicConfig defaults_;
  std::vector<TopicRule> rules_;
};

}  // namespace runnel::broker
