// The RTC call signalling state machine, driven through a real client Core over the fake
// transport and fake clock: the server is simulated by feeding frames into the core.
#include <gtest/gtest.h>

#include "client/core.hpp"
#include "client/rtc_signaling.hpp"
#include "fake_platform.hpp"
#include "protocol/frames.hpp"

using namespace sb;
using namespace sb::client;
using nlohmann::json;
using sb::testing::FakeClock;
using sb::testing::FakeHost;
using sb::testing::FakeTransport;

namespace {
struct Side {
  FakeTransport transport;
  FakeClock clock;
  FakeHost host;
  std::vector<Event> events;
  std::vector<RtcEvent> rtc_events;
  std::unique_ptr<Core> core;
  std::unique_ptr<RtcSignaling> rtc;
  std::size_t seen = 0;  // frames of transport.sent already looked at

  explicit Side(RtcOptions o = {}, const std::string& cid = "cid:me", const std::string& user = "me") {
    core = std::make_unique<Core>(transport, clock, host, [this](const Event& e) { events.push_back(e); });
    rtc = std::make_unique<RtcSignaling>(*core, clock, [this](const RtcEvent& e) { rtc_events.push_back(e); }, o);
    core->connect("ws://h/realtime", [](const Result&) {});
    core->on_token(core->attempt(), "t");
    core->on_transport_open();
    core->on_transport_text(protocol::welcome_frame(cid, user, {}));
  }

  // rtc frames sent since the last call, as {id, cid, msg}.
  std::vector<json> take_rtc() {
    std::vector<json> out;
    for (; seen < transport.sent.size(); ++seen) {
      json f = json::parse(transport.sent[seen]);
      if (f["op"] == "rtc") out.push_back(f);
    }
    return out;
  }
  // Server: acknowledges request `id`, or refuses it.
  void ok(std::int64_t id) { core->on_transport_text(protocol::ok_frame(id)); }
  void fail(std::int64_t id, protocol::Error code) {
    core->on_transport_text(protocol::error_frame(id, code, "nope"));
  }
  // Server: an rtc event from (user, cid).
  void from(const std::string& user, const std::string& cid, const json& msg) {
    core->on_transport_text(protocol::rtc_event_frame(user, cid, msg.dump()));
  }
  std::vector<std::string> kinds() const {
    std::vector<std::string> k;
    for (auto& e : rtc_events) k.push_back(e.kind);
    return k;
  }
};

json sig(const std::string& kind, const std::string& call, const std::string& by, json data = nullptr) {
  json m = {{"kind", kind}, {"call", call}, {"by", by}};
  if (!data.is_null()) m["data"] = data;
  return m;
}
}  // namespace

TEST(RtcSignaling, CallerRingsThenPickupActivatesTheCall) {
  Side a;
  int h = a.rtc->call("cid:bob", 0, R"({"channels":["text-chat"]})");
  EXPECT_GT(h, 0);
  auto sent = a.take_rtc();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["cid"], "cid:bob");
  EXPECT_EQ(sent[0]["msg"]["kind"], "ring");
  EXPECT_EQ(sent[0]["msg"]["by"], "caller");
  EXPECT_EQ(sent[0]["msg"]["timeout"], 30000);
  EXPECT_EQ(sent[0]["msg"]["data"]["channels"][0], "text-chat");
  // "data" stays last, so the payload can be split without parsing.
  EXPECT_NE(a.transport.sent.back().find(",\"data\":{\"channels\""), std::string::npos);
  std::string call_id = sent[0]["msg"]["call"];
  a.ok(sent[0]["id"]);

  a.from("bob", "cid:bob", sig("pickup", call_id, "callee"));
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"pickup"});
  EXPECT_EQ(a.rtc_events[0].call, h);
  EXPECT_EQ(a.rtc_events[0].peer, "bob");
  ASSERT_EQ(a.rtc->calls().size(), 1u);
  EXPECT_EQ(a.rtc->calls()[0].state, RtcCallState::Active);
  // Picked up: the no-answer timer is gone; the connect bound runs until the peer connection
  // reports "connected".
  a.clock.advance(19999);
  EXPECT_EQ(a.kinds(), std::vector<std::string>{"pickup"});
  EXPECT_TRUE(a.rtc->peer_state(h, "connected"));
  EXPECT_TRUE(a.rtc->calls()[0].connected);
  a.clock.advance(120000);
  EXPECT_EQ(a.kinds(), std::vector<std::string>{"pickup"});
}

