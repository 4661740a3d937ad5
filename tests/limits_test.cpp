// Limits and operations over real sockets: each limit gives the offending client its typed error
// or close code while a second client on the same server is unaffected; slow readers, idle
// connections, origins, graceful shutdown, metrics, and a list of bad inputs.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "server/http_session.hpp"
#include "server/server.hpp"
#include "server/ws_session.hpp"
#include "server_fixture.hpp"

using namespace sb::server;
using nlohmann::json;
using sb::testing::http_get;
using sb::testing::WsClient;
using sb::testing::eventually;
namespace net = boost::asio;

namespace {
using ms = std::chrono::milliseconds;

class LimitsTest : public sb::testing::ServerFixture {
 protected:
  // Expects the server to close this client with `code` before sending anything.
  void expect_refused(WsClient& c, int code) {
    EXPECT_FALSE(c.recv(ms(3000)));
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(c.close_code(), code);
    EXPECT_FALSE(c.close_reason().empty());
  }
  Metrics& metrics() { return server_->context().metrics; }
  std::size_t total_buffered() {
    auto& ctx = server_->context();
    std::lock_guard lock(ctx.sessions_mu);
    std::size_t n = 0;
    for (auto& s : ctx.sessions) n += s->buffered();
    return n;
  }
};

std::map<std::string, double> scrape(unsigned short port) {
  auto [status, body] = http_get(port, "/metrics");
  EXPECT_EQ(status, 200);
  std::map<std::string, double> m;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}
}  // namespace

TEST_F(LimitsTest, OversizedFramesGetTooLargeAndTheConnectionStays) {
  auto cfg = base();
  cfg.limits.max_frame_bytes = 1024;
  start(cfg);
  auto a = client("alice");
  auto b = client("bob");
  b->request({{"op", "join"}, {"group", "room"}});
  a->request({{"op", "join"}, {"group", "room"}});
  a->send(json{{"op", "post"}, {"id", 99}, {"group", "room"}, {"msg", std::string(5000, 'x')}}.dump());
  auto e = a->recv_op("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"], "TOO_LARGE");
  EXPECT_TRUE((*e)["id"].is_null());
  // Still usable, and nothing of the big frame reached bob.
  EXPECT_EQ(a->request({{"op", "post"}, {"group", "room"}, {"msg", "small"}})["op"], "ok");
  auto m = b->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["msg"], "small");
  // Above the hard cap (16x, at least 1 MiB) the connection is failed with 1009.
  a->try_send(std::string(WsSession::hard_message_cap(1024) + 10, 'x'));
  EXPECT_TRUE(a->wait_closed());
  EXPECT_EQ(a->close_code(), 1009);
  EXPECT_EQ(b->request({{"op", "ping"}})["op"], "ok");
  EXPECT_TRUE(eventually([&] { return metrics().disconnects_of(Disconnect::TooLarge) == 1; }));
}

TEST_F(LimitsTest, RateLimitDropsRequestsButKeepsTheConnection) {
  auto cfg = base();
  cfg.rate_per_second = 5;
  cfg.rate_burst = 5;
  start(cfg);
  auto a = client("alice");
  auto b = client("bob");
  b->request({{"op", "join"}, {"group", "room"}});
  a->request({{"op", "join"}, {"group", "room"}});  // 1 of alice's burst
  constexpr int kN = 30;
  for (int i = 0; i < kN; ++i) a->send(json{{"op", "post"}, {"id", 1000 + i}, {"group", "room"}, {"msg", i}}.dump());
  int ok = 0, limited = 0;
  std::set<std::int64_t> ids;
  auto deadline = std::chrono::steady_clock::now() + ms(5000);
  while (static_cast<int>(ids.size()) < kN && std::chrono::steady_clock::now() < deadline) {
    auto f = a->recv(ms(500));
    if (!f || ((*f)["op"] != "ok" && (*f)["op"] != "error")) continue;
    EXPECT_TRUE(ids.insert((*f)["id"].get<std::int64_t>()).second) << "answered twice: " << f->dump();
    if ((*f)["op"] == "ok") ++ok;
    else if ((*f)["code"] == "RATE_LIMITED") ++limited;
    else ADD_FAILURE() << f->dump();
  }
  EXPECT_EQ(static_cast<int>(ids.size()), kN);  // every request answered once
  EXPECT_GE(ok, 4);
  EXPECT_LE(ok, 8);  // the burst, plus what refilled meanwhile
  EXPECT_EQ(ok + limited, kN);
  // Bob got exactly the accepted posts, and his own budget is untouched.
  int got = 0;
  while (b->recv_op("message", std::nullopt, ms(300))) ++got;
  EXPECT_EQ(got, ok);
  EXPECT_EQ(b->request({{"op", "ping"}})["op"], "ok");
  // Alice is still connected and is served again once the bucket refills.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) served = a->request({{"op", "ping"}})["op"] == "ok";
  EXPECT_TRUE(served);
  EXPECT_FALSE(a->closed());
  EXPECT_GE(metrics().errors_of(sb::protocol::Error::RateLimited), static_cast<std::uint64_t>(limited));
}

