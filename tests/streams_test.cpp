// Streams, history, recovery and idempotency keys (docs/protocol.md, Streams and recovery),
// through the real server binary and raw WebSockets: offsets per stream, replay on a join with
// `since` before live frames, recovered:false when it cannot be done, the private stream's
// replay from the connect URL, repeated keys not published again, hostile values refused.
// MemoryStreams' own bounds (ttl, keys per user) with a fake clock. The Redis half is in
// stream_cluster_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include "server/auth.hpp"
#include "server/memory_streams.hpp"
#include "server_process.hpp"
#include "stream_helpers.hpp"
#include "ws_client.hpp"

using namespace sb::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<ServerProcess> start_server(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--port", "0", "--jwt-secret", kStreamSecret, "--threads", "2", "--log-level",
                                "error", "--rate", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = std::make_unique<ServerProcess>(args, "");
  EXPECT_NE(p->port(), 0);
  return p;
}

TEST(Streams, OffsetsIncreasePerStreamAndEveryConnectionGetsTheSame) {
  auto server = start_server();
  auto alice = stream_client(server->port(), "alice");
  json welcome;
  auto bob = stream_client(server->port(), "bob", "", &welcome);
  auto bob2 = stream_client(server->port(), "bob");
  json a = alice->request({{"op", "join"}, {"group", "room"}});
  ASSERT_EQ(a["op"], "ok") << a.dump();
  EXPECT_EQ(a["data"]["offset"], 0);
  ASSERT_TRUE(a["data"]["epoch"].is_string());
  EXPECT_FALSE(a["data"].contains("recovered"));
  std::string epoch = a["data"]["epoch"];
  ASSERT_EQ(bob->request({{"op", "join"}, {"group", "room"}})["data"]["epoch"], epoch);
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(alice->request({{"op", "post"}, {"group", "room"}, {"msg", i}})["op"], "ok");
  auto got = messages(*bob, 3);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i]["offset"], i + 1);
    EXPECT_EQ(got[i]["epoch"], epoch);
    EXPECT_EQ(got[i]["msg"], i + 1);
  }
  // msg stays last: the raw payload can be cut off the text (frames.hpp, split_payload).
  EXPECT_EQ(bob2->request({{"op", "join"}, {"group", "other"}})["data"]["offset"], 0);
  ASSERT_EQ(alice->request({{"op", "join"}, {"group", "other"}})["op"], "ok");
  alice->request({{"op", "post"}, {"group", "other"}, {"msg", "x"}});
  auto other = messages(*bob2, 1);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0]["offset"], 1);  // its own stream
  EXPECT_NE(other[0]["epoch"], epoch);

  // private: the recipient's stream; both of bob's connections get the same offset
  for (int i = 1; i <= 2; ++i) ASSERT_EQ(alice->request({{"op", "private"}, {"user", "bob"}, {"msg", i}})["op"], "ok");
  for (auto* c : {bob.get(), bob2.get()}) {
    auto p = messages(*c, 2, "private");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0]["offset"], 1);
    EXPECT_EQ(p[1]["offset"], 2);
    EXPECT_EQ(p[0]["epoch"], welcome["data"]["stream"]["epoch"]);
  }
}

