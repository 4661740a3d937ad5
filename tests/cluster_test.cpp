// Several real server processes sharing groups, presence and private messages through real
// redis-server processes (docs/scaling.md): cross-node chat, private messages and RTC signals,
// listings that agree from every node, each notice exactly once; a node killed with SIGKILL is
// reaped with exactly one USER_DISCONNECTED per user; a Redis restart under traffic gives
// UNAVAILABLE, then service resumes with no leaked subscriptions; two Redis shards.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "redis_process.hpp"
#include "server/auth.hpp"
#include "server/redis_engine.hpp"
#include "server/server.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

using namespace sb::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {
constexpr const char* kSecret = "cluster-test-secret";

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<ServerProcess> start_node(const std::vector<std::string>& redis_urls, const std::string& id,
                                          const std::string& ttl = "20") {
  std::vector<std::string> args{"--port", "0", "--jwt-secret", kSecret, "--threads", "2", "--log-level", "error",
                                "--node-id", id, "--presence-ttl", ttl, "--rate", "0"};
  for (auto& u : redis_urls) args.insert(args.end(), {"--redis", u});
  auto p = std::make_unique<ServerProcess>(args, "");
  EXPECT_NE(p->port(), 0) << "node " << id << " did not start";
  return p;
}

std::unique_ptr<WsClient> connect(unsigned short port, const std::string& user, std::string* cid = nullptr) {
  auto c = std::make_unique<WsClient>();
  std::string token = sb::server::Authenticator(kSecret).issue({{"sub", user}, {"exp", unix_now() + 600}});
  EXPECT_TRUE(c->connect(port, "/realtime?token=" + token));
  auto w = c->recv(10s);
  EXPECT_TRUE(w && (*w)["op"] == "welcome") << (w ? w->dump() : "no frame");
  if (w && cid) *cid = (*w)["cid"];
  return c;
}

// Every frame before `marks` frames whose msg is "mark" (one per channel the client listens to:
// Redis orders each channel, not channels against each other, and shards do not order at all).
std::vector<json> until_marks(WsClient& c, int marks, std::chrono::milliseconds wait = 10s) {
  std::vector<json> got;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (marks > 0 && std::chrono::steady_clock::now() < deadline) {
    auto f = c.recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!f) break;
    const json& m = (*f).contains("msg") ? (*f)["msg"] : json();
    if (m == "mark" || (m.is_object() && m.value("kind", "") == "mark")) --marks;
    else got.push_back(*f);
  }
  EXPECT_EQ(marks, 0) << "marks missing";
  return got;
}

// Every frame before the group message `mark`.
std::vector<json> until_mark(WsClient& c, const std::string& mark, std::chrono::milliseconds wait = 10s) {
  std::vector<json> got;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = c.recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!f) break;
    if ((*f)["op"] == "message" && (*f)["msg"] == mark) return got;
    got.push_back(*f);
  }
  ADD_FAILURE() << "mark " << mark << " never came";
  return got;
}

std::multiset<std::string> notices(const std::vector<json>& frames) {
  std::multiset<std::string> n;
  for (auto& f : frames)
    if (f["op"] == "notice") n.insert(f["code"].get<std::string>() + ":" + f["sender"].get<std::string>());
  return n;
}
int count_op(const std::vector<json>& frames, const std::string& op) {
  int n = 0;
  for (auto& f : frames) n += f["op"] == op;
  return n;
}

json users_of(WsClient& c, const std::string& group) {
  auto r = c.request({{"op", "users"}, {"group", group}});
  EXPECT_EQ(r["op"], "ok") << r.dump();
  return r["data"]["list"];
}
json groups_of(WsClient& c) {
  auto r = c.request({{"op", "groups"}});
  EXPECT_EQ(r["op"], "ok") << r.dump();
  return r["data"]["list"];
}

