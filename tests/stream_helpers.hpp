// Helpers of the stream tests (streams_test.cpp, stream_cluster_test.cpp): clients of a server
// started with kStreamSecret, the message frames they get, and a member that keeps rejoining
// with `since` while publications flow.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "server/auth.hpp"
#include "ws_client.hpp"

namespace sb::testing {

inline constexpr const char* kStreamSecret = "stream-test-secret";

// A connected client of `user` whose welcome was read (into *welcome, if given).
// `query`: more of the URL, e.g. "&since=<epoch>.<offset>".
inline std::unique_ptr<WsClient> stream_client(unsigned short port, const std::string& user,
                                               const std::string& query = "", nlohmann::json* welcome = nullptr) {
  auto c = std::make_unique<WsClient>();
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string token = sb::server::Authenticator(kStreamSecret).issue({{"sub", user}, {"exp", now + 600}});
  EXPECT_TRUE(c->connect(port, "/realtime?token=" + token + query));
  auto w = c->recv(std::chrono::seconds(10));
  EXPECT_TRUE(w && (*w)["op"] == "welcome") << (w ? w->dump() : "no frame");
  if (w && welcome) *welcome = *w;
  return c;
}

// The next `n` frames with this op (others are skipped, or kept in *others); fewer on a timeout.
inline std::vector<nlohmann::json> messages(WsClient& c, std::size_t n, const std::string& op = "message",
                                            std::vector<nlohmann::json>* others = nullptr) {
  std::vector<nlohmann::json> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto f = c.recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!f) break;
    if ((*f)["op"] == op) got.push_back(*f);
    else if (others) others->push_back(*f);
  }
  return got;
}

// The frames with this op already received (no waiting): e.g. those that came before a reply.
inline std::vector<nlohmann::json> already_received(WsClient& c, const std::string& op) {
  std::vector<nlohmann::json> got;
  while (auto f = c.recv(std::chrono::milliseconds(0)))
    if ((*f)["op"] == op) got.push_back(*f);
  return got;
}

// Publishers (one per port in `publish_ports`, 300 posts each) post to group "flow" while a
// member keeps reconnecting to `receive_ports` in turn, rejoining with its last position after
// a random few milliseconds: it must see every post exactly once, offsets consecutive.
inline void expect_rejoins_lose_nothing(const std::vector<unsigned short>& publish_ports,
                                        const std::vector<unsigned short>& receive_ports, int per_publisher = 300) {
  using nlohmann::json;
  std::uint64_t last = 0;
  std::string epoch;
  std::set<std::pair<int, int>> seen;  // (publisher, n)
  std::size_t duplicates = 0, gaps = 0;
  auto take = [&](const json& f) {
    if (f["op"] != "message" || f["group"] != "flow") return;
    if (f["epoch"] != epoch || f["offset"].get<std::uint64_t>() != last + 1) ++gaps;
    last = f["offset"];
    if (!seen.insert({f["msg"]["p"].get<int>(), f["msg"]["n"].get<int>()}).second) ++duplicates;
  };
  {
    auto first = stream_client(receive_ports[0], "receiver");
    json r = first->request({{"op", "join"}, {"group", "flow"}});
    ASSERT_EQ(r["op"], "ok");
    epoch = r["data"]["epoch"];
    last = r["data"]["offset"];
  }
  std::vector<std::thread> publishers;
  std::atomic<int> published{0};
  for (std::size_t p = 0; p < publish_ports.size(); ++p)
    publishers.emplace_back([&, p] {
      auto c = stream_client(publish_ports[p], "publisher" + std::to_string(p));
      c->request({{"op", "join"}, {"group", "flow"}});
      for (int n = 0; n < per_publisher; ++n)
        if (c->request({{"op", "post"}, {"group", "flow"}, {"msg", {{"p", p}, {"n", n}}}})["op"] == "ok") ++published;
    });
  const std::size_t total = publish_ports.size() * per_publisher;
  std::mt19937 rng(7);
  int rejoins = 0, not_recovered = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen.size() < total && std::chrono::steady_clock::now() < deadline) {
    auto c = stream_client(receive_ports[rejoins % receive_ports.size()], "receiver");
    json r = c->request({{"op", "join"}, {"group", "flow"}, {"since", {{"offset", last}, {"epoch", epoch}}}});
    if (r["op"] != "ok" || r["data"]["recovered"] != true) ++not_recovered;
    ++rejoins;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(rng() % 40);
    bool quiet = false;
    while (!quiet && std::chrono::steady_clock::now() < until) {
      auto f = c->recv(std::chrono::milliseconds(5));
      if (f) take(*f);
      else quiet = published.load() == static_cast<int>(total) && seen.size() == total;
    }
    if (published.load() == static_cast<int>(total)) {  // all out: read what is left, bounded
      while (seen.size() < total) {
        auto f = c->recv(std::chrono::seconds(5));
        if (!f) break;
        take(*f);
      }
    }
  }
  for (auto& t : publishers) t.join();
  EXPECT_EQ(published.load(), static_cast<int>(total));
  EXPECT_EQ(seen.size(), total) << "after " << rejoins << " rejoins";
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(gaps, 0u);
  EXPECT_EQ(not_recovered, 0);
  EXPECT_GT(rejoins, 3);
}

}  // namespace sb::testing
