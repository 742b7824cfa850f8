#include "protocol/kafka/sasl_scram.h"

#include <openssl/crypto.h>

#include <vector>

namespace runnel::kafka {
namespace {

constexpr std::string_view kInvalidCredentials = "Authentication failed: Invalid user credentials";

std::vector<std::string_view> SplitCommas(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// "x=value" with the given attribute letter.
bool Attr(std::string_view field, char name, std::string_view* value) {
  if (field.size() < 2 || field[0] != name || field[1] != '=') return false;
  *value = field.substr(2);
  return true;
}

// RFC 5802 §7: printable ASCII except ','.
bool ValidNonce(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

SaslStep Fail(std::string error) {
  SaslStep s;
  s.state = SaslStep::State::kFailed;
  s.error = std::move(error);
  return s;
}

}  // namespace

bool DecodeSaslName(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ',') return false;
    if (c != '=') {
      out->push_back(c);
      continue;
    }
    std::string_view esc = text.substr(i + 1, 2);
    if (esc == "2C") {
      out->push_back(',');
    } else if (esc == "3D") {
      out->push_back('=');
    } else {
      return false;
    }
    i += 2;
  }
  return !out->empty();
}

ScramServer::ScramServer(const CredentialStore* users, std::string server_nonce)
    : users_(users), server_nonce_(std::move(server_nonce)) {
  if (server_nonce_.empty()) server_nonce_ = Base64Encode(RandomBytes(18));
}

SaslStep ScramServer::Next(std::string_view client_token) {
  switch (stage_) {
    case Stage::kFirst:
      stage_ = Stage::kOver;  // until ClientFirst succeeds
      return ClientFirst(client_token);
    case Stage::kFinal:
      stage_ = Stage::kOver;
      return ClientFinal(client_token);
    case Stage::kOver:
      break;
  }
  return Fail("Unexpected SCRAM message after the exchange ended");
}

SaslStep ScramServer::ClientFirst(std::string_view msg) {
  // gs2-header: cbind flag, authzid, then the bare message.
  std::vector<std::string_view> f = SplitCommas(msg);
  if (f.size() < 4) return Fail("Invalid SCRAM client first message");
  if (f[0] != "n" && f[0] != "y") {
    return Fail("Invalid SCRAM client first message: channel binding is not supported");
  }
  std::string authzid;
  std::string_view a;
  if (!f[1].empty() && (!Attr(f[1], 'a', &a) || !DecodeSaslName(a, &authzid))) {
    return Fail("Invalid SCRAM client first message: bad authorization id");
  }
  gs2_header_ = std::string(msg.substr(0, f[0].size() + f[1].size() + 2));
  client_first_bare_ = std::string(msg.substr(gs2_header_.size()));
  std::string_view name, cnonce;
  if (!Attr(f[2], 'n', &name) || !DecodeSaslName(name, &user_)) {
    return Fail("Invalid SCRAM client first message: bad user name");  // also "m=" (RFC 5802 §5.1)
  }
  if (!Attr(f[3], 'r', &cnonce) || !ValidNonce(cnonce)) {
    return Fail("Invalid SCRAM client first message: bad nonce");
  }
  for (size_t i = 4; i < f.size(); ++i) {
    if (f[i] == "tokenauth=true") return Fail("Delegation tokens are not supported");
  }
  if (!authzid.empty() && authzid != user_) {
    return Fail(
        "Authentication failed: Client requested an authorization id that is different "
        "from username");
  }
  if (const ScramCredential* c = users_->Find(user_)) {
    cred_ = *c;
    known_user_ = true;
  } else {
    cred_.salt = users_->FakeSalt(user_);
    cred_.iterations = kScramIterations;
  }
  nonce_ = std::string(cnonce) + server_nonce_;
  server_first_ =
      "r=" + nonce_ + ",s=" + Base64Encode(cred_.salt) + ",i=" + std::to_string(cred_.iterations);
  stage_ = Stage::kFinal;
  SaslStep s;
  s.state = SaslStep::State::kContinue;
  s.token = server_first_;
  return s;
}

SaslStep ScramServer::ClientFinal(std::string_view msg) {
  // The proof is last; everything before ",p=" is signed.
  size_t p = msg.rfind(",p=");
  if (p == std::string_view::npos) return Fail("Invalid SCRAM client final message: no proof");
  std::string_view without_proof = msg.substr(0, p);
  std::vector<std::string_view> f = SplitCommas(without_proof);
  std::string_view cbind, nonce;
  if (f.size() < 2 || !Attr(f[0], 'c', &cbind) || !Attr(f[1], 'r', &nonce)) {
    return Fail("Invalid SCRAM client final message");
  }
  std::string cbind_raw;
  if (!Base64Decode(cbind, &cbind_raw) || cbind_raw != gs2_header_) {
    return Fail("Invalid SCRAM client final message: channel binding does not match");
  }
  if (nonce.size() < nonce_.size() || nonce.substr(nonce.size() - nonce_.size()) != nonce_) {
    return Fail("Invalid SCRAM client final message: nonce does not match");
  }
  std::string proof;
  if (!Base64Decode(msg.substr(p + 3), &proof) || proof.size() != kScramKeyBytes) {
    return Fail("Invalid SCRAM client final message: bad proof");
  }
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  ScramKey client_sig = HmacSha256(cred_.stored_key, auth_message);
  std::string client_key(kScramKeyBytes, '\0');
  for (size_t i = 0; i < kScramKeyBytes; ++i) {
    client_key[i] = static_cast<char>(static_cast<uint8_t>(proof[i]) ^ client_sig[i]);
  }
  ScramKey stored = Sha256(client_key);
  OPENSSL_cleanse(client_key.data(), client_key.size());
  if (!known_user_ || CRYPTO_memcmp(stored.data(), cred_.stored_key.data(), kScramKeyBytes) != 0) {
    return Fail(std::string(kInvalidCredentials));
  }
  ScramKey server_sig = HmacSha256(cred_.server_key, auth_message);
  SaslStep s;
  s.state = SaslStep::State::kDone;
  s.token = "v=" + Base64Encode(std::string_view(reinterpret_cast<const char*>(server_sig.data()),
                                                 server_sig.size()));
  return s;
}

}  // namespace runnel::kafka
