// The hub's membership, presence and fan-out rules, with peers that record what they get.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/hub.hpp"

using namespace sb::server;
using nlohmann::json;

namespace {
struct FakePeer : Peer {
  using Peer::Peer;
  std::vector<json> got;
  void deliver(const Frame& f) override { got.push_back(json::parse(*f)); }
  std::vector<std::string> notices() {
    std::vector<std::string> n;
    for (auto& f : got)
      if (f["op"] == "notice") n.push_back(f["code"].get<std::string>() + ":" + f["sender"].get<std::string>());
    return n;
  }
};

std::shared_ptr<FakePeer> peer(Hub& hub, const std::string& user, const std::string& cid) {
  auto p = std::make_shared<FakePeer>(user, cid);
  hub.attach(p);
  return p;
}
}  // namespace

TEST(Hub, JoinNotifiesEveryMemberIncludingTheJoiner) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b = peer(hub, "bob", "cid:b");
  ASSERT_TRUE(hub.join(*a, "room").ok);
  ASSERT_TRUE(hub.join(*b, "room").ok);
  EXPECT_EQ(a->notices(), (std::vector<std::string>{"USER_JOINED:alice", "USER_JOINED:bob"}));
  EXPECT_EQ(b->notices(), (std::vector<std::string>{"USER_JOINED:bob"}));
  EXPECT_EQ(b->got.back()["sender_cid"], "cid:b");
  EXPECT_EQ(hub.group_count(), 1u);
}

TEST(Hub, GroupMessageReachesEveryMemberOnceAndOnlyMembers) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b = peer(hub, "bob", "cid:b");
  auto c = peer(hub, "carol", "cid:c");
  hub.join(*a, "room");
  hub.join(*b, "room");
  hub.join(*c, "other");
  a->got.clear(); b->got.clear(); c->got.clear();
  ASSERT_TRUE(hub.post_group(*a, "room", R"({"n":1})").ok);
  ASSERT_EQ(a->got.size(), 1u);
  ASSERT_EQ(b->got.size(), 1u);
  EXPECT_TRUE(c->got.empty());
  EXPECT_EQ(b->got[0]["op"], "message");
  EXPECT_EQ(b->got[0]["sender"], "alice");
  EXPECT_EQ(b->got[0]["sender_cid"], "cid:a");
  EXPECT_EQ(b->got[0]["msg"]["n"], 1);
}

TEST(Hub, PostingToAGroupNotJoinedIsRefused) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b = peer(hub, "bob", "cid:b");
  hub.join(*b, "room");
  auto r = hub.post_group(*a, "room", "1");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, sb::protocol::Error::NotJoined);
  EXPECT_EQ(b->got.size(), 1u);  // only its own join notice
}

TEST(Hub, PrivateMessageReachesEveryConnectionOfTheRecipientOnly) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b1 = peer(hub, "bob", "cid:b1");
  auto b2 = peer(hub, "bob", "cid:b2");
  auto c = peer(hub, "carol", "cid:c");
  hub.join(*a, "room");
  ASSERT_TRUE(hub.post_private(*a, "bob", "\"psst\"").ok);
  ASSERT_EQ(b1->got.size(), 1u);
  ASSERT_EQ(b2->got.size(), 1u);
  EXPECT_TRUE(c->got.empty());
  EXPECT_EQ(b1->got[0]["op"], "private");
  EXPECT_EQ(b1->got[0]["group"], "room");
  EXPECT_EQ(b1->got[0]["msg"], "psst");
  auto r = hub.post_private(*a, "nobody", "1");
  EXPECT_EQ(r.code, sb::protocol::Error::RecipientOffline);
}

TEST(Hub, PresenceIsPerUser) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b1 = peer(hub, "bob", "cid:b1");
  auto b2 = peer(hub, "bob", "cid:b2");
  hub.join(*a, "room");
  hub.join(*b1, "room");
  hub.join(*b2, "room");  // bob is already here: alice hears nothing new
  EXPECT_EQ(a->notices(), (std::vector<std::string>{"USER_JOINED:alice", "USER_JOINED:bob"}));
  EXPECT_EQ(b2->notices(), (std::vector<std::string>{"USER_JOINED:bob"}));
  hub.detach(*b1);  // bob still has a connection in the room
  EXPECT_EQ(a->notices().size(), 2u);
  hub.detach(*b2);
  EXPECT_EQ(a->notices().back(), "USER_DISCONNECTED:bob");
}

