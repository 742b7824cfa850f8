// The SASL mechanisms alone: SCRAM-SHA-256 against RFC 7677 §3's example
// exchange, PLAIN's grammar (RFC 4616 §2), base64, and the SASL bodies.
#include "protocol/kafka/sasl_credentials.h"
#include "protocol/kafka/sasl_messages.h"
#include "protocol/kafka/sasl_plain.h"
#include "protocol/kafka/sasl_scram.h"
#include "protocol/kafka/wire.h"

#include <gtest/gtest.h>

namespace runnel::kafka {
namespace {

// RFC 7677 §3: user "user", password "pencil".
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

CredentialStore Rfc7677Users() {
  CredentialStore users;
  std::string salt;
  EXPECT_TRUE(Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==", &salt));
  users.AddCredential("user", DeriveScramSha256("pencil", salt, 4096));
  return users;
}

TEST(ScramServerTest, Rfc7677ExchangeGivesTheServerSignature) {
  CredentialStore users = Rfc7677Users();
  ScramServer server(&users, std::string(kServerNonce));
  SaslStep first = server.Next(kClientFirst);
  ASSERT_EQ(first.state, SaslStep::State::kContinue) << first.error;
  EXPECT_EQ(first.token, kServerFirst);
  SaslStep final_step = server.Next(kClientFinal);
  ASSERT_EQ(final_step.state, SaslStep::State::kDone) << final_step.error;
  EXPECT_EQ(final_step.token, kServerFinal);
  EXPECT_EQ(server.user(), "user");
  EXPECT_EQ(server.Next("more").state, SaslStep::State::kFailed);
}

TEST(ScramServerTest, WrongProofFailsWithInvalidCredentials) {
  CredentialStore users;
  std::string salt;
  ASSERT_TRUE(Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==", &salt));
  users.AddCredential("user", DeriveScramSha256("not pencil", salt, 4096));
  ScramServer server(&users, std::string(kServerNonce));
  ASSERT_EQ(server.Next(kClientFirst).state, SaslStep::State::kContinue);
  SaslStep s = server.Next(kClientFinal);
  EXPECT_EQ(s.state, SaslStep::State::kFailed);
  EXPECT_NE(s.error.find("Invalid user credentials"), std::string::npos);
}

TEST(ScramServerTest, UnknownUserGetsAFakeSaltAndFailsLikeAWrongPassword) {
  CredentialStore users = Rfc7677Users();
  ScramServer a(&users, std::string(kServerNonce)), b(&users, std::string(kServerNonce));
  SaslStep first = a.Next("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(first.state, SaslStep::State::kContinue);
  EXPECT_NE(first.token.find(",s="), std::string::npos);
  EXPECT_NE(first.token.find(",i=4096"), std::string::npos);
  // The same fake salt each time (an attacker cannot tell by asking twice).
  EXPECT_EQ(b.Next("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO").token, first.token);
  SaslStep s = a.Next(kClientFinal);
  EXPECT_EQ(s.state, SaslStep::State::kFailed);
  EXPECT_NE(s.error.find("Invalid user credentials"), std::string::npos);
}

TEST(ScramServerTest, ClientFinalNonceMayRepeatTheClientNonce) {
  // Kafka's ScramSaslServer checks only that the nonce ends with the
  // server-first nonce; the proof then covers what the client sent.
  CredentialStore users = Rfc7677Users();
  ScramServer server(&users, std::string(kServerNonce));
  ASSERT_EQ(server.Next(kClientFirst).state, SaslStep::State::kContinue);
  SaslStep s = server.Next(
      "c=biws,r=XrOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  // Nonce accepted, but the proof was computed over another AuthMessage.
  EXPECT_EQ(s.state, SaslStep::State::kFailed);
  EXPECT_NE(s.error.find("Invalid user credentials"), std::string::npos);
}

TEST(ScramServerTest, BadMessagesFail) {
  CredentialStore users = Rfc7677Users();
  for (std::string_view first :
       {"", "n,,", "p=tls-unique,,n=user,r=abc", "n,,m=ext,n=user,r=abc", "n,,n=user",
        "n,,n=us=er,r=abc", "n,,n=,r=abc", "n,,n=user,r=", "x,,n=user,r=abc",
        "n,a=other,n=user,r=abc", "n,,n=user,r=abc,tokenauth=true"}) {
    ScramServer server(&users, std::string(kServerNonce));
    EXPECT_EQ(server.Next(first).state, SaslStep::State::kFailed) << first;
  }
  for (std::string_view final_msg :
       {"", "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!!"}) {
    ScramServer server(&users, std::string(kServerNonce));
    ASSERT_EQ(server.Next(kClientFirst).state, SaslStep::State::kContinue);
    EXPECT_EQ(server.Next(final_msg).state, SaslStep::State::kFailed) << final_msg;
  }
}

TEST(ScramServerTest, AuthzidEqualToTheUserIsAccepted) {
  CredentialStore users = Rfc7677Users();
  ScramServer server(&users, "snonce");
  SaslStep s = server.Next("n,a=user,n=user,r=abc");
  ASSERT_EQ(s.state, SaslStep::State::kContinue) << s.error;
  EXPECT_EQ(s.token.substr(0, 12), "r=abcsnonce,");
}

TEST(ScramServerTest, RandomServerNoncesDiffer) {
  CredentialStore users = Rfc7677Users();
  ScramServer a(&users), b(&users);
  EXPECT_NE(a.Next(kClientFirst).token, b.Next(kClientFirst).token);
}

TEST(SaslNameTest, EscapesDecode) {
  std::string out;
  EXPECT_TRUE(DecodeSaslName("a=2Cb=3Dc", &out));
  EXPECT_EQ(out, "a,b=c");
  EXPECT_FALSE(DecodeSaslName("a=2", &out));
  EXPECT_FALSE(DecodeSaslName("a=41", &out));
  EXPECT_FALSE(DecodeSaslName("", &out));
}

TEST(PlainParseTest, ThreeFieldsSplitAtNul) {
  std::string err;
  auto m = ParsePlain(std::string_view("\0alice\0secret", 13), &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->authzid, "");
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "secret");
  m = ParsePlain(std::string_view("alice\0alice\0secret", 18), &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->authzid, "alice");
}

TEST(PlainParseTest, BadMessagesAreRefused) {
  std::string err;
  for (std::string_view bad :
       {std::string_view(""), std::string_view("alice"), std::string_view("\0alice", 6),
        std::string_view("\0\0secret", 8), std::string_view("\0alice\0", 7),
        std::string_view("\0alice\0se\0cret", 14), std::string_view("bob\0alice\0secret", 16)}) {
    err.clear();
    EXPECT_FALSE(ParsePlain(bad, &err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(PlainServerTest, ChecksThePasswordAgainstTheSaltedCredential) {
  CredentialStore users;
  users.AddUser("alice", "secret");
  PlainServer good(&users);
  SaslStep s = good.Next(std::string_view("\0alice\0secret", 13));
  EXPECT_EQ(s.state, SaslStep::State::kDone) << s.error;
  EXPECT_EQ(s.token, "");
  EXPECT_EQ(good.user(), "alice");
  PlainServer bad(&users);
  s = bad.Next(std::string_view("\0alice\0secreT", 13));
  EXPECT_EQ(s.state, SaslStep::State::kFailed);
  EXPECT_NE(s.error.find("Invalid username or password"), std::string::npos);
  PlainServer unknown(&users);
  EXPECT_EQ(unknown.Next(std::string_view("\0bob\0secret", 11)).state, SaslStep::State::kFailed);
}

TEST(CredentialStoreTest, SaltsAreRandomPerUser) {
  CredentialStore users;
  users.AddUser("a", "pw");
  users.AddUser("b", "pw");
  EXPECT_EQ(users.Find("a")->salt.size(), 16u);
  EXPECT_NE(users.Find("a")->salt, users.Find("b")->salt);
  EXPECT_NE(users.Find("a")->stored_key, users.Find("b")->stored_key);
  EXPECT_TRUE(PasswordMatches(*users.Find("a"), "pw"));
  EXPECT_FALSE(PasswordMatches(*users.Find("a"), "pW"));
  EXPECT_EQ(users.Find("c"), nullptr);
}

TEST(ScramCredentialTest, KafkaTextFormRoundTripsAndServesTheRfcExchange) {
  std::string salt;
  ASSERT_TRUE(Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==", &salt));
  const std::string text = FormatScramCredential(DeriveScramSha256("pencil", salt, 4096));
  EXPECT_EQ(text.substr(0, 30), "salt=W22ZaJ0SNY7soEsUEjb6gQ==,");
  ScramCredential parsed;
  std::string err;
  ASSERT_TRUE(ParseScramCredential(text, &parsed, &err)) << err;
  CredentialStore users;
  users.AddCredential("user", parsed);
  ScramServer server(&users, std::string(kServerNonce));
  ASSERT_EQ(server.Next(kClientFirst).token, kServerFirst);
  EXPECT_EQ(server.Next(kClientFinal).token, kServerFinal);
  EXPECT_TRUE(PasswordMatches(parsed, "pencil"));
}

TEST(ScramCredentialTest, BadTextIsRefused) {
  const std::string k = Base64Encode(std::string(32, 'k'));
  ScramCredential c;
  std::string err;
  for (const std::string& bad :
       {std::string(""), "salt=c2FsdA==,stored_key=" + k + ",server_key=" + k,
        "salt=c2FsdA==,stored_key=" + k + ",server_key=" + k + ",iterations=100",
        "salt=c2FsdA==,stored_key=" + k + ",server_key=" + k + ",iterations=4096x",
        "salt=,stored_key=" + k + ",server_key=" + k + ",iterations=4096",
        "salt=c2FsdA==,stored_key=c2FsdA==,server_key=" + k + ",iterations=4096",
        "salt=c2FsdA==,stored_key=" + k + ",server_key=" + k + ",iterations=4096,colour=red",
        "salt,stored_key=" + k + ",server_key=" + k + ",iterations=4096"}) {
    err.clear();
    EXPECT_FALSE(ParseScramCredential(bad, &c, &err)) << bad;
    EXPECT_FALSE(err.empty());
  }
  EXPECT_TRUE(ParseScramCredential(
      "iterations=8192,server_key=" + k + ",stored_key=" + k + ",salt=c2FsdA==", &c, &err))
      << err;
  EXPECT_EQ(c.iterations, 8192);
  EXPECT_EQ(c.salt, "salt");
}

TEST(Base64Test, RoundTripsAndRejectsJunk) {
  std::string out;
  for (std::string_view raw : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    ASSERT_TRUE(Base64Decode(Base64Encode(raw), &out)) << raw;
    EXPECT_EQ(out, raw);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  for (std::string_view bad : {"Zm8", "Zm 8=", "Z=8=", "Zm8=Zm8=", "Zm\n8"}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
}

TEST(SaslCodecTest, HandshakeAndAuthenticateBodies) {
  std::string body;
  Encoder e(&body);
  e.String("SCRAM-SHA-256", false);
  SaslHandshakeRequest hs;
  ASSERT_TRUE(DecodeSaslHandshake(body, 1, &hs));
  EXPECT_EQ(hs.mechanism, "SCRAM-SHA-256");
  EXPECT_FALSE(DecodeSaslHandshake("\x00", 1, &hs));

  std::string out;
  EncodeSaslHandshake({ErrorCode::kUnsupportedSaslMechanism, {"PLAIN"}}, 1, &out);
  EXPECT_EQ(out, std::string("\x00\x21\x00\x00\x00\x01\x00\x05PLAIN", 13));

  body.clear();
  Encoder(&body).Bytes(std::string_view("tok"), false);
  SaslAuthenticateRequest auth;
  ASSERT_TRUE(DecodeSaslAuthenticate(body, 0, &auth));
  EXPECT_EQ(auth.auth_bytes, "tok");

  SaslAuthenticateResponse r;
  r.error = ErrorCode::kSaslAuthenticationFailed;
  r.error_message = "no";
  out.clear();
  EncodeSaslAuthenticate(r, 0, &out);
  EXPECT_EQ(out, std::string("\x00\x3a\x00\x02no\x00\x00\x00\x00", 10));
  out.clear();
  EncodeSaslAuthenticate(r, 1, &out);
  EXPECT_EQ(out.size(), 18u);  // + session_lifetime_ms

  out.clear();
  EncodeRawSaslToken("", &out);
  EXPECT_EQ(out, std::string("\x00\x00\x00\x00", 4));
}

}  // namespace
}  // namespace runnel::kafka
