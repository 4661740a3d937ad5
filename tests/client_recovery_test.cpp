// The client core's side of issue 11 through the fake transport and clock: stream positions,
// duplicates dropped by offset, recovery on reconnect, the offline queue and keyed re-sends
// (docs/protocol.md, Recovery and Posts while offline).
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "client_harness.hpp"

using namespace sb;
using namespace sb::client;
using sb::testing::Capture;
using sb::testing::Harness;

namespace {
// The frames a server with streams writes (docs/protocol.md): the position before "msg".
std::string message(const std::string& group, std::uint64_t offset, const std::string& epoch, const std::string& payload) {
  return R"({"op":"message","group":")" + group + R"(","sender":"bob","sender_cid":"cid:9","offset":)" +
         std::to_string(offset) + R"(,"epoch":")" + epoch + R"(","msg":)" + payload + "}";
}
std::string private_msg(std::uint64_t offset, const std::string& epoch, const std::string& payload) {
  return R"({"op":"private","group":"","sender":"bob","sender_cid":"cid:9","offset":)" + std::to_string(offset) +
         R"(,"epoch":")" + epoch + R"(","msg":)" + payload + "}";
}
nlohmann::json position(std::uint64_t offset, const std::string& epoch, std::optional<bool> recovered = {}) {
  nlohmann::json j{{"offset", offset}, {"epoch", epoch}};
  if (recovered) j["recovered"] = *recovered;
  return j;
}
std::string welcome(const std::string& user, const nlohmann::json& stream) {
  nlohmann::json data{{"max_frame_bytes", 65536}, {"stream", stream}};
  return nlohmann::json{{"op", "welcome"}, {"cid", "cid:1"}, {"user", user}, {"data", data}}.dump();
}

struct Rig : Harness {
  Capture c;
  explicit Rig(Options o = {}) : Harness(o) {}
  // Connected as alice (private stream U at `user_top`), joined to room (stream E at `top`).
  void joined(std::uint64_t top = 0, std::uint64_t user_top = 0) {
    core->connect("ws://h/realtime", c());
    core->on_token(core->attempt(), "t");
    core->on_transport_text(welcome("alice", position(user_top, "U")));
    core->join(std::string("room"), c());
    reply_ok(last_sent()["id"], position(top, "E"));
    events.clear();
    transport.sent.clear();
  }
  void reply_ok(const nlohmann::json& id, const nlohmann::json& data) {
    core->on_transport_text(protocol::ok_frame(id.get<std::int64_t>(), data));
  }
  void reply_ok(const nlohmann::json& id) { core->on_transport_text(protocol::ok_frame(id.get<std::int64_t>())); }
  // The socket drops; the reconnect's token comes at once. The welcome is the caller's.
  void drop_and_reopen() {
    core->on_transport_close(1006, "");
    core->wake();  // as when the network comes back: no backoff wait
    core->on_token(core->attempt(), "t");
  }
  std::vector<nlohmann::json> sent() {
    std::vector<nlohmann::json> out;
    for (auto& s : transport.sent) out.push_back(nlohmann::json::parse(s));
    return out;
  }
  // The payloads of the message and private events so far, in order.
  std::vector<std::string> delivered() {
    std::vector<std::string> out;
    for (auto& e : events)
      if (e.type == "message" || e.type == "private") out.push_back(e.message_json);
    return out;
  }
  std::vector<Event> recovery_notices() {
    std::vector<Event> out;
    for (auto& e : events)
      if (e.code == "RECOVERY_FAILED") out.push_back(e);
    return out;
  }
};
}  // namespace