TEST_F(LimitsTest, PerUserConnectionCapClosesWith4003) {
  auto cfg = base();
  cfg.max_connections_per_user = 2;
  start(cfg);
  auto a1 = client("alice");
  auto a2 = client("alice");
  WsClient a3;
  ASSERT_TRUE(a3.connect(port_, "/realtime?token=" + token("alice")));
  expect_refused(a3, 4003);
  auto b = client("bob");  // another user is not affected
  // A token's max_connections lowers the cap for its holder.
  auto c1 = std::make_unique<WsClient>();
  ASSERT_TRUE(c1->connect(port_, "/realtime?token=" + token("carol", {{"max_connections", 1}})));
  EXPECT_EQ((*c1->recv())["op"], "welcome");
  WsClient c2;
  ASSERT_TRUE(c2.connect(port_, "/realtime?token=" + token("carol", {{"max_connections", 1}})));
  expect_refused(c2, 4003);
  // When one goes, a new one fits.
  a1->close();
  a1->wait_closed();
  ASSERT_TRUE(eventually([&] { return server_->context().hub.connection_count() == 3; }));
  auto a4 = client("alice");
  EXPECT_EQ(a4->request({{"op", "ping"}})["op"], "ok");
  EXPECT_EQ(b->request({{"op", "ping"}})["op"], "ok");
  EXPECT_EQ(metrics().disconnects_of(Disconnect::Forbidden), 2u);
}

TEST_F(LimitsTest, GroupsClaimLimitsJoinsWithForbidden) {
  start(base());
  WsClient a;
  ASSERT_TRUE(a.connect(port_, "/realtime?token=" + token("alice", {{"groups", {"lobby", "team-*"}}})));
  a.recv();
  EXPECT_EQ(a.request({{"op", "join"}, {"group", "secret"}})["code"], "FORBIDDEN");
  EXPECT_EQ(a.request({{"op", "join"}, {"group", "lobby"}})["op"], "ok");
  EXPECT_EQ(a.request({{"op", "join"}, {"group", "team-red"}})["op"], "ok");
  EXPECT_EQ(a.request({{"op", "join"}, {"group", nullptr}})["op"], "ok");  // leaving is always allowed
  auto b = client("bob");  // no claim: any group
  EXPECT_EQ(b->request({{"op", "join"}, {"group", "secret"}})["op"], "ok");
}

