// The consumer-group APIs: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups (reference/kafka.md
// §5.7-5.10, §5.14, §6). The state machine is the shared GroupCoordinator,
// committed offsets the shared OffsetStore; this file only translates.
//
// JoinGroup and SyncGroup may be answered later (when the join phase ends,
// when the leader's assignment arrives) and OffsetCommit once its records
// are durable: each keeps its response slot, and the answer — encoded on
// whichever thread completes it (another io thread, the coordinator's timer
// thread, a storage writer thread) — is posted back to this io thread
// (Deferred). Nothing here blocks the io thread.
#include "protocol/kafka/group_messages.h"
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/names.h"

#include <boost/asio/post.hpp>

#include <mutex>

namespace runnel::kafka {
namespace {

std::string Frame(int32_t correlation_id, const std::function<void(std::string*)>& body) {
  std::string frame;
  size_t start = BeginResponse(&frame, correlation_id, false);
  body(&frame);
  FinishResponse(&frame, start);
  return frame;
}

// Kafka reports a member's host as "/" + its address (no port).
std::string ClientHost(const std::string& remote) {
  std::string host = remote.substr(0, remote.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return "/" + host;
}

}  // namespace

std::function<void(std::string)> KafkaSession::Deferred(uint64_t slot) {
  boost::asio::io_context* io = &ctx_->pool->context(conn_.thread_index());
  std::weak_ptr<net::Connection> weak = conn_.shared_from_this();
  return [this, io, weak, slot](std::string frame) {
    // Any thread. The session lives as long as its connection: touch it
    // only on its io thread and only while the connection can be locked.
    boost::asio::post(*io, [this, weak, slot, frame = std::move(frame)]() mutable {
      auto conn = weak.lock();
      if (!conn || closed_) return;
      Complete(slot, std::move(frame));
    });
  };
}

bool KafkaSession::HandleJoinGroup(const RequestHeader& h, std::string_view body) {
  JoinGroupRequest req;
  if (!DecodeJoinGroup(body, h.api_version, &req)) return false;
  JoinRequest jr;
  jr.group_id = std::string(req.group_id);
  jr.member_id = std::string(req.member_id);
  jr.client_id = std::string(h.client_id.value_or(""));
  jr.client_host = ClientHost(conn_.remote_address());
  jr.session_timeout_ms = req.session_timeout_ms;
  jr.rebalance_timeout_ms = req.rebalance_timeout_ms;
  jr.protocol_type = std::string(req.protocol_type);
  for (const auto& p : req.protocols) {
    jr.protocols.emplace_back(std::string(p.name), std::string(p.metadata));
  }
  // KIP-394: from v4 a new member must come back with the id it is given.
  jr.require_known_member_id = h.api_version >= 4;
  // v5: static membership (KIP-345).
  if (req.group_instance_id) jr.group_instance_id = std::string(*req.group_instance_id);
  const int32_t corr = h.correlation_id;
  const int16_t version = h.api_version;
  ctx_->groups->Join(
      std::move(jr), GroupClock::now(), [send = Deferred(Reserve()), corr, version](JoinResult r) {
        JoinGroupResponse resp;
        resp.error = r.error;
        resp.generation_id = r.generation_id;
        resp.protocol_name = std::move(r.protocol_name);
        resp.leader = std::move(r.leader);
        resp.member_id = std::move(r.member_id);
        for (auto& m : r.members) {
          resp.members.push_back(
              {std::move(m.member_id), std::move(m.instance_id), std::move(m.metadata)});
        }
        send(Frame(corr, [&](std::string* out) { EncodeJoinGroup(resp, version, out); }));
      });
  return true;
}

bool KafkaSession::HandleSyncGroup(const RequestHeader& h, std::string_view body) {
  SyncGroupRequest req;
  if (!DecodeSyncGroup(body, h.api_version, &req)) return false;
  std::vector<std::pair<std::string, std::string>> assignments;
  for (const auto& a : req.assignments) {
    assignments.emplace_back(std::string(a.member_id), std::string(a.assignment));
  }
  const int32_t corr = h.correlation_id;
  const int16_t version = h.api_version;
  ctx_->groups->Sync(
      req.group_id, req.generation_id, req.member_id, req.group_instance_id, std::move(assignments),
      GroupClock::now(), [send = Deferred(Reserve()), corr, version](SyncResult r) {
        SyncGroupResponse resp{r.error, std::move(r.assignment)};
        send(Frame(corr, [&](std::string* out) { EncodeSyncGroup(resp, version, out); }));
      });
  return true;
}

bool KafkaSession::HandleHeartbeat(const RequestHeader& h, std::string_view body) {
  HeartbeatRequest req;
  if (!DecodeHeartbeat(body, h.api_version, &req)) return false;
  ErrorCode e = ctx_->groups->Heartbeat(req.group_id, req.generation_id, req.member_id,
                                        req.group_instance_id, GroupClock::now());
  Respond(Reserve(), h, false, [&](std::string* out) { EncodeErrorOnly(e, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleLeaveGroup(const RequestHeader& h, std::string_view body) {
  LeaveGroupRequest req;
  if (!DecodeLeaveGroup(body, h.api_version, &req)) return false;
  LeaveGroupResponse resp;
  for (const auto& m : req.members) {
    LeaveGroupResponse::Member& rm = resp.members.emplace_back();
    rm.member_id = std::string(m.member_id);
    if (m.group_instance_id) rm.group_instance_id = std::string(*m.group_instance_id);
    rm.error =
        ctx_->groups->Leave(req.group_id, m.member_id, m.group_instance_id, GroupClock::now());
  }
  // v0-v2 leave one member and answer its error; v3 answers per member.
  if (h.api_version < 3 && !resp.members.empty()) resp.error = resp.members.front().error;
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeLeaveGroup(resp, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleOffsetCommit(const RequestHeader& h, std::string_view body) {
  OffsetCommitRequest req;
  if (!DecodeOffsetCommit(body, h.api_version, &req)) return false;
  const ErrorCode group_error = ctx_->groups->ValidateCommit(
      req.group_id, req.generation_id, req.member_id, req.group_instance_id, GroupClock::now());
  auto resp = std::make_shared<OffsetCommitResponse>();
  std::vector<OffsetCommitEntry> entries;
  std::vector<std::pair<size_t, size_t>> stored;  // (topic, partition) indexes in resp
  for (const auto& t : req.topics) {
    auto& rt = resp->topics.emplace_back();
    rt.name = std::string(t.name);
    Status st;
    Producer* topic = group_error == ErrorCode::kNone && IsKafkaTopicName(t.name)
                          ? ProducerFor(t.name, &st)
                          : nullptr;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.index = p.index;
      if (group_error != ErrorCode::kNone) {
        rp.error = group_error;
      } else if (!topic || p.index < 0 || p.index >= topic->partitions()) {
        rp.error = ErrorCode::kUnknownTopicOrPartition;
      } else if (p.metadata && p.metadata->size() > kMaxOffsetMetadataBytes) {
        rp.error = ErrorCode::kOffsetMetadataTooLarge;
      } else {
        OffsetCommitEntry& e = entries.emplace_back();
        e.topic = rt.name;
        e.partition = p.index;
        e.value.offset = p.offset;
        if (p.metadata) e.value.metadata = std::string(*p.metadata);
        // v2-v4 RetentionTimeMs, honoured as Kafka does: the offset expires
        // that long after the commit (OffsetStore adds the commit time).
        if (req.retention_time_ms >= 0) e.value.expire_time_ms = req.retention_time_ms;
        stored.emplace_back(resp->topics.size() - 1, rt.partitions.size() - 1);
      }
    }
  }
  const int32_t corr = h.correlation_id;
  const int16_t version = h.api_version;
  // Answered once the commit is durable (at once when nothing is stored).
  ctx_->offsets->Commit(
      req.group_id, std::move(entries),
      [send = Deferred(Reserve()), resp, stored = std::move(stored), corr, version](Status st) {
        if (!st.ok()) {
          for (auto [t, p] : stored) {
            resp->topics[t].partitions[p].error = ErrorFromStatus(st);
          }
        }
        send(Frame(corr, [&](std::string* out) { EncodeOffsetCommit(*resp, version, out); }));
      });
  return true;
}

bool KafkaSession::HandleOffsetFetch(const RequestHeader& h, std::string_view body) {
  OffsetFetchRequest req;
  if (!DecodeOffsetFetch(body, h.api_version, &req)) return false;
  OffsetFetchResponse resp;
  if (!req.topics) {  // v2+: every partition the group has committed
    for (OffsetCommitEntry& e : ctx_->offsets->FetchAll(req.group_id)) {
      if (resp.topics.empty() || resp.topics.back().name != e.topic) {
        resp.topics.push_back({e.topic, {}});
      }
      resp.topics.back().partitions.push_back(
          {e.partition, e.value.offset, std::move(e.value.metadata), ErrorCode::kNone});
    }
  } else {
    for (const auto& t : *req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.name = std::string(t.name);
      for (int32_t p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.index = p;
        // Nothing committed: offset -1 and empty metadata, not an error.
        rp.metadata = std::string();
        if (auto c = ctx_->offsets->Fetch(req.group_id, t.name, p)) {
          rp.offset = c->offset;
          rp.metadata = std::move(c->metadata);
        }
      }
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeOffsetFetch(resp, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleListGroups(const RequestHeader& h, std::string_view /*body*/) {
  ListGroupsResponse resp;
  for (GroupListing& g : ctx_->groups->List()) {
    resp.groups.push_back({std::move(g.group_id), std::move(g.protocol_type)});
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeListGroups(resp, h.api_version, out); });
  return true;
}

bool KafkaSession::HandleDescribeGroups(const RequestHeader& h, std::string_view body) {
  DescribeGroupsRequest req;
  if (!DecodeDescribeGroups(body, h.api_version, &req)) return false;
  std::vector<DescribedGroup> resp;
  for (std::string_view id : req.groups) {
    GroupDescription d = ctx_->groups->Describe(id);
    DescribedGroup& g = resp.emplace_back();
    g.error = id.empty() ? ErrorCode::kInvalidGroupId : ErrorCode::kNone;
    g.group_id = std::move(d.group_id);
    g.state = std::string(GroupStateName(d.state));  // a group that does not exist is "Dead"
    g.protocol_type = std::move(d.protocol_type);
    g.protocol = std::move(d.protocol);
    for (auto& m : d.members) {
      g.members.push_back({std::move(m.member_id), std::move(m.client_id), std::move(m.client_host),
                           std::move(m.metadata), std::move(m.assignment)});
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeDescribeGroups(resp, h.api_version, out); });
  return true;
}

}  // namespace runnel::kafka

namespace runnel::kafka {

bool KafkaSession::HandleDeleteGroups(const RequestHeader& h, std::string_view body) {
  std::vector<std::string_view> ids;
  if (!DecodeDeleteGroups(body, h.api_version, &ids)) return false;
  // Answered once every deleted group's tombstones are durable.
  struct State {
    std::mutex mu;
    std::vector<DeleteGroupsResult> results;
    size_t pending = 1;  // this call's own hold, released below
  };
  auto state = std::make_shared<State>();
  const int32_t corr = h.correlation_id;
  const int16_t version = h.api_version;
  auto release = [state, send = Deferred(Reserve()), corr, version] {
    {
      std::lock_guard lock(state->mu);
      if (--state->pending > 0) return;
    }
    send(Frame(corr, [&](std::string* out) { EncodeDeleteGroups(state->results, version, out); }));
  };
  for (std::string_view id : ids) {
    size_t index;
    ErrorCode e = ctx_->groups->DeleteGroup(id);
    {
      std::lock_guard lock(state->mu);
      index = state->results.size();
      state->results.push_back({std::string(id), e});
      if (e == ErrorCode::kNone) state->pending++;
    }
    if (e != ErrorCode::kNone) continue;
    ctx_->offsets->DeleteGroup(id, [state, index, release](Status st) {
      if (!st.ok()) {
        std::lock_guard lock(state->mu);
        state->results[index].error = ErrorFromStatus(st);
      }
      release();
    });
  }
  release();
  return true;
}

bool KafkaSession::HandleOffsetDelete(const RequestHeader& h, std::string_view body) {
  OffsetDeleteRequest req;
  if (!DecodeOffsetDelete(body, h.api_version, &req)) return false;
  auto resp = std::make_shared<OffsetDeleteResponse>();
  resp->error = ctx_->groups->CanDeleteOffsets(req.group_id);
  std::vector<std::pair<std::string, int32_t>> partitions;
  if (resp->error == ErrorCode::kNone) {
    for (const auto& t : req.topics) {
      auto& rt = resp->topics.emplace_back();
      rt.name = std::string(t.name);
      for (int32_t p : t.partitions) {
        rt.partitions.push_back({p, ErrorCode::kNone});
        partitions.emplace_back(rt.name, p);
      }
    }
  }
  const int32_t corr = h.correlation_id;
  const int16_t version = h.api_version;
  // Answered once the tombstones are durable.
  ctx_->offsets->DeleteOffsets(
      req.group_id, partitions, [send = Deferred(Reserve()), resp, corr, version](Status st) {
        if (!st.ok()) {
          for (auto& t : resp->topics) {
            for (auto& p : t.partitions) p.error = ErrorFromStatus(st);
          }
        }
        send(Frame(corr, [&](std::string* out) { EncodeOffsetDelete(*resp, version, out); }));
      });
  return true;
}

}  // namespace runnel::kafka