TEST(ClientRecoveryFrames, PositionsAndKeysOnTheWire) {
  protocol::ServerFrame f;
  // The fast path, and the full parse for any other layout.
  ASSERT_TRUE(protocol::parse_server_frame(message("room", 42, "e1", R"({"a":1})"), f));
  EXPECT_EQ(f.op, "message");
  EXPECT_EQ(f.offset, 42u);
  EXPECT_EQ(f.epoch, "e1");
  EXPECT_EQ(f.payload, R"({"a":1})");
  protocol::ServerFrame g;
  ASSERT_TRUE(protocol::parse_server_frame(
      R"({"op":"private","epoch":"e2","offset":7,"group":"","sender":"b\"ob","sender_cid":"c","msg":1})", g));
  EXPECT_EQ(g.offset, 7u);
  EXPECT_EQ(g.epoch, "e2");
  EXPECT_EQ(g.sender, "b\"ob");
  protocol::ServerFrame none;  // a server without streams: no position
  ASSERT_TRUE(protocol::parse_server_frame(protocol::group_message_frame("room", "bob", "c", "1"), none));
  EXPECT_EQ(none.offset, 0u);
  EXPECT_EQ(none.epoch, "");

  protocol::StreamPosition since{42, "e1"};
  auto join = nlohmann::json::parse(protocol::join_frame(3, std::string("room"), &since));
  EXPECT_EQ(join["since"], (nlohmann::json{{"offset", 42}, {"epoch", "e1"}}));
  EXPECT_FALSE(nlohmann::json::parse(protocol::join_frame(3, std::string("room")))["since"].is_object());
  auto post = nlohmann::json::parse(protocol::post_frame(4, "room", "[1]", "", "k-1"));
  EXPECT_EQ(post["key"], "k-1");
  EXPECT_EQ(post["msg"], nlohmann::json::array({1}));
  EXPECT_FALSE(nlohmann::json::parse(protocol::private_frame(4, "bob", "1")).contains("key"));
}

TEST(ClientRecovery, DuplicatesAreDroppedByOffsetAndTheRestDeliveredInOrder) {
  Rig h;
  h.joined();
  // One batched text message, as the server writes them, with repeats inside and across.
  h.core->on_transport_text(message("room", 1, "E", "1") + "\n" + message("room", 2, "E", "2") + "\n" +
                            message("room", 2, "E", "2"));
  h.core->on_transport_text(message("room", 1, "E", "1"));
  h.core->on_transport_text(message("room", 3, "E", "3"));
  h.core->on_transport_text(private_msg(1, "U", "\"p1\""));
  h.core->on_transport_text(private_msg(1, "U", "\"p1\""));
  h.core->on_transport_text(private_msg(2, "U", "\"p2\""));
  // Frames without a position (another group's, an old server's) always pass.
  h.core->on_transport_text(protocol::group_message_frame("room", "bob", "c", "\"plain\""));
  h.core->on_transport_text(message("other", 1, "X", "\"other\""));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"1", "2", "3", "\"p1\"", "\"p2\"", "\"plain\"", "\"other\""}));
  // A new epoch (the history was lost) starts over: offset 1 is new there.
  h.core->on_transport_text(message("room", 1, "E2", "\"new\""));
  h.core->on_transport_text(message("room", 1, "E2", "\"new\""));
  EXPECT_EQ(h.delivered().back(), "\"new\"");
  EXPECT_EQ(h.delivered().size(), 8u);
}

TEST(ClientRecovery, AJoinStartsFromTheServersTopAndALiveFrameThatOvertookItStays) {
  Rig h;
  h.joined(/*top=*/10);
  h.core->on_transport_text(message("room", 10, "E", "10"));  // before the join: not ours again
  h.core->on_transport_text(message("room", 11, "E", "11"));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"11"}));
  // Another group: frames of it that arrive before its ok are tracked, and the ok's top does not
  // step back over them.
  h.core->join(std::string("hall"), h.c());
  auto id = h.last_sent()["id"];
  h.core->on_transport_text(message("hall", 6, "H", "6"));
  h.reply_ok(id, position(5, "H"));
  h.core->on_transport_text(message("hall", 6, "H", "6"));
  h.core->on_transport_text(message("hall", 7, "H", "7"));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"11", "6", "7"}));
}

