// Fuzzes the Kafka request path that reads network bytes: framing, request
// headers, every served API's body decoder, and the RecordBatch v2 check
// Produce applies (storage::ValidateProducedBatch) and, for Produce v0-v2,
// the legacy message set up-conversion (legacy_message_set.h). The stream is framed
// once whole and once fed in chunks (as NATS' FuzzParser checks "partial
// (chunked) message delivery"); both must find the same frames.
// SaslAuthenticate tokens also go through the PLAIN parser and a SCRAM
// server exchange (first as client-first, then as client-final). Nothing may
// crash, hang, read out of bounds or allocate from an unchecked length.
//
// Input layout: byte 0 = chunk size - 1 for the chunked pass; the rest is
// the byte stream a client sent (size-prefixed frames).
#include "protocol/kafka/admin_messages.h"
#include "protocol/kafka/api.h"
#include "protocol/kafka/delete_records.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/group_messages.h"
#include "protocol/kafka/legacy_message_set.h"
#include "protocol/kafka/messages.h"
#include "protocol/kafka/sasl_messages.h"
#include "protocol/kafka/sasl_plain.h"
#include "protocol/kafka/sasl_scram.h"
#include "protocol/kafka/wire.h"
#include "storage/batch_format.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace runnel::kafka;

namespace {

constexpr size_t kLimit = 1 << 20;

void SaslTokens(std::string_view token) {
  static const CredentialStore* users = [] {
    auto* u = new CredentialStore();
    u->AddUser("user", "pencil");
    return u;
  }();
  std::string error;
  (void)ParsePlain(token, &error);
  ScramServer scram(users, "snonce");
  (void)scram.Next(token);
  (void)scram.Next(token);
  // A well-formed first message, then the fuzzed bytes as the final one.
  ScramServer second(users, "snonce");
  (void)second.Next("n,,n=user,r=cnonce");
  (void)second.Next(token);
}

// Produce v0-v2: the legacy message set's up-conversion. Whatever it
// accepts must come out as a batch Produce v3+ would store.
void LegacySet(std::string_view set) {
  std::string batch;
  LegacyConversion c = UpConvertMessageSet(set, 1000, kLimit, &batch);
  if (c.error != ErrorCode::kNone) return;
  runnel::storage::BatchHeader bh;
  if (!runnel::storage::ValidateProducedBatch(batch, 64 << 20, &bh).ok()) __builtin_trap();
}

void Decode(std::string_view frame) {
  RequestHeader h;
  size_t off = 0;
  if (!ParseRequestHeader(frame, &h, &off)) return;
  std::string_view body = frame.substr(off);
  const ApiRange* api = FindApi(h.api_key);
  // Decode at every version, served or not: decoders must be total.
  int16_t v = static_cast<int16_t>(h.api_version & 0xf);
  if (api && IsFlexible(*api, v)) {
    Decoder d(body);
    d.SkipTaggedFields();
    if (!d.ok()) return;
    body = body.substr(d.position());
  }
  switch (h.api_key & 0x3f) {
    case 0: {
      ProduceRequest r;
      if (DecodeProduce(body, v, &r)) {
        for (const auto& t : r.topics) {
          for (const auto& p : t.partitions) {
            runnel::storage::BatchHeader bh;
            (void)runnel::storage::ValidateProducedBatch(p.records.value_or(""), kLimit, &bh);
            if (v < 3) LegacySet(p.records.value_or(""));
          }
        }
      }
      break;
    }
    case 1: {
      FetchRequest r;
      (void)DecodeFetch(body, v, &r);
      break;
    }
    case 2: {
      ListOffsetsRequest r;
      (void)DecodeListOffsets(body, v, &r);
      break;
    }
    case 3: {
      MetadataRequest r;
      (void)DecodeMetadata(body, v, &r);
      break;
    }
    case 10: {
      FindCoordinatorRequest r;
      (void)DecodeFindCoordinator(body, v, &r);
      break;
    }
    case 8: {
      OffsetCommitRequest r;
      (void)DecodeOffsetCommit(body, v, &r);
      break;
    }
    case 9: {
      OffsetFetchRequest r;
      (void)DecodeOffsetFetch(body, v, &r);
      break;
    }
    case 11: {
      JoinGroupRequest r;
      (void)DecodeJoinGroup(body, v, &r);
      break;
    }
    case 12: {
      HeartbeatRequest r;
      (void)DecodeHeartbeat(body, v, &r);
      break;
    }
    case 13: {
      LeaveGroupRequest r;
      (void)DecodeLeaveGroup(body, v, &r);
      break;
    }
    case 14: {
      SyncGroupRequest r;
      (void)DecodeSyncGroup(body, v, &r);
      break;
    }
    case 15: {
      DescribeGroupsRequest r;
      (void)DecodeDescribeGroups(body, v, &r);
      break;
    }
    case 19: {
      CreateTopicsRequest r;
      (void)DecodeCreateTopics(body, v, &r);
      break;
    }
    case 20: {
      DeleteTopicsRequest r;
      (void)DecodeDeleteTopics(body, v, &r);
      break;
    }
    case 21: {
      DeleteRecordsRequest r;
      (void)DecodeDeleteRecords(body, v, &r);
      break;
    }
    case 17: {
      SaslHandshakeRequest r;
      (void)DecodeSaslHandshake(body, v, &r);
      break;
    }
    case 36: {
      SaslAuthenticateRequest r;
      if (DecodeSaslAuthenticate(body, v, &r)) SaslTokens(r.auth_bytes);
      break;
    }
    case 22: {
      InitProducerIdRequest r;
      (void)DecodeInitProducerId(body, v, &r);
      break;
    }
    case 32: {
      DescribeConfigsRequest r;
      (void)DecodeDescribeConfigs(body, v, &r);
      break;
    }
    case 37: {
      CreatePartitionsRequest r;
      (void)DecodeCreatePartitions(body, v, &r);
      break;
    }
    case 42: {
      std::vector<std::string_view> groups;
      (void)DecodeDeleteGroups(body, v, &groups);
      break;
    }
    case 47: {
      OffsetDeleteRequest r;
      (void)DecodeOffsetDelete(body, v, &r);
      break;
    }
    default: {
      // Anything else: the batch validator sees the body as a batch.
      runnel::storage::BatchHeader bh;
      (void)runnel::storage::ValidateProducedBatch(body, kLimit, &bh);
    }
  }
}

// Frames in `stream` (stops at the first bad or incomplete one).
std::vector<std::string> Frames(std::string_view stream, bool* bad) {
  std::vector<std::string> out;
  *bad = false;
  size_t pos = 0;
  for (;;) {
    std::string_view f;
    size_t need = 0;
    FrameStatus s = NextFrame(stream.substr(pos), kLimit, &f, &need);
    if (s == FrameStatus::kBad) {
      *bad = true;
      break;
    }
    if (s == FrameStatus::kNeedMore) {
      if (need <= stream.size() - pos) __builtin_trap();  // asked for what it has
      break;
    }
    out.emplace_back(f);
    pos += 4 + f.size();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = static_cast<size_t>(data[0]) + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  bool bad_whole = false;
  std::vector<std::string> whole = Frames(stream, &bad_whole);
  for (const auto& f : whole) Decode(f);

  // Chunked: accumulate as the connection does, consuming whole frames.
  std::string buffer;
  std::vector<std::string> chunked;
  bool bad_chunked = false;
  for (size_t pos = 0; pos < stream.size() && !bad_chunked; pos += chunk) {
    buffer.append(stream.substr(pos, chunk));
    for (;;) {
      std::string_view f;
      size_t need = 0;
      FrameStatus s = NextFrame(buffer, kLimit, &f, &need);
      if (s == FrameStatus::kBad) {
        bad_chunked = true;
        break;
      }
      if (s == FrameStatus::kNeedMore) break;
      chunked.emplace_back(f);
      buffer.erase(0, 4 + f.size());
    }
  }
  if (chunked != whole || bad_chunked != bad_whole) __builtin_trap();
  return 0;
}
