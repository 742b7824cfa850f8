// The server side of one SASL exchange (RFC 4422) on one Kafka connection:
// client tokens in, server tokens out, until done or failed. The tokens are
// the same whether they travel inside SaslAuthenticate (KIP-152) or as raw
// size-prefixed frames after a SaslHandshake v0.
//
// Owned by the KafkaSession, used on its io thread only.
#pragma once

#include "protocol/kafka/sasl_credentials.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::kafka {

inline constexpr std::string_view kMechanismPlain = "PLAIN";
inline constexpr std::string_view kMechanismScramSha256 = "SCRAM-SHA-256";

struct SaslStep {
  enum class State : uint8_t {
    kContinue,  // send `token`, wait for the client's next one
    kDone,      // send `token` (may be empty); authenticated as user()
    kFailed,    // `error` says why (for the client and the log); close
  };
  State state = State::kFailed;
  std::string token;
  std::string error;
};

class SaslServer {
 public:
  virtual ~SaslServer() = default;
  virtual SaslStep Next(std::string_view client_token) = 0;
  // The authenticated user, once Next returned kDone.
  virtual const std::string& user() const = 0;
};

// The mechanisms runnel implements, in the order they are listed.
const std::vector<std::string>& ImplementedMechanisms();
// A server for `mechanism` checking against `users` (which must outlive
// it), or nullptr if the mechanism is not implemented.
std::unique_ptr<SaslServer> NewSaslServer(std::string_view mechanism, const CredentialStore* users);

}  // namespace runnel::kafka
