// The portable client core against the real server binary, without a browser: the core on its
// native platform (src/native: Beast WebSockets, Asio timers) connects, joins, posts, receives,
// sends privately, and reconnects (and rejoins its group) after the server closes the
// connection by shutting down and a new server comes up on the same port.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "native/beast_transport.hpp"
#include "server/auth.hpp"
#include "server_process.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {
constexpr const char* kSecret = "native-client-test-secret";

std::vector<std::string> server_args(unsigned short port) {
  return {"--port", std::to_string(port), "--jwt-secret", kSecret, "--threads", "1", "--log-level", "error"};
}

struct Client {
  std::vector<client::Event> events;
  native::NativeClient nc;
  Client(boost::asio::io_context& ioc, const std::string& user, client::Options o)
      : nc(ioc, [user] { return server::Authenticator(kSecret).issue(user, std::chrono::seconds(600)); },
           [this](const client::Event& e) { events.push_back(e); }, o) {}
  bool saw(const std::string& type, const std::string& needle = {}) const {
    for (auto& e : events)
      if (e.type == type && (needle.empty() || e.message_json.find(needle) != std::string::npos || e.code == needle ||
                             e.sender == needle))
        return true;
    return false;
  }
};

// Runs the io_context until `done` holds, at most `limit`.
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    ioc.restart();
    ioc.run_for(5ms);
  }
  return done();
}

// Calls `call(reply)` and waits for the reply.
template <class Call>
std::optional<client::Result> await_reply(boost::asio::io_context& ioc, Call call) {
  std::optional<client::Result> got;
  call([&](const client::Result& r) { got = r; });
  run_until(ioc, [&] { return got.has_value(); });
  return got;
}
}  // namespace

TEST(NativeClient, CoreJoinsPostsReceivesAndReconnectsAfterAServerSideClose) {
  auto server = std::make_unique<sb::testing::ServerProcess>(server_args(0), "");
  const unsigned short port = server->port();
  ASSERT_NE(port, 0);
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/realtime";

  boost::asio::io_context ioc;
  client::Options o;
  o.jitter = false;
  o.backoff_initial_ms = 100;
  o.backoff_max_ms = 400;
  Client alice(ioc, "alice", o), bob(ioc, "bob", o);

  for (Client* c : {&alice, &bob}) {
    auto r = await_reply(ioc, [&](client::Reply done) { c->nc.core().connect(url, done); });
    ASSERT_TRUE(r && r->ok) << (r ? r->code + " " + r->message : "no reply");
    EXPECT_EQ(c->nc.core().state(), client::State::Open);
    auto j = await_reply(ioc, [&](client::Reply done) { c->nc.core().join("room", done); });
    ASSERT_TRUE(j && j->ok) << (j ? j->code + " " + j->message : "no reply");
  }
  EXPECT_EQ(alice.nc.core().user(), "alice");
  ASSERT_TRUE(run_until(ioc, [&] { return alice.saw("notice", "bob"); })) << "alice never heard bob join";

  auto p = await_reply(ioc, [&](client::Reply done) { bob.nc.core().post(R"({"text":"hello room"})", "room", done); });
  ASSERT_TRUE(p && p->ok);
  ASSERT_TRUE(run_until(ioc, [&] { return alice.saw("message", "hello room") && bob.saw("message", "hello room"); }));

  auto q = await_reply(ioc, [&](client::Reply done) { alice.nc.core().post(R"({"text":"just you"})", "bob", done); });
  ASSERT_TRUE(q && q->ok);
  ASSERT_TRUE(run_until(ioc, [&] { return bob.saw("private", "just you"); }));
  EXPECT_FALSE(alice.saw("private", "just you"));

  // The server goes away (it closes every connection with 1001) and a new one takes the port.
  server.reset();
  ASSERT_TRUE(run_until(ioc, [&] { return alice.saw("reconnect") && bob.saw("reconnect"); }))
      << "the core did not notice the server-side close";
  server = std::make_unique<sb::testing::ServerProcess>(server_args(port), "");
  ASSERT_EQ(server->port(), port);
  ASSERT_TRUE(run_until(ioc, [&] {
    return alice.nc.core().state() == client::State::Open && bob.nc.core().state() == client::State::Open;
  }, 20s)) << "no reconnect";
  EXPECT_EQ(alice.nc.core().group(), std::optional<std::string>("room"));

  // Both rejoined the group on their own: a post reaches the other again.
  auto again = await_reply(ioc, [&](client::Reply done) { bob.nc.core().post(R"({"text":"back again"})", "room", done); });
  ASSERT_TRUE(again && again->ok) << (again ? again->code + " " + again->message : "no reply");
  EXPECT_TRUE(run_until(ioc, [&] { return alice.saw("message", "back again"); }));

  auto closed = await_reply(ioc, [&](client::Reply done) { alice.nc.core().close(done); });
  ASSERT_TRUE(closed && closed->ok);
  EXPECT_EQ(alice.nc.core().state(), client::State::Closed);
}
