// The push subscription store's contract, one body run against the memory store and against the
// Redis store on a real redis-server; then what a Redis outage gives (typed UNAVAILABLE, skipped
// pushes, bounded) and the VAPID key every node of a cluster shares.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "redis_process.hpp"
#include "server/jwt.hpp"
#include "server/push/push_service.hpp"
#include "server/push/redis_push_store.hpp"
#include "server_fixture.hpp"

using namespace sb::server;
using namespace sb::server::push;
using sb::testing::eventually;
using sb::testing::RedisProcess;
using namespace std::chrono_literals;

namespace {
std::shared_ptr<RedisEngine> engine_on(const RedisProcess& redis, const std::string& node) {
  RedisOptions o;
  RedisAddress a;
  std::string why;
  EXPECT_TRUE(parse_redis_url(redis.url(), a, why)) << why;
  o.shards = {a};
  o.node_id = node;
  return std::make_shared<RedisEngine>(std::move(o));
}
bool engine_up(const RedisEngine& e) {
  return eventually([&] { return e.healthy(); }, 10s);
}
Subscription sub(const std::string& endpoint, const std::string& tag = "k") {
  return {endpoint, "p256dh-" + tag, "auth-" + tag};
}
std::vector<std::string> endpoints(const std::vector<Subscription>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.endpoint);
  return out;
}
}  // namespace

class PushStoreContract : public ::testing::TestWithParam<bool> {  // true: Redis
 protected:
  void SetUp() override {
    if (!GetParam()) {
      store_ = std::make_unique<MemorySubscriptionStore>();
      return;
    }
    redis_.emplace();
    engine_ = engine_on(*redis_, "store-test");
    ASSERT_TRUE(engine_up(*engine_));
    store_ = std::make_unique<RedisSubscriptionStore>(engine_);
  }
  std::optional<RedisProcess> redis_;
  std::shared_ptr<RedisEngine> engine_;
  std::unique_ptr<SubscriptionStore> store_;
};