// Polls `f` until it is true or `wait` passes.
template <class F>
bool eventually(F f, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

// The chat everyone must see: three users on `ports` (cycled) join a room, chat, and each
// frame arrives exactly once. `while_connected` runs before the users leave.
void chat_across(const std::vector<unsigned short>& ports, const std::function<void()>& while_connected = {}) {
  std::string cid_b;
  auto a = connect(ports[0], "alice");
  auto b = connect(ports[1 % ports.size()], "bob", &cid_b);
  auto c = connect(ports[2 % ports.size()], "carol");
  for (auto* x : {a.get(), b.get(), c.get()}) ASSERT_EQ(x->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  ASSERT_EQ(b->request({{"op", "post"}, {"group", "room"}, {"msg", "hello from bob"}})["op"], "ok");
  ASSERT_EQ(a->request({{"op", "private"}, {"user", "carol"}, {"msg", "psst"}})["op"], "ok");
  ASSERT_EQ(a->request({{"op", "rtc"}, {"cid", cid_b}, {"msg", {{"kind", "offer"}}}})["op"], "ok");
  ASSERT_EQ(c->request({{"op", "post"}, {"group", "room"}, {"msg", "mark"}})["op"], "ok");
  ASSERT_EQ(a->request({{"op", "private"}, {"user", "carol"}, {"msg", "mark"}})["op"], "ok");
  ASSERT_EQ(a->request({{"op", "rtc"}, {"cid", cid_b}, {"msg", {{"kind", "mark"}}}})["op"], "ok");

  auto fa = until_marks(*a, 1), fb = until_marks(*b, 2), fc = until_marks(*c, 2);
  std::multiset<std::string> all{"USER_JOINED:alice", "USER_JOINED:bob", "USER_JOINED:carol"};
  EXPECT_EQ(notices(fa), all);  // alice joined first: she hears every join, once
  EXPECT_EQ(notices(fb), (std::multiset<std::string>{"USER_JOINED:bob", "USER_JOINED:carol"}));
  EXPECT_EQ(notices(fc), (std::multiset<std::string>{"USER_JOINED:carol"}));
  for (auto* f : {&fa, &fb, &fc}) EXPECT_EQ(count_op(*f, "message"), 1) << "bob's post, exactly once";
  EXPECT_EQ(count_op(fc, "private"), 1);
  EXPECT_EQ(count_op(fa, "private") + count_op(fb, "private"), 0);
  EXPECT_EQ(count_op(fb, "rtc"), 1);
  EXPECT_EQ(count_op(fa, "rtc") + count_op(fc, "rtc"), 0);

  // The listings agree from every node.
  json users = users_of(*a, "room"), groups = groups_of(*a);
  EXPECT_EQ(users.size(), 3u) << users.dump();
  EXPECT_EQ(groups, (json::array({{{"group", "room"}, {"number_of_users", 3}}})));
  for (auto* x : {b.get(), c.get()}) {
    EXPECT_EQ(users_of(*x, "room"), users);
    EXPECT_EQ(groups_of(*x), groups);
  }
  if (while_connected) while_connected();
}
}  // namespace

TEST(Cluster, ThreeNodesOnOneRedisChatPrivateRtcAndAgreeOnListings) {
  RedisProcess redis;
  ASSERT_TRUE(redis.up());
  auto n1 = start_node({redis.url()}, "n1"), n2 = start_node({redis.url()}, "n2"), n3 = start_node({redis.url()}, "n3");
  chat_across({n1->port(), n2->port(), n3->port()});
}

TEST(Cluster, TwoRedisShardsCarryTheSameChat) {
  RedisProcess r1, r2;
  ASSERT_TRUE(r1.up() && r2.up());
  std::vector<std::string> urls{r1.url(), r2.url()};
  auto n1 = start_node(urls, "n1"), n2 = start_node(urls, "n2"), n3 = start_node(urls, "n3");
  chat_across({n1->port(), n2->port(), n3->port()}, [&] {
    // Each channel is on the shard the ring gives it, and on no other.
    sb::server::HashRing ring({{"127.0.0.1", r1.port(), 0, urls[0]}, {"127.0.0.1", r2.port(), 0, urls[1]}});
    std::vector<std::string> c1 = r1.channels(), c2 = r2.channels();
    EXPECT_EQ(c1.size() + c2.size(), 7u) << json(c1).dump() << json(c2).dump();  // the room, three users, three connections
    for (auto& ch : c1) EXPECT_EQ(ring.shard_of(ch), 0u) << ch;
    for (auto& ch : c2) EXPECT_EQ(ring.shard_of(ch), 1u) << ch;
  });
}

TEST(Cluster, KilledNodeIsReapedWithOneDisconnectPerUserWithinTheBound) {
  RedisProcess redis;
  auto n1 = start_node({redis.url()}, "n1", "1"), n2 = start_node({redis.url()}, "n2", "1"),
       n3 = start_node({redis.url()}, "n3", "1");
  auto a = connect(n1->port(), "alice");
  auto b = connect(n2->port(), "bob");
  auto c = connect(n3->port(), "carol");  // only on n3
  auto d3 = connect(n3->port(), "dave");  // dave also has a connection on n1
  auto d1 = connect(n1->port(), "dave");
  for (auto* x : {a.get(), b.get(), c.get(), d3.get(), d1.get()})
    ASSERT_EQ(x->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  ASSERT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "before"}})["op"], "ok");
  for (auto* x : {a.get(), b.get(), d1.get()}) until_mark(*x, "before");

  auto killed = std::chrono::steady_clock::now();
  n3->kill_hard();
  // Within the bound (1.25 x 1 s, plus a beat of slack) alice and bob hear carol go, once; dave
  // still has a connection, so nobody in per-user mode hears of him.
  auto fa = [&] {
    std::vector<json> got;
    while (auto f = a->recv(5s)) {
      got.push_back(*f);
      if ((*f)["op"] == "notice" && (*f)["sender"] == "carol") break;
    }
    return got;
  }();
  auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_EQ(notices(fa), (std::multiset<std::string>{"USER_DISCONNECTED:carol"}));
  EXPECT_LT(took, 6s) << "the bound is 1.25 x the presence TTL (1 s here), with room for a busy machine";
  // A few more heartbeats: nothing else comes (no second reaper, no duplicate).
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(b->request({{"op", "post"}, {"group", "room"}, {"msg", "after"}})["op"], "ok");
  auto rest_a = until_mark(*a, "after"), fb = until_mark(*b, "after");
  EXPECT_TRUE(notices(rest_a).empty());
  EXPECT_EQ(notices(fb), (std::multiset<std::string>{"USER_DISCONNECTED:carol"}));
  EXPECT_EQ(count_op(until_mark(*d1, "after"), "notice"), 1);  // carol's
  // Presence forgot n3's connections everywhere.
  json users = users_of(*a, "room");
  EXPECT_EQ(users.size(), 3u) << users.dump();  // alice, bob, dave on n1
  EXPECT_EQ(users_of(*b, "room"), users);
  EXPECT_EQ(a->request({{"op", "private"}, {"user", "carol"}, {"msg", 1}})["code"], "RECIPIENT_OFFLINE");
}

