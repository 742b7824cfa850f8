#include "protocol/kafka/api.h"

#include <climits>

namespace runnel::kafka {
namespace {

// Versions: reference/kafka.md §4.1. With Fetch 11 in range kafka-python
// 2.0.2 infers broker 2.3.0 and then uses Produce 7, Fetch 4, ListOffsets 1,
// Metadata 1, FindCoordinator 0, JoinGroup 2, SyncGroup/Heartbeat/LeaveGroup
// 1, OffsetCommit 2, OffsetFetch 1 — all inside these ranges. The group APIs
// stop below their first flexible version (librdkafka 2.0.2 then uses
// JoinGroup 5, SyncGroup 3, Heartbeat 3, LeaveGroup 1, OffsetCommit 7,
// OffsetFetch 5); OffsetCommit starts at 2, the oldest either client sends.
// SASL (KIP-43, KIP-152): kafka-python sends SaslHandshake v0 and raw
// tokens, librdkafka SaslHandshake v1 and SaslAuthenticate (handlers_sasl.cc).
// Produce starts at 0: librdkafka (<= 2.11) compresses with gzip, snappy or
// lz4 only if the broker serves Produce v0 (its codec check asks for that
// version); it still produces magic 2 with Produce 7. v0-v2 carry legacy
// message sets, up-converted on produce (legacy_message_set.h).
constexpr ApiRange kApis[] = {
    {ApiKey::kProduce, 0, 7, 9},         {ApiKey::kFetch, 4, 11, 12},
    {ApiKey::kListOffsets, 1, 2, 6},     {ApiKey::kMetadata, 0, 4, 9},
    {ApiKey::kOffsetCommit, 2, 7, 8},    {ApiKey::kOffsetFetch, 1, 5, 6},
    {ApiKey::kFindCoordinator, 0, 2, 3}, {ApiKey::kJoinGroup, 0, 5, 6},
    {ApiKey::kHeartbeat, 0, 3, 4},       {ApiKey::kLeaveGroup, 0, 3, 4},
    {ApiKey::kSyncGroup, 0, 3, 4},       {ApiKey::kDescribeGroups, 0, 3, 5},
    {ApiKey::kListGroups, 0, 2, 3},      {ApiKey::kSaslHandshake, 0, 1, INT16_MAX},
    {ApiKey::kApiVersions, 0, 3, 3},     {ApiKey::kCreateTopics, 0, 4, 5},
    {ApiKey::kDeleteTopics, 0, 1, 4},    {ApiKey::kDeleteRecords, 0, 1, 2},
    {ApiKey::kSaslAuthenticate, 0, 1, 2},
    // Idempotent producer and admin (issue 5); each below its first flexible version.
    {ApiKey::kInitProducerId, 0, 1, 2},  {ApiKey::kDescribeConfigs, 0, 2, 4},
    {ApiKey::kCreatePartitions, 0, 1, 2},
    // Consumer-group deletion (docs/protocols/kafka.md "Consumer groups").
    {ApiKey::kDeleteGroups, 0, 1, 2},    {ApiKey::kOffsetDelete, 0, 0, INT16_MAX},
};

}  // namespace

std::span<const ApiRange> SupportedApis() { return kApis; }

const ApiRange* FindApi(int16_t key) {
  for (const ApiRange& a : kApis) {
    if (static_cast<int16_t>(a.key) == key) return &a;
  }
  return nullptr;
}

bool IsFlexible(const ApiRange& api, int16_t version) { return version >= api.first_flexible; }

}  // namespace runnel::kafka
