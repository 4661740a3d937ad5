// Token rules: every way a token is refused, the algorithms that are accepted, and the claims the
// server honours. Keys for RS256/ES256 are generated here with OpenSSL into a temp directory.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "server/auth.hpp"
#include "server/server.hpp"
#include "ws_client.hpp"

using namespace sb::server;
using nlohmann::json;
using sb::testing::WsClient;

namespace {
constexpr const char* kSecret = "auth-test-secret";

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string b64url(std::string_view in) { return jwt::base64url_encode(in); }

// A token assembled by hand: header and claims as given, signature as given (HS256 by default).
std::string hand_token(const json& header, const json& claims, std::optional<std::string> sig = std::nullopt) {
  std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
  if (!sig) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    sig = b64url(std::string(reinterpret_cast<char*>(mac), len));
  }
  return input + "." + *sig;
}

json claims_for(const std::string& user, std::int64_t ttl = 60) {
  return json{{"sub", user}, {"iat", now()}, {"exp", now() + ttl}};
}

JwtConfig hs(const char* alg = "HS256") {
  JwtConfig c;
  c.algorithm = alg;
  c.secret = kSecret;
  c.leeway = std::chrono::seconds(5);
  return c;
}

struct KeyPair {
  std::string private_pem, public_pem;
};

// Generates a key pair with OpenSSL, writes both PEM files into `dir` and reads them back the way
// the server does (read_file), so the file path is exercised too.
KeyPair make_keys(const char* type, const std::filesystem::path& dir) {
  EVP_PKEY* key = std::string(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(key, nullptr);
  auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    else PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  std::filesystem::create_directories(dir);
  std::ofstream(dir / (std::string(type) + "-private.pem")) << pem(true);
  std::ofstream(dir / (std::string(type) + "-public.pem")) << pem(false);
  EVP_PKEY_free(key);
  KeyPair kp;
  EXPECT_TRUE(read_file((dir / (std::string(type) + "-private.pem")).string(), kp.private_pem));
  EXPECT_TRUE(read_file((dir / (std::string(type) + "-public.pem")).string(), kp.public_pem));
  return kp;
}

class KeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("switchboard-keys-" + std::to_string(::getpid()));
    rsa_ = new KeyPair(make_keys("RSA", dir_));
    ec_ = new KeyPair(make_keys("EC", dir_));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static JwtConfig pk(const char* alg, const KeyPair& kp) {
    JwtConfig c;
    c.algorithm = alg;
    c.public_key = kp.public_pem;
    c.private_key = kp.private_pem;
    return c;
  }
  static inline std::filesystem::path dir_;
  static inline KeyPair* rsa_ = nullptr;
  static inline KeyPair* ec_ = nullptr;
};
}  // namespace

TEST(Auth, AcceptsAGoodHs256Token) {
  Authenticator auth(hs());
  auto id = auth.verify(auth.issue("alice", std::chrono::seconds(60)));
  EXPECT_TRUE(id.ok) << id.error;
  EXPECT_EQ(id.user, "alice");
  // The hand-made signer agrees with the library's.
  EXPECT_TRUE(auth.verify(hand_token({{"alg", "HS256"}, {"typ", "JWT"}}, claims_for("bob"))).ok);
}

TEST(Auth, RefusesMissingGarbageAndMalformedTokens) {
  Authenticator auth(hs());
  for (const std::string& t : {std::string(), std::string("garbage"), std::string("a.b"), std::string("a.b.c.d"),
                               std::string("!!!.???.###"), b64url("not json") + "." + b64url("{}") + ".sig",
                               b64url("[1]") + "." + b64url("{}") + ".sig", b64url(R"({"alg":5})") + ".e30.sig",
                               std::string(9000, 'a')}) {
    auto id = auth.verify(t);
    EXPECT_FALSE(id.ok) << t;
    EXPECT_FALSE(id.error.empty()) << t;
  }
  // A valid header and signature over a payload that is not a JSON object.
  std::string input = b64url(R"({"alg":"HS256"})") + "." + b64url("nope");
  EXPECT_FALSE(auth.verify(input + ".x").ok);
}

