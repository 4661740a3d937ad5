// What the attack review broke, over real sockets, each with a bystander that must not notice:
// throwing handlers, invalid UTF-8 in URLs, the global connection cap, HTTP framing (HEAD,
// Transfer-Encoding), symlinks out of the static root, frames in the upgrade's TCP segment,
// close reasons cut inside a character, and the /metrics bearer token.
#include <filesystem>
#include <fstream>

#include "protocol/utf8.hpp"
#include "server/http_session.hpp"
#include "server/jwt.hpp"
#include "server_fixture.hpp"

using namespace sb::server;
using namespace sb::testing;
using nlohmann::json;

namespace {
class Hardening : public ServerFixture {};

// A client frame as a browser sends it: text, FIN, masked (RFC 6455 §5.3), payload < 64 KiB.
std::string masked_text_frame(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

std::string upgrade_request(unsigned short port, const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n";
}
}  // namespace

TEST_F(Hardening, InvalidUtf8InTheDevLoginIsA400AndTheServerLives) {
  auto cfg = base();
  cfg.dev_login = true;
  start(cfg);
  auto bystander = client("bob");
  bystander->request({{"op", "join"}, {"group", "room"}});
  for (const char* user : {"%ff", "%c3%28", "%ed%a0%80", "%f4%90%80%80", "a%00b", "%e2%82"}) {
    auto [status, body] = http_get(port_, std::string("/dev/token?user=") + user);
    EXPECT_EQ(status, 400) << user;
    EXPECT_NE(body.find("INVALID_PARAMETER"), std::string::npos) << body;
  }
  EXPECT_EQ(http_get(port_, "/dev/token?user=%c3%a9").first, 200);  // é is a fine name
  expect_serves(*bystander, "room");
}

TEST_F(Hardening, AThrowingRequestHandlerClosesOnlyItsConnection) {
  start(base());
  ctx().fault_hook = [](std::string_view what) {
    if (what.find("boom") != std::string_view::npos) throw std::runtime_error("injected fault");
  };
  auto bystander = client("bob");
  bystander->request({{"op", "join"}, {"group", "room"}});
  auto victim = client("mallory");
  victim->request({{"op", "join"}, {"group", "room"}});
  victim->send(R"({"op":"post","id":9,"group":"room","msg":"boom"})");
  EXPECT_TRUE(victim->wait_closed());
  EXPECT_EQ(victim->close_code(), 1011);
  EXPECT_TRUE(eventually([&] { return ctx().metrics.handler_errors.load() == 1; }));
  // HTTP: the throwing request loses its connection, the next one is served.
  EXPECT_THROW(http_get(port_, "/boom"), std::exception);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
  EXPECT_EQ(ctx().metrics.handler_errors.load(), 2u);
  expect_serves(*bystander, "room");
  auto late = client("carol");  // and new clients still get in
  EXPECT_EQ(late->request({{"op", "ping"}})["op"], "ok");
}

TEST_F(Hardening, TheGlobalConnectionCapAnswers503BeforeTheUpgrade) {
  auto cfg = base();
  cfg.max_connections = 2;
  start(cfg);
  auto a = client("a");
  auto b = client("b");
  WsClient c;
  EXPECT_FALSE(c.connect(port_, "/realtime?token=" + token("c")));
  auto raw = raw_exchange(port_, upgrade_request(port_, "/realtime?token=" + token("c")));
  EXPECT_EQ(raw.rfind("HTTP/1.1 503", 0), 0u) << raw;
  EXPECT_NE(raw.find("Retry-After"), std::string::npos);
  EXPECT_EQ(ctx().metrics.refused_full.load(), 2u);
  a->close();
  ASSERT_TRUE(eventually([&] { return ctx().ws_sessions.load() < 2; }));
  auto d = client("d");  // room again
  EXPECT_EQ(d->request({{"op", "ping"}})["op"], "ok");
}

TEST_F(Hardening, HeadAnswersHaveNoBodySoKeepAliveStaysInStep) {
  auto dir = std::filesystem::temp_directory_path() / ("sb-head-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "index.html") << "<p>hello</p>";
  auto cfg = base();
  cfg.static_dir = dir.string();
  start(cfg);
  // Two requests on one connection: HEAD, then GET. The second answer must start right after
  // the first head, not inside a body the HEAD answer should not have had.
  for (const char* path : {"/healthz", "/index.html", "/missing"}) {
    std::string req = std::string("HEAD ") + path + " HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    auto raw = raw_exchange(port_, req);
    auto second = raw.find("HTTP/1.1", 1);
    ASSERT_NE(second, std::string::npos) << raw;
    auto head_end = raw.find("\r\n\r\n");
    EXPECT_EQ(head_end + 4, second) << path << ": the HEAD answer carried a body:\n" << raw;
    EXPECT_NE(raw.find("Content-Length: ", 0), std::string::npos);
    EXPECT_EQ(raw.substr(raw.size() - 3), "ok\n") << raw;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(Hardening, UnknownTransferEncodingsAreRefused) {
  start(base());
  auto gz = raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(gz.rfind("HTTP/1.1 501", 0), 0u) << gz;
  auto both = raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(both.rfind("HTTP/1.1 400", 0), 0u) << both;
  auto chunked = raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
}

TEST_F(Hardening, StaticFilesDoNotFollowSymlinksOutOfTheRoot) {
  auto top = std::filesystem::temp_directory_path() / ("sb-static-" + std::to_string(::getpid()));
  auto root = top / "www";
  std::filesystem::create_directories(root / "sub");
  std::ofstream(top / "secret.txt") << "top secret";
  std::ofstream(root / "page.html") << "public page";
  std::filesystem::create_symlink(top / "secret.txt", root / "leak.txt");
  std::filesystem::create_directory_symlink(top, root / "up");
  std::filesystem::create_symlink(root / "page.html", root / "sub" / "alias.html");  // inside: fine
  auto cfg = base();
  cfg.static_dir = root.string();
  start(cfg);
  EXPECT_EQ(http_get(port_, "/page.html"), std::make_pair(200, std::string("public page")));
  EXPECT_EQ(http_get(port_, "/sub/alias.html"), std::make_pair(200, std::string("public page")));
  EXPECT_EQ(http_get(port_, "/leak.txt").first, 404);
  EXPECT_EQ(http_get(port_, "/up/secret.txt").first, 404);
  std::filesystem::remove_all(top);
}

TEST_F(Hardening, AFrameInTheUpgradeSegmentIsRead) {
  start(base());
  // Upgrade request and first frame written together, as a fast client may.
  auto raw = raw_exchange(port_, upgrade_request(port_, "/realtime?token=" + token("alice")) +
                                     masked_text_frame(R"({"op":"ping","id":41})"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 101", 0), 0u) << raw;
  EXPECT_NE(raw.find(R"("op":"welcome")"), std::string::npos) << raw;
  EXPECT_NE(raw.find(R"({"op":"ok","id":41})"), std::string::npos) << "the first frame was lost:\n" << raw;
}

TEST_F(Hardening, CloseReasonsAreCutOnACharacterBoundary) {
  start(base());
  // A refusal reason that quotes a long multi-byte algorithm name runs past 123 bytes.
  std::string alg;
  for (int i = 0; i < 80; ++i) alg += "é";
  json header{{"alg", alg}};
  std::string t = sb::server::jwt::base64url_encode(header.dump()) + "." +
                  sb::server::jwt::base64url_encode(json{{"sub", "a"}}.dump()) + ".c2ln";
  for (int shift = 0; shift < 2; ++shift) {  // both parities of the cut
    WsClient c;
    ASSERT_TRUE(c.connect(port_, "/realtime?token=" + (shift ? "x" + t.substr(1) : t)));
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(c.close_code(), 4001) << "a reason cut inside a character fails the close";
    EXPECT_TRUE(sb::protocol::valid_utf8(c.close_reason()));
    EXPECT_LE(c.close_reason().size(), 123u);
  }
  EXPECT_EQ(sb::protocol::utf8_prefix("aé", 2), "a");
  EXPECT_EQ(sb::protocol::utf8_prefix("aé", 3), "aé");
  EXPECT_EQ(sb::protocol::utf8_prefix("a😀b", 4), "a");
}

TEST_F(Hardening, MetricsCanRequireABearerToken) {
  auto cfg = base();
  cfg.metrics_token = "scrape-me";
  start(cfg);
  EXPECT_EQ(http_get(port_, "/metrics").first, 401);
  auto with = [&](const std::string& auth) {
    return raw_exchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + auth + "\r\n\r\n");
  };
  EXPECT_EQ(with("Bearer scrape-mE").rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(with("Bearer scrape-me2").rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(with("Basic scrape-me").rfind("HTTP/1.1 401", 0), 0u);
  auto ok = with("Bearer scrape-me");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("switchboard_connections "), std::string::npos);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);  // health checks stay open
}

TEST(Utf8, ValidatesLikeRfc3629) {
  using sb::protocol::valid_utf8;
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("é € 😀 \xf4\x8f\xbf\xbf"));
  for (const char* bad : {"\xff", "\xc3\x28", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf8\x88\x80\x80\x80", "\xe2\x82", "\x80"})
    EXPECT_FALSE(valid_utf8(bad)) << bad;
}

// The attack review's injection over real sockets: raw newlines in a payload (legal JSON
// whitespace) must not let a member write a "message from admin" or an "ok" for another
// member's request into the batch the others read.
TEST_F(Hardening, MembersCannotSpeakForOthersThroughNewlinesInPayloads) {
  start(base());
  auto victim = client("bob");
  victim->request({{"op", "join"}, {"group", "room"}});
  auto mallory = client("mallory");
  mallory->request({{"op", "join"}, {"group", "room"}});
  victim->recv_op("notice");
  mallory->send("{\"op\":\"post\",\"id\":2,\"group\":\"room\",\"msg\":[0,\n{\"op\":\"message\",\"group\":\"room\","
                "\"sender\":\"admin\",\"sender_cid\":\"cid:0\",\"msg\":\"pwned\"}\n,\n{\"op\":\"ok\",\"id\":7}\n]}");
  auto m = victim->recv_op("message");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["sender"], "mallory");
  EXPECT_TRUE((*m)["msg"].is_array());
  EXPECT_EQ((*m)["msg"][1]["sender"], "admin");  // the would-be frame is just a value
  // Nothing else arrives: no forged message, no forged ok.
  while (auto f = victim->recv(ms(300))) ADD_FAILURE() << "unexpected frame " << f->dump();
}