TEST(RtcSignaling, RingingTimesOutAndTellsTheCallee) {
  Side a;
  int h = a.rtc->call("cid:bob", 5000, "");
  auto ring = a.take_rtc();
  ASSERT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring[0]["msg"]["timeout"], 5000);
  EXPECT_FALSE(ring[0]["msg"].contains("data"));
  a.ok(ring[0]["id"]);
  a.clock.advance(4999);
  EXPECT_TRUE(a.rtc_events.empty());
  a.clock.advance(1);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].call, h);
  EXPECT_EQ(a.rtc_events[0].code, "TIMEOUT");
  auto bye = a.take_rtc();
  ASSERT_EQ(bye.size(), 1u);
  EXPECT_EQ(bye[0]["msg"]["kind"], "hangup");
  EXPECT_EQ(bye[0]["msg"]["call"], ring[0]["msg"]["call"]);
  EXPECT_EQ(a.rtc->size(), 0u);
  // A late pickup is ignored.
  a.from("bob", "cid:bob", sig("pickup", ring[0]["msg"]["call"], "callee"));
  EXPECT_EQ(a.rtc_events.size(), 1u);
}

TEST(RtcSignaling, DefaultTimeoutComesFromOptions) {
  RtcOptions o;
  o.ring_timeout_ms = 1000;
  Side a(o);
  a.rtc->call("cid:bob", 0, "");
  a.clock.advance(1000);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].code, "TIMEOUT");
}

TEST(RtcSignaling, CalleeRejectReachesTheCallerAsRtcRejected) {
  Side a({}, "cid:a", "alice"), b({}, "cid:b", "bob");
  int ha = a.rtc->call("cid:b", 0, "{}");
  auto ring = a.take_rtc()[0];
  b.from("alice", "cid:a", ring["msg"]);
  ASSERT_EQ(b.kinds(), std::vector<std::string>{"incoming"});
  int hb = b.rtc_events[0].call;
  EXPECT_EQ(b.rtc_events[0].peer, "alice");
  EXPECT_EQ(b.rtc_events[0].peer_cid, "cid:a");
  EXPECT_EQ(b.rtc_events[0].json, "{}");

  EXPECT_TRUE(b.rtc->reject(hb));
  auto rej = b.take_rtc();
  ASSERT_EQ(rej.size(), 1u);
  EXPECT_EQ(rej[0]["cid"], "cid:a");
  EXPECT_EQ(rej[0]["msg"]["kind"], "reject");
  EXPECT_EQ(rej[0]["msg"]["by"], "callee");
  EXPECT_EQ(b.kinds(), (std::vector<std::string>{"incoming", "ended"}));
  EXPECT_EQ(b.rtc_events[1].code, "RTC_HANGUP");  // ended here
  EXPECT_FALSE(b.rtc_events[1].remote);
  b.clock.advance(100000);  // the callee's ring timer is gone too
  EXPECT_EQ(b.rtc_events.size(), 2u);

  a.from("bob", "cid:b", rej[0]["msg"]);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].call, ha);
  EXPECT_EQ(a.rtc_events[0].code, "RTC_REJECTED");
  EXPECT_TRUE(a.rtc_events[0].remote);
}

TEST(RtcSignaling, CallerHangingUpBeforeAnswerClosesTheRingingCall) {
  Side a({}, "cid:a", "alice"), b({}, "cid:b", "bob");
  int ha = a.rtc->call("cid:b", 0, "");
  b.from("alice", "cid:a", a.take_rtc()[0]["msg"]);
  int hb = b.rtc_events[0].call;
  EXPECT_TRUE(a.rtc->hangup(ha));
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].code, "RTC_CANCELLED");
  auto bye = a.take_rtc();
  ASSERT_EQ(bye.size(), 1u);
  EXPECT_EQ(bye[0]["msg"]["kind"], "hangup");
  b.from("alice", "cid:a", bye[0]["msg"]);
  ASSERT_EQ(b.kinds(), (std::vector<std::string>{"incoming", "ended"}));
  EXPECT_EQ(b.rtc_events[1].call, hb);
  EXPECT_EQ(b.rtc_events[1].code, "RTC_HANGUP");
  EXPECT_TRUE(b.rtc_events[1].remote);
  EXPECT_FALSE(b.rtc->accept(hb));  // too late
  EXPECT_TRUE(b.take_rtc().empty());
}