TEST(Auth, RefusesABadSignature) {
  Authenticator auth(hs());
  auto forged = Authenticator(JwtConfig{"HS256", "another-secret"}).issue("alice", std::chrono::seconds(60));
  auto id = auth.verify(forged);
  EXPECT_FALSE(id.ok);
  EXPECT_NE(id.error.find("signature"), std::string::npos) << id.error;
  // A good token with one signature character changed.
  auto good = auth.issue("alice", std::chrono::seconds(60));
  good[good.size() - 3] = good[good.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(auth.verify(good).ok);
  // Alice's header and claims under the signature of another valid token (mallory's).
  auto a = auth.issue("alice", std::chrono::seconds(60));
  auto m = auth.issue("mallory", std::chrono::seconds(61));
  EXPECT_FALSE(auth.verify(a.substr(0, a.rfind('.')) + m.substr(m.rfind('.'))).ok);
}

TEST(Auth, RefusesAlgNoneInEverySpelling) {
  Authenticator auth(hs());
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    for (const std::string& sig : {std::string(), std::string("x")}) {
      auto t = hand_token({{"alg", alg}, {"typ", "JWT"}}, claims_for("alice"), sig);
      auto id = auth.verify(t);
      EXPECT_FALSE(id.ok) << t;
      EXPECT_NE(id.error.find("none"), std::string::npos) << id.error;
    }
  }
  // No alg at all, or an empty one.
  EXPECT_FALSE(auth.verify(hand_token({{"typ", "JWT"}}, claims_for("alice"), "")).ok);
  EXPECT_FALSE(auth.verify(hand_token({{"alg", ""}}, claims_for("alice"), "")).ok);
}

TEST(Auth, RefusesAnAlgorithmOtherThanTheConfiguredOne) {
  Authenticator auth(hs("HS256"));
  auto hs384 = Authenticator(hs("HS384")).issue("alice", std::chrono::seconds(60));
  auto id = auth.verify(hs384);
  EXPECT_FALSE(id.ok);
  EXPECT_NE(id.error.find("HS384"), std::string::npos) << id.error;
  // Lower-case spelling of the right algorithm is still another algorithm.
  EXPECT_FALSE(auth.verify(hand_token({{"alg", "hs256"}}, claims_for("alice"))).ok);
  // Every HS variant works when it is the configured one.
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    Authenticator a(hs(alg));
    EXPECT_TRUE(a.verify(a.issue("alice", std::chrono::seconds(60))).ok) << alg;
  }
}

TEST(Auth, EnforcesExpAndNbfWithALeeway) {
  Authenticator auth(hs());  // leeway 5 s
  auto expired = auth.issue(json{{"sub", "alice"}, {"exp", now() - 60}});
  EXPECT_EQ(auth.verify(expired).error, "Token expired.");
  EXPECT_TRUE(auth.verify(auth.issue(json{{"sub", "alice"}, {"exp", now() - 2}})).ok);  // within leeway
  auto early = auth.issue(json{{"sub", "alice"}, {"exp", now() + 600}, {"nbf", now() + 300}});
  EXPECT_NE(auth.verify(early).error.find("not valid yet"), std::string::npos);
  EXPECT_TRUE(auth.verify(auth.issue(json{{"sub", "alice"}, {"exp", now() + 600}, {"nbf", now() + 2}})).ok);
  // exp is required unless configured otherwise; it must be a number.
  EXPECT_FALSE(auth.verify(auth.issue(json{{"sub", "alice"}})).ok);
  EXPECT_FALSE(auth.verify(auth.issue(json{{"sub", "alice"}, {"exp", "tomorrow"}})).ok);
  auto lax_cfg = hs();
  lax_cfg.require_exp = false;
  Authenticator lax(lax_cfg);
  EXPECT_TRUE(lax.verify(lax.issue(json{{"sub", "alice"}})).ok);
}