TEST_F(LimitsTest, PerConnectionNoticesAreOptIn) {
  start(base());
  auto watcher = client("alice");
  auto plain = client("carol");
  EXPECT_EQ(watcher->request({{"op", "join"}, {"group", "room"}, {"notices", "connection"}})["op"], "ok");
  EXPECT_EQ(plain->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  EXPECT_EQ(watcher->request({{"op", "join"}, {"group", "room"}, {"notices", "everyone"}})["code"], "INVALID_PARAMETER");
  std::string cid_b1, cid_b2;
  auto b1 = client("bob", &cid_b1);
  auto b2 = client("bob", &cid_b2);
  b1->request({{"op", "join"}, {"group", "room"}});
  b2->request({{"op", "join"}, {"group", "room"}});
  b2->request({{"op", "join"}, {"group", nullptr}});
  auto notices = [](WsClient& c) {
    std::vector<std::string> out;
    while (auto n = c.recv_op("notice", std::nullopt, ms(300)))
      out.push_back((*n)["code"].get<std::string>() + ":" + (*n)["sender_cid"].get<std::string>());
    return out;
  };
  auto w = notices(*watcher);
  auto p = notices(*plain);
  ASSERT_EQ(w.size(), 5u);  // alice's own join, carol's, bob1's, bob2's, bob2's leave
  EXPECT_EQ(w[2], "USER_JOINED:" + cid_b1);
  EXPECT_EQ(w[3], "USER_JOINED:" + cid_b2);
  EXPECT_EQ(w[4], "USER_LEFT:" + cid_b2);
  ASSERT_EQ(p.size(), 2u);  // carol's own join, bob's (first connection) join
  EXPECT_EQ(p[1], "USER_JOINED:" + cid_b1);
}

// A reader that does not keep up is cut off at max_buffered_bytes while a fast reader of the
// same group receives every message, and the server's queued bytes stay bounded throughout.
TEST_F(LimitsTest, SlowReaderIsCutOffWhileAFastReaderGetsEverything) {
  auto cfg = base();
  cfg.rate_per_second = 0;
  cfg.max_buffered_bytes = 256 * 1024;
  start(cfg);
  auto sender = client("sender");
  auto fast = client("fast");
  auto slow = client("slow", nullptr, 4096);
  for (auto* c : {sender.get(), fast.get(), slow.get()})
    ASSERT_EQ(c->request({{"op", "join"}, {"group", "room"}})["op"], "ok");
  constexpr int kN = 2000;
  const std::string pad(8 * 1024, 'p');
  std::atomic<int> fast_got{0};
  std::atomic<bool> fast_in_order{true};
  std::atomic<bool> fast_done{false};
  std::thread reader([&] {
    int expect = 0;
    while (expect < kN) {
      auto m = fast->recv_op("message", std::nullopt, ms(10000));
      if (!m) break;
      if ((*m)["msg"]["n"] != expect) fast_in_order = false;
      ++expect;
      fast_got = expect;
    }
    fast_done = true;
  });
  std::size_t peak = 0;
  for (int i = 0; i < kN; ++i) {
    // "Fast" means keeping up: on a loaded machine the reader thread can be descheduled for
    // long enough to fall behind by more than its buffer, so the sender waits for it to be at
    // most 16 messages behind (the slow reader still falls behind by hundreds).
    while (i - fast_got.load() > 16 && !fast_done.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto r = sender->request({{"op", "post"}, {"group", "room"}, {"msg", {{"n", i}, {"pad", pad}}}});
    ASSERT_EQ(r["op"], "ok") << i;
    if (i % 50 == 0) peak = std::max(peak, total_buffered());
  }
  reader.join();
  EXPECT_EQ(fast_got.load(), kN);
  EXPECT_TRUE(fast_in_order.load());
  EXPECT_EQ(metrics().slow_consumer_cutoffs.load(), 1u);
  // Bounded: no connection holds more than the limit (plus one frame in flight).
  EXPECT_LE(peak, 3 * (cfg.max_buffered_bytes + pad.size() + 200));
  // The slow reader is disconnected (its close frame may be stuck behind unread data; after the
  // grace period the server drops the TCP connection).
  EXPECT_TRUE(slow->wait_closed(ms(10000)));
  EXPECT_TRUE(eventually([&] { return metrics().disconnects_of(Disconnect::SlowConsumer) == 1; }));
  EXPECT_EQ(sender->request({{"op", "ping"}})["op"], "ok");
  EXPECT_TRUE(eventually([&] { return server_->context().hub.connection_count() == 2; }));
}

// The server pings an idle connection and drops it when no pong comes within the idle timeout;
// a client that answers pings stays.
TEST_F(LimitsTest, IdleConnectionsThatDoNotAnswerPingsAreDropped) {
  auto cfg = base();
  cfg.idle_timeout = std::chrono::seconds(1);
  start(cfg);
  auto good = client("alice");
  // A raw TCP client: completes the WebSocket handshake, then reads bytes but never answers.
  net::io_context ioc;
  net::ip::tcp::socket raw(ioc);
  raw.connect({net::ip::make_address("127.0.0.1"), port_});
  std::string req = "GET /realtime?token=" + token("mute") +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  net::write(raw, net::buffer(req));
  std::atomic<bool> dropped{false};
  std::atomic<bool> saw_101{false};
  auto t0 = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    std::string got;
    char buf[4096];
    raw.non_blocking(true);
    auto deadline = std::chrono::steady_clock::now() + ms(8000);
    while (std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      std::size_t n = raw.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        std::this_thread::sleep_for(ms(10));
        continue;
      }
      if (ec) {
        dropped = true;
        return;
      }
      got.append(buf, n);
      if (got.find("101 Switching Protocols") != std::string::npos) saw_101 = true;
    }
  });
  // Meanwhile the good client keeps its I/O running (it answers pings) for over two timeouts.
  auto until = std::chrono::steady_clock::now() + ms(2500);
  while (std::chrono::steady_clock::now() < until) good->pump(ms(20));
  watcher.join();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(saw_101.load());
  EXPECT_TRUE(dropped.load());
  EXPECT_LT(elapsed, ms(8000));
  EXPECT_FALSE(good->closed());
  EXPECT_EQ(good->request({{"op", "ping"}})["op"], "ok");
  EXPECT_TRUE(eventually([&] { return metrics().disconnects_of(Disconnect::IdleTimeout) == 1; }));
}