TEST(RtcSignaling, CalleeHangingUpBeforeAnsweringIsRtcHangupForTheCaller) {
  Side a;
  a.rtc->call("cid:b", 0, "");
  auto ring = a.take_rtc()[0];
  a.from("bob", "cid:b", sig("hangup", ring["msg"]["call"], "callee"));
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].code, "RTC_HANGUP");
}

TEST(RtcSignaling, EarlyOffersAndCandidatesAreBufferedUntilPickup) {
  Side b({}, "cid:b", "bob");
  b.from("alice", "cid:a", sig("ring", "7", "caller", {{"media", {{"video", true}}}}));
  int hb = b.rtc_events.at(0).call;
  EXPECT_EQ(json::parse(b.rtc_events[0].json)["media"]["video"], true);
  b.from("alice", "cid:a", sig("sdp", "7", "caller", {{"type", "offer"}, {"sdp", "v=0"}}));
  b.from("alice", "cid:a", sig("ice", "7", "caller", {{"candidate", "c1"}}));
  b.from("alice", "cid:a", sig("ice", "7", "caller", {{"candidate", "c2"}}));
  EXPECT_EQ(b.kinds(), std::vector<std::string>{"incoming"});  // nothing before pickup
  // The callee cannot signal before it picked up.
  EXPECT_FALSE(b.rtc->signal(hb, "sdp", R"({"type":"answer"})"));

  EXPECT_TRUE(b.rtc->accept(hb));
  auto pick = b.take_rtc();
  ASSERT_EQ(pick.size(), 1u);
  EXPECT_EQ(pick[0]["msg"]["kind"], "pickup");
  EXPECT_EQ(pick[0]["msg"]["call"], "7");
  EXPECT_EQ(pick[0]["cid"], "cid:a");
  ASSERT_EQ(b.kinds(), (std::vector<std::string>{"incoming", "signal", "signal", "signal"}));
  EXPECT_EQ(b.rtc_events[1].what, "sdp");
  EXPECT_EQ(json::parse(b.rtc_events[1].json)["type"], "offer");
  EXPECT_EQ(json::parse(b.rtc_events[2].json)["candidate"], "c1");
  EXPECT_EQ(json::parse(b.rtc_events[3].json)["candidate"], "c2");
  // After pickup, signals pass straight through, both ways.
  b.from("alice", "cid:a", sig("ice", "7", "caller", {{"candidate", "c3"}}));
  ASSERT_EQ(b.rtc_events.size(), 5u);
  EXPECT_EQ(json::parse(b.rtc_events[4].json)["candidate"], "c3");
  EXPECT_TRUE(b.rtc->signal(hb, "sdp", R"({"type":"answer","sdp":"v=0"})"));
  auto ans = b.take_rtc();
  ASSERT_EQ(ans.size(), 1u);
  EXPECT_EQ(ans[0]["msg"]["kind"], "sdp");
  EXPECT_EQ(ans[0]["msg"]["by"], "callee");
  EXPECT_EQ(ans[0]["msg"]["data"]["type"], "answer");
  EXPECT_FALSE(b.rtc->signal(hb, "bogus", "{}"));
  EXPECT_FALSE(b.rtc->signal(hb, "ice", "{not json"));
}

TEST(RtcSignaling, UnansweredIncomingCallExpiresAfterTheCallersTimeout) {
  RtcOptions o;
  o.callee_grace_ms = 1000;
  Side b(o);
  json ring = sig("ring", "1", "caller");
  ring["timeout"] = 2000;
  b.from("alice", "cid:a", ring);
  b.clock.advance(2999);
  EXPECT_EQ(b.kinds(), std::vector<std::string>{"incoming"});
  b.clock.advance(1);
  ASSERT_EQ(b.kinds(), (std::vector<std::string>{"incoming", "ended"}));
  EXPECT_EQ(b.rtc_events[1].code, "TIMEOUT");
  EXPECT_TRUE(b.rtc_events[1].remote);
}

