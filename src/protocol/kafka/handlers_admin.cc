// ApiVersions, Metadata, ListOffsets, FindCoordinator, CreateTopics,
// DeleteTopics: answered at once on the io thread (topic administration
// takes the Log's registry lock and writes its meta topic; ListOffsets by
// timestamp reads an index and one batch, a bounded pread each).
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/names.h"
#include "protocol/kafka/wire.h"

#include <charconv>

namespace runnel::kafka {

bool KafkaSession::HandleApiVersions(const RequestHeader& h) {
  // The v3 body (client software name and version) is not needed.
  uint64_t slot = Reserve();
  // The ApiVersions response header is v0 even for flexible v3.
  Respond(slot, h, false, [&](std::string* out) {
    ApiVersionsResponse r;
    auto apis = SupportedApis();
    r.apis.assign(apis.begin(), apis.end());
    EncodeApiVersions(r, h.api_version, out);
  });
  return true;
}

bool KafkaSession::HandleMetadata(const RequestHeader& h, std::string_view body) {
  MetadataRequest req;
  if (!DecodeMetadata(body, h.api_version, &req)) return false;
  MetadataResponse r;
  r.node_id = ctx_->node_id;
  r.host = listener_->advertised_host;
  r.port = listener_->advertised_port;
  r.cluster_id = "runnel";
  auto add = [&](const TopicInfo& t) {
    auto& topic = r.topics.emplace_back();
    topic.name = t.name;
    for (int32_t p = 0; p < t.config.partitions; ++p)
      topic.partitions.push_back({ErrorCode::kNone, p});
  };
  auto topics = ctx_->log->ListTopics();
  if (!req.topics) {
    if (topics.ok()) {
      for (const TopicInfo& t : *topics) {
        // A name Kafka cannot express is not listed, nor runnel's internal topics.
        if (IsKafkaTopicName(t.name) && !t.name.starts_with("__runnel.")) add(t);
      }
    }
  } else {
    for (std::string_view name : *req.topics) {
      if (!IsKafkaTopicName(name)) {
        r.topics.push_back({ErrorCode::kInvalidTopic, std::string(name), {}});
        continue;
      }
      const TopicInfo* found = nullptr;
      if (topics.ok()) {
        for (const TopicInfo& t : *topics) {
          if (t.name == name) found = &t;
        }
      }
      if (found) {
        add(*found);
        continue;
      }
      if (req.allow_auto_topic_creation && ctx_->auto_create_topics) {
        const TopicConfig config = ctx_->ConfigFor(name);
        Status st = ctx_->log->CreateTopic(name, config);
        if (st.ok() || st.Is(StatusCode::kAlreadyExists)) {
          ctx_->topics_generation++;
          if (st.ok()) ctx_->Created(name);
          // Ready at once on a single node: no LEADER_NOT_AVAILABLE round.
          TopicInfo info;
          info.name = std::string(name);
          auto d = ctx_->log->DescribeTopic(name);
          info.config = d.ok() ? d->config : config;
          add(info);
          continue;
        }
        r.topics.push_back({ErrorFromStatus(st), std::string(name), {}});
        continue;
      }
      r.topics.push_back({ErrorCode::kUnknownTopicOrPartition, std::string(name), {}});
    }
  }
  Respond(Reserve(), h, false, [&](std::string* out) { EncodeMetadata(r, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleListOffsets(const RequestHeader& h, std::string_view body) {
  ListOffsetsRequest req;
  if (!DecodeListOffsets(body, h.api_version, &req)) return false;
  ListOffsetsResponse r;
  for (const auto& t : req.topics) {
    auto& topic = r.topics.emplace_back();
    topic.name = std::string(t.name);
    for (const auto& p : t.partitions) {
      auto& part = topic.partitions.emplace_back();
      part.index = p.index;
      Status st;
      Reader* reader = IsKafkaTopicName(t.name) ? ReaderFor(topic.name, p.index, &st) : nullptr;
      if (!reader) {
        part.error = ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      auto offsets = reader->Offsets();
      if (!offsets.ok()) {
        part.error = ErrorFromStatus(offsets.status());
        continue;
      }
      if (p.timestamp == -1) {  // LATEST: the high-water mark (= LSO, no transactions)
        part.offset = offsets->end_offset;
      } else if (p.timestamp == -2) {  // EARLIEST
        part.offset = offsets->start_offset;
      } else if (p.timestamp < 0) {
        part.error = ErrorCode::kInvalidRequest;
      } else {
        // The first record whose timestamp is >= t, or -1 when none is.
        st = reader->Seek(StartPosition::Timestamp(p.timestamp));
        ReadBatch batch;
        if (st.ok()) st = reader->ReadInto(&batch, 64 << 10);
        if (st.ok() && !batch.empty()) {
          part.offset = batch[0].offset;
          part.timestamp = batch[0].timestamp_ms;
        } else if (st.Is(StatusCode::kNotSupported)) {
          // Compressed batches: answer the first batch whose max timestamp
          // reaches t (its base offset), as records inside are not decoded.
          std::string raw;
          st = reader->Seek(StartPosition::Timestamp(p.timestamp));
          while (st.ok()) {
            raw.clear();
            st = reader->ReadRawInto(&raw, 1, true);
            if (!st.ok() || raw.size() < 43) break;
            Decoder d(raw);
            int64_t base = d.Int64();
            d.Take(35 - 8);
            int64_t max_ts = d.Int64();
            if (max_ts >= p.timestamp) {
              part.offset = base;
              part.timestamp = max_ts;
              break;
            }
          }
          if (!st.ok()) part.error = ErrorFromStatus(st);
        } else if (!st.ok()) {
          part.error = ErrorFromStatus(st);
        }
      }
    }
  }
  Respond(Reserve(), h, false, [&](std::string* out) { EncodeListOffsets(r, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleFindCoordinator(const RequestHeader& h, std::string_view body) {
  FindCoordinatorRequest req;
  if (!DecodeFindCoordinator(body, h.api_version, &req)) return false;
  FindCoordinatorResponse r;
  // Single node: the coordinator of every group (key type 0) is this broker.
  r.error = req.key_type == 0 || req.key_type == 1 ? ErrorCode::kNone : ErrorCode::kInvalidRequest;
  r.node_id = ctx_->node_id;
  r.host = listener_->advertised_host;
  r.port = listener_->advertised_port;
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeFindCoordinator(r, h.api_version, out); });
  return true;
}

namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Kafka topic configs -> TopicConfig (docs/protocols/kafka.md "Topic configs").
Status ApplyConfig(std::string_view name, std::string_view value, TopicConfig* c) {
  int64_t n = 0;
  auto number = [&](auto* field) {
    if (!ParseInt(value, &n)) {
      return Status::InvalidArgument("Invalid value " + std::string(value) + " for configuration " +
                                     std::string(name));
    }
    *field = static_cast<std::remove_pointer_t<decltype(field)>>(n);
    return Status::OK();
  };
  if (name == "retention.ms") return number(&c->retention_ms);
  if (name == "retention.bytes") return number(&c->retention_bytes);
  if (name == "max.message.bytes") return number(&c->max_message_bytes);
  if (name == "segment.bytes") return number(&c->segment_bytes);
  if (name == "segment.ms") return number(&c->segment_ms);
  if (name == "delete.retention.ms") return number(&c->delete_retention_ms);
  if (name == "cleanup.policy") {
    if (value == "delete") {
      c->compact = false;
    } else if (value == "compact" || value == "compact,delete" || value == "delete,compact") {
      c->compact = true;
    } else {
      return Status::InvalidArgument("Invalid value " + std::string(value) +
                                     " for configuration cleanup.policy");
    }
    return Status::OK();
  }
  return Status::InvalidArgument("Unknown topic config name: " + std::string(name));
}

}  // namespace

bool KafkaSession::HandleCreateTopics(const RequestHeader& h, std::string_view body) {
  CreateTopicsRequest req;
  if (!DecodeCreateTopics(body, h.api_version, &req)) return false;
  std::vector<TopicResult> results;
  for (const auto& t : req.topics) {
    TopicResult& res = results.emplace_back();
    res.name = std::string(t.name);
    auto fail = [&](ErrorCode code, std::string message) {
      res.error = code;
      res.message = std::move(message);
    };
    if (!IsKafkaTopicName(t.name)) {
      fail(ErrorCode::kInvalidTopic, "Topic name '" + res.name + "' is illegal");
      continue;
    }
    TopicConfig config = ctx_->ConfigFor(t.name);
    if (t.assignments > 0 && (t.num_partitions != -1 || t.replication_factor != -1)) {
      fail(ErrorCode::kInvalidRequest,
           "Both numPartitions or replicationFactor and replicasAssignments were set.");
      continue;
    }
    if (t.assignments > 0) {
      config.partitions = t.assignments;
    } else if (t.num_partitions != -1) {
      if (t.num_partitions < 1 || t.num_partitions > kMaxPartitions) {
        fail(ErrorCode::kInvalidPartitions,
             "Number of partitions must be in 1.." + std::to_string(kMaxPartitions));
        continue;
      }
      config.partitions = t.num_partitions;
    }
    if (t.replication_factor != -1 && t.replication_factor != 1) {
      fail(ErrorCode::kInvalidReplicationFactor,
           "Replication factor: " + std::to_string(t.replication_factor) +
               " larger than available brokers: 1.");
      continue;
    }
    Status st;
    for (const auto& c : t.configs) {
      if (!c.value) continue;  // null: the default
      st = ApplyConfig(c.name, *c.value, &config);
      if (!st.ok()) break;
    }
    if (st.ok()) st = config.Validate();
    if (!st.ok()) {
      fail(ErrorCode::kInvalidConfig, st.message());
      continue;
    }
    if (req.validate_only) {
      if (ctx_->log->DescribeTopic(t.name).ok()) {
        fail(ErrorCode::kTopicAlreadyExists, "Topic '" + res.name + "' already exists.");
      }
      continue;
    }
    st = ctx_->log->CreateTopic(t.name, config);
    ctx_->topics_generation++;
    if (st.ok()) ctx_->Created(t.name);
    if (st.Is(StatusCode::kAlreadyExists)) {
      fail(ErrorCode::kTopicAlreadyExists, "Topic '" + res.name + "' already exists.");
    } else if (!st.ok()) {
      fail(st.Is(StatusCode::kInvalidArgument) ? ErrorCode::kInvalidConfig : ErrorFromStatus(st),
           st.message());
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeCreateTopics(results, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleDeleteTopics(const RequestHeader& h, std::string_view body) {
  DeleteTopicsRequest req;
  if (!DecodeDeleteTopics(body, h.api_version, &req)) return false;
  std::vector<TopicResult> results;
  for (std::string_view name : req.names) {
    TopicResult& res = results.emplace_back();
    res.name = std::string(name);
    if (!IsKafkaTopicName(name)) {
      res.error = ErrorCode::kInvalidTopic;
      continue;
    }
    Status st = ctx_->Delete(name);
    ctx_->topics_generation++;
    res.error = ErrorFromStatus(st);
  }
  CheckGeneration();
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeDeleteTopics(results, h.api_version, out); });
  return true;
}

}  // namespace runnel::kafka
