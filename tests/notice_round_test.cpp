// Presence notices batched per loop turn (src/server/notice_round.hpp): k notices to a group in
// one turn reach each member as ONE frame, and every member still gets exactly the notices it got
// when they were delivered one by one (docs/protocol.md, Presence).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "server/hub.hpp"
#include "server/notice_round.hpp"

using namespace sb::server;
using nlohmann::json;

namespace {
// Records deliveries as they come (one per frame) and the frames in them (split on '\n').
struct RecPeer : Peer {
  using Peer::Peer;
  std::size_t deliveries = 0;
  std::vector<std::string> frames;
  void deliver(const Frame& f) override {
    ++deliveries;
    sb::protocol::for_each_frame(*f, [&](std::string_view t, std::size_t, std::size_t) { frames.emplace_back(t); });
  }
  std::vector<std::string> notices() const {  // "CODE:sender_cid"
    std::vector<std::string> out;
    for (auto& f : frames) {
      auto j = json::parse(f);
      if (j["op"] == "notice") out.push_back(j["code"].get<std::string>() + ":" + j["sender_cid"].get<std::string>());
    }
    return out;
  }
};

std::shared_ptr<RecPeer> attach(Hub& hub, const std::string& user, const std::string& cid) {
  auto p = std::make_shared<RecPeer>(user, cid);
  EXPECT_TRUE(hub.attach(p).ok);
  return p;
}
}  // namespace

TEST(NoticeRound, JoinsOfOneTurnReachEachMemberAsOneFrame) {
  Hub hub;
  auto a = attach(hub, "alice", "cid:a");
  auto w = attach(hub, "watcher", "cid:w");
  hub.join(*a, "room");
  hub.join(*w, "room", NoticeMode::Connection);
  a->deliveries = w->deliveries = 0;
  a->frames.clear();
  w->frames.clear();
  std::vector<std::shared_ptr<RecPeer>> late;
  {
    NoticeRound round;
    for (int i = 0; i < 5; ++i) {
      late.push_back(attach(hub, "user" + std::to_string(i), "cid:" + std::to_string(i)));
      ASSERT_TRUE(hub.join(*late.back(), "room").ok);
    }
    auto b2 = attach(hub, "user0", "cid:0b");  // a second connection of user0: per-connection notice
    ASSERT_TRUE(hub.join(*b2, "room").ok);
    EXPECT_EQ(a->deliveries, 0u) << "held until the end of the turn";
    round.end_turn();
    EXPECT_EQ(b2->notices(), (std::vector<std::string>{"USER_JOINED:cid:0b"}));
    EXPECT_EQ(b2->deliveries, 1u);
  }
  EXPECT_EQ(a->deliveries, 1u);
  EXPECT_EQ(a->notices(), (std::vector<std::string>{"USER_JOINED:cid:0", "USER_JOINED:cid:1", "USER_JOINED:cid:2",
                                                    "USER_JOINED:cid:3", "USER_JOINED:cid:4"}));
  EXPECT_EQ(w->deliveries, 1u);
  EXPECT_EQ(w->notices().size(), 6u);
  EXPECT_EQ(w->notices().back(), "USER_JOINED:cid:0b");
  // A member hears of the joins from its own on, not of those before it.
  EXPECT_EQ(late[3]->deliveries, 1u);
  EXPECT_EQ(late[3]->notices(), (std::vector<std::string>{"USER_JOINED:cid:3", "USER_JOINED:cid:4"}));
}

TEST(NoticeRound, FillingAGroupCostsOneDeliveryPerMemberPerTurn) {
  Hub hub;
  constexpr int kMembers = 1000, kPerTurn = 64;
  std::vector<std::shared_ptr<RecPeer>> peers;
  for (int i = 0; i < kMembers; ++i) peers.push_back(attach(hub, "u" + std::to_string(i), "c" + std::to_string(i)));
  {
    NoticeRound round;
    for (int i = 0; i < kMembers; ++i) {
      ASSERT_TRUE(hub.join(*peers[i], "big").ok);
      if ((i + 1) % kPerTurn == 0) round.end_turn();
    }
  }
  std::size_t deliveries = 0;
  for (auto& p : peers) deliveries += p->deliveries;
  // One by one this is n(n+1)/2 = 500,500 deliveries; per turn at most members × turns.
  constexpr std::size_t kTurns = (kMembers + kPerTurn - 1) / kPerTurn;
  EXPECT_LE(deliveries, kTurns * kMembers);
  // And nothing is lost: member i heard of every join from its own on.
  for (int i : {0, 1, 63, 64, 500, 999}) {
    auto n = peers[i]->notices();
    ASSERT_EQ(n.size(), static_cast<std::size_t>(kMembers - i)) << i;
    EXPECT_EQ(n.front(), "USER_JOINED:c" + std::to_string(i));
    EXPECT_EQ(n.back(), "USER_JOINED:c" + std::to_string(kMembers - 1));
  }
}

// The same random script of joins, switches, per-connection joins, second connections, posts and
// disconnects, once delivered one by one and once in turns: every connection still attached at
// the end has received the same frames in the same order.
TEST(NoticeRound, EveryMemberGetsWhatItGotOneByOne) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    auto run = [seed](bool turns) {
      Hub hub;
      std::mt19937 rng(seed);
      std::vector<std::shared_ptr<RecPeer>> peers;
      std::vector<bool> gone;
      for (int i = 0; i < 12; ++i) {
        peers.push_back(attach(hub, "user" + std::to_string(i % 7), "cid:" + std::to_string(i)));
        gone.push_back(false);
      }
      const std::vector<std::string> groups{"g1", "g2"};
      std::optional<NoticeRound> round;
      if (turns) round.emplace();
      for (int step = 0; step < 300; ++step) {
        auto i = rng() % peers.size();
        if (gone[i]) continue;
        auto op = rng() % 10;
        if (op < 5) {
          std::optional<std::string> g;
          if (rng() % 5) g = groups[rng() % 2];
          hub.join(*peers[i], g, rng() % 3 == 0 ? NoticeMode::Connection : NoticeMode::User);
        } else if (op < 8) {
          if (auto g = hub.group_of(*peers[i])) hub.post_group(*peers[i], *g, "{\"n\":" + std::to_string(step) + "}");
        } else if (op == 8 && step % 7 == 0) {
          hub.detach(*peers[i]);
          gone[i] = true;
        }
        bool turn_ends = rng() % 4 == 0;  // drawn in both runs, so that they run the same script
        if (round && turn_ends) round->end_turn();
      }
      round.reset();
      // Each hub draws its own random stream epochs: compare the frames without them.
      static const std::regex epoch("\"epoch\":\"[^\"]*\"");
      std::map<int, std::vector<std::string>> out;
      for (std::size_t i = 0; i < peers.size(); ++i)
        if (!gone[i])
          for (const auto& f : peers[i]->frames) out[static_cast<int>(i)].push_back(std::regex_replace(f, epoch, "\"epoch\":\"E\""));
      return out;
    };
    auto one_by_one = run(false), batched = run(true);
    ASSERT_EQ(one_by_one.size(), batched.size());
    for (auto& [i, frames] : one_by_one) EXPECT_EQ(batched[i], frames) << "seed " << seed << " connection " << i;
  }
}