TEST(Auth, ChecksIssuerAndAudienceWhenConfigured) {
  auto cfg = hs();
  cfg.issuer = "https://login.example.com";
  cfg.audience = "switchboard";
  Authenticator auth(cfg);
  auto base = claims_for("alice");
  auto with = [&](json extra) {
    json c = base;
    c.update(extra);
    return auth.verify(auth.issue(c));
  };
  EXPECT_TRUE(with({{"iss", cfg.issuer}, {"aud", "switchboard"}}).ok);
  EXPECT_TRUE(with({{"iss", cfg.issuer}, {"aud", {"other", "switchboard"}}}).ok);
  EXPECT_EQ(with({{"iss", "https://evil.example.com"}, {"aud", "switchboard"}}).error, "Invalid token: wrong issuer.");
  EXPECT_EQ(with({{"aud", "switchboard"}}).error, "Invalid token: wrong issuer.");
  EXPECT_EQ(with({{"iss", cfg.issuer}, {"aud", "other"}}).error, "Invalid token: wrong audience.");
  EXPECT_EQ(with({{"iss", cfg.issuer}}).error, "Invalid token: wrong audience.");
  // issue(user, ttl) fills both in.
  EXPECT_TRUE(auth.verify(auth.issue("alice", std::chrono::seconds(60))).ok);
}

TEST(Auth, SubMustBeAValidUserId) {
  Authenticator auth(hs());
  for (json sub : {json(), json(5), json(""), json(std::string(200, 'x')), json("a\nb")}) {
    json c{{"exp", now() + 60}};
    if (!sub.is_null()) c["sub"] = sub;
    EXPECT_FALSE(auth.verify(auth.issue(c)).ok) << c.dump();
  }
}

TEST(Auth, ReadsTheGroupsAndMaxConnectionsClaims) {
  Authenticator auth(hs());
  auto c = claims_for("alice");
  c["groups"] = {"lobby", "team-*"};
  c["max_connections"] = 2;
  auto id = auth.verify(auth.issue(c));
  ASSERT_TRUE(id.ok) << id.error;
  ASSERT_TRUE(id.groups);
  EXPECT_EQ(*id.groups, (std::vector<std::string>{"lobby", "team-*"}));
  EXPECT_EQ(id.max_connections, 2u);
  EXPECT_TRUE(Authenticator::group_allowed(*id.groups, "lobby"));
  EXPECT_TRUE(Authenticator::group_allowed(*id.groups, "team-red"));
  EXPECT_FALSE(Authenticator::group_allowed(*id.groups, "lobby2"));
  EXPECT_FALSE(Authenticator::group_allowed(*id.groups, "team"));
  EXPECT_TRUE(Authenticator::group_allowed({"*"}, "anything"));
  for (json bad : {json("lobby"), json({1, 2})}) {
    auto b = claims_for("alice");
    b["groups"] = bad;
    EXPECT_FALSE(auth.verify(auth.issue(b)).ok);
  }
  for (json bad : {json(0), json(-1), json("2"), json(1.5)}) {
    auto b = claims_for("alice");
    b["max_connections"] = bad;
    EXPECT_FALSE(auth.verify(auth.issue(b)).ok) << bad.dump();
  }
}

TEST(Auth, ConfigurationProblemsAreReported) {
  EXPECT_TRUE(Authenticator(hs()).check().empty());
  EXPECT_FALSE(Authenticator(JwtConfig{"HS256", ""}).check().empty());
  EXPECT_FALSE(Authenticator(JwtConfig{"none", kSecret}).check().empty());
  EXPECT_FALSE(Authenticator(JwtConfig{"RS384", kSecret}).check().empty());
  JwtConfig rs;
  rs.algorithm = "RS256";
  rs.public_key = "not a key";
  EXPECT_FALSE(Authenticator(rs).check().empty());
}