TEST(Streams, JoinWithSinceReplaysWhatWasMissedBeforeTheOkAndLiveAfter) {
  auto server = start_server();
  auto alice = stream_client(server->port(), "alice");
  ASSERT_EQ(alice->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  auto bob = stream_client(server->port(), "bob");
  json j = bob->request({{"op", "join"}, {"group", "room"}});
  std::string epoch = j["data"]["epoch"];
  for (int i = 1; i <= 2; ++i) alice->request({{"op", "post"}, {"group", "room"}, {"msg", i}});
  ASSERT_EQ(messages(*bob, 2).size(), 2u);
  bob->close();
  for (int i = 3; i <= 5; ++i) alice->request({{"op", "post"}, {"group", "room"}, {"msg", i}});

  bob = stream_client(server->port(), "bob");
  bob->send(json{{"op", "join"}, {"id", 7}, {"group", "room"}, {"since", {{"offset", 2}, {"epoch", epoch}}}}.dump());
  std::vector<json> before_ok;
  std::optional<json> ok;
  while (auto f = bob->recv(5s)) {
    if ((*f)["op"] == "ok" && (*f)["id"] == 7) {
      ok = f;
      break;
    }
    if ((*f)["op"] == "message") before_ok.push_back(*f);
  }
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["data"], (json{{"offset", 5}, {"epoch", epoch}, {"recovered", true}}));
  ASSERT_EQ(before_ok.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(before_ok[i]["offset"], i + 3);
    EXPECT_EQ(before_ok[i]["msg"], i + 3);
  }
  alice->request({{"op", "post"}, {"group", "room"}, {"msg", 6}});
  auto live = messages(*bob, 1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["offset"], 6);

  // Up to date: recovered, nothing replayed.
  auto carol = stream_client(server->port(), "carol");
  json up = carol->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", 6}, {"epoch", epoch}}}});
  EXPECT_EQ(up["data"], (json{{"offset", 6}, {"epoch", epoch}, {"recovered", true}}));
  EXPECT_TRUE(already_received(*carol, "message").empty());
}

TEST(Streams, RecoveryFailsOnAnotherEpochATooShortHistoryOrAFuturePosition) {
  auto server = start_server({"--history-size", "2"});
  auto alice = stream_client(server->port(), "alice");
  std::string epoch = alice->request({{"op", "join"}, {"group", "room"}})["data"]["epoch"];
  for (int i = 1; i <= 5; ++i) alice->request({{"op", "post"}, {"group", "room"}, {"msg", i}});
  struct Case {
    std::uint64_t offset;
    std::string epoch;
    bool recovered;
    std::size_t replayed;
  };
  for (const Case& c : {Case{2, epoch, false, 0}, Case{3, epoch, true, 2}, Case{4, epoch, true, 1},
                        Case{3, "another-epoch", false, 0}, Case{9, epoch, false, 0}}) {
    auto bob = stream_client(server->port(), "bob");
    json r = bob->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", c.offset}, {"epoch", c.epoch}}}});
    ASSERT_EQ(r["op"], "ok") << r.dump();
    EXPECT_EQ(r["data"], (json{{"offset", 5}, {"epoch", epoch}, {"recovered", c.recovered}}))
        << "since " << c.offset << "/" << c.epoch;
    EXPECT_EQ(already_received(*bob, "message").size(), c.replayed) << "since " << c.offset << "/" << c.epoch;
  }
}

TEST(Streams, WithoutHistoryOnlyAnUpToDatePositionRecovers) {
  auto server = start_server({"--history-size", "0"});
  auto alice = stream_client(server->port(), "alice");
  std::string epoch = alice->request({{"op", "join"}, {"group", "room"}})["data"]["epoch"];
  alice->request({{"op", "post"}, {"group", "room"}, {"msg", 1}});
  auto bob = stream_client(server->port(), "bob");
  EXPECT_EQ(bob->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", 0}, {"epoch", epoch}}}})["data"],
            (json{{"offset", 1}, {"epoch", epoch}, {"recovered", false}}));
  auto carol = stream_client(server->port(), "carol");
  EXPECT_EQ(carol->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", 1}, {"epoch", epoch}}}})["data"]["recovered"],
            true);
}

TEST(Streams, AnInMemoryRestartChangesTheEpochAndRecoveryFails) {
  auto server = start_server();
  auto alice = stream_client(server->port(), "alice");
  std::string epoch = alice->request({{"op", "join"}, {"group", "room"}})["data"]["epoch"];
  alice->request({{"op", "post"}, {"group", "room"}, {"msg", 1}});
  alice.reset();
  server = start_server();
  auto bob = stream_client(server->port(), "bob");
  json r = bob->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", 1}, {"epoch", epoch}}}});
  EXPECT_EQ(r["data"]["recovered"], false);
  EXPECT_NE(r["data"]["epoch"], epoch);
  EXPECT_EQ(r["data"]["offset"], 0);
  // then live again, on the new epoch
  auto carol = stream_client(server->port(), "carol");
  carol->request({{"op", "join"}, {"group", "room"}});
  carol->request({{"op", "post"}, {"group", "room"}, {"msg", "live"}});
  auto live = messages(*bob, 1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["offset"], 1);
  EXPECT_EQ(live[0]["epoch"], r["data"]["epoch"]);
}