TEST_P(PushStoreContract, AddRefreshCapRemoveOfUsersCount) {
  SubscriptionStore& s = *store_;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_TRUE(s.users().empty());
  EXPECT_TRUE(s.of("alice").empty());

  EXPECT_EQ(s.add("alice", sub("https://p/1"), 3), 0u);
  EXPECT_EQ(s.add("alice", sub("https://p/2"), 3), 0u);
  EXPECT_EQ(s.add("bob", sub("https://p/b"), 3), 0u);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.users(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(endpoints(s.of("alice")), (std::vector<std::string>{"https://p/1", "https://p/2"}));

  // The same endpoint again: new keys, counted as the newest, not a second entry.
  EXPECT_EQ(s.add("alice", sub("https://p/1", "new"), 3), 0u);
  auto a = s.of("alice");
  ASSERT_EQ(endpoints(a), (std::vector<std::string>{"https://p/2", "https://p/1"}));
  EXPECT_EQ(a[1].p256dh, "p256dh-new");
  EXPECT_EQ(a[1].auth, "auth-new");
  EXPECT_EQ(s.count(), 3u);

  // Over the cap the oldest goes (p/2), then with a lower cap two go at once.
  EXPECT_EQ(s.add("alice", sub("https://p/3"), 3), 0u);
  EXPECT_EQ(s.add("alice", sub("https://p/4"), 3), 1u);
  EXPECT_EQ(endpoints(s.of("alice")), (std::vector<std::string>{"https://p/1", "https://p/3", "https://p/4"}));
  EXPECT_EQ(s.add("alice", sub("https://p/5"), 2), 2u);
  EXPECT_EQ(endpoints(s.of("alice")), (std::vector<std::string>{"https://p/4", "https://p/5"}));
  EXPECT_EQ(s.count(), 3u);

  EXPECT_TRUE(s.remove("alice", "https://p/4"));
  EXPECT_FALSE(s.remove("alice", "https://p/4"));
  EXPECT_FALSE(s.remove("bob", "https://p/5"));  // another user's endpoint
  EXPECT_TRUE(s.remove("bob", "https://p/b"));
  EXPECT_EQ(s.users(), (std::vector<std::string>{"alice"}));
  EXPECT_TRUE(s.of("bob").empty());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_TRUE(s.remove("alice", "https://p/5"));
  EXPECT_TRUE(s.users().empty());
  EXPECT_EQ(s.count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(PushStore, PushStoreContract, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Redis" : "Memory"; });

// Two engines (two nodes) on one Redis see one store.
TEST(PushStoreRedis, NodesShareSubscriptions) {
  RedisProcess redis;
  auto e1 = engine_on(redis, "n1"), e2 = engine_on(redis, "n2");
  ASSERT_TRUE(engine_up(*e1) && engine_up(*e2));
  RedisSubscriptionStore s1(e1), s2(e2);
  s1.add("alice", sub("https://p/1"), 10);
  EXPECT_EQ(endpoints(s2.of("alice")), (std::vector<std::string>{"https://p/1"}));
  EXPECT_EQ(s2.count(), 1u);
  EXPECT_TRUE(s2.remove("alice", "https://p/1"));
  EXPECT_TRUE(s1.of("alice").empty());
}

// Redis down: subscribe and unsubscribe answer UNAVAILABLE, a push is skipped and counted; all
// within the engine's bound. Back up: it works again.
TEST(PushStoreRedis, OutageAnswersUnavailableAndSkipsPushes) {
  RedisProcess redis;
  auto engine = engine_on(redis, "n1");
  ASSERT_TRUE(engine_up(*engine));
  PushConfig cfg;
  cfg.allowed_hosts = {"*"};
  PushService svc(cfg, std::make_unique<RedisSubscriptionStore>(engine));
  std::string error;
  ASSERT_TRUE(svc.start(error)) << error;
  Subscription s{"https://push.example/1", jwt::base64url_encode(P256Key::generate().public_raw()),
                 jwt::base64url_encode(std::string(16, 'a'))};
  ASSERT_TRUE(svc.subscribe("alice", s).ok);
  EXPECT_EQ(svc.store().count(), 1u);

  redis.kill_hard();
  ASSERT_TRUE(eventually([&] { return !engine->healthy(); }, 10s));
  auto r = svc.subscribe("alice", s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, sb::protocol::Error::Unavailable);
  r = svc.unsubscribe("alice", s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, sb::protocol::Error::Unavailable);
  EXPECT_EQ(svc.notify("alice", PushService::payload("t", "b")), 0u);
  EXPECT_EQ(svc.notify_all(PushService::payload("t", "b")), 0u);
  std::string metrics;
  svc.render_metrics(metrics);
  EXPECT_NE(metrics.find("switchboard_push_skipped_total 2\n"), std::string::npos) << metrics;

  ASSERT_TRUE(redis.start());
  ASSERT_TRUE(engine_up(*engine));
  EXPECT_TRUE(svc.subscribe("alice", s).ok);  // Redis came back empty (no persistence)
  EXPECT_EQ(svc.store().count(), 1u);
}

// The first node stores its VAPID key; every other node then signs with that one.
TEST(PushStoreRedis, NodesShareOneVapidKey) {
  RedisProcess redis;
  auto e1 = engine_on(redis, "n1"), e2 = engine_on(redis, "n2");
  auto make = [](std::shared_ptr<RedisEngine> e) {
    return std::make_unique<PushService>(PushConfig{}, std::make_unique<RedisSubscriptionStore>(e),
                                         [e](const std::string& fresh, std::string& error) {
                                           return redis_vapid_key(*e, fresh, 10s, error);
                                         });
  };
  auto a = make(e1), b = make(e2);
  std::string error;  // the engines are still connecting: start waits for them, then no error stays
  ASSERT_TRUE(a->start(error)) << error;
  EXPECT_EQ(error, "");
  ASSERT_TRUE(b->start(error)) << error;
  EXPECT_EQ(error, "");
  EXPECT_FALSE(a->public_key().empty());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_NE(redis.command({"GET", "sb:vapid:key"}).str.find("PRIVATE KEY"), std::string::npos);
}
