// The Kafka APIs runnel serves and the versions it advertises in
// ApiVersions (reference/kafka.md §4.1; docs/protocols/kafka.md). Only what
// is in kApis is advertised, and a request for anything else closes the
// connection (except ApiVersions, KIP-511). The group APIs are served at
// their last non-flexible versions; phase 2 adds the rest here as their
// handlers land.
#pragma once

#include <cstdint>
#include <span>

namespace runnel::kafka {

enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kSaslHandshake = 17,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kDeleteRecords = 21,
  kSaslAuthenticate = 36,
  kInitProducerId = 22,
  kDescribeConfigs = 32,
  kCreatePartitions = 37,
  kDeleteGroups = 42,
  kOffsetDelete = 47,
};

struct ApiRange {
  ApiKey key;
  int16_t min;
  int16_t max;
  int16_t first_flexible;  // INT16_MAX: no flexible version in Kafka's schema
};

// Kafka error codes used by runnel (Apache Kafka `Errors.java`).
enum class ErrorCode : int16_t {
  kUnknownServerError = -1,
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kLeaderNotAvailable = 5,
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kInvalidTopic = 17,
  kRecordListTooLarge = 18,
  kOffsetMetadataTooLarge = 12,
  kCoordinatorNotAvailable = 15,
  kInvalidRequiredAcks = 21,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kInvalidSessionTimeout = 26,
  kRebalanceInProgress = 27,
  kInvalidTimestamp = 32,
  kUnsupportedSaslMechanism = 33,
  kIllegalSaslState = 34,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidReplicaAssignment = 39,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kOutOfOrderSequenceNumber = 45,
  kInvalidProducerEpoch = 47,
  kTransactionalIdAuthorizationFailed = 53,
  kKafkaStorageError = 56,
  kSaslAuthenticationFailed = 58,
  kUnknownProducerId = 59,
  kNonEmptyGroup = 68,
  kGroupIdNotFound = 69,
  kUnsupportedCompressionType = 76,
  kMemberIdRequired = 79,
  kFencedInstanceId = 82,
  kInvalidRecord = 87,
};

// Every served API, in key order.
std::span<const ApiRange> SupportedApis();
// The served range for `key`, or nullptr.
const ApiRange* FindApi(int16_t key);
// Whether (key, version) uses the flexible encoding (KIP-482): compact
// strings/arrays, tagged fields, request header v2 / response header v1.
bool IsFlexible(const ApiRange& api, int16_t version);

}  // namespace runnel::kafka
