// Web Push crypto (src/server/push): RFC 8291's worked example as a known-answer test, the VAPID
// header of RFC 8292, and the subscription checks.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "server/jwt.hpp"
#include "server/push/ece.hpp"
#include "server/push/subscriptions.hpp"
#include "server/push/vapid.hpp"

using namespace sb::server;
using namespace sb::server::push;

namespace {
std::string b64(std::string_view s) {
  std::string out;
  EXPECT_TRUE(jwt::base64url_decode(s, out)) << s;
  return out;
}

// RFC 8291 Appendix A, verbatim.
constexpr const char* kPlaintext = "When I grow up, I want to be a watermelon";
constexpr const char* kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr const char* kAsPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr const char* kUaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr const char* kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr const char* kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr const char* kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
// With a fresh ephemeral key and salt, as the sender does it.
std::string encrypt(std::string_view plain, std::string_view ua, std::string_view auth) {
  EceInput in;
  in.plaintext = plain;
  in.ua_public = ua;
  in.auth_secret = auth;
  std::string error;
  return ece_encrypt(in, error);
}
}  // namespace

TEST(PushCryptoTest, Rfc8291AppendixAKnownAnswer) {
  P256Key as = P256Key::from_raw(b64(kAsPrivate), b64(kAsPublic));
  ASSERT_TRUE(as.valid());
  std::string ua = b64(kUaPublic), auth = b64(kAuth), salt = b64(kSalt);
  std::string error;
  std::string body = ece_encrypt({kPlaintext, ua, auth, &as, salt}, error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(jwt::base64url_encode(body), kBody);
}

TEST(PushCryptoTest, Rfc8291IntermediateValues) {
  // RFC 8291 §5 / Appendix A: ECDH secret, then CEK and nonce.
  P256Key as = P256Key::from_raw(b64(kAsPrivate), b64(kAsPublic));
  std::string ecdh = as.derive(P256Key::from_public_raw(b64(kUaPublic)));
  EXPECT_EQ(jwt::base64url_encode(ecdh), "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs");
  std::string info = std::string("WebPush: info") + '\0' + b64(kUaPublic) + b64(kAsPublic);
  std::string ikm = hkdf_sha256(b64(kAuth), ecdh, info, 32);
  EXPECT_EQ(jwt::base64url_encode(hkdf_sha256(b64(kSalt), ikm, std::string("Content-Encoding: aes128gcm") + '\0', 16)),
            "oIhVW04MRdy2XN9CiKLxTg");
  EXPECT_EQ(jwt::base64url_encode(hkdf_sha256(b64(kSalt), ikm, std::string("Content-Encoding: nonce") + '\0', 12)),
            "4h_95klXJ5E_qnoN");
}

TEST(PushCryptoTest, FreshEncryptionsDifferAndRefuseBadInput) {
  std::string ua = b64(kUaPublic), auth = b64(kAuth), error;
  std::string a = encrypt(kPlaintext, ua, auth), b = encrypt(kPlaintext, ua, auth);
  ASSERT_EQ(a.size(), 16 + 4 + 1 + 65 + std::string(kPlaintext).size() + 1 + 16);
  EXPECT_NE(a.substr(0, 16), b.substr(0, 16));  // random salt
  EXPECT_NE(a.substr(21, 65), b.substr(21, 65));  // fresh ephemeral key
  EXPECT_EQ(encrypt(kPlaintext, ua.substr(1), auth), "");
  EXPECT_EQ(encrypt(kPlaintext, ua, auth.substr(1)), "");
  std::string off_curve = ua;
  off_curve[40] ^= 1;
  EXPECT_EQ(encrypt(kPlaintext, off_curve, auth), "");
  std::string big(kMaxPlaintext + 1, 'x');
  EXPECT_EQ(encrypt(big, ua, auth), "");
}

TEST(PushCryptoTest, VapidHeaderIsAnEs256JwtWithAudExpSub) {
  Vapid v;
  std::string error;
  ASSERT_TRUE(v.load_or_create("", "mailto:ops@example.com", error)) << error;
  auto now = std::chrono::system_clock::now();
  std::string h = v.authorization("https://push.example.net:8443/wpush/v2/abc?x=1", now);
  ASSERT_EQ(h.rfind("vapid t=", 0), 0u) << h;
  auto comma = h.find(", k=");
  ASSERT_NE(comma, std::string::npos);
  std::string token = h.substr(8, comma - 8), k = h.substr(comma + 4);
  EXPECT_EQ(k, v.public_key());
  EXPECT_EQ(b64(k).size(), 65u);
  auto d1 = token.find('.'), d2 = token.rfind('.');
  auto header = nlohmann::json::parse(b64(token.substr(0, d1)));
  auto claims = nlohmann::json::parse(b64(token.substr(d1 + 1, d2 - d1 - 1)));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(claims["aud"], "https://push.example.net:8443");
  EXPECT_EQ(claims["sub"], "mailto:ops@example.com");
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  EXPECT_GT(claims["exp"].get<long long>(), secs);
  EXPECT_LE(claims["exp"].get<long long>(), secs + 24 * 3600);
  // The signature verifies with the public key the header carries (JOSE r||s, 64 bytes).
  jwt::Key verifier;
  ASSERT_EQ(jwt::Key::load("ES256", "", P256Key::from_public_raw(b64(k)).public_pem(), "", verifier), "");
  std::string sig = b64(token.substr(d2 + 1));
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verifier.verify(token.substr(0, d2), sig));
  EXPECT_EQ(v.authorization("http://push.example.net/x", now), "");
}

