// The server API for app backends (server_api.hpp): publish to a group and to a user, disconnect
// a user, presence; its key, typed refusals and limits. In-process servers with real sockets;
// the flags and the environment through the real binary; disconnect across two nodes on Redis.
#include <gtest/gtest.h>

#include "redis_process.hpp"
#include "server_fixture.hpp"
#include "server_process.hpp"

namespace sb::testing {
namespace {
using nlohmann::json;
using verb = beast::http::verb;
constexpr const char* kKey = "test-api-key-0123456789";
constexpr const char* kClusterSecret = "api-cluster-secret";

std::pair<int, json> api(unsigned short port, verb v, const std::string& target, const std::string& body,
                         const std::string& authorization = std::string("apikey ") + kKey) {
  auto [status, text] = http(port, v, target, authorization, body);
  return {status, json::parse(text, nullptr, false)};
}

class ServerApiTest : public ServerFixture {
 protected:
  server::Config with_api() {
    auto cfg = base();
    cfg.api_key = kKey;
    return cfg;
  }
  std::pair<int, json> publish(const json& body) { return api(port_, verb::post, "/api/publish", body.dump()); }
};
}  // namespace

TEST_F(ServerApiTest, PublishReachesTheGroupAndEveryConnectionOfTheUser) {
  auto cfg = with_api();
  cfg.api_sender = "backend";
  start(cfg);
  auto alice = client("alice");
  auto bob1 = client("bob"), bob2 = client("bob");
  ASSERT_EQ(alice->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");

  auto [s1, r1] = publish({{"group", "lobby"}, {"message", {{"text", "hello"}, {"n", 1}}}});
  EXPECT_EQ(s1, 200) << r1.dump();
  auto m = alice->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["group"], "lobby");
  EXPECT_EQ((*m)["sender"], "backend");
  EXPECT_TRUE((*m)["sender_cid"].is_null());
  EXPECT_EQ((*m)["msg"], (json{{"text", "hello"}, {"n", 1}}));

  auto [s2, r2] = publish({{"user", "bob"}, {"message", "just you"}, {"key", "order-17_a"}});
  EXPECT_EQ(s2, 200) << r2.dump();
  for (auto* bob : {bob1.get(), bob2.get()}) {
    auto p = bob->recv_op("private");
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)["sender"], "backend");
    EXPECT_TRUE((*p)["sender_cid"].is_null());
    EXPECT_TRUE((*p)["group"].is_null());
    EXPECT_EQ((*p)["msg"], "just you");
  }
  // A user with no connection, a group with no member: published to nobody, not an error.
  EXPECT_EQ(publish({{"user", "nobody"}, {"message", 1}}).first, 200);
  EXPECT_EQ(publish({{"group", "empty"}, {"message", nullptr}}).first, 200);
  expect_serves(*alice, "lobby");
}