TEST(Origins, Rules) {
  Config cfg;
  EXPECT_TRUE(origin_allowed(cfg, "", "chat.example.com"));  // native client
  EXPECT_TRUE(origin_allowed(cfg, "https://chat.example.com", "chat.example.com"));
  EXPECT_TRUE(origin_allowed(cfg, "https://Chat.Example.com", "chat.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "https://evil.example", "chat.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "null", "chat.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "http://localhost:5173", "chat.example.com"));
  cfg.dev_login = true;
  EXPECT_TRUE(origin_allowed(cfg, "http://localhost:5173", "chat.example.com"));
  EXPECT_TRUE(origin_allowed(cfg, "http://127.0.0.1:3000", "chat.example.com"));
  EXPECT_TRUE(origin_allowed(cfg, "http://[::1]:3000", "chat.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "http://localhost.evil.com", "chat.example.com"));
  cfg.dev_login = false;
  cfg.allowed_origins = {"https://app.example.com", "https://*.example.org"};
  EXPECT_TRUE(origin_allowed(cfg, "https://app.example.com", "api.example.com"));
  EXPECT_TRUE(origin_allowed(cfg, "https://a.b.example.org", "api.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "https://example.org", "api.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "http://a.example.org", "api.example.com"));
  EXPECT_FALSE(origin_allowed(cfg, "https://evilexample.org", "api.example.com"));
  cfg.allowed_origins = {"*"};
  EXPECT_TRUE(origin_allowed(cfg, "https://anything.test", "api.example.com"));
}

TEST(Subprotocols, TokenAndSwitchboardAreReadFromTheList) {
  std::string token = "from-query", sub;
  token_from_subprotocols("switchboard, token.abc.def.ghi", token, sub);
  EXPECT_EQ(token, "abc.def.ghi");
  EXPECT_EQ(sub, "switchboard");

  token = "from-query", sub.clear();
  token_from_subprotocols("chat,  token.first ,token.second  ", token, sub);
  EXPECT_EQ(token, "second");  // the last token. item wins, spaces trimmed
  EXPECT_EQ(sub, "");

  token = "from-query", sub.clear();
  token_from_subprotocols("Switchboard, Token.x, switchboard2,,", token, sub);
  EXPECT_EQ(token, "from-query");  // matching is case-sensitive and exact
  EXPECT_EQ(sub, "");

  token_from_subprotocols("token.", token, sub);
  EXPECT_EQ(token, "");  // an empty token item still replaces the query's
}

TEST_F(LimitsTest, RefusedOriginsAreClosedWith4003) {
  auto cfg = base();
  cfg.allowed_origins = {"https://app.example.com"};
  start(cfg);
  auto bystander = client("bob");
  WsClient evil;
  ASSERT_TRUE(evil.connect(port_, "/realtime?token=" + token("alice"), {{"Origin", "https://evil.example.com"}}));
  expect_refused(evil, 4003);
  EXPECT_EQ(evil.close_reason(), "Origin not allowed.");
  for (std::string origin : {std::string("https://app.example.com"), "http://127.0.0.1:" + std::to_string(port_)}) {
    WsClient ok;
    ASSERT_TRUE(ok.connect(port_, "/realtime?token=" + token("alice"), {{"Origin", origin}}));
    auto w = ok.recv();
    ASSERT_TRUE(w) << origin;
    EXPECT_EQ((*w)["op"], "welcome") << origin;
  }
  EXPECT_EQ(bystander->request({{"op", "ping"}})["op"], "ok");
}

TEST_F(LimitsTest, GracefulShutdownClosesEveryClientWith1001) {
  start(base());
  auto a = client("alice");
  auto b = client("bob");
  a->request({{"op", "join"}, {"group", "room"}});
  b->request({{"op", "join"}, {"group", "room"}});
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->stop(); });
  EXPECT_TRUE(a->wait_closed(ms(8000)));
  EXPECT_TRUE(b->wait_closed(ms(8000)));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, ms(8000));
  EXPECT_EQ(a->close_code(), 1001);
  EXPECT_EQ(b->close_code(), 1001);
  EXPECT_EQ(metrics().disconnects_of(Disconnect::Shutdown), 2u);
  // No longer accepting.
  WsClient late;
  EXPECT_FALSE(late.connect(port_, "/realtime?token=" + token("carol")));
}

TEST_F(LimitsTest, MetricsCountAKnownSequence) {
  start(base());
  auto a = client("alice");
  auto b = client("bob");
  std::size_t bytes_in = 0;
  auto send = [&](WsClient& c, const std::string& f) {
    bytes_in += f.size();
    c.send(f);
  };
  send(*a, R"({"op":"join","id":1,"group":"room"})");
  ASSERT_TRUE(a->recv_op("ok", 1));
  send(*b, R"({"op":"join","id":1,"group":"room"})");
  ASSERT_TRUE(b->recv_op("ok", 1));
  send(*a, R"({"op":"post","id":2,"group":"room","msg":{"t":"hi"}})");
  ASSERT_TRUE(a->recv_op("ok", 2));
  send(*b, "not json");
  ASSERT_TRUE(b->recv_op("error"));
  send(*a, R"({"op":"private","id":3,"user":"nobody","msg":1})");
  ASSERT_TRUE(a->recv_op("error", 3));
  // Out: 2 welcomes; alice's join: notice + ok; bob's join: 2 notices + ok; the post: 2 messages
  // + ok; two errors.
  const double out = 2 + 2 + 3 + 3 + 2;
  ASSERT_TRUE(eventually([&] { return scrape(port_)["switchboard_messages_out_total"] == out; }));
  auto m = scrape(port_);
  EXPECT_EQ(m["switchboard_connections"], 2);
  EXPECT_EQ(m["switchboard_users"], 2);
  EXPECT_EQ(m["switchboard_groups"], 1);
  EXPECT_EQ(m["switchboard_connections_total"], 2);
  EXPECT_EQ(m["switchboard_messages_in_total"], 5);
  EXPECT_EQ(m["switchboard_bytes_in_total"], static_cast<double>(bytes_in));
  EXPECT_GT(m["switchboard_bytes_out_total"], 0);
  EXPECT_EQ(m["switchboard_errors_total{code=\"INVALID_REQUEST\"}"], 1);
  EXPECT_EQ(m["switchboard_errors_total{code=\"RECIPIENT_OFFLINE\"}"], 1);
  EXPECT_EQ(m["switchboard_errors_total{code=\"RATE_LIMITED\"}"], 0);
  EXPECT_EQ(m["switchboard_slow_consumer_cutoffs_total"], 0);
  b->close();
  ASSERT_TRUE(eventually([&] { return scrape(port_)["switchboard_disconnects_total{reason=\"client_closed\"}"] == 1; }));
  m = scrape(port_);
  EXPECT_EQ(m["switchboard_connections"], 1);
  EXPECT_EQ(m["switchboard_users"], 1);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

// Every bad input gets a typed error and the connection (and the server) keep working.
TEST_F(LimitsTest, BadInputsGetTypedErrors) {
  auto cfg = base();
  cfg.limits.max_frame_bytes = 4096;
  start(cfg);
  auto a = client("alice");
  auto b = client("bob");
  b->request({{"op", "join"}, {"group", "room"}});
  std::string deep = R"({"op":"post","id":30,"group":"room","msg":)" + std::string(100, '[') + std::string(100, ']') + "}";
  struct Case {
    std::string frame;
    std::string code;  // "" = ok
    json id;
  };
  std::vector<Case> cases = {
      {"not json", "INVALID_REQUEST", nullptr},
      {"", "INVALID_REQUEST", nullptr},
      {"[1,2]", "INVALID_REQUEST", nullptr},
      {"42", "INVALID_REQUEST", nullptr},
      {R"({"op":"ping","id":1)", "INVALID_REQUEST", nullptr},  // truncated
      {R"({"op":"join"})", "INVALID_REQUEST", nullptr},       // no id
      {R"({"op":"join","id":"1"})", "INVALID_REQUEST", nullptr},
      {R"({"op":"join","id":1.5})", "INVALID_REQUEST", nullptr},
      {R"({"op":5,"id":2})", "INVALID_REQUEST", 2},
      {R"({"op":"fly","id":3})", "INVALID_REQUEST", 3},
      {R"({"id":4})", "INVALID_REQUEST", 4},
      {R"({"op":"join","id":5,"group":5})", "INVALID_REQUEST", 5},
      {R"({"op":"join","id":6,"group":"x\u0001y"})", "INVALID_PARAMETER", 6},
      {R"({"op":"join","id":7,"group":")" + std::string(129, 'g') + "\"}", "INVALID_PARAMETER", 7},
      {R"({"op":"join","id":8,"group":"room","notices":1})", "INVALID_PARAMETER", 8},
      {R"({"op":"post","id":9,"group":"room"})", "INVALID_REQUEST", 9},
      {R"({"op":"post","id":10,"group":"room","msg":1})", "NOT_JOINED", 10},
      {R"({"op":"private","id":11,"user":[],"msg":1})", "INVALID_REQUEST", 11},
      {R"({"op":"private","id":12,"user":"","msg":1})", "INVALID_PARAMETER", 12},
      {R"({"op":"private","id":13,"user":"nobody","msg":1})", "RECIPIENT_OFFLINE", 13},
      {R"({"op":"users","id":14})", "INVALID_REQUEST", 14},
      {R"({"op":"groups","id":15,"limit":"x"})", "INVALID_PARAMETER", 15},
      {R"({"op":"groups","id":16,"searchFor":"group","value":"a","condition":"~"})", "INVALID_PARAMETER", 16},
      {R"({"op":"rtc","id":17,"cid":"cid:x","msg":[]})", "INVALID_REQUEST", 17},
      {R"({"op":"rtc","id":18,"cid":"cid:x","msg":{}})", "RECIPIENT_OFFLINE", 18},
      {R"({"op":"ping","id":19,"s":"\ud800"})", "INVALID_REQUEST", nullptr},  // lone surrogate
      {deep, "TOO_DEEP", nullptr},
      {R"({"op":"ping","id":31,"pad":")" + std::string(5000, 'x') + "\"}", "TOO_LARGE", nullptr},
      // Duplicate ids: requests are answered in order, so a repeated id is simply answered again.
      {R"({"op":"ping","id":40})", "", 40},
      {R"({"op":"ping","id":40})", "", 40},
      {R"({"op":"ping","id":9223372036854775807})", "", 9223372036854775807LL},
      {R"({"op":"ping","id":-7})", "", -7},
  };
  for (auto& c : cases) {
    a->send(c.frame);
    auto r = a->recv(ms(3000));
    ASSERT_TRUE(r) << c.frame.substr(0, 80);
    if (c.code.empty()) {
      EXPECT_EQ((*r)["op"], "ok") << c.frame.substr(0, 80) << " -> " << r->dump();
    } else {
      EXPECT_EQ((*r)["op"], "error") << c.frame.substr(0, 80);
      EXPECT_EQ((*r)["code"], c.code) << c.frame.substr(0, 80) << " -> " << r->dump();
      EXPECT_TRUE((*r)["message"].is_string());
    }
    EXPECT_EQ((*r)["id"], c.id) << c.frame.substr(0, 80) << " -> " << r->dump();
  }
  // Binary frames, even valid JSON in them.
  a->send_binary(std::string("\xff\xfe\x00", 3));
  EXPECT_EQ((*a->recv())["code"], "NOT_SUPPORTED");
  a->send_binary(R"({"op":"ping","id":50})");
  EXPECT_EQ((*a->recv())["code"], "NOT_SUPPORTED");
  // Still fine, and bob heard nothing of any of it.
  EXPECT_EQ(a->request({{"op", "ping"}})["op"], "ok");
  EXPECT_FALSE(b->recv_op("message", std::nullopt, ms(200)));
  // Invalid UTF-8 in a text frame: RFC 6455 requires failing the connection (1007).
  auto c = client("carol");
  c->try_send(std::string("{\"op\":\"ping\",\"id\":1,\"s\":\"\xff\xfe\"}"));
  EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(c->close_code(), 1007);
  EXPECT_EQ(a->request({{"op", "ping"}})["op"], "ok");
  EXPECT_EQ(b->request({{"op", "ping"}})["op"], "ok");
}
