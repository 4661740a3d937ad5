// The client core's state machine through a fake transport and a fake clock.
#include <gtest/gtest.h>

#include <sstream>

#include "client/core.hpp"
#include "client_harness.hpp"
#include "protocol/frames.hpp"

using namespace sb;
using namespace sb::client;
using sb::testing::Capture;
using sb::testing::FakeClock;
using sb::testing::FakeHost;
using sb::testing::FakeTransport;
using sb::testing::Harness;

TEST(ClientCore, ConnectAsksForATokenOpensAndReportsSuccess) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  EXPECT_EQ(h.core->state(), State::Connecting);
  ASSERT_EQ(h.host.token_requests.size(), 1u);
  h.open();
  ASSERT_EQ(h.transport.opened.size(), 1u);
  EXPECT_EQ(h.transport.opened[0], "ws://h/realtime?token=tok%20en");
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_TRUE(c.results[0].ok);
  EXPECT_EQ(h.core->state(), State::Open);
  EXPECT_EQ(h.core->cid(), "cid:1");
  ASSERT_EQ(h.types(), std::vector<std::string>{"success"});
  EXPECT_EQ(h.events[0].message_json, "\"Connected to WebSocket server.\"");
}

TEST(ClientCore, SecondConnectWhileConnectingOpensNothingNew) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.core->connect("ws://h/realtime", c());
  h.open();
  EXPECT_EQ(h.transport.opened.size(), 1u);
  ASSERT_EQ(c.results.size(), 2u);
  EXPECT_TRUE(c.results[0].ok && c.results[1].ok);
  h.core->connect("ws://h/realtime", c());
  EXPECT_EQ(h.transport.opened.size(), 1u);
  EXPECT_TRUE(c.results[2].ok);
}

TEST(ClientCore, CallsWithoutAConnectionFailAtOnce) {
  Harness h;
  Capture c;
  h.core->join(std::string("g"), c());
  h.core->post("1", "bob", c());
  ASSERT_EQ(c.results.size(), 2u);
  for (auto& r : c.results) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.code, "NOT_CONNECTED");
  }
  EXPECT_TRUE(h.transport.sent.empty());
}

TEST(ClientCore, JoinPostAndPrivateFramesAndReplies) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->join(std::string("room"), c());
  auto join = h.last_sent();
  EXPECT_EQ(join["op"], "join");
  EXPECT_EQ(join["group"], "room");
  h.core->on_transport_text(protocol::ok_frame(join["id"].get<int64_t>()));
  EXPECT_EQ(c.results.back().message, "Joined realtime message group: \"room\".");
  EXPECT_EQ(h.core->group(), "room");

  h.core->post(R"({"t":1})", "room", c());
  auto post = h.last_sent();
  EXPECT_EQ(post["op"], "post");
  EXPECT_EQ(post["msg"]["t"], 1);
  h.core->on_transport_text(protocol::ok_frame(post["id"].get<int64_t>()));
  EXPECT_TRUE(c.results.back().ok);
  EXPECT_EQ(c.results.back().message, "Message sent.");

  h.core->post("0", "bob", c());
  auto pm = h.last_sent();
  EXPECT_EQ(pm["op"], "private");
  EXPECT_EQ(pm["user"], "bob");
  h.core->on_transport_text(protocol::error_frame(pm["id"].get<int64_t>(), protocol::Error::RecipientOffline, "Recipient is not connected."));
  EXPECT_FALSE(c.results.back().ok);
  EXPECT_EQ(c.results.back().code, "RECIPIENT_OFFLINE");

  h.core->join(std::nullopt, c());
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  EXPECT_EQ(c.results.back().message, "Left realtime message group.");
  EXPECT_FALSE(h.core->group().has_value());
}

TEST(ClientCore, IncomingFramesBecomeSkapiShapedEvents) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.events.clear();
  h.core->on_transport_text(protocol::group_message_frame("room", "bob", "cid:9", R"({"x":"100%"})"));
  h.core->on_transport_text(protocol::private_message_frame("bob", "cid:9", "", "false"));
  h.core->on_transport_text(protocol::notice_frame("USER_JOINED", "room", "bob", "cid:9"));
  ASSERT_EQ(h.types(), (std::vector<std::string>{"message", "private", "notice"}));
  EXPECT_EQ(h.events[0].message_json, R"({"x":"100%"})");
  EXPECT_EQ(h.events[0].sender, "bob");
  EXPECT_EQ(h.events[0].sender_cid, "cid:9");
  EXPECT_EQ(h.events[0].sender_rid, "room");
  EXPECT_EQ(h.events[1].message_json, "false");
  EXPECT_EQ(h.events[1].sender_rid, "");
  EXPECT_EQ(h.events[2].code, "USER_JOINED");
  EXPECT_EQ(h.events[2].sender_rid, "room");
}

