// The real server in-process on an ephemeral loopback port, driven by native WebSocket clients.
#include <gtest/gtest.h>

#include "server/server.hpp"
#include "ws_client.hpp"

using namespace sb::server;
using sb::testing::WsClient;
using sb::testing::http_get;
using nlohmann::json;

namespace {
constexpr const char* kSecret = "test-secret";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config cfg;
    cfg.port = 0;
    cfg.threads = 2;
    cfg.jwt_secret = kSecret;
    cfg.dev_login = true;
    server_ = std::make_unique<Server>(cfg);
    port_ = server_->start();
  }
  void TearDown() override { server_->stop(); }

  std::string token(const std::string& user) { return Authenticator(kSecret).issue(user, std::chrono::seconds(60)); }

  // A connected, welcomed client for `user`.
  std::unique_ptr<WsClient> client(const std::string& user, std::string* cid = nullptr) {
    auto c = std::make_unique<WsClient>();
    EXPECT_TRUE(c->connect(port_, "/realtime?token=" + token(user)));
    auto w = c->recv();
    EXPECT_TRUE(w && (*w)["op"] == "welcome") << (w ? w->dump() : "no frame");
    if (w && cid) *cid = (*w)["cid"];
    return c;
  }

  std::unique_ptr<Server> server_;
  unsigned short port_ = 0;
};
}  // namespace

TEST_F(ServerTest, WelcomeCarriesTheUserAndAConnectionId) {
  WsClient c;
  ASSERT_TRUE(c.connect(port_, "/realtime?token=" + token("alice")));
  auto w = c.recv();
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)["op"], "welcome");
  EXPECT_EQ((*w)["user"], "alice");
  EXPECT_EQ((*w)["cid"].get<std::string>().rfind("cid:", 0), 0u);
}

TEST_F(ServerTest, TokenInTheSubprotocolHeaderIsAccepted) {
  namespace beast = boost::beast;
  boost::asio::io_context ioc;
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(ioc);
  ws.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, "switchboard, token." + token("alice"));
  }));
  beast::websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/realtime");
  EXPECT_EQ(res[beast::http::field::sec_websocket_protocol], "switchboard");
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_EQ(json::parse(beast::buffers_to_string(buf.data()))["op"], "welcome");
}

TEST_F(ServerTest, MissingOrBadTokensAreClosedWith4001) {
  const std::string forged = Authenticator("other-secret").issue("alice", std::chrono::seconds(60));
  const std::string expired = Authenticator(kSecret).issue("alice", std::chrono::seconds(-120));  // past the leeway
  for (const std::string& target : std::vector<std::string>{"/realtime", "/realtime?token=", "/realtime?token=garbage",
                                                           "/realtime?token=" + forged, "/realtime?token=" + expired}) {
    WsClient c;
    ASSERT_TRUE(c.connect(port_, target)) << target;
    EXPECT_FALSE(c.recv(std::chrono::seconds(3))) << target;  // no welcome, nothing at all
    EXPECT_TRUE(c.wait_closed()) << target;
    EXPECT_EQ(c.close_code(), 4001) << target;
    EXPECT_FALSE(c.close_reason().empty()) << target;
  }
  // The refused attempts left nothing behind and others still connect.
  auto ok = client("bob");
  EXPECT_EQ(server_->context().hub.connection_count(), 1u);
}

TEST_F(ServerTest, GroupMessagesReachEveryMemberAndNoticesFlow) {
  std::string cid_a, cid_b;
  auto a = client("alice", &cid_a);
  auto b = client("bob", &cid_b);
  auto outsider = client("carol");
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  auto joined = a->recv();
  ASSERT_TRUE(joined);
  EXPECT_EQ((*joined)["code"], "USER_JOINED");
  EXPECT_EQ(b->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  auto n = a->recv();
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)["code"], "USER_JOINED");
  EXPECT_EQ((*n)["sender"], "bob");
  EXPECT_EQ((*n)["sender_cid"], cid_b);

  EXPECT_EQ(b->request({{"op", "post"}, {"group", "room"}, {"msg", {{"text", "hi 100%"}}}})["op"], "ok");
  for (auto* c : {a.get(), b.get()}) {
    auto m = c->recv_op("message");
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["msg"]["text"], "hi 100%");
    EXPECT_EQ((*m)["sender"], "bob");  // set by the server from the token
    EXPECT_EQ((*m)["sender_cid"], cid_b);
    EXPECT_EQ((*m)["group"], "room");
  }
  EXPECT_FALSE(outsider->recv(std::chrono::milliseconds(300)));

  b->close();
  auto gone = a->recv_op("notice");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["code"], "USER_DISCONNECTED");
  EXPECT_EQ((*gone)["sender"], "bob");
}

TEST_F(ServerTest, LeavingBeforeClosingIsAUserLeftNotice) {
  auto a = client("alice");
  auto b = client("bob");
  a->request({{"op", "join"}, {"group", "room"}});
  b->request({{"op", "join"}, {"group", "room"}});
  EXPECT_EQ(b->request({{"op", "join"}, {"group", nullptr}})["op"], "ok");
  b->close();
  a->recv_op("notice");  // alice's own join
  a->recv_op("notice");  // bob's join
  auto left = a->recv_op("notice");
  ASSERT_TRUE(left);
  EXPECT_EQ((*left)["code"], "USER_LEFT");
  EXPECT_FALSE(a->recv_op("notice", std::nullopt, std::chrono::milliseconds(300)));  // no second notice
}

