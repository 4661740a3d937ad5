// --ice-servers: what the server accepts and hands to clients in the welcome.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "server/ice_servers.hpp"

using sb::server::parse_ice_servers;
using nlohmann::json;

TEST(IceServers, ACommaListOfUrlsBecomesRtcIceServers) {
  std::string out, why;
  ASSERT_TRUE(parse_ice_servers(" stun:a.example:3478, turns:b.example:5349 ", out, why)) << why;
  EXPECT_EQ(json::parse(out), json::parse(R"([{"urls":"stun:a.example:3478"},{"urls":"turns:b.example:5349"}])"));
}

TEST(IceServers, AJsonArrayKeepsUrlsAndCredentials) {
  std::string out, why;
  ASSERT_TRUE(parse_ice_servers(R"(["stun:a", {"urls":["turn:b?transport=udp","turn:b?transport=tcp"],"username":"u","credential":"p"}])",
                                out, why))
      << why;
  EXPECT_EQ(json::parse(out), json::parse(R"([{"urls":"stun:a"},{"urls":["turn:b?transport=udp","turn:b?transport=tcp"],"username":"u","credential":"p"}])"));
}

TEST(IceServers, NothingMeansNoServers) {
  std::string out = "x", why;
  ASSERT_TRUE(parse_ice_servers("  ", out, why));
  EXPECT_EQ(out, "");
}

TEST(IceServers, AnythingElseIsRefusedWithAReason) {
  for (const char* bad : {"http://a", "stun:", "stun:a,,stun:b", "[", "{}", "[1]", R"([{"urls":[]}])",
                          R"([{"urls":"stun:a","extra":1}])", R"([{"urls":"stun:a","username":5}])",
                          R"([{"urls":["stun:a","ftp:b"]}])"}) {
    std::string out, why;
    EXPECT_FALSE(parse_ice_servers(bad, out, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(IceServers, TheWelcomeCarriesThemAsData) {
  std::string out, why;
  ASSERT_TRUE(parse_ice_servers("stun:a", out, why));
  json w = json::parse(sb::protocol::welcome_frame("cid:x", "alice", {}, std::nullopt, out));
  EXPECT_EQ(w["data"]["ice_servers"], json::parse(R"([{"urls":"stun:a"}])"));
  json none = json::parse(sb::protocol::welcome_frame("cid:x", "alice", {}));
  EXPECT_FALSE(none["data"].contains("ice_servers"));
}