TEST(RtcSignaling, SignalsAreRoutedByCallIdPeerAndRole) {
  Side a({}, "cid:a", "alice");
  int h1 = a.rtc->call("cid:b", 0, "");
  int h2 = a.rtc->call("cid:c", 0, "");
  auto rings = a.take_rtc();
  ASSERT_EQ(rings.size(), 2u);
  std::string id1 = rings[0]["msg"]["call"], id2 = rings[1]["msg"]["call"];
  EXPECT_NE(id1, id2);
  // bob calls alice with the same id as alice's call to him: a different call.
  a.from("bob", "cid:b", sig("ring", id1, "caller"));
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"incoming"});
  int h3 = a.rtc_events[0].call;
  EXPECT_NE(h3, h1);
  // A signal with a right id from the wrong connection goes nowhere.
  a.from("carol", "cid:c", sig("pickup", id1, "callee"));
  EXPECT_EQ(a.rtc_events.size(), 1u);
  a.from("bob", "cid:b", sig("pickup", id1, "callee"));
  ASSERT_EQ(a.rtc_events.size(), 2u);
  EXPECT_EQ(a.rtc_events[1].kind, "pickup");
  EXPECT_EQ(a.rtc_events[1].call, h1);
  a.from("bob", "cid:b", sig("sdp", id1, "callee", {{"type", "answer"}}));
  ASSERT_EQ(a.rtc_events.size(), 3u);
  EXPECT_EQ(a.rtc_events[2].call, h1);
  // bob's own call to alice is still ringing, so its signals are buffered, not delivered.
  a.from("bob", "cid:b", sig("sdp", id1, "caller", {{"type", "offer"}}));
  EXPECT_EQ(a.rtc_events.size(), 3u);
  // Unknown ids and malformed messages are ignored.
  a.from("bob", "cid:b", sig("sdp", "999", "callee", {{"type", "answer"}}));
  a.from("bob", "cid:b", json{{"kind", "pickup"}});
  a.core->on_transport_text(protocol::rtc_event_frame("bob", "cid:b", "[1,2]"));
  EXPECT_EQ(a.rtc_events.size(), 3u);
  (void)h2;
}

TEST(RtcSignaling, TwoConcurrentCallsEndIndependently) {
  Side a({}, "cid:a", "alice");
  int h1 = a.rtc->call("cid:b", 0, "");
  int h2 = a.rtc->call("cid:c", 0, "");
  auto rings = a.take_rtc();
  a.from("bob", "cid:b", sig("pickup", rings[0]["msg"]["call"], "callee"));
  a.from("carol", "cid:c", sig("pickup", rings[1]["msg"]["call"], "callee"));
  EXPECT_EQ(a.kinds(), (std::vector<std::string>{"pickup", "pickup"}));
  EXPECT_TRUE(a.rtc->hangup(h1));
  auto bye = a.take_rtc();
  ASSERT_EQ(bye.size(), 1u);
  EXPECT_EQ(bye[0]["cid"], "cid:b");
  ASSERT_EQ(a.rtc->calls().size(), 1u);
  EXPECT_EQ(a.rtc->calls()[0].handle, h2);
  // The other call keeps signalling.
  EXPECT_TRUE(a.rtc->signal(h2, "ice", R"({"candidate":"x"})"));
  EXPECT_FALSE(a.rtc->signal(h1, "ice", R"({"candidate":"x"})"));
  auto ice = a.take_rtc();
  ASSERT_EQ(ice.size(), 1u);
  EXPECT_EQ(ice[0]["cid"], "cid:c");
  a.from("carol", "cid:c", sig("ice", rings[1]["msg"]["call"], "callee", {{"candidate", "y"}}));
  EXPECT_EQ(a.rtc_events.back().kind, "signal");
  EXPECT_EQ(a.rtc_events.back().call, h2);
  // carol hangs up: the call ends as remote.
  a.from("carol", "cid:c", sig("hangup", rings[1]["msg"]["call"], "callee"));
  EXPECT_EQ(a.rtc_events.back().kind, "ended");
  EXPECT_EQ(a.rtc_events.back().call, h2);
  EXPECT_EQ(a.rtc_events.back().code, "RTC_HANGUP");
  EXPECT_EQ(a.rtc->size(), 0u);
}

TEST(RtcSignaling, OfflineRecipientEndsTheCall) {
  Side a;
  int h = a.rtc->call("cid:gone", 0, "");
  auto ring = a.take_rtc();
  a.fail(ring[0]["id"], protocol::Error::RecipientOffline);
  EXPECT_TRUE(a.rtc_events.empty());  // reported from a fresh stack
  a.clock.advance(0);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].call, h);
  EXPECT_EQ(a.rtc_events[0].code, "RECIPIENT_OFFLINE");
  EXPECT_TRUE(a.take_rtc().empty());  // no hangup to a connection that is not there
}