TEST(Streams, PrivateStreamReplaysFromTheConnectUrlRightAfterTheWelcome) {
  auto server = start_server();
  auto alice = stream_client(server->port(), "alice");
  json welcome;
  auto bob = stream_client(server->port(), "bob", "", &welcome);
  EXPECT_EQ(welcome["data"]["stream"]["offset"], 0);
  EXPECT_FALSE(welcome["data"]["stream"].contains("recovered"));
  std::string epoch = welcome["data"]["stream"]["epoch"];
  auto bob_stays = stream_client(server->port(), "bob");  // keeps bob online: private needs that
  alice->request({{"op", "private"}, {"user", "bob"}, {"msg", 1}});
  ASSERT_EQ(messages(*bob, 1, "private").size(), 1u);
  bob->close();
  for (int i = 2; i <= 3; ++i) ASSERT_EQ(alice->request({{"op", "private"}, {"user", "bob"}, {"msg", i}})["op"], "ok");

  bob = stream_client(server->port(), "bob", "&since=" + epoch + ".1", &welcome);
  EXPECT_EQ(welcome["data"]["stream"], (json{{"offset", 3}, {"epoch", epoch}, {"recovered", true}}));
  auto replay = messages(*bob, 2, "private");
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0]["msg"], 2);
  EXPECT_EQ(replay[1]["msg"], 3);
  EXPECT_EQ(replay[1]["offset"], 3);
  alice->request({{"op", "private"}, {"user", "bob"}, {"msg", 4}});
  auto live = messages(*bob, 1, "private");
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["offset"], 4);

  auto late = stream_client(server->port(), "bob", "&since=other-epoch.3", &welcome);
  EXPECT_EQ(welcome["data"]["stream"]["recovered"], false);
}

TEST(Streams, ARepeatedKeyIsAnsweredDuplicateAndNotPublished) {
  auto server = start_server();
  auto alice = stream_client(server->port(), "alice");
  auto bob = stream_client(server->port(), "bob");
  alice->request({{"op", "join"}, {"group", "room"}});
  bob->request({{"op", "join"}, {"group", "room"}});
  json first = alice->request({{"op", "post"}, {"group", "room"}, {"key", "k-1"}, {"msg", "once"}});
  EXPECT_EQ(first, (json{{"op", "ok"}, {"id", first["id"]}}));
  json again = alice->request({{"op", "post"}, {"group", "room"}, {"key", "k-1"}, {"msg", "once"}});
  EXPECT_EQ(again["data"], (json{{"duplicate", true}}));
  // another user's key of the same name is not a repeat
  EXPECT_FALSE(bob->request({{"op", "post"}, {"group", "room"}, {"key", "k-1"}, {"msg", "bob's"}}).contains("data"));
  // the fast path's layout (frames.cpp): key between the address and msg
  alice->send(R"({"op":"private","id":900,"user":"bob","key":"p_2","msg":"p"})");
  alice->send(R"({"op":"private","id":901,"user":"bob","key":"p_2","msg":"p"})");
  EXPECT_FALSE(alice->recv_op("ok", 900)->contains("data"));
  EXPECT_EQ((*alice->recv_op("ok", 901))["data"]["duplicate"], true);
  alice->request({{"op", "post"}, {"group", "room"}, {"msg", "mark"}});
  std::vector<json> others;
  auto got = messages(*bob, 3, "message", &others);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["msg"], "once");
  EXPECT_EQ(got[1]["msg"], "bob's");
  EXPECT_EQ(got[2]["msg"], "mark");
  EXPECT_EQ(got[2]["offset"], 3);  // the repeat took no offset
  EXPECT_EQ(std::count_if(others.begin(), others.end(), [](const json& f) { return f["op"] == "private"; }), 1);
}

