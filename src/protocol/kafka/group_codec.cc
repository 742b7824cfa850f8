// Group API bodies, field by field in the order of Kafka's message schemas
// (JoinGroupRequest.json ... DescribeGroupsResponse.json). ThrottleTimeMs is
// always 0 (no quotas) and comes first wherever the version has it.
#include "protocol/kafka/group_messages.h"
#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;
int16_t Code(ErrorCode e) { return static_cast<int16_t>(e); }
}  // namespace

bool DecodeJoinGroup(std::string_view body, int16_t version, JoinGroupRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  out->session_timeout_ms = d.Int32();
  out->rebalance_timeout_ms = version >= 1 ? d.Int32() : out->session_timeout_ms;
  out->member_id = d.String(kFlex);
  if (version >= 5) out->group_instance_id = d.NullableString(kFlex);
  out->protocol_type = d.String(kFlex);
  int32_t n = d.ArrayCount(kFlex, 6);
  for (int32_t i = 0; i < n && d.ok(); ++i) {
    JoinGroupRequest::Protocol& p = out->protocols.emplace_back();
    p.name = d.String(kFlex);
    p.metadata = d.NullableBytes(kFlex).value_or("");
  }
  return d.ok();
}

void EncodeJoinGroup(const JoinGroupResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 2) e.Int32(0);  // throttle_time_ms
  e.Int16(Code(r.error));
  e.Int32(r.generation_id);
  e.String(r.protocol_name, kFlex);
  e.String(r.leader, kFlex);
  e.String(r.member_id, kFlex);
  e.ArrayCount(static_cast<int32_t>(r.members.size()), kFlex);
  for (const auto& m : r.members) {
    e.String(m.member_id, kFlex);
    if (version >= 5) {
      e.NullableString(m.group_instance_id ? std::optional<std::string_view>(*m.group_instance_id)
                                           : std::nullopt,
                       kFlex);
    }
    e.Bytes(std::string_view(m.metadata), kFlex);
  }
}

bool DecodeSyncGroup(std::string_view body, int16_t version, SyncGroupRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  out->generation_id = d.Int32();
  out->member_id = d.String(kFlex);
  if (version >= 3) out->group_instance_id = d.NullableString(kFlex);
  int32_t n = d.ArrayCount(kFlex, 6);
  for (int32_t i = 0; i < n && d.ok(); ++i) {
    SyncGroupRequest::Assignment& a = out->assignments.emplace_back();
    a.member_id = d.String(kFlex);
    a.assignment = d.NullableBytes(kFlex).value_or("");
  }
  return d.ok();
}

void EncodeSyncGroup(const SyncGroupResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);
  e.Int16(Code(r.error));
  e.Bytes(std::string_view(r.assignment), kFlex);
}

bool DecodeHeartbeat(std::string_view body, int16_t version, HeartbeatRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  out->generation_id = d.Int32();
  out->member_id = d.String(kFlex);
  if (version >= 3) out->group_instance_id = d.NullableString(kFlex);
  return d.ok();
}

bool DecodeLeaveGroup(std::string_view body, int16_t version, LeaveGroupRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  if (version < 3) {
    out->members.push_back({d.String(kFlex), std::nullopt});
    return d.ok();
  }
  int32_t n = d.ArrayCount(kFlex, 4);
  if (n < 0) return false;
  for (int32_t i = 0; i < n && d.ok(); ++i) {
    LeaveGroupRequest::Member& m = out->members.emplace_back();
    m.member_id = d.String(kFlex);
    m.group_instance_id = d.NullableString(kFlex);
  }
  return d.ok();
}

void EncodeLeaveGroup(const LeaveGroupResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);
  e.Int16(Code(r.error));
  if (version < 3) return;
  e.ArrayCount(static_cast<int32_t>(r.members.size()), kFlex);
  for (const auto& m : r.members) {
    e.String(m.member_id, kFlex);
    e.NullableString(
        m.group_instance_id ? std::optional<std::string_view>(*m.group_instance_id) : std::nullopt,
        kFlex);
    e.Int16(Code(m.error));
  }
}

void EncodeErrorOnly(ErrorCode error, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);
  e.Int16(Code(error));
}

bool DecodeOffsetCommit(std::string_view body, int16_t version, OffsetCommitRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  out->generation_id = d.Int32();
  out->member_id = d.String(kFlex);
  if (version >= 7) out->group_instance_id = d.NullableString(kFlex);
  if (version >= 2 && version <= 4) out->retention_time_ms = d.Int64();
  int32_t topics = d.ArrayCount(kFlex, 6);
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    OffsetCommitRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 14);
    for (int32_t p = 0; p < parts && d.ok(); ++p) {
      OffsetCommitRequest::Partition& part = topic.partitions.emplace_back();
      part.index = d.Int32();
      part.offset = d.Int64();
      if (version >= 6) d.Int32();  // committed_leader_epoch: no leader epochs
      part.metadata = d.NullableString(kFlex);
    }
  }
  return d.ok();
}

