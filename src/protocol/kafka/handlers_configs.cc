// CreatePartitions (grow a topic) and DescribeConfigs (a topic's TopicConfig
// in Kafka's config names; a small fixed set for the broker). Answered at
// once on the io thread: CreatePartitions takes the Log's admin lock and
// writes the meta topic, as CreateTopics does.
#include "protocol/kafka/admin_messages.h"
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/names.h"

#include <algorithm>

namespace runnel::kafka {

bool KafkaSession::HandleCreatePartitions(const RequestHeader& h, std::string_view body) {
  CreatePartitionsRequest req;
  if (!DecodeCreatePartitions(body, h.api_version, &req)) return false;
  std::vector<TopicResult> results;
  bool changed = false;
  for (const auto& t : req.topics) {
    TopicResult& res = results.emplace_back();
    res.name = std::string(t.name);
    auto fail = [&](ErrorCode e, std::string message) {
      res.error = e;
      res.message = std::move(message);
    };
    auto info = IsKafkaTopicName(t.name) ? ctx_->log->DescribeTopic(t.name)
                                          : Result<TopicInfo>(Status::NotFound(""));
    if (!info.ok()) {
      if (info.status().Is(StatusCode::kNotFound)) {
        fail(ErrorCode::kUnknownTopicOrPartition, "The topic '" + res.name + "' does not exist.");
      } else {
        fail(ErrorFromStatus(info.status()), info.status().message());
      }
      continue;
    }
    const int32_t now = info->config.partitions;
    if (t.count <= now) {
      fail(ErrorCode::kInvalidPartitions,
           t.count == now ? "Topic already has " + std::to_string(now) + " partitions."
                          : "Topic currently has " + std::to_string(now) +
                                " partitions, which is higher than the requested " +
                                std::to_string(t.count) + ".");
      continue;
    }
    if (t.count > kMaxPartitions) {
      fail(ErrorCode::kInvalidPartitions,
           "Number of partitions must be at most " + std::to_string(kMaxPartitions) + ".");
      continue;
    }
    // A single node takes any replica list of itself, but one per new partition.
    if (t.assignments >= 0 && t.assignments != t.count - now) {
      fail(ErrorCode::kInvalidReplicaAssignment,
           "Increasing the number of partitions by " + std::to_string(t.count - now) + " but " +
               std::to_string(t.assignments) + " assignments provided.");
      continue;
    }
    if (req.validate_only) continue;
    Status st = ctx_->log->CreatePartitions(t.name, t.count);
    if (!st.ok()) {
      fail(st.Is(StatusCode::kInvalidArgument) ? ErrorCode::kInvalidPartitions
                                               : ErrorFromStatus(st),
           st.message());
      continue;
    }
    changed = true;
  }
  // Sessions drop cached producers, whose partition count is now stale.
  if (changed) ctx_->topics_generation++;
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeCreatePartitions(results, h.api_version, out); });
  return true;
}

namespace {

using Config = DescribeConfigsResponse::Config;

// The topic's settings under Kafka's names. Source "topic" when the value
// differs from the server's default topic config, else "default".
std::vector<Config> TopicConfigs(const TopicConfig& c, const TopicConfig& d) {
  std::vector<Config> out;
  auto add = [&](std::string name, std::string value, bool is_default, bool read_only = false) {
    out.push_back({std::move(name), std::move(value), read_only,
                   is_default ? kSourceDefault : kSourceTopic, false});
  };
  auto num = [&](const char* name, int64_t v, int64_t def) {
    add(name, std::to_string(v), v == def);
  };
  add("cleanup.policy", c.compact ? "compact" : "delete", c.compact == d.compact);
  num("retention.ms", c.retention_ms, d.retention_ms);
  num("retention.bytes", c.retention_bytes, d.retention_bytes);
  num("segment.bytes", c.segment_bytes, d.segment_bytes);
  num("segment.ms", c.segment_ms, d.segment_ms);
  num("max.message.bytes", c.max_message_bytes, d.max_message_bytes);
  num("delete.retention.ms", c.delete_retention_ms, d.delete_retention_ms);
  // Fixed by runnel's design: one replica, no transactions, CreateTime only.
  add("min.insync.replicas", "1", true, true);
  add("compression.type", "producer", true, true);
  add("message.timestamp.type", "CreateTime", true, true);
  add("unclean.leader.election.enable", "false", true, true);
  return out;
}

std::vector<Config> BrokerConfigs(const KafkaContext& ctx) {
  std::vector<Config> out;
  auto add = [&](std::string name, std::string value) {
    out.push_back({std::move(name), std::move(value), true, kSourceStaticBroker, false});
  };
  add("broker.id", std::to_string(ctx.node_id));
  add("num.partitions", std::to_string(ctx.default_topic_config.partitions));
  add("default.replication.factor", "1");
  add("min.insync.replicas", "1");
  add("auto.create.topics.enable", ctx.auto_create_topics ? "true" : "false");
  // A batch may exceed a topic's per-record limit by its header (61 bytes).
  add("message.max.bytes", std::to_string(int64_t{ctx.default_topic_config.max_message_bytes} + 61));
  add("socket.request.max.bytes", std::to_string(ctx.max_request_bytes));
  return out;
}

}  // namespace

bool KafkaSession::HandleDescribeConfigs(const RequestHeader& h, std::string_view body) {
  DescribeConfigsRequest req;
  if (!DecodeDescribeConfigs(body, h.api_version, &req)) return false;
  DescribeConfigsResponse r;
  for (const auto& res : req.resources) {
    auto& out = r.results.emplace_back();
    out.type = res.type;
    out.name = std::string(res.name);
    std::vector<Config> all;
    if (res.type == kResourceTopic) {
      auto info = IsKafkaTopicName(res.name) ? ctx_->log->DescribeTopic(res.name)
                                              : Result<TopicInfo>(Status::NotFound(""));
      if (!info.ok()) {
        out.error = info.status().Is(StatusCode::kNotFound) ? ErrorCode::kUnknownTopicOrPartition
                                                            : ErrorFromStatus(info.status());
        out.message = info.status().Is(StatusCode::kNotFound)
                          ? "Topic " + out.name + " does not exist."
                          : info.status().message();
        continue;
      }
      all = TopicConfigs(info->config, ctx_->default_topic_config);
    } else if (res.type == kResourceBroker) {
      if (!res.name.empty() && res.name != std::to_string(ctx_->node_id)) {
        out.error = ErrorCode::kInvalidRequest;
        out.message = "Unexpected broker id, expected " + std::to_string(ctx_->node_id) +
                      " but received " + out.name;
        continue;
      }
      all = BrokerConfigs(*ctx_);
    } else {
      out.error = ErrorCode::kInvalidRequest;
      out.message = "Unsupported resource type " + std::to_string(res.type);
      continue;
    }
    for (Config& c : all) {
      // Asked-for names that runnel does not have are left out, as Kafka does.
      if (res.keys && std::find(res.keys->begin(), res.keys->end(), c.name) == res.keys->end()) {
        continue;
      }
      out.configs.push_back(std::move(c));
    }
  }
  Respond(Reserve(), h, false, [&](std::string* out) {
    EncodeDescribeConfigs(r, h.api_version, req.include_synonyms, out);
  });
  return true;
}

}  // namespace runnel::kafka