TEST(Streams, HostileSinceAndKeyValuesGetInvalidParameter) {
  auto server = start_server();
  json welcome;
  auto bad_url = stream_client(server->port(), "eve", "&since=not-a-position", &welcome);
  EXPECT_EQ(welcome["data"]["stream"]["recovered"], false);
  auto err = bad_url->recv_op("error");
  ASSERT_TRUE(err);
  EXPECT_EQ((*err)["code"], "INVALID_PARAMETER");
  auto eve = stream_client(server->port(), "eve");
  for (const json& since : {json(-1), json("1.2"), json{{"offset", -1}, {"epoch", "e"}}, json{{"offset", 1.5}, {"epoch", "e"}},
                            json{{"offset", "1"}, {"epoch", "e"}}, json{{"offset", 1}}, json{{"offset", 1}, {"epoch", ""}},
                            json{{"offset", 1}, {"epoch", "a b"}}, json{{"offset", 1}, {"epoch", std::string(65, 'e')}},
                            json{{"offset", 1}, {"epoch", 7}}, json{{"epoch", "e"}}}) {
    json r = eve->request({{"op", "join"}, {"group", "room"}, {"since", since}});
    EXPECT_EQ(r["code"], "INVALID_PARAMETER") << since.dump();
  }
  for (const json& key : {json(""), json(std::string(65, 'k')), json("a b"), json("ü"), json(5), json::array()}) {
    EXPECT_EQ(eve->request({{"op", "private"}, {"user", "eve"}, {"key", key}, {"msg", 1}})["code"], "INVALID_PARAMETER")
        << key.dump();
    EXPECT_EQ(eve->request({{"op", "post"}, {"group", "room"}, {"key", key}, {"msg", 1}})["code"], "INVALID_PARAMETER")
        << key.dump();
  }
  json ok = eve->request({{"op", "join"}, {"group", "room"}, {"since", {{"offset", 18446744073709551615ull}, {"epoch", "e"}}}});
  EXPECT_EQ(ok["data"]["recovered"], false);
  EXPECT_EQ(eve->request({{"op", "post"}, {"group", "room"}, {"key", std::string(64, 'K')}, {"msg", 1}})["op"], "ok");
}

// Joins with `since` racing a publisher: every message reaches the member once, in order.
TEST(Streams, RejoiningWhilePublicationsFlowLosesAndRepeatsNothing) {
  auto server = start_server();
  expect_rejoins_lose_nothing({server->port()}, {server->port()});
}

TEST(StreamFrames, PositionsOffsetsAndKeysParse) {
  namespace p = sb::protocol;
  p::StreamPosition pos;
  ASSERT_TRUE(p::parse_stream_position("ab_C-9.12", pos));
  EXPECT_EQ(pos.epoch, "ab_C-9");
  EXPECT_EQ(pos.offset, 12u);
  ASSERT_TRUE(p::parse_stream_position("e.0", pos));
  ASSERT_TRUE(p::parse_stream_position("e.18446744073709551615", pos));
  EXPECT_EQ(pos.offset, 18446744073709551615ull);
  for (const char* bad : {"", ".1", "e.", "e", "e.012", "e.-1", "e.+1", "e.1x", "a b.1", "e.18446744073709551616", "e.1.2x",
                          "\xc3\xbc.1"})
    EXPECT_FALSE(p::parse_stream_position(bad, pos)) << bad;

  auto parts = p::group_message_parts("g", "s\",\"offset\":7,\"x\":\"", "c", R"({"offset":9})");
  EXPECT_EQ(p::frame_offset(parts.without_position()), std::nullopt);  // not fooled by the sender or msg
  std::string frame = parts.at(42, "ep");
  EXPECT_EQ(p::frame_offset(frame), 42u);
  json j = json::parse(frame);
  EXPECT_EQ(j["offset"], 42);
  EXPECT_EQ(j["epoch"], "ep");
  EXPECT_EQ(j["msg"], (json{{"offset", 9}}));
  const std::string tail = R"(,"msg":{"offset":9}})";  // msg stays last
  EXPECT_EQ(frame.substr(frame.size() - tail.size()), tail);
  p::ServerFrame f;  // the client's fast path
  ASSERT_TRUE(p::parse_server_frame(p::private_message_parts("s", "c", "", "[1]").at(7, "e"), f));
  EXPECT_EQ(f.op, "private");
  EXPECT_EQ(f.offset, 7u);
  EXPECT_EQ(f.epoch, "e");
  EXPECT_EQ(f.payload, "[1]");

  p::Request req;
  p::RequestError err;
  ASSERT_TRUE(p::parse_request(R"({"op":"post","id":1,"group":"g","key":"k-1","msg":{"a":1}})", {}, req, err));
  EXPECT_EQ(req.key, "k-1");
  EXPECT_EQ(req.payload, R"({"a":1})");
  ASSERT_TRUE(p::parse_request(R"({"op":"private","id":1,"key":"k2","user":"u","msg":1})", {}, req, err));
  EXPECT_EQ(req.key, "k2");
  EXPECT_FALSE(p::parse_request(R"({"op":"post","id":1,"group":"g","key":"a\u0020b","msg":1})", {}, req, err));
  EXPECT_EQ(err.code, p::Error::InvalidParameter);
}