TEST(Cluster, RedisRestartGivesUnavailableThenResumesWithoutLeakedSubscriptions) {
  RedisProcess redis;
  auto n1 = start_node({redis.url()}, "n1", "2"), n2 = start_node({redis.url()}, "n2", "2");
  auto a = connect(n1->port(), "alice");
  auto b = connect(n2->port(), "bob");
  for (auto* x : {a.get(), b.get()}) ASSERT_EQ(x->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  EXPECT_EQ(redis.numsub("sb:g:room"), 2);
  EXPECT_EQ(http_get(n1->port(), "/healthz").first, 200);

  redis.kill_hard();
  // Posts during the outage are refused with UNAVAILABLE (after the nodes notice the loss).
  std::string code;
  EXPECT_TRUE(eventually([&] {
    code = a->request({{"op", "post"}, {"group", "room"}, {"msg", "lost"}}).value("code", "");
    return code == "UNAVAILABLE";
  }, 10s)) << code;
  EXPECT_EQ(b->request({{"op", "private"}, {"user", "alice"}, {"msg", 1}})["code"], "UNAVAILABLE");
  auto health = http_get(n1->port(), "/healthz");
  EXPECT_EQ(health.first, 503);
  EXPECT_NE(health.second.find("degraded"), std::string::npos);
  EXPECT_NE(http_get(n2->port(), "/metrics").second.find("switchboard_backend_up 0"), std::string::npos);

  ASSERT_TRUE(redis.start());  // empty: the nodes must subscribe and register again by themselves
  EXPECT_TRUE(eventually([&] { return http_get(n1->port(), "/healthz").first == 200 && http_get(n2->port(), "/healthz").first == 200; }, 15s));
  EXPECT_NE(http_get(n2->port(), "/metrics").second.find("switchboard_backend_up 1"), std::string::npos);
  ASSERT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "back"}})["op"], "ok");
  auto fb = until_mark(*b, "back");
  EXPECT_EQ(count_op(fb, "message"), 0) << "nothing from the outage is delivered late";
  EXPECT_EQ(users_of(*b, "room").size(), 2u);  // presence registered again
  EXPECT_EQ(b->request({{"op", "private"}, {"user", "alice"}, {"msg", 2}})["op"], "ok");
  EXPECT_TRUE(a->recv_op("private"));
  EXPECT_EQ(redis.numsub("sb:g:room"), 2);

  // No leaked subscriptions: when the users go, so do their channels.
  b->close();
  EXPECT_TRUE(eventually([&] { return redis.numsub("sb:g:room") == 1; }, 5s));
  ASSERT_EQ(a->request({{"op", "join"}, {"group", nullptr}})["op"], "ok");
  a->close();
  EXPECT_TRUE(eventually([&] { return redis.channels().empty(); }, 5s)) << redis.channels().size();
}

// The same engine in this process (so that ThreadSanitizer sees its threads): two servers on one
// Redis, two I/O threads each, share a room, and a subscription ends with its last member.
TEST(Cluster, InProcessNodesShareARoom) {
  RedisProcess redis;
  auto config = [&](const std::string& id) {
    sb::server::Config cfg;
    cfg.port = 0;
    cfg.threads = 2;
    cfg.jwt.secret = kSecret;
    cfg.log_level = "off";
    cfg.redis_urls = {redis.url()};
    cfg.node_id = id;
    return cfg;
  };
  sb::server::Server s1(config("p1")), s2(config("p2"));
  unsigned short p1 = s1.start(), p2 = s2.start();
  ASSERT_TRUE(eventually([&] { return http_get(p1, "/healthz").first == 200 && http_get(p2, "/healthz").first == 200; }, 10s));
  {
    auto a = connect(p1, "alice");
    auto b = connect(p2, "bob");
    for (auto* x : {a.get(), b.get()}) ASSERT_EQ(x->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
    for (int i = 0; i < 20; ++i)
      ASSERT_EQ((i % 2 ? a : b)->request({{"op", "post"}, {"group", "room"}, {"msg", i}})["op"], "ok");
    ASSERT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "mark"}})["op"], "ok");
    EXPECT_EQ(count_op(until_mark(*b, "mark"), "message"), 20);
    EXPECT_EQ(redis.numsub("sb:g:room"), 2);
  }
  EXPECT_TRUE(eventually([&] { return redis.channels().empty(); }, 5s));
  s1.stop();
  s2.stop();
}