void EncodeOffsetCommit(const OffsetCommitResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 3) e.Int32(0);
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int16(Code(p.error));
    }
  }
}

bool DecodeOffsetFetch(std::string_view body, int16_t version, OffsetFetchRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  int32_t topics = d.ArrayCount(kFlex, 6);
  if (topics < 0) {
    if (version < 2) return false;  // null means "all" from v2 on
    return d.ok();
  }
  out->topics.emplace();
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    OffsetFetchRequest::Topic& topic = out->topics->emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 4);
    for (int32_t p = 0; p < parts && d.ok(); ++p) topic.partitions.push_back(d.Int32());
  }
  return d.ok();
}

void EncodeOffsetFetch(const OffsetFetchResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 3) e.Int32(0);
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int64(p.offset);
      if (version >= 5) e.Int32(-1);  // committed_leader_epoch
      e.NullableString(p.metadata ? std::optional<std::string_view>(*p.metadata) : std::nullopt,
                       kFlex);
      e.Int16(Code(p.error));
    }
  }
  if (version >= 2) e.Int16(Code(r.error));
}

void EncodeListGroups(const ListGroupsResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);
  e.Int16(Code(r.error));
  e.ArrayCount(static_cast<int32_t>(r.groups.size()), kFlex);
  for (const auto& g : r.groups) {
    e.String(g.group_id, kFlex);
    e.String(g.protocol_type, kFlex);
  }
}

bool DecodeDescribeGroups(std::string_view body, int16_t version, DescribeGroupsRequest* out) {
  Decoder d(body);
  int32_t n = d.ArrayCount(kFlex, 2);
  for (int32_t i = 0; i < n && d.ok(); ++i) out->groups.push_back(d.String(kFlex));
  if (version >= 3) out->include_authorized_operations = d.Bool();
  return d.ok();
}

void EncodeDescribeGroups(const std::vector<DescribedGroup>& r, int16_t version, std::string* out) {
  Encoder e(out);
  if (version >= 1) e.Int32(0);
  e.ArrayCount(static_cast<int32_t>(r.size()), kFlex);
  for (const auto& g : r) {
    e.Int16(Code(g.error));
    e.String(g.group_id, kFlex);
    e.String(g.state, kFlex);
    e.String(g.protocol_type, kFlex);
    e.String(g.protocol, kFlex);
    e.ArrayCount(static_cast<int32_t>(g.members.size()), kFlex);
    for (const auto& m : g.members) {
      e.String(m.member_id, kFlex);
      e.String(m.client_id, kFlex);
      e.String(m.client_host, kFlex);
      e.Bytes(std::string_view(m.metadata), kFlex);
      e.Bytes(std::string_view(m.assignment), kFlex);
    }
    // authorized_operations: INT32_MIN = not computed (no ACLs).
    if (version >= 3) e.Int32(INT32_MIN);
  }
}

}  // namespace runnel::kafka

namespace runnel::kafka {

bool DecodeDeleteGroups(std::string_view body, int16_t /*version*/,
                        std::vector<std::string_view>* out) {
  Decoder d(body);
  int32_t n = d.ArrayCount(kFlex, 2);
  if (n < 0) return false;
  for (int32_t i = 0; i < n && d.ok(); ++i) out->push_back(d.String(kFlex));
  return d.ok();
}

void EncodeDeleteGroups(const std::vector<DeleteGroupsResult>& r, int16_t /*version*/,
                        std::string* out) {
  Encoder e(out);
  e.Int32(0);  // throttle_time_ms (v0 has it too)
  e.ArrayCount(static_cast<int32_t>(r.size()), kFlex);
  for (const auto& g : r) {
    e.String(g.group_id, kFlex);
    e.Int16(Code(g.error));
  }
}

bool DecodeOffsetDelete(std::string_view body, int16_t /*version*/, OffsetDeleteRequest* out) {
  Decoder d(body);
  out->group_id = d.String(kFlex);
  int32_t topics = d.ArrayCount(kFlex, 6);
  if (topics < 0) return false;
  for (int32_t t = 0; t < topics && d.ok(); ++t) {
    OffsetDeleteRequest::Topic& topic = out->topics.emplace_back();
    topic.name = d.String(kFlex);
    int32_t parts = d.ArrayCount(kFlex, 4);
    if (parts < 0) return false;
    for (int32_t p = 0; p < parts && d.ok(); ++p) topic.partitions.push_back(d.Int32());
  }
  return d.ok();
}

void EncodeOffsetDelete(const OffsetDeleteResponse& r, int16_t /*version*/, std::string* out) {
  Encoder e(out);
  e.Int16(Code(r.error));  // before the throttle time, in this API only
  e.Int32(0);
  e.ArrayCount(static_cast<int32_t>(r.topics.size()), kFlex);
  for (const auto& t : r.topics) {
    e.String(t.name, kFlex);
    e.ArrayCount(static_cast<int32_t>(t.partitions.size()), kFlex);
    for (const auto& p : t.partitions) {
      e.Int32(p.index);
      e.Int16(Code(p.error));
    }
  }
}

}  // namespace runnel::kafka