TEST(MemoryStreams, HistoryAgesOutAndKeysAreBoundedPerUser) {
  using namespace sb::server;
  auto now = MemoryStreams::Clock::now();
  StreamOptions o;
  o.history_ttl = std::chrono::seconds(10);
  o.idempotency_ttl = std::chrono::seconds(5);
  o.max_keys_per_user = 2;
  MemoryStreams s(o, [&] { return now; });
  MemoryBroker broker;
  auto publish = [&](const std::string& user, const std::string& key) {
    StreamPublish p;
    p.pub.target = Publication::Target::Group;
    p.pub.key = "g";
    p.parts = sb::protocol::group_message_parts("g", user, "c", "1");
    p.user = user;
    p.idempotency_key = key;
    return s.publish(p, broker).duplicate;
  };
  EXPECT_FALSE(publish("u", "a"));
  auto epoch = s.read(Publication::Target::Group, "g", std::nullopt).top.epoch;
  EXPECT_TRUE(publish("u", "a"));
  EXPECT_FALSE(publish("u", "b"));
  EXPECT_FALSE(publish("u", "c"));  // "a" goes: two keys per user
  EXPECT_FALSE(publish("u", "a"));
  now += std::chrono::seconds(6);
  EXPECT_FALSE(publish("u", "c"));  // expired
  auto r = s.read(Publication::Target::Group, "g", sb::protocol::StreamPosition{0, epoch});
  EXPECT_EQ(r.recovered, true);
  EXPECT_EQ(r.frames.size(), 5u);
  now += std::chrono::seconds(5);  // the first four are 11 s old
  r = s.read(Publication::Target::Group, "g", sb::protocol::StreamPosition{0, epoch});
  EXPECT_EQ(r.recovered, false);
  r = s.read(Publication::Target::Group, "g", sb::protocol::StreamPosition{4, epoch});
  EXPECT_EQ(r.recovered, true);
  EXPECT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.top.offset, 5u);
  // no member and nothing left: the stream goes with its epoch
  now += std::chrono::seconds(11);
  s.read(Publication::Target::Group, "other", std::nullopt);
  EXPECT_EQ(s.stream_count(), 1u);  // only "other", just made
}

// A stream dropped by the sweep (no member, history empty) leaves a tombstone {epoch, top}: a
// client coming back with since == top recovers with nothing to replay; one that missed
// messages which expired meanwhile does not.
struct MemoryStreamsDropped : ::testing::Test {
  using Clock = sb::server::MemoryStreams::Clock;
  using Pos = sb::protocol::StreamPosition;
  static constexpr auto kGroup = sb::server::Publication::Target::Group;
  Clock::time_point now = Clock::now();
  sb::server::StreamOptions o = [] {
    sb::server::StreamOptions o;
    o.history_ttl = std::chrono::seconds(10);
    return o;
  }();
  std::unique_ptr<sb::server::MemoryStreams> s;
  sb::server::MemoryBroker broker;
  void start() { s = std::make_unique<sb::server::MemoryStreams>(o, [this] { return now; }); }
  void publish(const std::string& group) {
    sb::server::StreamPublish p;
    p.pub.target = kGroup;
    p.pub.key = group;
    p.parts = sb::protocol::group_message_parts(group, "u", "c", "1");
    p.user = "u";
    ASSERT_TRUE(s->publish(p, broker).status.ok);
  }
  Pos top(const std::string& group) { return s->read(kGroup, group, std::nullopt).top; }
  // Lets the history age out and sweeps (a read of another stream runs the sweep).
  void sweep_after(std::chrono::seconds d) {
    now += d;
    s->read(kGroup, "sweeper", std::nullopt);
  }
};