TEST(RtcSignaling, CallingWithoutAConnectionFailsLaterNotInside) {
  FakeTransport t;
  FakeClock clock;
  FakeHost host;
  Core core(t, clock, host, nullptr);
  std::vector<RtcEvent> ev;
  RtcSignaling rtc(core, clock, [&](const RtcEvent& e) { ev.push_back(e); });
  int h = rtc.call("cid:x", 0, "");
  EXPECT_TRUE(ev.empty());
  clock.advance(0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].call, h);
  EXPECT_EQ(ev[0].kind, "ended");
  EXPECT_EQ(ev[0].code, "NOT_CONNECTED");
}

TEST(RtcSignaling, BadCidIsAnInvalidParameter) {
  Side a;
  a.rtc->call("bob", 0, "");
  EXPECT_TRUE(a.take_rtc().empty());
  a.clock.advance(0);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].code, "INVALID_PARAMETER");
}

TEST(RtcSignaling, CloseRealtimeHangsUpEveryCallBeforeTheSocketCloses) {
  Side a({}, "cid:a", "alice");
  a.rtc->call("cid:b", 0, "");
  a.from("carol", "cid:c", sig("ring", "5", "caller"));
  a.take_rtc();
  a.core->close([](const Result&) {});
  auto bye = a.take_rtc();
  ASSERT_EQ(bye.size(), 2u);
  EXPECT_EQ(bye[0]["msg"]["kind"], "hangup");
  EXPECT_EQ(bye[1]["msg"]["kind"], "hangup");
  ASSERT_FALSE(a.transport.closed.empty());
  EXPECT_EQ(a.kinds(), (std::vector<std::string>{"incoming", "ended", "ended"}));
  EXPECT_EQ(a.rtc_events[1].code, "CLOSED");
  EXPECT_EQ(a.rtc->size(), 0u);
}

TEST(RtcSignaling, DroppedConnectionEndsRingingCallsButKeepsActiveOnes) {
  Side a({}, "cid:a", "alice");
  int h1 = a.rtc->call("cid:b", 0, "");
  int h2 = a.rtc->call("cid:c", 0, "");
  auto rings = a.take_rtc();
  a.from("bob", "cid:b", sig("pickup", rings[0]["msg"]["call"], "callee"));
  a.core->on_transport_close(1006, "");
  ASSERT_EQ(a.kinds(), (std::vector<std::string>{"pickup", "ended"}));
  EXPECT_EQ(a.rtc_events[1].call, h2);
  EXPECT_EQ(a.rtc_events[1].code, "DISCONNECTED");
  ASSERT_EQ(a.rtc->size(), 1u);
  EXPECT_EQ(a.rtc->calls()[0].handle, h1);
}

TEST(RtcSignaling, DuplicateRingIsIgnored) {
  Side b;
  b.from("alice", "cid:a", sig("ring", "1", "caller"));
  b.from("alice", "cid:a", sig("ring", "1", "caller"));
  EXPECT_EQ(b.kinds(), std::vector<std::string>{"incoming"});
}

TEST(RtcSignaling, CallsBetweenTwoConnectionsOfOneUser) {
  Side a1({}, "cid:a1", "alice"), a2({}, "cid:a2", "alice");
  int h = a1.rtc->call("cid:a2", 0, "");
  a2.from("alice", "cid:a1", a1.take_rtc()[0]["msg"]);
  ASSERT_EQ(a2.kinds(), std::vector<std::string>{"incoming"});
  EXPECT_EQ(a2.rtc_events[0].peer, "alice");
  a2.rtc->accept(a2.rtc_events[0].call);
  a1.from("alice", "cid:a2", a2.take_rtc()[0]["msg"]);
  ASSERT_EQ(a1.kinds(), std::vector<std::string>{"pickup"});
  EXPECT_EQ(a1.rtc_events[0].call, h);
}