// Skapi's texts: its examples test includes("message group") and take the id from /"([^"]+)"/.
TEST(ClientCore, NoticeTextsAreSkapis) {
  Harness h;
  h.connected();
  h.core->on_transport_text(protocol::notice_frame("USER_JOINED", "room", "bob", "cid:9"));
  h.core->on_transport_text(protocol::notice_frame("USER_LEFT", "room", "bob", "cid:9"));
  h.core->on_transport_text(protocol::notice_frame("USER_DISCONNECTED", "room", "bob", "cid:9"));
  ASSERT_EQ(h.events.size(), 3u);
  EXPECT_EQ(h.events[0].message_json, R"("User \"bob\" has joined the message group.")");
  EXPECT_EQ(h.events[1].message_json, R"("User \"bob\" has left the message group.")");
  EXPECT_EQ(h.events[2].message_json, R"("User \"bob\" has been disconnected.")");
}

// Skapi records the group as it sends the join: a post right behind an un-awaited join (both
// queued while connecting) goes to the group, and the server reads them in that order.
TEST(ClientCore, PostRightAfterAnUnansweredJoinGoesToThatGroup) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.core->join(std::string("room"), c());
  h.core->post("1", "room", c());
  h.open();
  ASSERT_GE(h.transport.sent.size(), 2u);
  auto join = nlohmann::json::parse(h.transport.sent[h.transport.sent.size() - 2]);
  auto post = h.last_sent();
  EXPECT_EQ(join["op"], "join");
  EXPECT_EQ(post["op"], "post");
  EXPECT_EQ(post["group"], "room");
  // A failed join forgets it: the next post to that name is a private message again.
  h.core->on_transport_text(protocol::error_frame(join["id"].get<int64_t>(), protocol::Error::Forbidden, "no"));
  h.core->post("2", "room", c());
  EXPECT_EQ(h.last_sent()["op"], "private");
}

// A socket error is reported as Skapi reports it; the close that follows does the rest.
TEST(ClientCore, SocketErrorIsAnErrorEvent) {
  Harness h;
  h.connected();
  h.core->on_transport_error();
  ASSERT_EQ(h.types(), std::vector<std::string>{"error"});
  EXPECT_EQ(h.events[0].message_json, R"("Skapi: WebSocket connection error.")");
  EXPECT_EQ(h.core->user(), "alice");
}

TEST(ClientCore, BackoffCeilingDoublesUpToTheMaximum) {
  Options o;
  o.backoff_initial_ms = 500;
  o.backoff_max_ms = 20000;
  EXPECT_EQ(backoff_ceiling_ms(o, 1), 500);
  EXPECT_EQ(backoff_ceiling_ms(o, 2), 1000);
  EXPECT_EQ(backoff_ceiling_ms(o, 6), 16000);
  EXPECT_EQ(backoff_ceiling_ms(o, 7), 20000);
  EXPECT_EQ(backoff_ceiling_ms(o, 50), 20000);
}

TEST(ClientCore, UnexpectedCloseReconnectsWithJitteredBackoffAndRejoins) {
  Harness h;
  Capture c;
  h.host.random = 0.5;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->join(std::string("room"), c());
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  h.events.clear();

  h.core->on_transport_close(1006, "");
  EXPECT_EQ(h.core->state(), State::Waiting);
  ASSERT_EQ(h.types(), std::vector<std::string>{"error"});
  EXPECT_EQ(h.events[0].message_json, "\"Skapi: WebSocket unexpected close.\"");
  // A post made while reconnecting waits for the connection.
  h.core->post("\"queued\"", "room", c());
  auto results_before = c.results.size();

  h.clock.advance(249);  // 0.5 * 500 ms
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  h.clock.advance(1);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  EXPECT_EQ(h.events.back().type, "reconnect");
  EXPECT_EQ(h.events.back().message_json, "\"Reconnecting to WebSocket server...1\"");

  // The attempt fails: the next delay ceiling doubles.
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_close(1006, "");
  h.clock.advance(499);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  h.clock.advance(1);
  EXPECT_EQ(h.host.token_requests.size(), 3u);
  EXPECT_EQ(h.events.back().message_json, "\"Reconnecting to WebSocket server...2\"");

  h.transport.sent.clear();
  h.open("cid:2");
  EXPECT_EQ(h.events.back().type, "success");
  ASSERT_EQ(h.transport.sent.size(), 2u);  // rejoin first, then the queued post
  auto rejoin = nlohmann::json::parse(h.transport.sent[0]);
  auto post = nlohmann::json::parse(h.transport.sent[1]);
  EXPECT_EQ(rejoin["op"], "join");
  EXPECT_EQ(rejoin["group"], "room");
  EXPECT_EQ(post["op"], "post");
  EXPECT_EQ(post["msg"], "queued");
  h.core->on_transport_text(protocol::ok_frame(post["id"].get<int64_t>()));
  ASSERT_EQ(c.results.size(), results_before + 1);
  EXPECT_TRUE(c.results.back().ok);
}

