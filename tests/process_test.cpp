// The server as a whole process: out of file descriptors it backs off instead of spinning and
// serves again once descriptors are free; the dev login's secret survives a restart.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "server_process.hpp"
#include "ws_client.hpp"

using namespace sb::testing;
using nlohmann::json;

namespace {
std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string dev_token(unsigned short port, const std::string& user) {
  auto [status, body] = http_get(port, "/dev/token?user=" + user);
  EXPECT_EQ(status, 200) << body;
  return json::parse(body)["token"];
}
}  // namespace

// The attack review: with a limit of 64 descriptors and 120 idle sockets, accept() failed at once
// forever and spun a core while legitimate clients timed out.
TEST(Process, OutOfDescriptorsTheListenerBacksOffAndRecovers) {
  auto dir = scratch("sb-emfile");
  ServerProcess server({"--port", "0", "--dev-login", "--threads", "1", "--log-level", "error"}, dir.string(), 64);
  ASSERT_NE(server.port(), 0);
  std::string token = dev_token(server.port(), "alice");  // before the descriptors run out

  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> idle;
  for (int i = 0; i < 120; ++i) {
    idle.emplace_back(ioc);
    boost::system::error_code ec;
    idle.back().connect({boost::asio::ip::make_address("127.0.0.1"), server.port()}, ec);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let it hit the limit
  long before = server.cpu_ticks();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long used = server.cpu_ticks() - before;  // clock ticks, 100 a second: spinning would be ~200
  EXPECT_LT(used, 60) << "the accept loop spins while out of descriptors";

  idle.clear();  // descriptors come back; the backlog drains
  WsClient c;
  bool connected = false;
  for (int i = 0; i < 50 && !connected; ++i) {
    connected = c.connect(server.port(), "/realtime?token=" + token);
    if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(connected);
  auto w = c.recv();
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)["op"], "welcome");
  auto [status, metrics] = http_get(server.port(), "/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(metrics.find("switchboard_accept_errors_total 0\n"), std::string::npos) << "failures were not counted";
  std::filesystem::remove_all(dir);
}

TEST(Process, TheDevSecretSurvivesARestartAndIsPrivate) {
  auto dir = scratch("sb-devsecret");
  std::string token;
  {
    ServerProcess first({"--port", "0", "--dev-login", "--log-level", "off"}, dir.string());
    ASSERT_NE(first.port(), 0);
    token = dev_token(first.port(), "alice");
  }
  auto secret = dir / ".switchboard" / "dev-secret";
  ASSERT_TRUE(std::filesystem::exists(secret));
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ServerProcess second({"--port", "0", "--dev-login", "--log-level", "off"}, dir.string());
  ASSERT_NE(second.port(), 0);
  WsClient c;
  ASSERT_TRUE(c.connect(second.port(), "/realtime?token=" + token));
  auto w = c.recv();
  ASSERT_TRUE(w) << "the token of the first run was refused: closed with " << c.close_code();
  EXPECT_EQ((*w)["user"], "alice");
  second.stop();

  // A secret file others can read is refused rather than used.
  std::filesystem::permissions(secret, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  ServerProcess third({"--port", "0", "--dev-login", "--log-level", "off"}, dir.string());
  EXPECT_EQ(third.port(), 0);
  std::filesystem::remove_all(dir);
}