TEST(RtcSignaling, RateLimitedSignalsAreSentAgainWhileTheCallLasts) {
  Side a;
  int h = a.rtc->call("cid:b", 0, "");
  auto ring = a.take_rtc()[0];
  a.from("bob", "cid:b", sig("pickup", ring["msg"]["call"], "callee"));
  ASSERT_TRUE(a.rtc->signal(h, "ice", R"({"candidate":"c1"})"));
  auto first = a.take_rtc();
  ASSERT_EQ(first.size(), 1u);
  a.fail(first[0]["id"], protocol::Error::RateLimited);
  EXPECT_TRUE(a.take_rtc().empty());
  a.clock.advance(300);
  auto again = a.take_rtc();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["msg"], first[0]["msg"]);
  EXPECT_NE(again[0]["id"], first[0]["id"]);
  // Refused again, then the call ends: no more attempts.
  a.fail(again[0]["id"], protocol::Error::RateLimited);
  a.rtc->hangup(h);
  a.take_rtc();
  a.clock.advance(10000);
  EXPECT_TRUE(a.take_rtc().empty());
}

TEST(RtcSignaling, EssentialSignalStillRefusedAfterRetriesEndsTheCall) {
  RtcOptions o;
  o.rate_limited_retries = 1;
  Side a(o);
  int h = a.rtc->call("cid:b", 0, "");
  a.fail(a.take_rtc()[0]["id"], protocol::Error::RateLimited);
  a.clock.advance(300);
  a.fail(a.take_rtc()[0]["id"], protocol::Error::RateLimited);
  a.clock.advance(0);
  ASSERT_EQ(a.kinds(), std::vector<std::string>{"ended"});
  EXPECT_EQ(a.rtc_events[0].call, h);
  EXPECT_EQ(a.rtc_events[0].code, "RATE_LIMITED");
}

// ---- Issue 14: any order and delay of signals, and a bound on connecting ---------------------
namespace {
// A caller (alice, cid:a) and a callee (bob, cid:b) whose call is rung and picked up; the
// frames each sent are handed to the other by the test, in whatever order it chooses.
struct Call2 {
  Side a{{}, "cid:a", "alice"}, b{{}, "cid:b", "bob"};
  int ha = 0, hb = 0;
  json pickup;  // bob's pickup, not yet delivered
  explicit Call2(RtcOptions o = {}) : a(o, "cid:a", "alice"), b(o, "cid:b", "bob") {
    ha = a.rtc->call("cid:b", 0, "{}");
    auto ring = a.take_rtc();
    a.ok(ring[0]["id"]);
    b.from("alice", "cid:a", ring[0]["msg"]);
    hb = b.rtc_events.at(0).call;
    b.rtc->accept(hb);
    auto sent = b.take_rtc().at(0);
    b.ok(sent["id"]);
    pickup = sent["msg"];
  }
  void to_b(const json& f) { b.from("alice", "cid:a", f["msg"]); }
  void to_a(const json& f) { a.from("bob", "cid:b", f["msg"]); }
  static std::vector<std::string> signals(const Side& s) {
    std::vector<std::string> out;
    for (auto& e : s.rtc_events)
      if (e.kind == "signal") out.push_back(e.what + " " + e.json);
      else if (e.kind != "incoming") out.push_back(e.kind);
    return out;
  }
};
}  // namespace

TEST(RtcSignaling, EveryMessageCarriesItsSidesSequenceNumber) {
  Call2 c;
  EXPECT_EQ(c.pickup["seq"], 0);
  c.to_a({{"msg", c.pickup}});
  c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer"})");
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a1"})");
  auto sent = c.a.take_rtc();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["msg"]["seq"], 1);  // the ring was 0
  EXPECT_EQ(sent[1]["msg"]["seq"], 2);
}

TEST(RtcSignaling, CallerSignalsMadeWhileRingingWaitForThePickup) {
  Call2 c;
  // The caller's peer connection makes its offer and candidates at once, before the pickup.
  EXPECT_TRUE(c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer"})"));
  EXPECT_TRUE(c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a1"})"));
  EXPECT_TRUE(c.a.take_rtc().empty());
  c.to_a({{"msg", c.pickup}});
  auto sent = c.a.take_rtc();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["msg"]["kind"], "sdp");
  EXPECT_EQ(sent[1]["msg"]["kind"], "ice");
}

TEST(RtcSignaling, CandidatesBeforeTheirDescriptionAreHeldUntilItComes) {
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer"})");
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a1"})");
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a2"})");
  auto sent = c.a.take_rtc();
  c.to_b(sent[2]);
  c.to_b(sent[1]);
  EXPECT_EQ(Call2::signals(c.b), std::vector<std::string>{});
  c.to_b(sent[0]);
  EXPECT_EQ(Call2::signals(c.b), (std::vector<std::string>{R"(sdp {"type":"offer"})", R"(ice {"candidate":"a1"})",
                                                          R"(ice {"candidate":"a2"})"}));
}

