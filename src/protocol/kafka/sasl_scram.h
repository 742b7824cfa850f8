// SASL SCRAM-SHA-256 server (RFC 5802 with RFC 7677's hash; Kafka KIP-84),
// no channel binding. Two client messages, two server messages:
//
//   client-first  = gs2-header client-first-bare
//     gs2-header  = ("n" / "y") "," ["a=" saslname] ","     ("p=..." refused)
//     client-first-bare = "n=" saslname ",r=" c-nonce ["," extensions]
//   server-first  = "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations
//   client-final  = "c=" base64(gs2-header) ",r=" nonce ["," extensions] ",p=" base64(proof)
//   server-final  = "v=" base64(ServerSignature)
//
//   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
//   ClientSignature = HMAC(StoredKey, AuthMessage)
//   ClientKey       = ClientProof XOR ClientSignature;  check SHA-256(ClientKey) == StoredKey
//   ServerSignature = HMAC(ServerKey, AuthMessage)
//
// In saslname "=2C" is ',' and "=3D" is '='. The client-final nonce must
// *end with* the nonce of server-first — as Kafka's ScramSaslServer checks;
// RFC 5802 says equal, and every client sends it equal. Kafka's
// `tokenauth=true` extension (delegation tokens) is refused. An unknown
// user gets a server-first with a fake salt and fails at the proof, like a
// wrong password (RFC 5802 §9).
#pragma once

#include "protocol/kafka/sasl_mechanism.h"

#include <string>
#include <string_view>

namespace runnel::kafka {

class ScramServer final : public SaslServer {
 public:
  // `users` must outlive the server. `server_nonce`: the s-nonce to append
  // (tests); empty = 24 random base64 characters.
  explicit ScramServer(const CredentialStore* users, std::string server_nonce = "");
  SaslStep Next(std::string_view client_token) override;
  const std::string& user() const override { return user_; }

 private:
  SaslStep ClientFirst(std::string_view msg);
  SaslStep ClientFinal(std::string_view msg);

  enum class Stage : uint8_t { kFirst, kFinal, kOver };
  const CredentialStore* const users_;
  std::string server_nonce_;
  Stage stage_ = Stage::kFirst;
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // c-nonce + s-nonce
  ScramCredential cred_;
  bool known_user_ = false;
};

// saslname decoding ("=2C" → ',', "=3D" → '='); false on any other '='
// escape or a ',' in the text.
bool DecodeSaslName(std::string_view text, std::string* out);

}  // namespace runnel::kafka
