// SaslHandshake (17) v0-v1 and SaslAuthenticate (36) v0-v1 (KIP-43, KIP-152;
// reference/kafka.md §7): the per-connection SASL state machine.
//
//   kHandshake --SaslHandshake v1--> kAuthenticate --SaslAuthenticate*--> kDone
//   kHandshake --SaslHandshake v0--> kRawTokens    --raw tokens*-------> kDone
//
// librdkafka 2.0.2 sends ApiVersions, SaslHandshake v1, then SaslAuthenticate
// per token; kafka-python 2.0.2 sends SaslHandshake v0 first and then raw
// `int32 size + token` frames (kafka/conn.py), whatever the broker
// advertises. A failure answers SASL_AUTHENTICATION_FAILED (58) with a
// message and closes (raw mode: just closes), as Kafka's
// SaslServerAuthenticator does. Listeners without SASL, and connections
// already authenticated, answer both APIs with ILLEGAL_SASL_STATE (34), as
// Kafka's KafkaApis does. Mechanisms: sasl_plain.h, sasl_scram.h.
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/sasl_messages.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace runnel::kafka {

bool KafkaSession::SaslAllows(ApiKey key) const {
  switch (sasl_state_) {
    case SaslState::kOff:
    case SaslState::kDone:
      return true;
    case SaslState::kHandshake:
      return key == ApiKey::kApiVersions || key == ApiKey::kSaslHandshake;
    case SaslState::kAuthenticate:
      return key == ApiKey::kSaslAuthenticate;
    case SaslState::kRawTokens:
      return false;  // OnInput reads raw frames in this state
  }
  return false;
}

bool KafkaSession::HandleSaslHandshake(const RequestHeader& h, std::string_view body) {
  SaslHandshakeRequest req;
  if (!DecodeSaslHandshake(body, h.api_version, &req)) return false;
  SaslHandshakeResponse r;
  r.mechanisms = ctx_->sasl_mechanisms;
  bool close = false;
  const auto& enabled = ctx_->sasl_mechanisms;
  if (sasl_state_ != SaslState::kHandshake) {
    r.error = ErrorCode::kIllegalSaslState;
  } else if (std::find(enabled.begin(), enabled.end(), req.mechanism) == enabled.end() ||
             !(sasl_ = NewSaslServer(req.mechanism, &ctx_->sasl_users))) {
    spdlog::info("kafka {}: SASL mechanism '{}' not enabled, closing", conn_.remote_address(),
                 req.mechanism);
    r.error = ErrorCode::kUnsupportedSaslMechanism;
    close = true;
  } else {
    sasl_state_ = h.api_version == 0 ? SaslState::kRawTokens : SaslState::kAuthenticate;
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeSaslHandshake(r, h.api_version, out); });
  if (close) closing_ = true;  // after the answer is queued
  return true;
}

bool KafkaSession::HandleSaslAuthenticate(const RequestHeader& h, std::string_view body) {
  SaslAuthenticateRequest req;
  if (!DecodeSaslAuthenticate(body, h.api_version, &req)) return false;
  SaslAuthenticateResponse r;
  bool close = false;
  if (sasl_state_ != SaslState::kAuthenticate) {
    r.error = ErrorCode::kIllegalSaslState;
    r.error_message = listener_->sasl ? "SaslAuthenticate after successful authentication"
                                      : "SASL is not enabled on this listener";
  } else {
    SaslStep step = sasl_->Next(req.auth_bytes);
    switch (step.state) {
      case SaslStep::State::kContinue:
        r.auth_bytes = std::move(step.token);
        break;
      case SaslStep::State::kDone:
        r.auth_bytes = std::move(step.token);
        sasl_state_ = SaslState::kDone;
        spdlog::debug("kafka {}: authenticated as '{}'", conn_.remote_address(), sasl_->user());
        break;
      case SaslStep::State::kFailed:
        spdlog::info("kafka {}: SASL authentication failed: {}", conn_.remote_address(),
                     step.error);
        r.error = ErrorCode::kSaslAuthenticationFailed;
        r.error_message = std::move(step.error);
        close = true;
        break;
    }
  }
  Respond(Reserve(), h, false,
          [&](std::string* out) { EncodeSaslAuthenticate(r, h.api_version, out); });
  if (close) closing_ = true;
  return true;
}

bool KafkaSession::HandleRawSaslToken(std::string_view token) {
  SaslStep step = sasl_->Next(token);
  if (step.state == SaslStep::State::kFailed) {
    spdlog::info("kafka {}: SASL authentication failed: {}", conn_.remote_address(), step.error);
    return false;
  }
  if (step.state == SaslStep::State::kDone) {
    sasl_state_ = SaslState::kDone;
    spdlog::debug("kafka {}: authenticated as '{}'", conn_.remote_address(), sasl_->user());
  }
  std::string frame;
  EncodeRawSaslToken(step.token, &frame);
  Complete(Reserve(), std::move(frame));
  return true;
}

}  // namespace runnel::kafka