TEST(RtcSignaling, AnAnswerThatOvertakesThePickupWaitsForIt) {
  Call2 c;
  c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer"})");
  c.b.rtc->signal(c.hb, "sdp", R"({"type":"answer"})");
  c.b.rtc->signal(c.hb, "ice", R"({"candidate":"b1"})");
  auto sent = c.b.take_rtc();
  c.to_a(sent[1]);
  c.to_a(sent[0]);
  EXPECT_EQ(Call2::signals(c.a), std::vector<std::string>{});
  c.to_a({{"msg", c.pickup}});  // late
  EXPECT_EQ(Call2::signals(c.a),
            (std::vector<std::string>{"pickup", R"(sdp {"type":"answer"})", R"(ice {"candidate":"b1"})"}));
  // The caller's offer went out after the pickup.
  auto offer = c.a.take_rtc();
  ASSERT_EQ(offer.size(), 1u);
  EXPECT_EQ(offer[0]["msg"]["kind"], "sdp");
}

TEST(RtcSignaling, BothSidesOfferingGetEachOthersOfferInOrder) {
  // Glare is settled by the peer connections (perfect negotiation, js/rtc.js); the signalling
  // hands each offer over exactly once and keeps each side's candidates behind its offer.
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer","sdp":"A"})");
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a1"})");
  c.b.rtc->signal(c.hb, "sdp", R"({"type":"offer","sdp":"B"})");
  c.b.rtc->signal(c.hb, "ice", R"({"candidate":"b1"})");
  auto from_a = c.a.take_rtc(), from_b = c.b.take_rtc();
  c.to_b(from_a[1]);
  c.to_a(from_b[1]);
  c.to_a(from_b[0]);
  c.to_b(from_a[0]);
  EXPECT_EQ(Call2::signals(c.a), (std::vector<std::string>{"pickup", R"(sdp {"sdp":"B","type":"offer"})",
                                                          R"(ice {"candidate":"b1"})"}));
  EXPECT_EQ(Call2::signals(c.b),
            (std::vector<std::string>{R"(sdp {"sdp":"A","type":"offer"})", R"(ice {"candidate":"a1"})"}));
}

TEST(RtcSignaling, ASignalResentAfterRateLimitedKeepsItsPlaceAndIsAppliedOnce) {
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a1"})");
  c.a.rtc->signal(c.ha, "ice", R"({"candidate":"a2"})");
  auto sent = c.a.take_rtc();
  c.a.fail(sent[0]["id"], protocol::Error::RateLimited);  // a1 refused; a2 goes through
  c.to_b(sent[1]);
  EXPECT_EQ(Call2::signals(c.b), std::vector<std::string>{});  // a2 waits for a1
  c.a.clock.advance(300);
  auto again = c.a.take_rtc();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["msg"]["seq"], sent[0]["msg"]["seq"]);
  c.to_b(again[0]);
  c.to_b(again[0]);  // a repeat changes nothing
  c.to_b(sent[1]);
  EXPECT_EQ(Call2::signals(c.b), (std::vector<std::string>{R"(ice {"candidate":"a1"})", R"(ice {"candidate":"a2"})"}));
}

TEST(RtcSignaling, AHangupActsAtOnceEvenAheadOfEarlierSignals) {
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  c.a.rtc->signal(c.ha, "sdp", R"({"type":"offer"})");
  c.a.rtc->hangup(c.ha);
  auto sent = c.a.take_rtc();
  ASSERT_EQ(sent.size(), 2u);
  c.to_b(sent[1]);
  EXPECT_EQ(Call2::signals(c.b), std::vector<std::string>{"ended"});
  EXPECT_EQ(c.b.rtc_events.back().code, "RTC_HANGUP");
  c.to_b(sent[0]);  // too late: the call is gone
  EXPECT_EQ(Call2::signals(c.b), std::vector<std::string>{"ended"});
}