TEST_F(MemoryStreamsDropped, NeverUsedStreamKeepsItsEpoch) {
  start();
  const Pos t = top("g");
  EXPECT_EQ(t.offset, 0u);
  sweep_after(std::chrono::seconds(2));
  sweep_after(std::chrono::seconds(2));
  EXPECT_EQ(s->stream_count(), 1u);  // "g" dropped, only "sweeper" left
  auto r = s->read(kGroup, "g", Pos{0, t.epoch});
  EXPECT_EQ(r.recovered, true);
  EXPECT_EQ(r.top.epoch, t.epoch);
  EXPECT_EQ(r.top.offset, 0u);
  EXPECT_TRUE(r.frames.empty());
}

TEST_F(MemoryStreamsDropped, UpToDateClientRecoversAfterTheHistoryExpired) {
  start();
  publish("g");
  publish("g");
  const Pos t = top("g");
  ASSERT_EQ(t.offset, 2u);
  sweep_after(std::chrono::seconds(11));
  sweep_after(std::chrono::seconds(2));
  EXPECT_EQ(s->stream_count(), 1u);
  auto r = s->read(kGroup, "g", Pos{2, t.epoch});
  EXPECT_EQ(r.recovered, true);
  EXPECT_EQ(r.top.epoch, t.epoch);
  EXPECT_EQ(r.top.offset, 2u);
  EXPECT_TRUE(r.frames.empty());
  publish("g");  // offsets go on from the old top
  EXPECT_EQ(top("g").offset, 3u);
  EXPECT_EQ(top("g").epoch, t.epoch);
}

TEST_F(MemoryStreamsDropped, MissedMessagesThatExpiredAreNotRecovered) {
  start();
  publish("g");
  const Pos seen = top("g");
  publish("g");  // published while the client was away
  sweep_after(std::chrono::seconds(11));
  sweep_after(std::chrono::seconds(2));
  EXPECT_EQ(s->stream_count(), 1u);
  auto r = s->read(kGroup, "g", seen);
  EXPECT_EQ(r.recovered, false);
  EXPECT_TRUE(r.frames.empty());
  EXPECT_EQ(r.top.epoch, seen.epoch);
  EXPECT_EQ(r.top.offset, 2u);
}

TEST_F(MemoryStreamsDropped, ForgottenTombstoneMeansANewEpoch) {
  o.max_tombstones = 2;
  o.tombstone_ttl = std::chrono::seconds(60);
  start();
  const Pos a = top("a"), b = top("b");
  publish("c");
  sweep_after(std::chrono::seconds(2));  // "a", "b" dropped (and "sweeper" made)
  sweep_after(std::chrono::seconds(11));  // "c" and "sweeper" dropped: "a" and "b" make room
  EXPECT_EQ(s->stream_count(), 1u);
  auto r = s->read(kGroup, "a", Pos{0, a.epoch});
  EXPECT_EQ(r.recovered, false);
  EXPECT_NE(r.top.epoch, a.epoch);
  EXPECT_EQ(r.top.offset, 0u);
  r = s->read(kGroup, "b", Pos{0, b.epoch});
  EXPECT_EQ(r.recovered, false);
  EXPECT_NE(r.top.epoch, b.epoch);
}

TEST_F(MemoryStreamsDropped, TombstoneAgesOut) {
  o.tombstone_ttl = std::chrono::seconds(60);
  start();
  publish("g");
  const Pos t = top("g");
  sweep_after(std::chrono::seconds(11));  // dropped
  sweep_after(std::chrono::seconds(61));  // its tombstone too old
  auto r = s->read(kGroup, "g", t);
  EXPECT_EQ(r.recovered, false);
  EXPECT_NE(r.top.epoch, t.epoch);
  EXPECT_EQ(r.top.offset, 0u);
}

}  // namespace
