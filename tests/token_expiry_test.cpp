// Token lifetime over real sockets: a connection is closed with 4002 when its token expires
// (exp + leeway), unless it sent a fresher token of the same user with the `auth` op first.
// Tokens here live 2 s (exp = now + 2, whole seconds) and the leeway is 0 unless a test says so.
#include <gtest/gtest.h>

#include "server/server.hpp"
#include "server_fixture.hpp"

using namespace sb::server;
using nlohmann::json;
using sb::testing::http_get;
using sb::testing::WsClient;
using ms = std::chrono::milliseconds;

namespace {
using sb::testing::unix_now;

class TokenExpiryTest : public sb::testing::ServerFixture {
 protected:
  Config base() {
    auto cfg = ServerFixture::base();
    cfg.jwt.leeway = std::chrono::seconds(0);
    cfg.dev_login = true;
    return cfg;
  }
  void SetUp() override { start(base()); }
  void restart(const Config& cfg) {
    server_->stop();
    start(cfg);
  }

  // A token for `user` that expires `ttl` seconds from now; `extra` claims are merged in (a null
  // "exp" removes it).
  static std::string token(const std::string& user, std::int64_t ttl, json extra = json::object(),
                           const char* secret = kSecret) {
    json c{{"sub", user}, {"iat", unix_now()}, {"exp", unix_now() + ttl}};
    c.update(extra);
    if (c["exp"].is_null()) c.erase("exp");
    return Authenticator(secret).issue(c);
  }

  // A connected client; its welcome frame goes to `welcome` when given.
  std::unique_ptr<WsClient> connect(const std::string& tok, json* welcome = nullptr) {
    auto c = std::make_unique<WsClient>();
    EXPECT_TRUE(c->connect(port_, "/realtime?token=" + tok));
    auto w = c->recv();
    EXPECT_TRUE(w && (*w)["op"] == "welcome") << (w ? w->dump() : "no frame");
    if (w && welcome) *welcome = *w;
    return c;
  }

  static json auth(WsClient& c, const std::string& tok) { return c.request({{"op", "auth"}, {"token", tok}}); }
};
}  // namespace

TEST_F(TokenExpiryTest, WelcomeTellsHowLongTheTokenLasts) {
  json w;
  auto a = connect(token("alice", 60), &w);
  ASSERT_TRUE(w["data"].contains("expires_in")) << w.dump();
  EXPECT_GE(w["data"]["expires_in"].get<std::int64_t>(), 58);
  EXPECT_LE(w["data"]["expires_in"].get<std::int64_t>(), 60);
}

TEST_F(TokenExpiryTest, ConnectionIsClosedWith4002AtExpiryWhileOthersStay) {
  json w;
  auto a = connect(token("alice", 2), &w);
  auto b = connect(token("bob", 60));
  EXPECT_LE(w["data"].value("expires_in", 99), 2) << w.dump();
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  EXPECT_EQ(b->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  ASSERT_TRUE(a->wait_closed(ms(5000)));
  EXPECT_EQ(a->close_code(), 4002);
  EXPECT_EQ(a->close_reason(), "Token expired.");
  // bob saw alice go and still works.
  std::optional<json> gone;  // after bob's own USER_JOINED
  while ((gone = b->recv_op("notice", std::nullopt, ms(3000))) && (*gone)["code"] == "USER_JOINED") {
  }
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["code"], "USER_DISCONNECTED");
  EXPECT_EQ((*gone)["sender"], "alice");
  EXPECT_EQ(b->request({{"op", "post"}, {"group", "room"}, {"msg", "still here"}})["op"], "ok");
  EXPECT_TRUE(b->recv_op("message"));
  EXPECT_EQ(server_->context().hub.connection_count(), 1u);
  auto [status, metrics] = http_get(port_, "/metrics");
  EXPECT_NE(metrics.find("switchboard_disconnects_total{reason=\"token_expired\"} 1"), std::string::npos);
}

TEST_F(TokenExpiryTest, ExpiryCountsTheLeeway) {
  Config cfg = base();
  cfg.jwt.leeway = std::chrono::seconds(2);
  restart(cfg);
  auto a = connect(token("alice", 1));  // closed at exp + 2 s: 2 to 3 s from now
  EXPECT_FALSE(a->wait_closed(ms(1200)));
  ASSERT_TRUE(a->wait_closed(ms(4000)));
  EXPECT_EQ(a->close_code(), 4002);
}

TEST_F(TokenExpiryTest, RefreshingBeforeExpiryKeepsTheConnectionWorking) {
  std::string cid;
  auto a = connect(token("alice", 2));
  auto b = connect(token("bob", 60));
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  EXPECT_EQ(b->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  auto r = auth(*a, token("alice", 60));
  ASSERT_EQ(r["op"], "ok") << r.dump();
  EXPECT_GE(r["data"]["expires_in"].get<std::int64_t>(), 58);
  EXPECT_LE(r["data"]["expires_in"].get<std::int64_t>(), 60);
  a->pump(ms(3000));  // past the first token's expiry
  ASSERT_FALSE(a->closed()) << a->close_code();
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "after expiry"}})["op"], "ok");
  auto m = b->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["msg"], "after expiry");
  EXPECT_EQ((*m)["sender"], "alice");
}

