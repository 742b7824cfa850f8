#include "protocol/kafka/sasl_plain.h"

namespace runnel::kafka {

// Kafka's answer to every credential failure, so a client learns nothing
// about which part was wrong.
static constexpr std::string_view kInvalidCredentials =
    "Authentication failed: Invalid username or password";

std::optional<PlainMessage> ParsePlain(std::string_view message, std::string* error) {
  size_t first = message.find('\0');
  size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos ||
      message.find('\0', second + 1) != std::string_view::npos) {
    *error = "Invalid SASL/PLAIN message: expected 3 tokens separated by NUL";
    return std::nullopt;
  }
  PlainMessage m{message.substr(0, first), message.substr(first + 1, second - first - 1),
                 message.substr(second + 1)};
  if (m.user.empty()) {
    *error = "Authentication failed: username not specified";
    return std::nullopt;
  }
  if (m.password.empty()) {
    *error = "Authentication failed: password not specified";
    return std::nullopt;
  }
  if (!m.authzid.empty() && m.authzid != m.user) {
    *error =
        "Authentication failed: Client requested an authorization id that is different from "
        "username";
    return std::nullopt;
  }
  return m;
}

SaslStep PlainServer::Next(std::string_view client_token) {
  SaslStep step;
  if (done_) {
    step.error = "SASL/PLAIN takes a single message";
    return step;
  }
  done_ = true;
  auto m = ParsePlain(client_token, &step.error);
  if (!m) return step;
  const ScramCredential* cred = users_->Find(m->user);
  if (!cred || !PasswordMatches(*cred, m->password)) {
    step.error = kInvalidCredentials;
    return step;
  }
  user_ = std::string(m->user);
  step.state = SaslStep::State::kDone;
  return step;
}

}  // namespace runnel::kafka