TEST_F(KeysTest, Rs256AndEs256TokensVerifyWithThePublicKey) {
  for (auto [alg, kp] : {std::pair<const char*, KeyPair*>{"RS256", rsa_}, {"ES256", ec_}}) {
    Authenticator auth(pk(alg, *kp));
    ASSERT_TRUE(auth.check().empty()) << alg << ": " << auth.check();
    auto token = auth.issue("alice", std::chrono::seconds(60));
    auto id = auth.verify(token);
    EXPECT_TRUE(id.ok) << alg << ": " << id.error;
    EXPECT_EQ(id.user, "alice");
    // A verifier holding only the public key accepts it too.
    JwtConfig verify_only;
    verify_only.algorithm = alg;
    verify_only.public_key = kp->public_pem;
    EXPECT_TRUE(Authenticator(verify_only).verify(token).ok) << alg;
    EXPECT_FALSE(Authenticator(verify_only).can_issue());
    // Tampered signature.
    auto bad = token;
    bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(auth.verify(bad).ok) << alg;
    // Expired still expires.
    EXPECT_EQ(auth.verify(auth.issue(json{{"sub", "alice"}, {"exp", now() - 3600}})).error, "Token expired.");
  }
  // The wrong key type for the algorithm is a configuration error.
  EXPECT_FALSE(Authenticator(pk("RS256", *ec_)).check().empty());
  EXPECT_FALSE(Authenticator(pk("ES256", *rsa_)).check().empty());
}

TEST_F(KeysTest, KeyConfusionAndForeignKeysAreRefused) {
  Authenticator rs(pk("RS256", *rsa_));
  // HS256 signed with the RSA public key text as the HMAC secret: the classic confusion attack.
  Authenticator confused(JwtConfig{"HS256", rsa_->public_pem});
  auto id = rs.verify(confused.issue("alice", std::chrono::seconds(60)));
  EXPECT_FALSE(id.ok);
  EXPECT_NE(id.error.find("HS256"), std::string::npos) << id.error;
  // An ES256 token on an RS256 server, and an RS256 token signed by another key.
  EXPECT_FALSE(rs.verify(Authenticator(pk("ES256", *ec_)).issue("alice", std::chrono::seconds(60))).ok);
  KeyPair other = make_keys("RSA", dir_ / "other");
  auto foreign = Authenticator(pk("RS256", other)).issue("alice", std::chrono::seconds(60));
  auto foreign_id = rs.verify(foreign);
  EXPECT_FALSE(foreign_id.ok);
  EXPECT_NE(foreign_id.error.find("signature"), std::string::npos) << foreign_id.error;
  // alg none on a public-key server.
  EXPECT_FALSE(rs.verify(hand_token({{"alg", "none"}}, claims_for("alice"), "")).ok);
}