TEST_F(ServerApiTest, DisconnectClosesEveryConnectionOfTheUserWith4005) {
  start(with_api());
  auto bob1 = client("bob"), bob2 = client("bob"), carol = client("carol");
  ASSERT_EQ(carol->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  auto [s, r] = api(port_, verb::post, "/api/disconnect", json{{"user", "bob"}}.dump());
  EXPECT_EQ(s, 200) << r.dump();
  for (auto* bob : {bob1.get(), bob2.get()}) {
    ASSERT_TRUE(bob->wait_closed());
    EXPECT_EQ(bob->close_code(), 4005);
    EXPECT_EQ(bob->close_reason(), "Disconnected by the server.");
  }
  EXPECT_FALSE(carol->closed());
  expect_serves(*carol, "lobby");
  EXPECT_TRUE(eventually([&] { return server_->context().hub.user_count() == 1; }));
  // The user may come back (a disconnect is not a ban: stop giving the user tokens for that).
  auto again = client("bob");
  EXPECT_FALSE(again->closed());
}

TEST_F(ServerApiTest, PresenceListsAGroupsConnectionsInPages) {
  start(with_api());
  std::vector<std::unique_ptr<WsClient>> users;
  for (std::string u : {"ann", "ben", "cat"}) {
    users.push_back(client(u));
    ASSERT_EQ(users.back()->request({{"op", "join"}, {"group", "room 1"}})["op"], "ok");
  }
  auto [s, page] = api(port_, verb::get, "/api/presence?group=room%201&limit=2", "");
  ASSERT_EQ(s, 200) << page.dump();
  ASSERT_EQ(page["list"].size(), 2u);
  EXPECT_EQ(page["list"][0]["user_id"], "ann");
  EXPECT_EQ(page["list"][1]["user_id"], "ben");
  EXPECT_EQ(page["endOfList"], false);
  // The next page from the first one's startKey, as the users query pages.
  std::string start;
  for (unsigned char c : page["startKey"].dump()) {
    static constexpr char hex[] = "0123456789ABCDEF";
    start += '%';
    start += hex[c >> 4];
    start += hex[c & 15];
  }
  auto [s2, rest] = api(port_, verb::get, "/api/presence?group=room%201&limit=2&start=" + start, "");
  ASSERT_EQ(s2, 200) << rest.dump();
  ASSERT_EQ(rest["list"].size(), 1u);
  EXPECT_EQ(rest["list"][0]["user_id"], "cat");
  EXPECT_EQ(rest["endOfList"], true);
  // The users query's limits hold.
  EXPECT_EQ(api(port_, verb::get, "/api/presence?group=room%201&limit=1001", "").second["code"], "INVALID_PARAMETER");
  EXPECT_EQ(api(port_, verb::get, "/api/presence?group=room%201&limit=x", "").first, 400);
  EXPECT_EQ(api(port_, verb::get, "/api/presence?group=room%201&start=junk", "").first, 400);
  EXPECT_EQ(api(port_, verb::get, "/api/presence", "").second["code"], "INVALID_PARAMETER");
  EXPECT_EQ(api(port_, verb::get, "/api/presence?group=nobody-here", "").second["list"], json::array());
}

TEST_F(ServerApiTest, AWrongOrMissingKeyIsRefusedAndPublishesNothing) {
  start(with_api());
  auto alice = client("alice");
  ASSERT_EQ(alice->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  const std::string body = json{{"group", "lobby"}, {"message", "forged"}}.dump();
  for (std::string auth : {std::string(), std::string("apikey wrong-key-0123456789"), std::string("apikey ") + kKey + "x",
                           std::string("Bearer ") + kKey, std::string("apikey"), std::string("apikey test")}) {
    auto [s, r] = api(port_, verb::post, "/api/publish", body, auth);
    EXPECT_EQ(s, 401) << auth;
    EXPECT_EQ(r["code"], "UNAUTHORIZED") << auth;
    EXPECT_EQ(api(port_, verb::post, "/api/disconnect", json{{"user", "alice"}}.dump(), auth).first, 401);
    EXPECT_EQ(api(port_, verb::get, "/api/presence?group=lobby", "", auth).first, 401);
  }
  EXPECT_EQ(api(port_, verb::post, "/api/publish", body, std::string("APIKEY ") + kKey).first, 200);  // scheme in any case
  // Exactly one message came: the authorised one.
  auto m = alice->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["msg"], "forged");
  EXPECT_EQ(alice->request({{"op", "post"}, {"group", "lobby"}, {"msg", "mine"}})["op"], "ok");
  auto next = alice->recv_op("message");
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["msg"], "mine");
  EXPECT_FALSE(alice->closed());
}