TEST(ClientRecovery, AReconnectAsksForWhatWasMissedAndDeliversEachMessageOnce) {
  Rig h;
  h.joined();
  for (int i = 1; i <= 5; ++i) h.core->on_transport_text(message("room", i, "E", std::to_string(i)));
  h.core->on_transport_text(private_msg(3, "U", "\"p3\""));
  h.events.clear();

  h.drop_and_reopen();
  // The private stream's position rides in the URL, next to the token.
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=t&since=U.3");
  h.core->on_transport_text(welcome("alice", position(4, "U", true)));
  h.core->on_transport_text(private_msg(3, "U", "\"p3\""));  // replayed after the welcome
  h.core->on_transport_text(private_msg(4, "U", "\"p4\""));
  // The rejoin carries the group's position.
  auto rejoin = h.sent().at(0);
  EXPECT_EQ(rejoin["op"], "join");
  EXPECT_EQ(rejoin["group"], "room");
  EXPECT_EQ(rejoin["since"], position(5, "E"));
  // The server replays before its ok (overlapping what came live), then live frames follow.
  for (int i = 4; i <= 7; ++i) h.core->on_transport_text(message("room", i, "E", std::to_string(i)));
  h.reply_ok(rejoin["id"], position(7, "E", true));
  h.core->on_transport_text(message("room", 7, "E", "7"));
  h.core->on_transport_text(message("room", 8, "E", "8"));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"\"p4\"", "6", "7", "8"}));
  EXPECT_TRUE(h.recovery_notices().empty());

  // The next reconnect asks from where the last one ended.
  h.transport.sent.clear();
  h.drop_and_reopen();
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=t&since=U.4");
  h.core->on_transport_text(welcome("alice", position(4, "U", true)));
  EXPECT_EQ(h.sent().at(0)["since"], position(8, "E"));
}

TEST(ClientRecovery, AFailedRecoveryIsOneNoticePerStreamThenLiveMessagesFlow) {
  Rig h;
  h.joined();
  h.core->on_transport_text(message("room", 1, "E", "1"));
  h.core->on_transport_text(private_msg(1, "U", "\"p1\""));
  h.events.clear();

  h.drop_and_reopen();  // a new in-memory server: both histories are gone
  h.core->on_transport_text(welcome("alice", position(0, "U2", false)));
  auto rejoin = h.sent().at(0);
  h.reply_ok(rejoin["id"], position(0, "E2", false));
  auto notices = h.recovery_notices();
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].type, "notice");
  EXPECT_EQ(notices[0].sender_rid, "");  // the private stream
  EXPECT_EQ(notices[1].sender_rid, "room");
  EXPECT_EQ(notices[1].message_json, R"("Messages sent while disconnected could not be recovered.")");
  // Live again, in the new epochs, still without repeats.
  h.core->on_transport_text(message("room", 1, "E2", "\"a\""));
  h.core->on_transport_text(message("room", 1, "E2", "\"a\""));
  h.core->on_transport_text(private_msg(1, "U2", "\"b\""));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"\"a\"", "\"b\""}));
  EXPECT_EQ(h.recovery_notices().size(), 2u);

  // A recovery that works next time says nothing.
  h.transport.sent.clear();
  h.drop_and_reopen();
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=t&since=U2.1");
  h.core->on_transport_text(welcome("alice", position(1, "U2", true)));
  EXPECT_EQ(h.sent().at(0)["since"], position(1, "E2"));
  h.reply_ok(h.sent().at(0)["id"], position(1, "E2", true));
  EXPECT_EQ(h.recovery_notices().size(), 2u);
}