TEST_F(TokenExpiryTest, RefreshToATokenWithoutExpiryStopsTheTimer) {
  Config cfg = base();
  cfg.jwt.require_exp = false;
  restart(cfg);
  auto a = connect(token("alice", 2));
  auto r = auth(*a, token("alice", 0, {{"exp", nullptr}}));
  ASSERT_EQ(r["op"], "ok") << r.dump();
  EXPECT_FALSE(r.contains("data") && r["data"].contains("expires_in")) << r.dump();
  a->pump(ms(3000));
  ASSERT_FALSE(a->closed());
  EXPECT_EQ(a->request({{"op", "ping"}})["op"], "ok");
  json w;
  auto b = connect(token("bob", 0, {{"exp", nullptr}}), &w);
  EXPECT_FALSE(w["data"].contains("expires_in")) << w.dump();
}

TEST_F(TokenExpiryTest, AnotherUsersTokenIsForbiddenAndTheOldExpiryStands) {
  auto a = connect(token("alice", 2));
  auto r = auth(*a, token("bob", 60));
  EXPECT_EQ(r["op"], "error");
  EXPECT_EQ(r["code"], "FORBIDDEN");
  EXPECT_EQ(a->request({{"op", "ping"}})["op"], "ok");  // kept for now...
  ASSERT_TRUE(a->wait_closed(ms(5000)));                 // ...and closed at the old expiry
  EXPECT_EQ(a->close_code(), 4002);
}

TEST_F(TokenExpiryTest, BadTokensAreUnauthorizedAndTheConnectionIsKept) {
  auto a = connect(token("alice", 60));
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  const std::vector<std::string> bad = {
      "garbage", "", "a.b.c", token("alice", -60) /* expired */, token("alice", 60, json::object(), "forged-secret"),
      // alg none: an unsigned token with alice's claims
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0."};
  for (const auto& t : bad) {
    auto r = auth(*a, t);
    EXPECT_EQ(r["op"], "error") << t;
    EXPECT_EQ(r["code"], "UNAUTHORIZED") << t;
    EXPECT_FALSE(r["message"].get<std::string>().empty());
  }
  // A frame without a string token is malformed, not a token problem.
  EXPECT_EQ(a->request({{"op", "auth"}})["code"], "INVALID_REQUEST");
  EXPECT_EQ(a->request({{"op", "auth"}, {"token", 42}})["code"], "INVALID_REQUEST");
  // Nothing was lost: still connected, still in the group.
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", 1}})["op"], "ok");
  EXPECT_TRUE(a->recv_op("message"));
  EXPECT_FALSE(a->closed());
}

TEST_F(TokenExpiryTest, TheNewGroupsClaimReplacesTheOldButMayNotEvictTheCurrentGroup) {
  auto a = connect(token("alice", 60, {{"groups", {"room-*"}}}));
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room-1"}})["op"], "ok");
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "other"}})["code"], "FORBIDDEN");
  // A token that would not allow the joined group is refused and changes nothing.
  auto r = auth(*a, token("alice", 60, {{"groups", {"other"}}}));
  EXPECT_EQ(r["code"], "FORBIDDEN") << r.dump();
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "other"}})["code"], "FORBIDDEN");
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room-1"}, {"msg", 1}})["op"], "ok");
  // One that allows it replaces the claim: "other" opens, "room-2" closes.
  r = auth(*a, token("alice", 60, {{"groups", {"room-1", "other"}}}));
  EXPECT_EQ(r["op"], "ok") << r.dump();
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room-2"}})["code"], "FORBIDDEN");
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "other"}})["op"], "ok");
}

TEST_F(TokenExpiryTest, AuthIsRateLimitedLikeOtherRequests) {
  Config cfg = base();
  cfg.rate_per_second = 0.5;
  cfg.rate_burst = 2;
  restart(cfg);
  auto a = connect(token("alice", 60));
  const auto t = token("alice", 60);
  EXPECT_EQ(auth(*a, t)["op"], "ok");
  EXPECT_EQ(auth(*a, t)["op"], "ok");
  auto r = auth(*a, t);
  EXPECT_EQ(r["code"], "RATE_LIMITED");
  EXPECT_EQ(r["id"], 3);
}

TEST_F(TokenExpiryTest, DevLoginTakesABoundedTtl) {
  auto ttl_of = [&](const std::string& query) -> std::int64_t {
    auto [status, body] = http_get(port_, "/dev/token?user=alice" + query);
    EXPECT_EQ(status, 200) << query << " " << body;
    json w;
    auto c = connect(json::parse(body)["token"].get<std::string>(), &w);
    EXPECT_EQ(w["user"], "alice");
    return w["data"].value("expires_in", -1);
  };
  EXPECT_GE(ttl_of("&ttl=5"), 3);
  EXPECT_LE(ttl_of("&ttl=5"), 5);
  EXPECT_GE(ttl_of(""), 86398);  // the configured dev_token_ttl (24 h)
  EXPECT_GE(ttl_of("&ttl=86400"), 86398);
  for (const char* bad : {"&ttl=0", "&ttl=86401", "&ttl=-5", "&ttl=abc", "&ttl=5s", "&ttl=1e3",
                          "&ttl=99999999999999999999"}) {
    auto [status, body] = http_get(port_, std::string("/dev/token?user=alice") + bad);
    EXPECT_EQ(status, 400) << bad;
    EXPECT_NE(body.find("INVALID_PARAMETER"), std::string::npos) << bad;
  }
  EXPECT_EQ(http_get(port_, "/dev/token?user=&ttl=5").first, 400);  // the user is still checked
}
