#include "protocol/kafka/sasl_credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <utility>

namespace runnel::kafka {

ScramKey HmacSha256(std::string_view key, std::string_view data) {
  ScramKey out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

ScramKey HmacSha256(const ScramKey& key, std::string_view data) {
  return HmacSha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), data);
}

ScramKey Sha256(std::string_view data) {
  ScramKey out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

ScramCredential DeriveScramSha256(std::string_view password, std::string_view salt,
                                  int iterations) {
  ScramKey salted{};
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(salted.size()), salted.data());
  ScramKey client_key = HmacSha256(salted, "Client Key");
  ScramCredential c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key =
      Sha256(std::string_view(reinterpret_cast<const char*>(client_key.data()), client_key.size()));
  c.server_key = HmacSha256(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return c;
}

bool PasswordMatches(const ScramCredential& cred, std::string_view password) {
  ScramCredential again = DeriveScramSha256(password, cred.salt, cred.iterations);
  return CRYPTO_memcmp(again.stored_key.data(), cred.stored_key.data(), kScramKeyBytes) == 0;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no entropy: nothing secure can be done
  }
  return out;
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  // EVP_DecodeBlock tolerates surrounding whitespace; SCRAM attributes may
  // not have any.
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) {
      return false;
    }
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad++;
  if (text.size() >= 2 && text[text.size() - 2] == '=') pad++;
  if (text.substr(0, text.size() - pad).find('=') != std::string_view::npos) return false;
  out->assign(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

bool ParseScramCredential(std::string_view text, ScramCredential* out, std::string* error) {
  bool salt = false, stored = false, server = false, iterations = false;
  auto key = [&](std::string_view b64, ScramKey* k) {
    std::string raw;
    if (!Base64Decode(b64, &raw) || raw.size() != kScramKeyBytes) return false;
    std::copy(raw.begin(), raw.end(), k->begin());
    return true;
  };
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view field = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t eq = field.find('=');
    std::string_view name = field.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : field.substr(eq + 1);
    bool ok = eq != std::string_view::npos;
    if (name == "salt") {
      ok = ok && Base64Decode(value, &out->salt) && !out->salt.empty();
      salt = true;
    } else if (name == "stored_key") {
      ok = ok && key(value, &out->stored_key);
      stored = true;
    } else if (name == "server_key") {
      ok = ok && key(value, &out->server_key);
      server = true;
    } else if (name == "iterations") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out->iterations);
      ok = ok && ec == std::errc() && p == value.data() + value.size() &&
           out->iterations >= kScramIterations && out->iterations <= 1000000;
      iterations = true;
    } else {
      ok = false;
    }
    if (!ok) {
      *error = "bad SCRAM credential attribute '" + std::string(name) + "'";
      return false;
    }
  }
  if (!salt || !stored || !server || !iterations) {
    *error = "a SCRAM credential needs salt, stored_key, server_key and iterations";
    return false;
  }
  return true;
}

std::string FormatScramCredential(const ScramCredential& c) {
  auto b64 = [](const ScramKey& k) {
    return Base64Encode(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  };
  return "salt=" + Base64Encode(c.salt) + ",stored_key=" + b64(c.stored_key) +
         ",server_key=" + b64(c.server_key) + ",iterations=" + std::to_string(c.iterations);
}

CredentialStore::CredentialStore() : fake_salt_key_(RandomBytes(32)) {}

void CredentialStore::AddUser(const std::string& name, std::string_view password) {
  users_[name] = DeriveScramSha256(password, RandomBytes(16), kScramIterations);
}

void CredentialStore::AddCredential(const std::string& name, ScramCredential cred) {
  users_[name] = std::move(cred);
}

const ScramCredential* CredentialStore::Find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

std::string CredentialStore::FakeSalt(std::string_view name) const {
  ScramKey mac = HmacSha256(fake_salt_key_, name);
  return std::string(reinterpret_cast<const char*>(mac.data()), 16);
}

}  // namespace runnel::kafka