TEST(RtcSignaling, ACallThatDoesNotConnectInTimeEndsOnBothSidesWithATypedCode) {
  RtcOptions o;
  o.connect_timeout_ms = 20000;
  Call2 c(o);
  c.to_a({{"msg", c.pickup}});
  c.b.clock.advance(19999);
  EXPECT_EQ(Call2::signals(c.b), std::vector<std::string>{});
  c.b.clock.advance(1);  // the callee's bound, from its pickup
  ASSERT_EQ(Call2::signals(c.b), std::vector<std::string>{"ended"});
  EXPECT_EQ(c.b.rtc_events.back().code, "RTC_CONNECT_TIMEOUT");
  auto bye = c.b.take_rtc();
  ASSERT_EQ(bye.size(), 1u);
  EXPECT_EQ(bye[0]["msg"]["kind"], "hangup");
  EXPECT_EQ(bye[0]["msg"]["code"], "RTC_CONNECT_TIMEOUT");
  c.to_a(bye[0]);
  ASSERT_EQ(Call2::signals(c.a), (std::vector<std::string>{"pickup", "ended"}));
  EXPECT_EQ(c.a.rtc_events.back().code, "RTC_CONNECT_TIMEOUT");
  EXPECT_TRUE(c.a.rtc_events.back().remote);
}

TEST(RtcSignaling, ConnectedCallsHaveNoConnectBound) {
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  EXPECT_TRUE(c.a.rtc->peer_state(c.ha, "connected"));
  EXPECT_TRUE(c.b.rtc->peer_state(c.hb, "connected"));
  c.a.clock.advance(600000);
  c.b.clock.advance(600000);
  EXPECT_EQ(c.a.rtc->size(), 1u);
  EXPECT_EQ(c.b.rtc->size(), 1u);
  EXPECT_FALSE(c.a.rtc->peer_state(c.ha, "bogus"));
  EXPECT_FALSE(c.a.rtc->peer_state(999, "connected"));
}

TEST(RtcSignaling, PeerFailureDisconnectionAndClosedChannelsEndBothSides) {
  struct Case {
    const char* state;
    const char* code;
  };
  for (Case k : {Case{"failed", "RTC_FAILED"}, Case{"disconnected", "RTC_DISCONNECTED"},
                 Case{"channels-closed", "RTC_HANGUP"}}) {
    SCOPED_TRACE(k.state);
    Call2 c;
    c.to_a({{"msg", c.pickup}});
    c.a.rtc->peer_state(c.ha, "connected");
    EXPECT_TRUE(c.a.rtc->peer_state(c.ha, k.state));
    ASSERT_EQ(Call2::signals(c.a), (std::vector<std::string>{"pickup", "ended"}));
    EXPECT_EQ(c.a.rtc_events.back().code, k.code);
    EXPECT_TRUE(c.a.rtc_events.back().remote);
    c.to_b(c.a.take_rtc().at(0));
    ASSERT_EQ(Call2::signals(c.b), std::vector<std::string>{"ended"});
    EXPECT_EQ(c.b.rtc_events.back().code, k.code);
  }
}

TEST(RtcSignaling, HostileSequenceNumbersAndCodesChangeNothing) {
  Call2 c;
  c.to_a({{"msg", c.pickup}});
  std::string id = c.pickup["call"];
  auto with = [&](json seq) {
    json m = sig("ice", id, "callee", {{"candidate", "x"}});
    m["seq"] = seq;
    c.a.from("bob", "cid:b", m);
  };
  with(-1);
  with("1");
  with(1.5);
  with(1000000000000LL);  // far ahead: not held
  EXPECT_EQ(Call2::signals(c.a), std::vector<std::string>{"pickup"});
  with(1);
  EXPECT_EQ(Call2::signals(c.a), (std::vector<std::string>{"pickup", R"(ice {"candidate":"x"})"}));
  // A hangup with a code that is not one of the shared ones is a plain hangup.
  json bye = sig("hangup", id, "callee");
  bye["code"] = "FORBIDDEN";
  c.a.from("bob", "cid:b", bye);
  EXPECT_EQ(c.a.rtc_events.back().code, "RTC_HANGUP");
}

TEST(RtcSignaling, TheCoreKeepsTheIceServersOfTheWelcome) {
  Side a;
  EXPECT_EQ(a.core->ice_servers_json(), "");
  FakeTransport t;
  FakeClock clock;
  FakeHost host;
  Core core(t, clock, host, [](const Event&) {});
  core.connect("ws://h/realtime", [](const Result&) {});
  core.on_token(core.attempt(), "t");
  core.on_transport_open();
  core.on_transport_text(protocol::welcome_frame("cid:me", "me", {}, std::nullopt, R"([{"urls":"stun:a"}])"));
  EXPECT_EQ(json::parse(core.ice_servers_json()), json::parse(R"([{"urls":"stun:a"}])"));
}