// Posts are sent again instead (client_recovery_test.cpp): they carry an idempotency key.
TEST(ClientCore, RequestsInFlightWhenTheSocketDropsFailWithDisconnected) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->groups("{}", c());
  h.core->on_transport_close(1006, "");
  ASSERT_EQ(c.results.size(), 2u);
  EXPECT_EQ(c.results[1].code, "DISCONNECTED");
}

TEST(ClientCore, RefusedTokenOnFirstConnectRejectsAndDoesNotRetry) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.core->on_token(h.core->attempt(), "bad");
  h.core->on_transport_close(4001, "Invalid token: signature mismatch.");
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_FALSE(c.results[0].ok);
  EXPECT_EQ(c.results[0].code, "UNAUTHORIZED");
  EXPECT_EQ(c.results[0].message, "Invalid token: signature mismatch.");
  EXPECT_EQ(h.core->state(), State::Closed);
  h.clock.advance(60000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
}

TEST(ClientCore, TokenFailureOnFirstConnectRejects) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.core->on_token_error(h.core->attempt(), "login expired");
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].code, "UNAUTHORIZED");
  EXPECT_TRUE(h.transport.opened.empty());
}

TEST(ClientCore, ConnectTimesOutWhenNoWelcomeComes) {
  Options o;
  o.connect_timeout_ms = 1000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.core->on_token(h.core->attempt(), "t");
  h.clock.advance(1000);
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].code, "TIMEOUT");
  EXPECT_FALSE(h.transport.is_open);
}

TEST(ClientCore, UnansweredRequestTimesOut) {
  Options o;
  o.request_timeout_ms = 3000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->post("1", "bob", c());
  h.clock.advance(2999);
  EXPECT_EQ(c.results.size(), 1u);
  h.clock.advance(1);
  ASSERT_EQ(c.results.size(), 2u);
  EXPECT_EQ(c.results[1].code, "TIMEOUT");
  // A late reply changes nothing.
  h.core->on_transport_text(protocol::ok_frame(nlohmann::json::parse(h.transport.sent.back())["id"].get<int64_t>()));
  EXPECT_EQ(c.results.size(), 2u);
}

TEST(ClientCore, QueuedRequestTimesOutWhenTheConnectionDoesNotComeBack) {
  Options o;
  o.request_timeout_ms = 5000;
  o.backoff_initial_ms = 100000;
  o.backoff_max_ms = 100000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(1006, "");
  h.core->post("1", "bob", c());
  h.clock.advance(5000);
  ASSERT_EQ(c.results.size(), 2u);
  EXPECT_EQ(c.results[1].code, "TIMEOUT");
}

TEST(ClientCore, CloseLeavesTheGroupFirstThenCloses) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->join(std::string("room"), c());
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  h.core->post("1", "bob", c());  // in flight when closing
  h.core->close(c());
  auto leave = nlohmann::json::parse(h.transport.sent.back());
  EXPECT_EQ(leave["op"], "join");
  EXPECT_TRUE(leave["group"].is_null());
  ASSERT_EQ(h.transport.closed.size(), 1u);
  EXPECT_EQ(h.transport.closed[0].first, 1000);
  EXPECT_EQ(h.events.back().type, "close");
  EXPECT_EQ(h.events.back().message_json, "\"WebSocket connection closed.\"");
  EXPECT_EQ(c.results[c.results.size() - 2].code, "CLOSED");  // the post
  EXPECT_TRUE(c.results.back().ok);                            // the close
  EXPECT_EQ(h.core->state(), State::Closed);
  // Twice is fine, and nothing reconnects.
  h.core->close(c());
  EXPECT_TRUE(c.results.back().ok);
  h.clock.advance(60000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
}

TEST(ClientCore, CloseBeforeConnectIsHarmless) {
  Harness h;
  Capture c;
  h.core->close(c());
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_TRUE(c.results[0].ok);
  EXPECT_TRUE(h.events.empty());
}

TEST(ClientCore, KeepAlivePingsAndDeadConnectionReconnects) {
  Options o;
  o.keepalive_ms = 15000;
  o.dead_after_ms = 40000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.transport.sent.clear();
  h.clock.advance(15000);
  ASSERT_FALSE(h.transport.sent.empty());
  EXPECT_EQ(h.last_sent()["op"], "ping");
  // The server answers: the connection is alive.
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  EXPECT_EQ(h.core->state(), State::Open);
  // Then silence: after dead_after_ms without a frame the core gives up on the socket. Arrivals
  // are noted at the next tick (every keepalive/3), so detection may take up to one tick more.
  h.clock.advance(39000);
  EXPECT_EQ(h.core->state(), State::Open);
  h.clock.advance(6000);
  EXPECT_EQ(h.core->state(), State::Waiting);
  EXPECT_FALSE(h.transport.is_open);
}