TEST(PushCryptoTest, VapidKeyPersistsInItsFile) {
  auto path = std::filesystem::temp_directory_path() / ("sb-vapid-" + std::to_string(::getpid())) / "key.pem";
  std::filesystem::remove_all(path.parent_path());
  Vapid a, b;
  std::string error;
  ASSERT_TRUE(a.load_or_create(path.string(), "mailto:x@y", error)) << error;
  ASSERT_TRUE(b.load_or_create(path.string(), "mailto:x@y", error)) << error;
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::group_all, std::filesystem::perms::none);
  std::filesystem::remove_all(path.parent_path());
}

TEST(PushCryptoTest, SubscriptionChecks) {
  auto check = [](std::string endpoint, std::string p256dh, std::string auth) {
    return check_subscription({std::move(endpoint), std::move(p256dh), std::move(auth)}, 2048,
                              {"push.example", "*.push.services.mozilla.com"});
  };
  EXPECT_EQ(check("https://push.example/abc", kUaPublic, kAuth), "");
  EXPECT_EQ(check("", kUaPublic, kAuth), "Missing parameter: endpoint");
  EXPECT_EQ(check("https://push.example/abc", "", kAuth), "Missing parameter: keys.p256dh or keys.auth");
  EXPECT_EQ(check("https://push.example/abc", kUaPublic, ""), "Missing parameter: keys.p256dh or keys.auth");
  EXPECT_NE(check("http://push.example/abc", kUaPublic, kAuth), "");
  EXPECT_NE(check("https://push.example/a b", kUaPublic, kAuth), "");
  EXPECT_NE(check("https://" + std::string(3000, 'a'), kUaPublic, kAuth), "");
  EXPECT_NE(check("https://push.example/abc", "BCVx", kAuth), "");
  // Only allowed hosts (no SSRF through subscriptions): exact names and "*." subdomains.
  EXPECT_EQ(check("https://PUSH.example:8443/abc", kUaPublic, kAuth), "");
  EXPECT_EQ(check("https://updates.push.services.mozilla.com/wpush/v2/x", kUaPublic, kAuth), "");
  const std::string refused = "\"endpoint\" is not on a push service this server sends to.";
  EXPECT_EQ(check("https://push.services.mozilla.com.evil.example/x", kUaPublic, kAuth), refused);
  EXPECT_EQ(check("https://169.254.169.254/latest", kUaPublic, kAuth), refused);
  EXPECT_EQ(check("https://notpush.example/abc", kUaPublic, kAuth), refused);
  EXPECT_TRUE(host_allowed("anything", {"*"}));
  EXPECT_FALSE(host_allowed("push.services.mozilla.com", {"*.push.services.mozilla.com"}));
  EXPECT_NE(check("https://push.example/abc", kUaPublic, "AAAA"), "");
}

TEST(PushCryptoTest, StoreKeepsAtMostNPerUserNewestFirst) {
  MemorySubscriptionStore store;
  for (int i = 0; i < 5; ++i) store.add("alice", {"https://p/" + std::to_string(i), "k", "a"}, 3);
  auto subs = store.of("alice");
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs.front().endpoint, "https://p/2");
  EXPECT_EQ(store.count(), 3u);
  store.add("alice", {"https://p/2", "k2", "a2"}, 3);  // same endpoint: refreshed, not doubled
  EXPECT_EQ(store.count(), 3u);
  EXPECT_TRUE(store.remove("alice", "https://p/3"));
  EXPECT_FALSE(store.remove("alice", "https://p/3"));
  EXPECT_EQ(store.users(), std::vector<std::string>{"alice"});
}

// The notification a post or private message carries (docs/protocol.md), as the server parses it.
TEST(PushProtocolTest, NotificationOnPrivateAndPost) {
  namespace p = sb::protocol;
  p::Limits limits;
  p::Request req;
  p::RequestError err;
  ASSERT_TRUE(p::parse_request(p::private_frame(1, "bob", "\"hi\"", R"({"title":"T","body":"B","config":{"always":true}})"),
                               limits, req, err));
  ASSERT_TRUE(req.notification);
  EXPECT_EQ(req.notification->title, "T");
  EXPECT_EQ(req.notification->body, "B");
  EXPECT_TRUE(req.notification->always);
  EXPECT_EQ(req.payload, "\"hi\"");
  p::Request plain;
  ASSERT_TRUE(p::parse_request(p::post_frame(2, "g", "1"), limits, plain, err));
  EXPECT_FALSE(plain.notification);

  auto refused = [&](const std::string& notification) {
    p::Request r;
    p::RequestError e;
    EXPECT_FALSE(p::parse_request(p::private_frame(3, "bob", "1", notification), limits, r, e)) << notification;
    EXPECT_EQ(e.code, p::Error::InvalidParameter);
    EXPECT_EQ(e.id, 3);
    return e.message;
  };
  // {"title":"t","body":"…"} is 23 bytes around the body: 3072 fits, 3073 does not.
  EXPECT_TRUE(p::parse_request(p::private_frame(3, "bob", "1", R"({"title":"t","body":")" + std::string(3072 - 23, 'x') + "\"}"),
                               limits, req, err));
  EXPECT_EQ(refused(R"({"title":"t","body":")" + std::string(3073 - 23, 'x') + "\"}"), "Notification size exceeds 3kb.");
  EXPECT_EQ(refused(R"("x")"), "\"notification\" must be { title: string, body: string, config? }.");
  EXPECT_EQ(refused(R"({"body":"b"})"), "Missing parameter: message title");
  EXPECT_EQ(refused(R"({"title":"t","body":7})"), "Missing parameter: message body");
  EXPECT_EQ(refused(R"({"title":"t","body":"b","config":{"always":"yes"}})"), "\"notification.config.always\" must be a boolean.");
}
