// SASL PLAIN (RFC 4616): one client message,
//   message = [authzid] NUL authcid NUL passwd
// (UTF-8, authcid and passwd non-empty, no NUL inside a field). As Kafka's
// PlainSaslServer, an authzid is accepted only if empty or equal to the
// authcid (librdkafka sends it empty, kafka-python sends the user name).
// The password travels in the clear: use PLAIN over TLS (SASL_SSL).
#pragma once

#include "protocol/kafka/sasl_mechanism.h"

#include <optional>
#include <string>
#include <string_view>

namespace runnel::kafka {

struct PlainMessage {
  std::string_view authzid;
  std::string_view user;
  std::string_view password;
};
// nullopt (with *error set) for a message that breaks the grammar.
std::optional<PlainMessage> ParsePlain(std::string_view message, std::string* error);

class PlainServer final : public SaslServer {
 public:
  explicit PlainServer(const CredentialStore* users) : users_(users) {}
  SaslStep Next(std::string_view client_token) override;
  const std::string& user() const override { return user_; }

 private:
  const CredentialStore* const users_;
  std::string user_;
  bool done_ = false;
};

}  // namespace runnel::kafka