TEST(Hub, SwitchingGroupsTellsTheOldGroupTheUserLeft) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b = peer(hub, "bob", "cid:b");
  hub.join(*a, "one");
  hub.join(*b, "one");
  hub.join(*b, "two");
  EXPECT_EQ(a->notices().back(), "USER_LEFT:bob");
  hub.join(*b, std::nullopt);
  EXPECT_EQ(hub.group_count(), 1u);  // "two" is gone with its last member
  hub.detach(*a);
  EXPECT_EQ(hub.group_count(), 0u);
  EXPECT_EQ(hub.connection_count(), 1u);
  EXPECT_EQ(hub.user_count(), 1u);
}

TEST(Hub, PerConnectionNoticeModeHearsEveryConnection) {
  Hub hub;
  auto w = peer(hub, "watcher", "cid:w");
  auto a = peer(hub, "alice", "cid:a");
  auto b1 = peer(hub, "bob", "cid:b1");
  auto b2 = peer(hub, "bob", "cid:b2");
  hub.join(*w, "room", NoticeMode::Connection);
  hub.join(*a, "room");
  w->got.clear();
  a->got.clear();
  hub.join(*b1, "room");
  hub.join(*b2, "room");
  hub.join(*b2, std::nullopt);
  hub.detach(*b1);
  auto cids = [](FakePeer& p) {
    std::vector<std::string> out;
    for (auto& f : p.got) out.push_back(f["code"].get<std::string>() + ":" + f["sender_cid"].get<std::string>());
    return out;
  };
  EXPECT_EQ(cids(*w), (std::vector<std::string>{"USER_JOINED:cid:b1", "USER_JOINED:cid:b2", "USER_LEFT:cid:b2",
                                                "USER_DISCONNECTED:cid:b1"}));
  EXPECT_EQ(cids(*a), (std::vector<std::string>{"USER_JOINED:cid:b1", "USER_DISCONNECTED:cid:b1"}));
}

TEST(Hub, AttachRespectsThePerUserCap) {
  Hub hub;
  auto a1 = std::make_shared<FakePeer>("alice", "cid:1");
  auto a2 = std::make_shared<FakePeer>("alice", "cid:2");
  auto a3 = std::make_shared<FakePeer>("alice", "cid:3");
  EXPECT_TRUE(hub.attach(a1, 2).ok);
  EXPECT_TRUE(hub.attach(a2, 2).ok);
  EXPECT_FALSE(hub.attach(a3, 2).ok);
  EXPECT_EQ(hub.connection_count(), 2u);
  hub.detach(*a1);
  EXPECT_TRUE(hub.attach(a3, 2).ok);
  EXPECT_TRUE(hub.attach(std::make_shared<FakePeer>("bob", "cid:4"), 1).ok);
}

TEST(Hub, GroupsAndMembersComeFromPresence) {
  Hub hub;
  auto a = peer(hub, "alice", "cid:a");
  auto b = peer(hub, "bob", "cid:b");
  hub.join(*a, "x");
  hub.join(*b, "x");
  auto g = hub.presence().groups_by_name({}, 10);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].name, "x");
  EXPECT_EQ(g[0].count, 2u);
  EXPECT_EQ(hub.presence().groups_by_count({}, 10).size(), 1u);
  EXPECT_EQ(hub.presence().members("x", {}, 10).size(), 2u);
  EXPECT_TRUE(hub.presence().members("y", {}, 10).empty());
  hub.detach(*a);
  hub.detach(*b);
  EXPECT_TRUE(hub.presence().groups_by_name({}, 10).empty());
  EXPECT_TRUE(hub.presence().groups_by_count({}, 10).empty());
}