TEST_F(ServerApiTest, BadRequestsGetTypedErrorsWithinTheClientsLimits) {
  auto cfg = with_api();
  cfg.limits.max_frame_bytes = 1000;
  cfg.limits.max_depth = 8;
  start(cfg);
  auto code = [&](const std::string& body) { return api(port_, verb::post, "/api/publish", body).second["code"]; };
  EXPECT_EQ(code("[not json"), "INVALID_REQUEST");
  EXPECT_EQ(code("[1,2]"), "INVALID_REQUEST");
  EXPECT_EQ(code(std::string("{\"group\":\"g\",\"message\":1}") + '\0'), "INVALID_REQUEST");
  EXPECT_EQ(code(R"({"message":1})"), "INVALID_PARAMETER");                          // no recipient
  EXPECT_EQ(code(R"({"group":"g","user":"u","message":1})"), "INVALID_PARAMETER");   // two
  EXPECT_EQ(code(R"({"group":"g"})"), "INVALID_PARAMETER");                          // no message
  EXPECT_EQ(code(R"({"group":"","message":1})"), "INVALID_PARAMETER");
  EXPECT_EQ(code(R"({"group":"a\u0001b","message":1})"), "INVALID_PARAMETER");
  EXPECT_EQ(code(json{{"user", std::string(129, 'u')}, {"message", 1}}.dump()), "INVALID_PARAMETER");
  EXPECT_EQ(code(R"({"group":7,"message":1})"), "INVALID_PARAMETER");
  EXPECT_EQ(code(R"({"group":"g","message":1,"groups":"typo"})"), "INVALID_PARAMETER");
  EXPECT_EQ(code(R"({"group":"g","message":1,"key":"no spaces"})"), "INVALID_PARAMETER");
  EXPECT_EQ(code(R"({"group":"g","message":[[[[[[[[1]]]]]]]]})"), "TOO_DEEP");
  auto [s, r] = api(port_, verb::post, "/api/publish", json{{"group", "g"}, {"message", std::string(1000, 'x')}}.dump());
  EXPECT_EQ(s, 413);
  EXPECT_EQ(r["code"], "TOO_LARGE");
  // A body over the cap (max frame bytes + 4096) is not read at all.
  auto [big, rb] = api(port_, verb::post, "/api/publish", json{{"group", "g"}, {"message", std::string(6000, 'x')}}.dump());
  EXPECT_EQ(big, 413);
  EXPECT_EQ(rb["code"], "TOO_LARGE");
  EXPECT_EQ(api(port_, verb::post, "/api/disconnect", R"({"user":""})").second["code"], "INVALID_PARAMETER");
  EXPECT_EQ(api(port_, verb::post, "/api/disconnect", R"({})").first, 400);
  EXPECT_EQ(api(port_, verb::get, "/api/publish", "").first, 405);
  EXPECT_EQ(api(port_, verb::post, "/api/presence?group=g", "").first, 405);
  EXPECT_EQ(api(port_, verb::post, "/api/nothing", "{}").first, 404);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

TEST_F(ServerApiTest, TheApiIsOffWithoutAKey) {
  start(base());
  auto [s, r] = api(port_, verb::post, "/api/publish", R"({"group":"g","message":1})");
  EXPECT_EQ(s, 404);
  EXPECT_EQ(r["code"], "NOT_SUPPORTED");
  EXPECT_EQ(api(port_, verb::post, "/api/publish", R"({"group":"g","message":1})", "apikey ").first, 404);
}

// The binary's flags and environment: the key from SWITCHBOARD_API_KEY, a short key refused.
TEST(ServerApiProcess, KeyFromTheEnvironmentAndShortKeysRefused) {
  ::setenv("SWITCHBOARD_API_KEY", kKey, 1);
  {
    ServerProcess p({"--port", "0", "--jwt-secret", "s", "--log-level", "error", "--api-sender", "ops"}, "");
    ::unsetenv("SWITCHBOARD_API_KEY");
    ASSERT_NE(p.port(), 0);
    EXPECT_EQ(api(p.port(), verb::post, "/api/publish", R"({"group":"g","message":1})").first, 200);
    EXPECT_EQ(api(p.port(), verb::post, "/api/publish", R"({"group":"g","message":1})", "apikey nope").first, 401);
  }
  ServerProcess short_key({"--port", "0", "--jwt-secret", "s", "--api-key", "short"}, "");
  EXPECT_EQ(short_key.port(), 0);
  EXPECT_NE(short_key.stop(), 0);
}

// With Redis, a disconnect asked of one node closes the user's connections on every node, and
// a publish through one node reaches members on the others.
TEST(ServerApiCluster, DisconnectAndPublishReachEveryNode) {
  RedisProcess redis;
  ASSERT_TRUE(redis.up());
  auto node = [&](const std::string& id) {
    return std::make_unique<ServerProcess>(std::vector<std::string>{"--port", "0", "--jwt-secret", kClusterSecret,
                                                                    "--log-level", "error", "--node-id", id, "--redis",
                                                                    redis.url(), "--api-key", kKey},
                                           "");
  };
  auto a = node("a"), b = node("b");
  ASSERT_NE(a->port(), 0);
  ASSERT_NE(b->port(), 0);
  auto connect = [](unsigned short port, const std::string& user) {
    auto c = std::make_unique<WsClient>();
    std::string t = server::Authenticator(kClusterSecret).issue({{"sub", user}, {"exp", unix_now() + 600}});
    EXPECT_TRUE(c->connect(port, "/realtime?token=" + t));
    auto w = c->recv(std::chrono::seconds(10));
    EXPECT_TRUE(w && (*w)["op"] == "welcome");
    return c;
  };
  auto bob_a = connect(a->port(), "bob"), bob_b = connect(b->port(), "bob"), carol_b = connect(b->port(), "carol");
  ASSERT_EQ(carol_b->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  EXPECT_EQ(api(a->port(), verb::post, "/api/publish", R"({"group":"lobby","message":"from a"})").first, 200);
  auto m = carol_b->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["msg"], "from a");
  EXPECT_EQ((*m)["sender"], "server");
  EXPECT_EQ(api(a->port(), verb::post, "/api/disconnect", R"({"user":"bob"})").first, 200);
  for (auto* bob : {bob_a.get(), bob_b.get()}) {
    ASSERT_TRUE(bob->wait_closed(std::chrono::seconds(10)));
    EXPECT_EQ(bob->close_code(), 4005);
  }
  EXPECT_FALSE(carol_b->closed());
  auto [s, list] = api(a->port(), verb::get, "/api/presence?group=lobby", "");
  ASSERT_EQ(s, 200);
  ASSERT_EQ(list["list"].size(), 1u);
  EXPECT_EQ(list["list"][0]["user_id"], "carol");
}

}  // namespace sb::testing
