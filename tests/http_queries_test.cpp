// POST /realtime/users and /realtime/groups (http_queries.hpp): the socket queries' answers,
// limits and groups-claim scoping, for clients with no socket open.
#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace sb::testing {
namespace {
using nlohmann::json;

class HttpQueriesTest : public ServerFixture {
 protected:
  std::pair<int, json> post(const std::string& path, const std::string& token, const json& body) {
    auto [status, text] = http(port_, beast::http::verb::post, path, token.empty() ? "" : "Bearer " + token, body.dump());
    return {status, json::parse(text, nullptr, false)};
  }
};
}  // namespace

TEST_F(HttpQueriesTest, SameAnswersAsTheSocketQueries) {
  start(base());
  auto carol = client("carol");
  auto dave = client("dave");
  ASSERT_EQ(carol->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  ASSERT_EQ(dave->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  ASSERT_EQ(dave->request({{"op", "groups"}})["op"], "ok");
  std::string t = token("bob");
  for (const json& q : {json{{"group", "lobby"}}, json{{"group", "lobby"}, {"limit", 1}},
                        json{{"group", "lobby"}, {"user_id", "dave"}}}) {
    auto [status, data] = post("/realtime/users", t, q);
    json frame = q;
    frame["op"] = "users";
    EXPECT_EQ(status, 200);
    EXPECT_EQ(data, carol->request(frame)["data"]) << q.dump();
  }
  auto [status, groups] = post("/realtime/groups", t, {{"searchFor", "group"}, {"value", " "}, {"condition", ">"}});
  EXPECT_EQ(status, 200);
  EXPECT_EQ(groups["list"], json::parse(R"([{"group":"lobby","number_of_users":2}])"));
  // A startKey from one page continues over HTTP as over the socket.
  auto [s1, p1] = post("/realtime/users", t, {{"group", "lobby"}, {"limit", 1}});
  auto [s2, p2] = post("/realtime/users", t, {{"group", "lobby"}, {"limit", 1}, {"start", p1["startKey"]}});
  ASSERT_EQ(s2, 200);
  EXPECT_EQ(p2["list"][0]["user_id"], "dave");
}

TEST_F(HttpQueriesTest, TheGroupsClaimScopesAsOnTheSocket) {
  start(base());
  auto bob = client("bob");
  ASSERT_EQ(bob->request({{"op", "join"}, {"group", "secret-board"}})["op"], "ok");
  auto carol = client("carol");
  ASSERT_EQ(carol->request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  std::string alice = token("alice", {{"groups", {"lobby", "team-*"}}});
  auto [forbidden, err] = post("/realtime/users", alice, {{"group", "secret-board"}});
  EXPECT_EQ(forbidden, 403);
  EXPECT_EQ(err["code"], "FORBIDDEN");
  auto [ok, lobby] = post("/realtime/users", alice, {{"group", "lobby"}});
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(lobby["list"].size(), 1u);
  auto [s, groups] = post("/realtime/groups", alice, json::object());
  EXPECT_EQ(groups["list"], json::parse(R"([{"group":"lobby","number_of_users":1}])"));
}

TEST_F(HttpQueriesTest, RefusalsAreTypedAndNothingLeaks) {
  start(base());
  EXPECT_EQ(post("/realtime/groups", "", json::object()).first, 401);
  auto [bad, why] = post("/realtime/groups", "not.a.jwt", json::object());
  EXPECT_EQ(bad, 401);
  EXPECT_EQ(why["code"], "UNAUTHORIZED");
  std::string expired = token("bob", {{"exp", unix_now() - 120}});  // beyond the 30 s leeway
  EXPECT_EQ(post("/realtime/groups", expired, json::object()).first, 401);
  std::string t = token("bob");
  EXPECT_EQ(post("/realtime/users", t, json::object()).second["code"], "INVALID_PARAMETER");  // no group
  EXPECT_EQ(post("/realtime/users", t, {{"group", std::string(300, 'x')}}).first, 400);
  EXPECT_EQ(post("/realtime/groups", t, {{"limit", 1001}}).second["code"], "INVALID_PARAMETER");
  EXPECT_EQ(post("/realtime/groups", t, {{"start", "nonsense"}}).first, 400);
  auto [s, text] = http(port_, beast::http::verb::post, "/realtime/groups", "Bearer " + t, "[not json");
  EXPECT_EQ(s, 400);
  EXPECT_EQ(http(port_, beast::http::verb::get, "/realtime/groups", "Bearer " + t, "").first, 405);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

// A user's HTTP list replies share one reply budget, as one connection's queries do.
TEST_F(HttpQueriesTest, RepliesCountAgainstTheUsersReplyBudget) {
  auto cfg = base();
  cfg.reply_rate_bytes = 1;  // a byte a second: the first reply spends the whole burst
  cfg.reply_burst_bytes = 1;
  start(cfg);
  std::string bob = token("bob");
  EXPECT_EQ(post("/realtime/groups", bob, json::object()).first, 200);
  auto [status, err] = post("/realtime/groups", bob, json::object());
  EXPECT_EQ(status, 429);
  EXPECT_EQ(err["code"], "RATE_LIMITED");
  EXPECT_EQ(post("/realtime/groups", token("carol"), json::object()).first, 200);  // others are not held up
}

// Cross-origin pages may list from the origins that may open the WebSocket, and no others.
TEST_F(HttpQueriesTest, CorsFollowsTheWebSocketOriginRules) {
  auto cfg = base();
  cfg.allowed_origins = {"https://app.example"};
  start(cfg);
  auto preflight = [&](const std::string& origin) {
    return raw_exchange(port_, "OPTIONS /realtime/groups HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + origin +
                                   "\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
  };
  auto ok = preflight("https://app.example");
  EXPECT_NE(ok.find("HTTP/1.1 204"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Access-Control-Allow-Origin: https://app.example"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Access-Control-Allow-Headers: authorization, content-type"), std::string::npos) << ok;
  auto evil = preflight("https://evil.example");
  EXPECT_EQ(evil.find("Access-Control-Allow-Origin"), std::string::npos) << evil;
  std::string body = "{}", t = token("bob");
  auto post = raw_exchange(port_, "POST /realtime/groups HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\n"
                                  "Authorization: Bearer " + t + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + body);
  EXPECT_NE(post.find("HTTP/1.1 200"), std::string::npos) << post;
  EXPECT_NE(post.find("Access-Control-Allow-Origin: https://app.example"), std::string::npos) << post;
}

}  // namespace sb::testing