TEST(ClientCore, MaxAttemptsEndsReconnecting) {
  Options o;
  o.max_reconnect_attempts = 2;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(1006, "");
  for (int i = 0; i < 2; ++i) {
    h.clock.advance(100000);
    h.core->on_transport_close(1006, "");
  }
  EXPECT_EQ(h.core->state(), State::Closed);
  EXPECT_EQ(h.events.back().message_json, "\"Skapi: Max reconnection attempts reached.\"");
}

TEST(ClientCore, WakeReconnectsAtOnce) {
  Options o;
  o.backoff_initial_ms = 100000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(1006, "");
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  h.core->wake();
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  EXPECT_EQ(h.core->state(), State::Connecting);
}

TEST(ClientCore, FatalCloseAfterConnectStopsReconnecting) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(4001, "Token expired.");
  EXPECT_EQ(h.core->state(), State::Closed);
  EXPECT_EQ(h.events.back().type, "error");
  EXPECT_EQ(h.events.back().code, "UNAUTHORIZED");
  h.clock.advance(100000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
}

TEST(ClientCore, UsersQueryDefaultsToTheJoinedGroup) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->users("{}", c());
  EXPECT_EQ(c.results.back().code, "INVALID_PARAMETER");  // no group joined yet
  h.core->join(std::string("room"), c());
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  h.core->users(R"({"limit":2})", c());
  auto q = h.last_sent();
  EXPECT_EQ(q["op"], "users");
  EXPECT_EQ(q["group"], "room");
  EXPECT_EQ(q["limit"], 2);
  h.core->on_transport_text(protocol::ok_frame(q["id"].get<int64_t>(), {{"list", nlohmann::json::array()}, {"endOfList", true}, {"startKey", "end"}}));
  ASSERT_TRUE(c.results.back().ok);
  EXPECT_EQ(nlohmann::json::parse(c.results.back().data_json)["startKey"], "end");
  h.core->groups(R"({"searchFor":"number_of_users","value":1})", c());
  EXPECT_EQ(h.last_sent()["op"], "groups");
  EXPECT_EQ(h.last_sent()["value"], 1);
}

TEST(ClientCore, OversizedFramesAreRefusedBeforeSending) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  protocol::Limits small;
  small.max_frame_bytes = 100;
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_text(protocol::welcome_frame("cid:1", "alice", small));
  auto sent = h.transport.sent.size();
  h.core->post("\"" + std::string(200, 'x') + "\"", "bob", c());
  EXPECT_EQ(c.results.back().code, "TOO_LARGE");
  EXPECT_EQ(h.transport.sent.size(), sent);
  EXPECT_EQ(h.core->state(), State::Open);
}

TEST(ClientCore, BatchedMessagesAreSplitIntoFramesInOrder) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->post("1", "bob", c());
  auto id = h.last_sent()["id"].get<int64_t>();
  h.events.clear();
  std::string batch = protocol::group_message_frame("room", "bob", "cid:9", "1") + "\n" + protocol::ok_frame(id) +
                      "\n" + protocol::private_message_frame("bob", "cid:9", "", "[2]");
  h.core->on_transport_text(batch);
  ASSERT_EQ(h.types(), (std::vector<std::string>{"message", "private"}));
  EXPECT_EQ(h.events[0].message_json, "1");
  EXPECT_EQ(h.events[0].frame_index, 0u);
  EXPECT_EQ(h.events[1].message_json, "[2]");
  EXPECT_EQ(h.events[1].frame_index, 2u);
  EXPECT_EQ(h.events[1].frame_count, 3u);
  EXPECT_TRUE(c.results.back().ok);  // the reply in the middle was matched
}