TEST_F(ServerTest, PrivateMessagesReachOnlyTheRecipient) {
  auto a = client("alice");
  auto b1 = client("bob");
  auto b2 = client("bob");
  auto c = client("carol");
  for (auto* x : {a.get(), b1.get(), c.get()}) x->request({{"op", "join"}, {"group", "room"}});
  EXPECT_EQ(a->request({{"op", "private"}, {"user", "bob"}, {"msg", 0}})["op"], "ok");
  for (auto* x : {b1.get(), b2.get()}) {
    auto m = x->recv_op("private");
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["msg"], 0);
    EXPECT_EQ((*m)["sender"], "alice");
  }
  EXPECT_FALSE(c->recv_op("private", std::nullopt, std::chrono::milliseconds(300)));
  auto offline = a->request({{"op", "private"}, {"user", "nobody"}, {"msg", 1}});
  EXPECT_EQ(offline["op"], "error");
  EXPECT_EQ(offline["code"], "RECIPIENT_OFFLINE");
}

TEST_F(ServerTest, BadFramesGetTypedErrorsAndTheConnectionKeepsWorking) {
  auto a = client("alice");
  auto b = client("bob");
  b->request({{"op", "join"}, {"group", "room"}});
  a->send("not json");
  EXPECT_EQ((*a->recv_op("error"))["code"], "INVALID_REQUEST");
  a->send_binary("\x01\x02");
  EXPECT_EQ((*a->recv_op("error"))["code"], "NOT_SUPPORTED");
  EXPECT_EQ(a->request({{"op", "fly"}})["code"], "INVALID_REQUEST");
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", 1}})["code"], "NOT_JOINED");
  EXPECT_EQ(a->request({{"op", "join"}, {"group", std::string(200, 'x')}})["code"], "INVALID_PARAMETER");
  // Still usable.
  EXPECT_EQ(a->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "ok"}})["op"], "ok");
  EXPECT_TRUE(b->recv_op("message"));
}

TEST_F(ServerTest, HttpEndpoints) {
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
  auto [status, body] = http_get(port_, "/dev/token?user=alice");
  ASSERT_EQ(status, 200);
  auto tok = json::parse(body)["token"].get<std::string>();
  WsClient c;
  ASSERT_TRUE(c.connect(port_, "/realtime?token=" + tok));
  EXPECT_EQ((*c.recv())["user"], "alice");
  EXPECT_EQ(http_get(port_, "/dev/token?user=").first, 400);
  EXPECT_EQ(http_get(port_, "/nope").first, 404);
}

TEST(ServerConfig, DevLoginIsOffUnlessEnabled) {
  Config cfg;
  cfg.port = 0;
  cfg.threads = 1;
  cfg.jwt_secret = "s";
  Server server(cfg);
  auto port = server.start();
  EXPECT_EQ(http_get(port, "/dev/token?user=alice").first, 404);
  server.stop();
}

TEST_F(ServerTest, UsersAndGroupsQueries) {
  std::string cid_a, cid_b1, cid_b2;
  auto a = client("alice", &cid_a);
  auto b1 = client("bob", &cid_b1);
  auto b2 = client("bob", &cid_b2);
  auto c = client("carol");
  for (auto* x : {a.get(), b1.get(), b2.get()}) x->request({{"op", "join"}, {"group", "room"}});
  c->request({{"op", "join"}, {"group", "other"}});
  auto users = a->request({{"op", "users"}, {"group", "room"}});
  ASSERT_EQ(users["op"], "ok");
  ASSERT_EQ(users["data"]["list"].size(), 3u);  // one entry per connection
  EXPECT_EQ(users["data"]["list"][0], (json{{"user_id", "alice"}, {"cid", cid_a}}));
  auto bob = a->request({{"op", "users"}, {"group", "room"}, {"user_id", "bob"}});
  EXPECT_EQ(bob["data"]["list"].size(), 2u);
  auto groups = a->request({{"op", "groups"}});
  EXPECT_EQ(groups["data"]["list"], (json::array({{{"group", "other"}, {"number_of_users", 1}},
                                                  {{"group", "room"}, {"number_of_users", 3}}})));
  auto big = a->request({{"op", "groups"}, {"searchFor", "number_of_users"}, {"value", 2}, {"condition", ">="}});
  EXPECT_EQ(big["data"]["list"].size(), 1u);
  EXPECT_EQ(a->request({{"op", "groups"}, {"limit", 5000}})["code"], "INVALID_PARAMETER");
  auto none = a->request({{"op", "users"}, {"group", "empty"}});
  EXPECT_EQ(none["data"]["list"].size(), 0u);
}

TEST_F(ServerTest, RtcSignalsGoToTheAddressedConnectionOnly) {
  std::string cid_a, cid_b1, cid_b2;
  auto a = client("alice", &cid_a);
  auto b1 = client("bob", &cid_b1);
  auto b2 = client("bob", &cid_b2);
  EXPECT_EQ(a->request({{"op", "rtc"}, {"cid", cid_b2}, {"msg", {{"type", "offer"}, {"sdp", "x"}}}})["op"], "ok");
  auto s = b2->recv_op("rtc");
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)["sender"], "alice");
  EXPECT_EQ((*s)["sender_cid"], cid_a);
  EXPECT_EQ((*s)["msg"]["type"], "offer");
  EXPECT_FALSE(b1->recv_op("rtc", std::nullopt, std::chrono::milliseconds(300)));
  EXPECT_EQ(a->request({{"op", "rtc"}, {"cid", "cid:nope"}, {"msg", json::object()}})["code"], "RECIPIENT_OFFLINE");
  EXPECT_EQ(a->request({{"op", "rtc"}, {"cid", cid_b1}, {"msg", "not an object"}})["code"], "INVALID_REQUEST");
}