// Over real sockets: each refusal closes with 4001 and a reason; an RS256 server welcomes a good
// token; a second client on the same server is unaffected.
TEST_F(KeysTest, ServerClosesEveryRefusedTokenWith4001) {
  Config cfg;
  cfg.port = 0;
  cfg.threads = 2;
  cfg.log_level = "warn";
  cfg.jwt = pk("RS256", *rsa_);
  cfg.jwt.issuer = "login";
  cfg.jwt.audience = "sb";
  cfg.jwt.leeway = std::chrono::seconds(2);
  Server server(cfg);
  auto port = server.start();
  Authenticator good(cfg.jwt);
  auto claims = [&](json extra) {
    if (extra.is_null()) extra = json::object();
    json c{{"sub", "alice"}, {"exp", now() + 60}, {"iss", "login"}, {"aud", "sb"}};
    c.update(extra);
    return c;
  };

  WsClient bystander;
  ASSERT_TRUE(bystander.connect(port, "/realtime?token=" + good.issue("bob", std::chrono::seconds(60))));
  ASSERT_EQ((*bystander.recv())["op"], "welcome");
  bystander.request({{"op", "join"}, {"group", "room"}});

  std::vector<std::pair<std::string, std::string>> cases = {
      {"none", ""},
      {"garbage", "garbage"},
      {"bad signature", Authenticator(pk("RS256", make_keys("RSA", dir_ / "x"))).issue(claims({}))},
      {"wrong alg", Authenticator(JwtConfig{"HS256", rsa_->public_pem}).issue(claims({}))},
      {"alg none", hand_token({{"alg", "none"}}, claims({}), "")},
      {"expired", good.issue(claims({{"exp", now() - 60}}))},
      {"nbf in future", good.issue(claims({{"nbf", now() + 600}}))},
      {"wrong iss", good.issue(claims({{"iss", "elsewhere"}}))},
      {"wrong aud", good.issue(claims({{"aud", "other"}}))},
  };
  for (auto& [name, token] : cases) {
    WsClient c;
    ASSERT_TRUE(c.connect(port, "/realtime?token=" + token)) << name;
    EXPECT_FALSE(c.recv(std::chrono::seconds(3))) << name;  // no welcome
    EXPECT_TRUE(c.wait_closed()) << name;
    EXPECT_EQ(c.close_code(), 4001) << name;
    EXPECT_FALSE(c.close_reason().empty()) << name;
    EXPECT_EQ(c.close_reason().find(token.empty() ? "\x01" : token.substr(0, 20)), std::string::npos)
        << "the reason must not echo the token";
  }
  // The bystander lost nothing and still works.
  EXPECT_EQ(bystander.request({{"op", "post"}, {"group", "room"}, {"msg", 1}})["op"], "ok");
  EXPECT_TRUE(bystander.recv_op("message"));
  EXPECT_EQ(server.context().hub.connection_count(), 1u);
  // The client sees its close before the server has counted it: wait for the count, bounded.
  auto counted = [&] { return server.context().metrics.disconnects_of(Disconnect::Unauthorized); };
  for (int i = 0; i < 500 && counted() < cases.size(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(counted(), cases.size());

  // ES256 server, token in the subprotocol header.
  server.stop();
  cfg.jwt = pk("ES256", *ec_);
  Server es(cfg);
  auto es_port = es.start();
  WsClient c;
  ASSERT_TRUE(c.connect(es_port, "/realtime",
                        {{"Sec-WebSocket-Protocol", "switchboard, token." + Authenticator(cfg.jwt).issue("carol", std::chrono::seconds(60))}}));
  auto w = c.recv();
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)["user"], "carol");
  es.stop();
}

// The attack review's bypass: a made-up signature with odd time claims must never get in. The
// signature is checked first, so every one of these fails on it whatever the claims say.
TEST(Auth, ForgedSignaturesFailWhateverTheTimeClaimsSay) {
  Authenticator auth(hs());
  const json odd_claims[] = {
      {{"sub", "admin"}, {"exp", now() + 3600}, {"nbf", 0}},
      {{"sub", "admin"}, {"exp", now() + 3600}, {"nbf", -1}},
      {{"sub", "admin"}, {"exp", now() + 3600}, {"nbf", 1000}},
      {{"sub", "admin"}, {"exp", 18446744073709551615ull}},
      {{"sub", "admin"}, {"exp", 9223372036854775807ll}},
      {{"sub", "admin"}, {"exp", -1}},
      {{"sub", "admin"}, {"exp", 1e300}},
      {{"sub", "admin"}, {"exp", now() + 3600}, {"nbf", -9223372036854775807ll - 1}},
      {{"sub", "admin"}, {"exp", now() + 3600}, {"iat", -5}, {"groups", {"*"}}},
  };
  for (const json& c : odd_claims)
    for (const std::string& sig : {std::string("AAAA"), std::string("x"), b64url(std::string(32, '\0'))}) {
      auto id = auth.verify(hand_token({{"alg", "HS256"}}, c, sig));
      EXPECT_FALSE(id.ok) << c.dump() << " sig " << sig;
      EXPECT_NE(id.error.find("signature"), std::string::npos) << c.dump() << ": " << id.error;
    }
}