// The browser platform hands the core only a frame's envelope (src/wasm/post.js): the text before
// `,"msg":`, closed with '}'. The core takes message and private frames from it, and leaves every
// other frame to be passed whole.
TEST(ClientCore, EnvelopesOfMessageFramesAreEnoughAndOthersAreNot) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  Capture posted;
  h.core->post("1", "bob", posted());
  auto id = h.last_sent()["id"].get<int64_t>();
  h.events.clear();
  auto envelope = [](const std::string& frame) {
    auto at = frame.find(protocol::kPayloadKey);
    return at == std::string::npos ? frame : frame.substr(0, at) + "}";
  };
  EXPECT_TRUE(h.core->on_transport_head(envelope(protocol::group_message_frame("room", "bob", "cid:9", R"({"a":1})"))));
  EXPECT_TRUE(h.core->on_transport_head(envelope(protocol::private_message_frame("b\"ob", "cid:9", "", "2"))));
  ASSERT_EQ(h.types(), (std::vector<std::string>{"message", "private"}));
  EXPECT_TRUE(h.events[0].from_frame);
  EXPECT_EQ(h.events[0].sender, "bob");
  EXPECT_EQ(h.events[0].sender_rid, "room");
  EXPECT_EQ(h.events[1].sender, "b\"ob");
  // Not message frames: nothing happens until the whole frame comes.
  for (const auto& frame : {protocol::ok_frame(id), protocol::notice_frame("USER_LEFT", "room", "bob", "cid:9"),
                            protocol::rtc_event_frame("bob", "cid:9", "{}"), std::string("{\"op\":\"message\"")})
    EXPECT_FALSE(h.core->on_transport_head(envelope(frame))) << frame;
  EXPECT_EQ(h.events.size(), 2u);
  EXPECT_TRUE(posted.results.empty());
  h.core->on_transport_text(protocol::ok_frame(id));
  ASSERT_EQ(posted.results.size(), 1u);
  EXPECT_TRUE(posted.results.back().ok);
}

TEST(ClientCore, WithoutJitterTheDelayIsTheWholeCeiling) {
  Options o;
  o.jitter = false;
  o.backoff_initial_ms = 1000;
  Harness h(o);
  Capture c;
  h.host.random = 0.01;  // would make a jittered delay 10 ms
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(1006, "");
  h.clock.advance(999);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  h.clock.advance(1);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
}

// ---- token refresh: the welcome's expires_in schedules a refresh on the open connection -------
namespace {
// A welcome whose token lasts `expires_in` seconds (written out: the field is the server's).
std::string welcome_expiring(double expires_in, const std::string& cid = "cid:1") {
  std::ostringstream n;
  n << expires_in;
  return R"({"op":"welcome","cid":")" + cid +
         R"(","user":"alice","data":{"max_frame_bytes":65536,"max_depth":32,"max_name_bytes":128,"expires_in":)" +
         n.str() + "}}";
}

void open_expiring(Harness& h, double expires_in, const std::string& cid = "cid:1") {
  h.core->on_token(h.core->attempt(), "first");
  h.core->on_transport_open();
  h.core->on_transport_text(welcome_expiring(expires_in, cid));
}

std::string auth_ok(std::int64_t id, double expires_in) {
  return protocol::ok_frame(id, {{"expires_in", expires_in}});
}

// Options under which nothing but the refresh asks for tokens: no dead-connection reconnects.
Options quiet() {
  Options o;
  o.dead_after_ms = 1e12;
  o.keepalive_ms = 1e9;
  return o;
}
}  // namespace

TEST(ClientCoreRefresh, AsksForATokenBeforeExpiryAndSendsAuthOnTheOpenConnection) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 100);  // margin: 100 / 5 = 20 s
  h.events.clear();
  h.clock.advance(79999);
  ASSERT_EQ(h.host.token_requests.size(), 1u);
  h.clock.advance(1);
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  auto refresh = h.host.token_requests.back();
  EXPECT_NE(refresh, h.core->attempt());  // its own request id: never taken for a connect answer
  h.core->on_token(refresh, "fresh");
  auto auth = h.last_sent();
  EXPECT_EQ(auth["op"], "auth");
  EXPECT_EQ(auth["token"], "fresh");
  auto sent = h.transport.sent.size();
  h.core->on_token(refresh, "again");  // a second answer to the same request is ignored
  EXPECT_EQ(h.transport.sent.size(), sent);
  h.core->on_transport_text(auth_ok(auth["id"].get<int64_t>(), 100));
  // Nothing visible: same socket, same cid, no event.
  EXPECT_EQ(h.transport.opened.size(), 1u);
  EXPECT_TRUE(h.transport.closed.empty());
  EXPECT_EQ(h.core->state(), State::Open);
  EXPECT_EQ(h.core->cid(), "cid:1");
  EXPECT_TRUE(h.events.empty());
  // The next refresh is planned from the new expiry.
  h.clock.advance(79999);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  h.clock.advance(1);
  EXPECT_EQ(h.host.token_requests.size(), 3u);
}

