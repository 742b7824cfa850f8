// SaslHandshake (17) v0-v1 and SaslAuthenticate (36) v0-v1 bodies (KIP-43,
// KIP-152; reference/kafka.md §7). Neither is flexible at these versions.
//
//   SaslHandshake request    Mechanism STRING
//   SaslHandshake response   ErrorCode int16, Mechanisms []STRING
//   SaslAuthenticate request  AuthBytes BYTES
//   SaslAuthenticate response ErrorCode int16, ErrorMessage nullable STRING,
//                             AuthBytes BYTES, SessionLifetimeMs int64 (v1+)
//
// After a SaslHandshake v0 the tokens travel as raw frames instead:
// int32 size + token, both ways, no Kafka header.
#pragma once

#include "protocol/kafka/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

inline constexpr size_t kMaxSaslTokenBytes = 524288;  // Kafka's sasl.server.max.receive.size

struct SaslHandshakeRequest {
  std::string_view mechanism;
};
bool DecodeSaslHandshake(std::string_view body, int16_t version, SaslHandshakeRequest* out);

struct SaslHandshakeResponse {
  ErrorCode error = ErrorCode::kNone;
  std::vector<std::string> mechanisms;  // the enabled list, always sent
};
void EncodeSaslHandshake(const SaslHandshakeResponse& r, int16_t version, std::string* out);

struct SaslAuthenticateRequest {
  std::string_view auth_bytes;
};
bool DecodeSaslAuthenticate(std::string_view body, int16_t version, SaslAuthenticateRequest* out);

struct SaslAuthenticateResponse {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> error_message;
  std::string auth_bytes;
  int64_t session_lifetime_ms = 0;  // v1+; 0 = no re-authentication (KIP-368)
};
void EncodeSaslAuthenticate(const SaslAuthenticateResponse& r, int16_t version, std::string* out);

// A raw SASL frame (after SaslHandshake v0): int32 size + token.
void EncodeRawSaslToken(std::string_view token, std::string* out);

}  // namespace runnel::kafka
