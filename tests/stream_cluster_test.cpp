// Streams on a Redis cluster (docs/protocol.md, Guarantees): real redis-server, real nodes.
// Publications from two nodes reach members on both in one offset order; a member that keeps
// rejoining on either node with `since` loses and repeats nothing; a node killed with SIGKILL and
// restarted: its member reconnects with `since` and gets every acknowledged message once;
// idempotency keys hold across nodes; the private stream recovers on another node.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "redis_process.hpp"
#include "server_process.hpp"
#include "stream_helpers.hpp"

using namespace sb::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<ServerProcess> start_node(const RedisProcess& redis, const std::string& id) {
  auto p = std::make_unique<ServerProcess>(
      std::vector<std::string>{"--port", "0", "--jwt-secret", kStreamSecret, "--threads", "2", "--log-level", "error",
                               "--node-id", id, "--presence-ttl", "2", "--rate", "0", "--redis", redis.url()},
      "");
  EXPECT_NE(p->port(), 0) << "node " << id << " did not start";
  return p;
}

std::string id_of(const json& f) { return f["msg"]["p"].dump() + "/" + f["msg"]["n"].dump(); }

TEST(StreamCluster, PublicationsFromTwoNodesArriveInOneOffsetOrderOnBoth) {
  RedisProcess redis;
  auto a = start_node(redis, "a"), b = start_node(redis, "b");
  auto on_a = stream_client(a->port(), "ra"), on_b = stream_client(b->port(), "rb");
  std::string epoch = on_a->request({{"op", "join"}, {"group", "flow"}})["data"]["epoch"];
  ASSERT_EQ(on_b->request({{"op", "join"}, {"group", "flow"}})["data"]["epoch"], epoch);
  constexpr int kPer = 200;
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p)
    publishers.emplace_back([&, p] {
      auto c = stream_client((p ? b : a)->port(), "p" + std::to_string(p));
      c->request({{"op", "join"}, {"group", "flow"}});
      for (int n = 0; n < kPer; ++n) c->request({{"op", "post"}, {"group", "flow"}, {"msg", {{"p", p}, {"n", n}}}});
    });
  for (auto& t : publishers) t.join();
  auto got_a = messages(*on_a, 2 * kPer), got_b = messages(*on_b, 2 * kPer);
  ASSERT_EQ(got_a.size(), 2u * kPer);
  ASSERT_EQ(got_b.size(), 2u * kPer);
  for (std::size_t i = 0; i < got_a.size(); ++i) {
    EXPECT_EQ(got_a[i]["offset"], i + 1);
    EXPECT_EQ(got_a[i]["epoch"], epoch);
    ASSERT_EQ(id_of(got_a[i]), id_of(got_b[i])) << "the nodes disagree at offset " << i + 1;
    EXPECT_EQ(got_b[i]["offset"], i + 1);
  }
}

TEST(StreamCluster, RejoiningOnEitherNodeWhilePublicationsFlowLosesAndRepeatsNothing) {
  RedisProcess redis;
  auto a = start_node(redis, "a"), b = start_node(redis, "b");
  expect_rejoins_lose_nothing({a->port(), b->port()}, {a->port(), b->port()});
}

TEST(StreamCluster, ANodeKilledHardAndRestartedLosesNothingAcknowledged) {
  RedisProcess redis;
  auto a = start_node(redis, "a"), b = start_node(redis, "b");
  auto receiver = stream_client(a->port(), "receiver");
  json j = receiver->request({{"op", "join"}, {"group", "room"}});
  std::string epoch = j["data"]["epoch"];
  auto pub_a = stream_client(a->port(), "pa"), pub_b = stream_client(b->port(), "pb");
  pub_a->request({{"op", "join"}, {"group", "room"}});
  pub_b->request({{"op", "join"}, {"group", "room"}});
  std::set<std::string> acked;
  auto post = [&](WsClient& c, int p, int n) {
    if (c.request({{"op", "post"}, {"group", "room"}, {"msg", {{"p", p}, {"n", n}}}})["op"] == "ok")
      acked.insert(std::to_string(p) + "/" + std::to_string(n));
  };
  for (int n = 0; n < 20; ++n) {
    post(*pub_a, 0, n);
    post(*pub_b, 1, n);
  }
  std::multiset<std::string> received;
  std::uint64_t last = 0;
  for (auto& f : messages(*receiver, 40)) {
    received.insert(id_of(f));
    last = f["offset"];
  }
  ASSERT_EQ(last, 40u);

  a->kill_hard();
  ASSERT_TRUE(receiver->wait_closed(10s));
  for (int n = 20; n < 60; ++n) post(*pub_b, 1, n);  // while node a is down
  a = start_node(redis, "a");
  receiver = stream_client(a->port(), "receiver");
  json r = receiver->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", last}, {"epoch", epoch}}}});
  EXPECT_EQ(r["data"], (json{{"offset", 80}, {"epoch", epoch}, {"recovered", true}}));
  auto replayed = already_received(*receiver, "message");
  EXPECT_EQ(replayed.size(), 40u);
  for (auto& f : replayed) {
    EXPECT_EQ(f["offset"], ++last);
    received.insert(id_of(f));
  }
  for (int n = 60; n < 70; ++n) post(*pub_b, 1, n);  // live again
  for (auto& f : messages(*receiver, 10)) {
    EXPECT_EQ(f["offset"], ++last);
    received.insert(id_of(f));
  }
  EXPECT_EQ(acked.size(), 90u);  // 20 + 20 before the kill, 40 while down, 10 after
  EXPECT_EQ(received.size(), acked.size());  // a multiset: a duplicate would count twice
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), acked);
}

TEST(StreamCluster, KeysHoldAcrossNodesAndThePrivateStreamRecoversOnAnotherNode) {
  RedisProcess redis;
  auto a = start_node(redis, "a"), b = start_node(redis, "b");
  auto alice_a = stream_client(a->port(), "alice"), alice_b = stream_client(b->port(), "alice");
  json welcome;
  auto bob_a = stream_client(a->port(), "bob", "", &welcome);
  auto bob_b = stream_client(b->port(), "bob");  // keeps bob online
  std::string epoch = welcome["data"]["stream"]["epoch"];
  EXPECT_FALSE(alice_a->request({{"op", "private"}, {"user", "bob"}, {"key", "k1"}, {"msg", 1}}).contains("data"));
  EXPECT_EQ(alice_b->request({{"op", "private"}, {"user", "bob"}, {"key", "k1"}, {"msg", 1}})["data"]["duplicate"], true);
  ASSERT_EQ(messages(*bob_a, 1, "private").size(), 1u);
  bob_a->close();
  alice_b->request({{"op", "private"}, {"user", "bob"}, {"key", "k2"}, {"msg", 2}});
  alice_a->request({{"op", "private"}, {"user", "bob"}, {"msg", 3}});
  auto bob_again = stream_client(b->port(), "bob", "&since=" + epoch + ".1", &welcome);
  EXPECT_EQ(welcome["data"]["stream"], (json{{"offset", 3}, {"epoch", epoch}, {"recovered", true}}));
  auto replay = messages(*bob_again, 2, "private");
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0]["msg"], 2);
  EXPECT_EQ(replay[1]["msg"], 3);
  // bob_b saw the same three, once each
  auto all = messages(*bob_b, 3, "private");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["offset"], 3);
}

}  // namespace