TEST(ClientCoreRefresh, MarginIsAFifthCappedAtAMinuteAndAtLeastASecond) {
  // expires_in (s) -> when the refresh starts (ms after the welcome)
  for (auto [expires_in, at] : std::vector<std::pair<double, double>>{
           {3600, 3540000}, {600, 540000}, {100, 80000}, {4, 3000}, {1, 0}, {0, 0}}) {
    Harness h(quiet());
    Capture c;
    h.core->connect("ws://h/realtime", c());
    open_expiring(h, expires_in);
    EXPECT_EQ(h.host.token_requests.size(), 1u) << expires_in;  // never synchronously
    if (at > 0) {
      h.clock.advance(at - 1);
      EXPECT_EQ(h.host.token_requests.size(), 1u) << expires_in;
      h.clock.advance(1);
    } else {
      h.clock.advance(0);
    }
    EXPECT_EQ(h.host.token_requests.size(), 2u) << expires_in;
  }
}

TEST(ClientCoreRefresh, NoExpiresInNoRefresh) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.clock.advance(10.0 * 24 * 3600 * 1000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  for (auto& s : h.transport.sent) EXPECT_NE(nlohmann::json::parse(s)["op"], "auth");
}

TEST(ClientCoreRefresh, LongLifetimesNeverOverflowABrowserTimer) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 30.0 * 24 * 3600);  // 30 days: past setTimeout's 2^31-1 ms
  for (auto& [id, t] : h.clock.timers) EXPECT_LE(t.first - h.clock.now, 2147483647.0);
  h.clock.advance(30.0 * 24 * 3600 * 1000 - 60000 - 1);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  h.clock.advance(1);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
}

TEST(ClientCoreRefresh, TheUnthrottledTickStartsARefreshWhosePageTimerRunsLate) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 100);
  h.clock.now = 79999;  // time passes, timers do not fire (a hidden tab)
  h.core->tick();
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  h.clock.now = 80000;
  h.core->tick();
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  h.core->tick();
  h.clock.advance(1000);  // the late page timer finds the refresh under way
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  h.core->on_token(h.host.token_requests.back(), "fresh");
  EXPECT_EQ(h.last_sent()["op"], "auth");
}

TEST(ClientCoreRefresh, CrossingTokenAnswersAreNeverMisused) {
  Options o = quiet();
  o.jitter = false;
  o.backoff_initial_ms = 1000;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 10);  // refresh at 8 s
  auto connect1 = h.core->attempt();
  h.clock.advance(8000);
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  auto refresh1 = h.host.token_requests.back();
  // A late answer to the connect request is not a refresh.
  auto sent = h.transport.sent.size();
  h.core->on_token(connect1, "stale connect token");
  EXPECT_EQ(h.transport.sent.size(), sent);
  EXPECT_EQ(h.transport.opened.size(), 1u);
  // The socket drops before the refresh is answered: its answer opens nothing, now or later.
  h.core->on_transport_close(1006, "");
  h.core->on_token(refresh1, "late refresh token");
  EXPECT_EQ(h.transport.opened.size(), 1u);
  h.clock.advance(1000);  // backoff: the reconnect asks for its own token
  ASSERT_EQ(h.host.token_requests.size(), 3u);
  auto connect2 = h.core->attempt();
  EXPECT_EQ(h.host.token_requests.back(), connect2);
  EXPECT_NE(connect2, refresh1);
  h.core->on_token(refresh1, "late refresh token");
  EXPECT_EQ(h.transport.opened.size(), 1u);
  h.core->on_token(connect2, "second");
  ASSERT_EQ(h.transport.opened.size(), 2u);
  EXPECT_EQ(h.transport.opened.back(), "ws://h/realtime?token=second");
  h.core->on_transport_open();
  h.core->on_transport_text(welcome_expiring(10, "cid:2"));
  h.clock.advance(8000);
  ASSERT_EQ(h.host.token_requests.size(), 4u);
  auto refresh2 = h.host.token_requests.back();
  sent = h.transport.sent.size();
  h.core->on_token(connect2, "stale");
  h.core->on_token(refresh1, "stale");
  EXPECT_EQ(h.transport.sent.size(), sent);
  h.core->on_token(refresh2, "good");
  EXPECT_EQ(h.last_sent()["op"], "auth");
  EXPECT_EQ(h.last_sent()["token"], "good");
}

