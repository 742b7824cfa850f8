// Request and response bodies of the consumer-group APIs (reference/kafka.md
// §5.7-5.10, §5.14), at the versions of api.cc — all below their first
// flexible version, so no compact types or tagged fields. Decoders return
// false on a body that does not parse; views point into the request frame.
// Encoders append the body (not the header) for `version`.
#pragma once

#include "protocol/kafka/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

// ---- JoinGroup (11) v0-v5 ---------------------------------------------------
struct JoinGroupRequest {
  struct Protocol {
    std::string_view name;
    std::string_view metadata;
  };
  std::string_view group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;  // v0: the session timeout
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v5+
  std::string_view protocol_type;
  std::vector<Protocol> protocols;
};
bool DecodeJoinGroup(std::string_view body, int16_t version, JoinGroupRequest* out);

struct JoinGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    std::string metadata;
  };
  ErrorCode error = ErrorCode::kNone;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<Member> members;  // the leader's answer only
};
void EncodeJoinGroup(const JoinGroupResponse& r, int16_t version, std::string* out);

// ---- SyncGroup (14) v0-v3 ---------------------------------------------------
struct SyncGroupRequest {
  struct Assignment {
    std::string_view member_id;
    std::string_view assignment;
  };
  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v3+
  std::vector<Assignment> assignments;                // the leader's request only
};
bool DecodeSyncGroup(std::string_view body, int16_t version, SyncGroupRequest* out);

struct SyncGroupResponse {
  ErrorCode error = ErrorCode::kNone;
  std::string assignment;
};
void EncodeSyncGroup(const SyncGroupResponse& r, int16_t version, std::string* out);

// ---- Heartbeat (12) v0-v3 ---------------------------------------------------
struct HeartbeatRequest {
  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v3+
};
bool DecodeHeartbeat(std::string_view body, int16_t version, HeartbeatRequest* out);

// ---- LeaveGroup (13) v0-v3 --------------------------------------------------
struct LeaveGroupRequest {
  struct Member {
    std::string_view member_id;
    std::optional<std::string_view> group_instance_id;
  };
  std::string_view group_id;
  std::vector<Member> members;  // v0-v2: exactly one, without an instance id
};
bool DecodeLeaveGroup(std::string_view body, int16_t version, LeaveGroupRequest* out);

struct LeaveGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    ErrorCode error = ErrorCode::kNone;
  };
  ErrorCode error = ErrorCode::kNone;
  std::vector<Member> members;  // v3+; v0-v2 answer only `error`
};
void EncodeLeaveGroup(const LeaveGroupResponse& r, int16_t version, std::string* out);

// Heartbeat and LeaveGroup answer only an error code (after ThrottleTimeMs v1+).
void EncodeErrorOnly(ErrorCode error, int16_t version, std::string* out);

// ---- OffsetCommit (8) v2-v7 -------------------------------------------------
struct OffsetCommitRequest {
  struct Partition {
    int32_t index = 0;
    int64_t offset = 0;
    std::optional<std::string_view> metadata;
  };
  struct Topic {
    std::string_view name;
    std::vector<Partition> partitions;
  };
  std::string_view group_id;
  int32_t generation_id = -1;
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                     // v2-v4; -1: the broker's retention
  std::vector<Topic> topics;
};
bool DecodeOffsetCommit(std::string_view body, int16_t version, OffsetCommitRequest* out);

struct OffsetCommitResponse {
  struct Partition {
    int32_t index = 0;
    ErrorCode error = ErrorCode::kNone;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
void EncodeOffsetCommit(const OffsetCommitResponse& r, int16_t version, std::string* out);

// ---- OffsetFetch (9) v1-v5 --------------------------------------------------
struct OffsetFetchRequest {
  struct Topic {
    std::string_view name;
    std::vector<int32_t> partitions;
  };
  std::string_view group_id;
  std::optional<std::vector<Topic>> topics;  // v2+ null: every committed partition
};
bool DecodeOffsetFetch(std::string_view body, int16_t version, OffsetFetchRequest* out);

struct OffsetFetchResponse {
  struct Partition {
    int32_t index = 0;
    int64_t offset = -1;
    std::optional<std::string> metadata;
    ErrorCode error = ErrorCode::kNone;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
  ErrorCode error = ErrorCode::kNone;  // v2+
};
void EncodeOffsetFetch(const OffsetFetchResponse& r, int16_t version, std::string* out);

// ---- ListGroups (16) v0-v2 --------------------------------------------------
struct ListGroupsResponse {
  struct Group {
    std::string group_id;
    std::string protocol_type;
  };
  ErrorCode error = ErrorCode::kNone;
  std::vector<Group> groups;
};
void EncodeListGroups(const ListGroupsResponse& r, int16_t version, std::string* out);

// ---- DescribeGroups (15) v0-v3 ----------------------------------------------
struct DescribeGroupsRequest {
  std::vector<std::string_view> groups;
  bool include_authorized_operations = false;  // v3+
};
bool DecodeDescribeGroups(std::string_view body, int16_t version, DescribeGroupsRequest* out);

struct DescribedGroup {
  struct Member {
    std::string member_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;
    std::string assignment;
  };
  ErrorCode error = ErrorCode::kNone;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<Member> members;
};
void EncodeDescribeGroups(const std::vector<DescribedGroup>& r, int16_t version, std::string* out);

// ---- OffsetDelete (47) v0 (no flexible version) -----------------------------
struct OffsetDeleteRequest {
  struct Topic {
    std::string_view name;
    std::vector<int32_t> partitions;
  };
  std::string_view group_id;
  std::vector<Topic> topics;
};
bool DecodeOffsetDelete(std::string_view body, int16_t version, OffsetDeleteRequest* out);
struct OffsetDeleteResponse {
  struct Partition {
    int32_t index = 0;
    ErrorCode error = ErrorCode::kNone;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  ErrorCode error = ErrorCode::kNone;
  std::vector<Topic> topics;
};
void EncodeOffsetDelete(const OffsetDeleteResponse& r, int16_t version, std::string* out);

// ---- DeleteGroups (42) v0-v1 ------------------------------------------------
bool DecodeDeleteGroups(std::string_view body, int16_t version, std::vector<std::string_view>* out);
struct DeleteGroupsResult {
  std::string group_id;
  ErrorCode error = ErrorCode::kNone;
};
void EncodeDeleteGroups(const std::vector<DeleteGroupsResult>& r, int16_t version,
                        std::string* out);

}  // namespace runnel::kafka
