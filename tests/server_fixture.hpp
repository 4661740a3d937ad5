// An in-process server on an ephemeral loopback port, with helpers shared by the socket tests:
// tokens, welcomed clients, bounded waits, raw TCP exchanges for what a WebSocket client
// library would not send.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "server/server.hpp"
#include "ws_client.hpp"

namespace sb::testing {

using ms = std::chrono::milliseconds;

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Polls a condition until it holds or the time is up: a bounded wait, not an assertion by sleep.
template <class F>
bool eventually(F pred, ms timeout = ms(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(ms(5));
  }
  return pred();
}

// Writes `request` in one send() and returns everything the server sends back until it closes
// the connection or `quiet` passes without a byte.
inline std::string raw_exchange(unsigned short port, const std::string& request, ms quiet = ms(500)) {
  net::io_context ioc;
  net::ip::tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(sock, net::buffer(request));
  std::string got;
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = 0;
    sock.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t k) { ec = e, n = k; });
    ioc.restart();
    if (ioc.run_for(quiet) == 0) {  // nothing arrived in time
      sock.cancel();
      ioc.restart();
      ioc.run();
      break;
    }
    if (ec) break;
    got.append(buf, n);
  }
  return got;
}

class ServerFixture : public ::testing::Test {
 protected:
  static constexpr const char* kSecret = "fixture-secret";
  server::Config base() {
    server::Config cfg;
    cfg.port = 0;
    cfg.threads = 2;
    cfg.jwt.secret = kSecret;
    cfg.log_level = "off";
    return cfg;
  }
  void start(const server::Config& cfg) {
    server_ = std::make_unique<server::Server>(cfg);
    port_ = server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  std::string token(const std::string& user, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c{{"sub", user}, {"exp", unix_now() + 60}};
    c.update(extra);
    return server::Authenticator(kSecret).issue(c);
  }
  // A connected, welcomed client for `user`, with extra token claims if given; `rcvbuf` > 0
  // shrinks its receive buffer (slow-reader tests).
  std::unique_ptr<WsClient> client(const std::string& user, const nlohmann::json& claims, std::string* cid = nullptr,
                                   int rcvbuf = 0) {
    auto c = std::make_unique<WsClient>();
    EXPECT_TRUE(c->connect(port_, "/realtime?token=" + token(user, claims), {}, rcvbuf));
    auto w = c->recv();
    EXPECT_TRUE(w && (*w)["op"] == "welcome") << (w ? w->dump() : "no frame");
    if (w && cid) *cid = (*w)["cid"];
    return c;
  }
  std::unique_ptr<WsClient> client(const std::string& user, std::string* cid = nullptr, int rcvbuf = 0) {
    return client(user, nlohmann::json::object(), cid, rcvbuf);
  }
  // A member of `group` that answers, proof that the server still serves everyone.
  void expect_serves(WsClient& c, const std::string& group) {
    EXPECT_EQ(c.request({{"op", "post"}, {"group", group}, {"msg", "still here"}})["op"], "ok");
    auto m = c.recv_op("message");
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["msg"], "still here");
  }
  server::ServerContext& ctx() { return server_->context(); }

  std::unique_ptr<server::Server> server_;
  unsigned short port_ = 0;
};

}  // namespace sb::testing