TEST(ClientCoreRefresh, FailuresAreRetriedWithBackoffWithoutEvents) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 100);
  h.events.clear();
  h.clock.advance(80000);
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  h.core->on_token_error(h.host.token_requests.back(), "offline");  // the token function threw
  h.clock.advance(999);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
  h.clock.advance(1);
  ASSERT_EQ(h.host.token_requests.size(), 3u);
  h.core->on_token(h.host.token_requests.back(), "refused");
  auto auth = h.last_sent();
  ASSERT_EQ(auth["op"], "auth");
  h.core->on_transport_text(protocol::error_frame(auth["id"].get<int64_t>(), protocol::Error::Unauthorized, "Token expired."));
  h.clock.advance(1999);  // the server refused: the delay doubles
  EXPECT_EQ(h.host.token_requests.size(), 3u);
  h.clock.advance(1);
  ASSERT_EQ(h.host.token_requests.size(), 4u);
  h.core->on_token(h.host.token_requests.back(), "good");
  h.core->on_transport_text(auth_ok(h.last_sent()["id"].get<int64_t>(), 100));
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.core->state(), State::Open);
  // Back on schedule, with the failure count reset: a new failure waits 1 s again.
  h.clock.advance(80000);
  ASSERT_EQ(h.host.token_requests.size(), 5u);
  h.core->on_token_error(h.host.token_requests.back(), "offline");
  h.clock.advance(1000);
  EXPECT_EQ(h.host.token_requests.size(), 6u);
}

TEST(ClientCoreRefresh, AnAnswerThatDoesNotExtendTheExpiryIsAFailure) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 100);
  h.clock.advance(80000);
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  h.core->on_token(h.host.token_requests.back(), "the same token again");
  ASSERT_EQ(h.last_sent()["op"], "auth");
  h.core->on_transport_text(auth_ok(h.last_sent()["id"].get<int64_t>(), 20));  // same expiry
  h.clock.advance(0);
  EXPECT_EQ(h.host.token_requests.size(), 2u);  // no refresh loop...
  h.clock.advance(1000);
  EXPECT_EQ(h.host.token_requests.size(), 3u);  // ...a retry after the backoff
}

TEST(ClientCoreRefresh, AnAuthOkWithoutExpiryEndsRefreshing) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 100);
  h.clock.advance(80000);
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  h.core->on_token(h.host.token_requests.back(), "forever");
  ASSERT_EQ(h.last_sent()["op"], "auth");
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>(), nlohmann::json::object()));
  h.clock.advance(10.0 * 24 * 3600 * 1000);
  EXPECT_EQ(h.host.token_requests.size(), 2u);
}

TEST(ClientCoreRefresh, GivingUpLeavesItToTheServerAnd4002ReconnectsAndRejoins) {
  Options o = quiet();
  o.jitter = false;
  o.backoff_initial_ms = 500;
  Harness h(o);
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 10);
  h.core->join(std::string("room"), c());
  h.core->on_transport_text(protocol::ok_frame(h.last_sent()["id"].get<int64_t>()));
  h.events.clear();
  // Every refresh fails; the retries stay before the expiry (10 s) and stop.
  std::size_t asked = h.host.token_requests.size();
  while (h.clock.now < 12000) {
    h.clock.advance(250);
    while (h.host.token_requests.size() > asked) {
      h.core->on_token_error(h.host.token_requests[asked], "logged out");
      ++asked;
    }
  }
  EXPECT_GE(h.host.token_requests.size(), 3u);  // the refresh and at least one retry
  EXPECT_LE(h.host.token_requests.size(), 7u);  // a few, not a loop
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.core->state(), State::Open);
  // The server closes at expiry: a non-fatal close, so the client reconnects and rejoins.
  h.core->on_transport_close(4002, "Token expired.");
  EXPECT_EQ(h.core->state(), State::Waiting);
  ASSERT_EQ(h.types(), std::vector<std::string>{"error"});
  h.clock.advance(500);
  EXPECT_EQ(h.host.token_requests.back(), h.core->attempt());
  h.transport.sent.clear();
  h.core->on_token(h.core->attempt(), "fresh");
  h.core->on_transport_open();
  h.core->on_transport_text(welcome_expiring(10, "cid:2"));
  EXPECT_EQ(h.core->state(), State::Open);
  EXPECT_EQ(h.types(), (std::vector<std::string>{"error", "reconnect", "success"}));
  ASSERT_FALSE(h.transport.sent.empty());
  EXPECT_EQ(nlohmann::json::parse(h.transport.sent[0])["op"], "join");
  EXPECT_EQ(nlohmann::json::parse(h.transport.sent[0])["group"], "room");
}

