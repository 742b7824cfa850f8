// Topic names between Kafka and runnel (docs/protocols/kafka.md "Names").
// One namespace: a Kafka name is the runnel name, byte for byte. Kafka
// allows only [a-zA-Z0-9._-]{1,249}, not "." or ".."; a runnel topic whose
// name Kafka cannot express is not listed by Metadata and cannot be named
// by a Kafka request (INVALID_TOPIC_EXCEPTION) — never renamed.
#pragma once

#include <string_view>

namespace runnel::kafka {

inline constexpr size_t kMaxKafkaTopicName = 249;

bool IsKafkaTopicName(std::string_view name);

}  // namespace runnel::kafka
