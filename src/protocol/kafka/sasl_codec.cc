#include "protocol/kafka/sasl_messages.h"
#include "protocol/kafka/wire.h"

namespace runnel::kafka {
namespace {
constexpr bool kFlex = false;
}

bool DecodeSaslHandshake(std::string_view body, int16_t /*version*/, SaslHandshakeRequest* out) {
  Decoder d(body);
  out->mechanism = d.String(kFlex);
  return d.ok();
}

void EncodeSaslHandshake(const SaslHandshakeResponse& r, int16_t /*version*/, std::string* out) {
  Encoder e(out);
  e.Int16(static_cast<int16_t>(r.error));
  e.ArrayCount(static_cast<int32_t>(r.mechanisms.size()), kFlex);
  for (const std::string& m : r.mechanisms) e.String(m, kFlex);
}

bool DecodeSaslAuthenticate(std::string_view body, int16_t /*version*/,
                            SaslAuthenticateRequest* out) {
  Decoder d(body);
  out->auth_bytes = d.NullableBytes(kFlex).value_or("");
  return d.ok() && out->auth_bytes.size() <= kMaxSaslTokenBytes;
}

void EncodeSaslAuthenticate(const SaslAuthenticateResponse& r, int16_t version, std::string* out) {
  Encoder e(out);
  e.Int16(static_cast<int16_t>(r.error));
  e.NullableString(
      r.error_message ? std::optional<std::string_view>(*r.error_message) : std::nullopt, kFlex);
  e.Bytes(std::string_view(r.auth_bytes), kFlex);
  if (version >= 1) e.Int64(r.session_lifetime_ms);
}

void EncodeRawSaslToken(std::string_view token, std::string* out) {
  Encoder e(out);
  e.Int32(static_cast<int32_t>(token.size()));
  e.Raw(token);
}

}  // namespace runnel::kafka
