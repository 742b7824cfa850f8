// SCRAM-SHA-256 credentials (RFC 5802 §3, RFC 7677) and the user table the
// Kafka SASL mechanisms check against.
//
// The server keeps only salted credentials: for each user a random 16-byte
// salt, the iteration count (4096, Kafka's and RFC 7677's minimum),
//   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i)
//   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//   ServerKey      = HMAC(SaltedPassword, "Server Key")
// PLAIN is checked against the same credential (the password given is
// salted and hashed again and compared with StoredKey), so no password is
// kept in memory after start. All crypto is OpenSSL's (libcrypto).
//
// Thread safety: a CredentialStore is built once at start and then only
// read, from any io thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace runnel::kafka {

inline constexpr int kScramIterations = 4096;
inline constexpr size_t kScramKeyBytes = 32;  // SHA-256
using ScramKey = std::array<uint8_t, kScramKeyBytes>;

struct ScramCredential {
  std::string salt;  // raw bytes
  int iterations = kScramIterations;
  ScramKey stored_key{};
  ScramKey server_key{};
};

// The credential for `password` with this salt and iteration count.
ScramCredential DeriveScramSha256(std::string_view password, std::string_view salt, int iterations);
// Whether `password` is the one `cred` was derived from (constant time in
// the comparison; costs one PBKDF2).
bool PasswordMatches(const ScramCredential& cred, std::string_view password);

// A stored credential in Kafka's text form (kafka-configs / ScramCredential
// toString): "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>",
// attributes in any order, keys 32 bytes, salt non-empty, 4096 <= n <=
// 1000000 (librdkafka refuses more). False with *error set otherwise.
bool ParseScramCredential(std::string_view text, ScramCredential* out, std::string* error);
std::string FormatScramCredential(const ScramCredential& cred);

// HMAC-SHA-256 and SHA-256 (OpenSSL).
ScramKey HmacSha256(const ScramKey& key, std::string_view data);
ScramKey HmacSha256(std::string_view key, std::string_view data);
ScramKey Sha256(std::string_view data);
// Random bytes from OpenSSL's CSPRNG.
std::string RandomBytes(size_t n);
// Standard base64 with padding (RFC 4648 §4). Decode fails on anything else.
std::string Base64Encode(std::string_view raw);
bool Base64Decode(std::string_view text, std::string* out);

class CredentialStore {
 public:
  CredentialStore();  // draws the secret behind unknown users' fake salts
  // Adds (or replaces) a user with a fresh random salt.
  void AddUser(const std::string& name, std::string_view password);
  // Adds (or replaces) a user with a credential made elsewhere.
  void AddCredential(const std::string& name, ScramCredential cred);
  bool empty() const { return users_.empty(); }
  // nullptr for an unknown user.
  const ScramCredential* Find(std::string_view name) const;
  // For an unknown user SCRAM still answers a server-first message (so a
  // client cannot tell unknown users from wrong passwords, RFC 5802 §9):
  // with this salt, the same for the same name within one server run.
  std::string FakeSalt(std::string_view name) const;

 private:
  std::map<std::string, ScramCredential, std::less<>> users_;
  std::string fake_salt_key_;
};

}  // namespace runnel::kafka