// Correctly signed tokens with time claims outside the sane range are refused too: integers from
// 0 to 2^53 only, and the leeway cannot overflow into "not expired".
TEST(Auth, TimeClaimsMustBeSaneIntegers) {
  Authenticator auth(hs());
  const json bad[] = {
      {{"exp", -1}}, {{"exp", 18446744073709551615ull}}, {{"exp", 9007199254740993ull}}, {{"exp", 1.5e9}},
      {{"exp", static_cast<double>(now() + 60)}}, {{"exp", "soon"}}, {{"exp", nullptr}}, {{"exp", true}},
      {{"exp", now() + 60}, {"nbf", -1}}, {{"exp", now() + 60}, {"nbf", 1.0}}, {{"exp", now() + 60}, {"nbf", "0"}},
      {{"exp", now() + 60}, {"iat", -1}}, {{"exp", now() + 60}, {"iat", "x"}},
  };
  for (json c : bad) {
    c["sub"] = "alice";
    auto id = auth.verify(hand_token({{"alg", "HS256"}}, c));
    EXPECT_FALSE(id.ok) << c.dump();
  }
  // The largest sane values still behave: exp = 2^53 is far in the future, nbf = 0 is long past.
  auto id = auth.verify(hand_token({{"alg", "HS256"}}, {{"sub", "alice"}, {"exp", 9007199254740992ull}, {"nbf", 0}}));
  EXPECT_TRUE(id.ok) << id.error;
}

// Extensions we do not understand ("crit") and duplicate keys that could mean two things to two
// parsers are refused.
TEST(Auth, RefusesCritHeadersAndDuplicateClaims) {
  Authenticator auth(hs());
  EXPECT_FALSE(auth.verify(hand_token({{"alg", "HS256"}, {"crit", {"exp"}}}, claims_for("alice"))).ok);
  std::string header = b64url(R"({"alg":"HS256"})");
  std::string payload = b64url(R"({"sub":"alice","sub":"admin","exp":)" + std::to_string(now() + 60) + "}");
  std::string input = header + "." + payload;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  auto id = auth.verify(input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len)));
  EXPECT_FALSE(id.ok) << id.user;
}

// Over real sockets, HS256 and RS256 servers alike, as ?token= and as a subprotocol: the forged
// tokens of the attack review are closed with 4001 and never welcomed.
TEST_F(KeysTest, ForgedTokensWithOddTimeClaimsAreClosedWith4001) {
  for (const char* alg : {"HS256", "RS256"}) {
    Config cfg;
    cfg.port = 0;
    cfg.threads = 2;
    cfg.log_level = "warn";
    cfg.jwt = std::string(alg) == "HS256" ? hs() : pk("RS256", *rsa_);
    Server server(cfg);
    auto port = server.start();
    for (json nbf : {json(0), json(-1), json(1000)}) {
      for (bool subprotocol : {false, true}) {
        json c{{"sub", "admin"}, {"exp", now() + 3600}, {"nbf", nbf}, {"groups", {"*"}}};
        auto token = hand_token({{"alg", alg}}, c, "AAAA");
        WsClient ws;
        bool up = subprotocol ? ws.connect(port, "/realtime", {{"Sec-WebSocket-Protocol", "switchboard, token." + token}})
                              : ws.connect(port, "/realtime?token=" + token);
        ASSERT_TRUE(up) << alg;
        auto f = ws.recv(std::chrono::seconds(3));
        EXPECT_FALSE(f) << alg << " nbf " << nbf << ": " << (f ? f->dump() : "");
        EXPECT_TRUE(ws.wait_closed());
        EXPECT_EQ(ws.close_code(), 4001) << alg;
      }
    }
    json huge{{"sub", "admin"}, {"exp", 18446744073709551615ull}};
    WsClient ws;
    ASSERT_TRUE(ws.connect(port, "/realtime?token=" + hand_token({{"alg", alg}}, huge, "AAAA")));
    EXPECT_FALSE(ws.recv(std::chrono::seconds(3)));
    EXPECT_EQ(server.context().hub.connection_count(), 0u);
    server.stop();
  }
}

// A raw NUL ends nlohmann's input: a header or payload with one is refused, not read up to it.
TEST(Auth, RawNulInHeaderOrPayloadIsRefused) {
  Authenticator auth(hs());
  std::string header = std::string(R"({"alg":"HS256"})") + '\0' + "junk";
  std::string payload = claims_for("alice").dump() + '\0' + R"({"sub":"admin"})";
  for (auto [h, p] : {std::pair{header, claims_for("alice").dump()}, std::pair{std::string(R"({"alg":"HS256"})"), payload}}) {
    std::string input = b64url(h) + "." + b64url(p);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    EXPECT_FALSE(auth.verify(input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len))).ok);
  }
}