// A flapping network may cut the connection again before the rejoin's answer: the group is kept
// and the next rejoin asks from the position the replayed frames reached.
TEST(ClientRecovery, ACutDuringTheRejoinKeepsTheGroupAndItsPosition) {
  Rig h;
  h.joined();
  h.core->on_transport_text(message("room", 1, "E", "1"));
  h.drop_and_reopen();
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  EXPECT_EQ(h.sent().at(0)["since"], position(1, "E"));
  h.core->on_transport_text(message("room", 2, "E", "2"));  // replayed, then the cut
  h.transport.sent.clear();
  h.drop_and_reopen();
  EXPECT_EQ(h.core->group(), "room");
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  auto rejoin = h.sent().at(0);
  EXPECT_EQ(rejoin["op"], "join");
  EXPECT_EQ(rejoin["since"], position(2, "E"));
  h.core->on_transport_text(message("room", 2, "E", "2"));
  h.core->on_transport_text(message("room", 3, "E", "3"));
  h.reply_ok(rejoin["id"], position(3, "E", true));
  EXPECT_EQ(h.delivered(), (std::vector<std::string>{"1", "2", "3"}));
  for (auto& e : h.events) EXPECT_NE(e.message_json, R"("Could not rejoin the group: The connection dropped before the server replied.")");
}

TEST(ClientRecovery, ANewUserOrACloseForgetsThePositions) {
  Rig h;
  h.joined(0, /*user_top=*/3);
  h.drop_and_reopen();
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=t&since=U.3");
  // The token now names bob: alice's position is no recovery of his stream.
  h.core->on_transport_text(welcome("bob", position(9, "B", false)));
  EXPECT_TRUE(h.recovery_notices().empty());
  Capture done;
  h.core->close(done());
  h.core->connect("ws://h/realtime", done());
  h.core->on_token(h.core->attempt(), "t");
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=t");
}

TEST(ClientOutbox, CallsWhileReconnectingWaitInOrderBoundedByCount) {
  Options o;
  o.queue_max_count = 2;
  Rig h(o);
  h.joined();
  h.core->on_transport_close(1006, "");
  h.core->post("1", "room", h.c());
  h.core->post("2", "bob", h.c());
  auto before = h.c.results.size();
  h.core->post("3", "room", h.c());  // over the bound: refused at once
  ASSERT_EQ(h.c.results.size(), before + 1);
  EXPECT_EQ(h.c.results.back().code, "QUEUE_FULL");
  h.core->wake();
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  auto sent = h.sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0]["op"], "join");
  EXPECT_EQ(sent[1]["op"], "post");
  EXPECT_EQ(sent[1]["msg"], 1);
  EXPECT_EQ(sent[2]["op"], "private");
  EXPECT_EQ(sent[2]["msg"], 2);
  h.reply_ok(sent[1]["id"]);
  h.reply_ok(sent[2]["id"]);
  ASSERT_EQ(h.c.results.size(), before + 3);
  EXPECT_TRUE(h.c.results[before + 1].ok && h.c.results[before + 2].ok);
}

TEST(ClientOutbox, TheByteBoundCountsFramedBytes) {
  Options o;
  o.queue_max_bytes = 1000;
  Rig h(o);
  h.joined();
  h.core->on_transport_close(1006, "");
  std::string big = "\"" + std::string(600, 'x') + "\"";
  h.core->post(big, "room", h.c());
  EXPECT_TRUE(h.c.results.size() == 2u);  // connect and join only: it waits
  h.core->post(big, "room", h.c());
  ASSERT_EQ(h.c.results.size(), 3u);
  EXPECT_EQ(h.c.results.back().code, "QUEUE_FULL");
  h.core->post("1", "room", h.c());  // a small one still fits
  EXPECT_EQ(h.c.results.size(), 3u);
  std::string huge = "\"" + std::string(2000, 'x') + "\"";  // larger than the bound on its own
  h.core->post(huge, "room", h.c());
  EXPECT_EQ(h.c.results.back().code, "QUEUE_FULL");
}

