// The hub against a broker and presence that can fail: subscriptions follow local membership,
// and a backend failure becomes a typed UNAVAILABLE that undoes what it started.
#include <gtest/gtest.h>

#include <map>

#include "server/hub.hpp"

using namespace sb::server;
using Target = Publication::Target;

namespace {
struct NullPeer : Peer {
  using Peer::Peer;
  int frames = 0;
  void deliver(const Frame&) override { ++frames; }
};

// A broker that counts subscriptions per channel and fails every call while `down`.
struct CountingBroker : Broker {
  bool* down;
  std::map<std::pair<Target, std::string>, int>* subs;
  BrokerSink* sink = nullptr;
  CountingBroker(bool* d, std::map<std::pair<Target, std::string>, int>* s) : down(d), subs(s) {}
  void set_sink(BrokerSink* s) override { sink = s; }
  BackendStatus publish(const Publication& pub) override {
    if (*down) return BackendStatus::unavailable("down");
    sink->on_publication(pub);
    return {};
  }
  BackendStatus subscribe(Target t, const std::string& key) override {
    if (*down) return BackendStatus::unavailable("down");
    ++(*subs)[{t, key}];
    return {};
  }
  void unsubscribe(Target t, const std::string& key) override {
    if (--(*subs)[{t, key}] == 0) subs->erase({t, key});
  }
};

// In-memory presence that throws while `down`.
struct FlakyPresence : PresenceManager {
  bool* down;
  MemoryPresence mem;
  explicit FlakyPresence(bool* d) : down(d) {}
  void check() const {
    if (*down) throw BackendUnavailable("down");
  }
  bool add_connection(const std::string& u, const std::string& c, std::size_t m) override { return check(), mem.add_connection(u, c, m); }
  void remove_connection(const std::string& u, const std::string& c) override { check(), mem.remove_connection(u, c); }
  bool user_online(const std::string& u) const override { return check(), mem.user_online(u); }
  bool connection_exists(const std::string& c) const override { return check(), mem.connection_exists(c); }
  std::size_t join(const std::string& g, const std::string& u, const std::string& c) override { return check(), mem.join(g, u, c); }
  std::size_t leave(const std::string& g, const std::string& u, const std::string& c) override { return check(), mem.leave(g, u, c); }
  std::vector<MemberKey> members(const std::string& g, const KeyRange<MemberKey>& r, std::size_t n) const override {
    return check(), mem.members(g, r, n);
  }
  std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& r, std::size_t n) const override {
    return check(), mem.groups_by_name(r, n);
  }
  std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& r, std::size_t n) const override {
    return check(), mem.groups_by_count(r, n);
  }
};

struct HubBackend : ::testing::Test {
  bool down = false;
  std::map<std::pair<Target, std::string>, int> subs;
  Hub hub{std::make_unique<CountingBroker>(&down, &subs), std::make_unique<FlakyPresence>(&down)};
  int subs_of(Target t, const std::string& key) { return subs.count({t, key}) ? subs[{t, key}] : 0; }
};
}  // namespace

TEST_F(HubBackend, GroupChannelIsHeldExactlyWhileTheGroupHasLocalMembers) {
  auto a = std::make_shared<NullPeer>("alice", "cid:a");
  auto b = std::make_shared<NullPeer>("bob", "cid:b");
  ASSERT_TRUE(hub.attach(a).ok);
  ASSERT_TRUE(hub.attach(b).ok);
  EXPECT_EQ(subs_of(Target::User, "alice"), 1);
  EXPECT_EQ(subs_of(Target::Connection, "cid:a"), 1);
  EXPECT_EQ(subs_of(Target::Group, "room"), 0);
  ASSERT_TRUE(hub.join(*a, "room").ok);
  ASSERT_TRUE(hub.join(*b, "room").ok);
  EXPECT_GT(subs_of(Target::Group, "room"), 0);
  ASSERT_TRUE(hub.join(*a, "hall").ok);  // moves: room keeps bob
  EXPECT_GT(subs_of(Target::Group, "room"), 0);
  hub.detach(*b);  // the last local member of room
  EXPECT_EQ(subs_of(Target::Group, "room"), 0);
  ASSERT_TRUE(hub.join(*a, std::nullopt).ok);
  EXPECT_EQ(subs_of(Target::Group, "hall"), 0);
  hub.detach(*a);
  EXPECT_TRUE(subs.empty());
}

TEST_F(HubBackend, BackendDownGivesUnavailableAndUndoesTheStep) {
  auto a = std::make_shared<NullPeer>("alice", "cid:a");
  ASSERT_TRUE(hub.attach(a).ok);
  ASSERT_TRUE(hub.join(*a, "room").ok);
  down = true;
  auto r = hub.post_group(*a, "room", "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, sb::protocol::Error::Unavailable);
  EXPECT_EQ(hub.post_private(*a, "alice", "{}").code, sb::protocol::Error::Unavailable);
  EXPECT_EQ(hub.relay_rtc(*a, "cid:a", "{}").code, sb::protocol::Error::Unavailable);
  r = hub.join(*a, "hall");
  EXPECT_EQ(r.code, sb::protocol::Error::Unavailable);
  EXPECT_EQ(hub.group_of(*a), std::nullopt);  // left room, not in hall
  EXPECT_EQ(subs_of(Target::Group, "hall"), 0);
  auto b = std::make_shared<NullPeer>("bob", "cid:b");
  EXPECT_EQ(hub.attach(b).code, sb::protocol::Error::Unavailable);
  EXPECT_EQ(hub.connection_count(), 1u);
  EXPECT_EQ(subs_of(Target::User, "bob"), 0);
  hub.detach(*a);  // never fails
  EXPECT_EQ(hub.connection_count(), 0u);
  down = false;
  ASSERT_TRUE(hub.attach(b).ok);
  EXPECT_TRUE(hub.join(*b, "room").ok);
}
