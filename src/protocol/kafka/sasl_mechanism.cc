#include "protocol/kafka/sasl_mechanism.h"

#include "protocol/kafka/sasl_plain.h"
#include "protocol/kafka/sasl_scram.h"

namespace runnel::kafka {

const std::vector<std::string>& ImplementedMechanisms() {
  static const std::vector<std::string> kAll = {std::string(kMechanismPlain),
                                                std::string(kMechanismScramSha256)};
  return kAll;
}

std::unique_ptr<SaslServer> NewSaslServer(std::string_view mechanism,
                                          const CredentialStore* users) {
  if (mechanism == kMechanismPlain) return std::make_unique<PlainServer>(users);
  if (mechanism == kMechanismScramSha256) return std::make_unique<ScramServer>(users);
  return nullptr;
}

}  // namespace runnel::kafka