TEST(ClientCoreRefresh, CloseStopsRefreshing) {
  Harness h(quiet());
  Capture c;
  h.core->connect("ws://h/realtime", c());
  open_expiring(h, 10);
  h.core->close(c());
  h.clock.advance(100000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  // An answer to a refresh asked just before closing sends nothing either.
  Harness g(quiet());
  g.core->connect("ws://h/realtime", c());
  open_expiring(g, 10);
  g.clock.advance(8000);
  ASSERT_EQ(g.host.token_requests.size(), 2u);
  g.core->close(c());
  auto sent = g.transport.sent.size();
  g.core->on_token(g.host.token_requests.back(), "late");
  EXPECT_EQ(g.transport.sent.size(), sent);
}

// Web Push: the notification rides on the post frame, before "msg"; the push requests carry
// their fields and hand back the reply's data.
TEST(ClientCore, NotificationAndPushRequests) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->post("1", "bob", R"({"title":"T","body":"B","config":{"always":true}})", c());
  std::string raw = h.transport.sent.back();
  EXPECT_LT(raw.find("\"notification\""), raw.find("\"msg\""));
  auto pm = h.last_sent();
  EXPECT_EQ(pm["op"], "private");
  EXPECT_EQ(pm["notification"]["title"], "T");
  EXPECT_EQ(pm["notification"]["config"]["always"], true);
  EXPECT_EQ(pm["msg"], 1);
  std::size_t sent = h.transport.sent.size();
  h.core->post("1", "bob", "{not json", c());
  EXPECT_EQ(c.results.back().code, "INVALID_PARAMETER");
  EXPECT_EQ(h.transport.sent.size(), sent);

  h.core->push_request("vapid", "{}", c());
  auto v = h.last_sent();
  EXPECT_EQ(v["op"], "vapid");
  h.core->on_transport_text(protocol::ok_frame(v["id"].get<int64_t>(), {{"VAPIDPublicKey", "BKey"}}));
  EXPECT_TRUE(c.results.back().ok);
  EXPECT_EQ(nlohmann::json::parse(c.results.back().data_json)["VAPIDPublicKey"], "BKey");

  h.core->push_request("subscribe", R"({"endpoint":"https://p/1","keys":{"p256dh":"x","auth":"y"}})", c());
  auto s = h.last_sent();
  EXPECT_EQ(s["op"], "subscribe");
  EXPECT_EQ(s["keys"]["auth"], "y");
  h.core->on_transport_text(protocol::error_frame(s["id"].get<int64_t>(), protocol::Error::InvalidParameter, "bad"));
  EXPECT_EQ(c.results.back().code, "INVALID_PARAMETER");

  sent = h.transport.sent.size();
  h.core->push_request("join", "{}", c());
  EXPECT_EQ(c.results.back().code, "INVALID_REQUEST");
  EXPECT_EQ(h.transport.sent.size(), sent);
}

// Several nodes (docs/scaling.md): a lost connection reconnects to the next URL, and a first
// connection that fails tries each URL once before giving up.
TEST(ClientCore, SeveralUrlsMoveToTheNextNodeAfterALoss) {
  Harness h;
  Capture c;
  h.host.random = 0.5;
  h.core->connect("ws://a/realtime ws://b/realtime  ws://c/realtime", c());
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_close(1006, "");  // a is down: b at once
  ASSERT_EQ(h.host.token_requests.size(), 2u);
  h.open();
  ASSERT_EQ(h.transport.opened.size(), 2u);
  EXPECT_EQ(h.transport.opened[0], "ws://a/realtime?token=t");
  EXPECT_EQ(h.transport.opened[1], "ws://b/realtime?token=tok%20en");
  EXPECT_EQ(h.core->state(), State::Open);

  h.core->on_transport_close(1006, "");  // b dies: after the backoff, c
  h.clock.advance(250);
  h.open("cid:2");
  EXPECT_EQ(h.transport.opened.back(), "ws://c/realtime?token=tok%20en");
  h.core->on_transport_close(1013, "");  // then round to a
  h.clock.advance(250);
  h.open("cid:3");
  EXPECT_EQ(h.transport.opened.back(), "ws://a/realtime?token=tok%20en");
}

TEST(ClientCore, SeveralUrlsAllDownFailsTheFirstConnectOnce) {
  Harness h;
  Capture c;
  h.core->connect("ws://a/realtime ws://b/realtime", c());
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_close(1006, "");
  h.core->on_token(h.core->attempt(), "t");
  h.core->on_transport_close(1006, "");
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_FALSE(c.results[0].ok);
  EXPECT_EQ(h.transport.opened.size(), 2u);
  EXPECT_EQ(h.core->state(), State::Closed);
}

// POST /api/disconnect closes with 4005: the app hears why, and the client does not come back.
TEST(ClientCore, DisconnectedByTheServerStopsReconnecting) {
  Harness h;
  Capture c;
  h.core->connect("ws://h/realtime", c());
  h.open();
  h.core->on_transport_close(4005, "Disconnected by the server.");
  EXPECT_EQ(h.core->state(), State::Closed);
  ASSERT_FALSE(h.events.empty());
  EXPECT_EQ(h.events.back().type, "error");
  EXPECT_EQ(h.events.back().code, "DISCONNECTED");
  EXPECT_EQ(h.events.back().message_json, R"("Disconnected by the server.")");
  h.clock.advance(100000);
  EXPECT_EQ(h.host.token_requests.size(), 1u);
  EXPECT_EQ(h.core->state(), State::Closed);
}