TEST(ClientOutbox, APostWhoseReplyWasLostIsSentAgainWithItsKeyFirstAndSettlesOnce) {
  Rig h;
  h.joined();
  h.core->post("\"a\"", "room", h.c());
  h.core->post("\"b\"", "bob", h.c());
  auto a = h.sent().at(0), b = h.sent().at(1);
  ASSERT_TRUE(a["key"].is_string() && b["key"].is_string());
  EXPECT_NE(a["key"], b["key"]);
  auto before = h.c.results.size();
  h.core->on_transport_close(1006, "");
  EXPECT_EQ(h.c.results.size(), before);  // no DISCONNECTED: they will be sent again
  h.core->post("\"c\"", "room", h.c());   // made while reconnecting: after them
  h.transport.sent.clear();
  h.core->wake();
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  auto sent = h.sent();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0]["op"], "join");
  EXPECT_EQ(sent[1]["msg"], "a");
  EXPECT_EQ(sent[1]["key"], a["key"]);
  EXPECT_EQ(sent[1]["op"], "post");
  EXPECT_EQ(sent[2]["msg"], "b");
  EXPECT_EQ(sent[2]["key"], b["key"]);
  EXPECT_EQ(sent[2]["op"], "private");
  EXPECT_EQ(sent[3]["msg"], "c");
  EXPECT_NE(sent[1]["id"], a["id"]);  // a new request id, the same key
  // The server had published "a" before the drop: it answers the repeat as a duplicate.
  h.reply_ok(sent[1]["id"], nlohmann::json{{"duplicate", true}});
  h.reply_ok(sent[1]["id"]);  // a stray second reply changes nothing
  h.reply_ok(sent[2]["id"]);
  h.reply_ok(sent[3]["id"]);
  ASSERT_EQ(h.c.results.size(), before + 3);
  for (std::size_t i = before; i < h.c.results.size(); ++i) {
    EXPECT_TRUE(h.c.results[i].ok);
    EXPECT_EQ(h.c.results[i].message, "Message sent.");
  }
  // Answered: a later drop sends nothing again.
  h.transport.sent.clear();
  h.drop_and_reopen();
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  ASSERT_EQ(h.sent().size(), 1u);
  EXPECT_EQ(h.sent()[0]["op"], "join");
  EXPECT_EQ(h.c.results.size(), before + 3);
}

TEST(ClientOutbox, APostWaitingToBeSentAgainTimesOutOnceAndIsNotSentAfterwards) {
  Options o;
  o.request_timeout_ms = 5000;
  o.backoff_initial_ms = o.backoff_max_ms = 100000;
  Rig h(o);
  h.joined();
  h.core->post("1", "room", h.c());
  auto before = h.c.results.size();
  h.clock.advance(3000);
  h.core->on_transport_close(1006, "");
  h.clock.advance(4999);
  EXPECT_EQ(h.c.results.size(), before);
  h.clock.advance(1);
  ASSERT_EQ(h.c.results.size(), before + 1);
  EXPECT_EQ(h.c.results.back().code, "TIMEOUT");
  h.transport.sent.clear();
  h.core->wake();
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_text(welcome("alice", position(0, "U", true)));
  ASSERT_EQ(h.sent().size(), 1u);  // the rejoin only
  EXPECT_EQ(h.c.results.size(), before + 1);
}

TEST(ClientOutbox, CloseFailsWaitingAndUnansweredPostsOnce) {
  Rig h;
  h.joined();
  h.core->post("1", "room", h.c());
  h.core->on_transport_close(1006, "");
  h.core->post("2", "room", h.c());
  auto before = h.c.results.size();
  Capture closed;
  h.core->close(closed());
  ASSERT_EQ(h.c.results.size(), before + 2);
  EXPECT_EQ(h.c.results[before].code, "CLOSED");
  EXPECT_EQ(h.c.results[before + 1].code, "CLOSED");
  h.clock.advance(60000);
  EXPECT_EQ(h.c.results.size(), before + 2);
}

TEST(ClientOutbox, KeysAreDistinctAndWithinTheServersAlphabet) {
  Rig h;
  h.joined();
  std::set<std::string> keys;
  std::regex valid("^[A-Za-z0-9_-]{1,64}$");
  for (int i = 0; i < 5000; ++i) {
    h.core->post("1", "room", h.c());
    auto key = h.last_sent()["key"].get<std::string>();
    EXPECT_TRUE(std::regex_match(key, valid)) << key;
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 5000u);
}
