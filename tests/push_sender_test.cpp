// The push sender against a real TCP peer that accepts and never answers (a hanging push
// service): the queue is bounded, the overflow is counted, and shutting down does not wait for it.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "server/jwt.hpp"
#include "server/push/push_service.hpp"
#include "server_fixture.hpp"

using namespace sb::server;
using namespace sb::server::push;
using sb::testing::eventually;
using sb::testing::ms;
namespace net = boost::asio;

TEST(PushSenderTest, BoundedQueueAgainstAHangingPushService) {
  net::io_context ioc;
  net::ip::tcp::acceptor hang(ioc, {net::ip::make_address("127.0.0.1"), 0});  // accepts (backlog), never answers
  PushConfig cfg;
  cfg.allowed_hosts = {"127.0.0.1"};
  cfg.concurrency = 1;
  cfg.queue_max = 2;
  cfg.max_attempts = 1;
  cfg.timeout = std::chrono::hours(1);  // the request stays in flight for the whole test
  auto svc = std::make_unique<PushService>(cfg);
  std::string error;
  ASSERT_TRUE(svc->start(error)) << error;
  Subscription s{"https://127.0.0.1:" + std::to_string(hang.local_endpoint().port()) + "/push/1",
                 jwt::base64url_encode(P256Key::generate().public_raw()), jwt::base64url_encode(std::string(16, 'a'))};
  ASSERT_TRUE(svc->subscribe("u", s).ok);
  const std::string payload = PushService::payload("t", "b");
  EXPECT_EQ(svc->notify("u", payload), 1u);
  std::string metrics;
  ASSERT_TRUE(eventually([&] {
    metrics.clear();
    svc->render_metrics(metrics);
    return metrics.find("switchboard_push_in_flight 1\n") != std::string::npos;
  }));
  std::size_t queued = 0;
  for (int i = 0; i < 4; ++i) queued += svc->notify("u", payload);
  EXPECT_EQ(queued, 2u);  // queue_max
  metrics.clear();
  svc->render_metrics(metrics);
  EXPECT_NE(metrics.find("switchboard_push_dropped_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("switchboard_push_queue 2\n"), std::string::npos) << metrics;
  auto before = std::chrono::steady_clock::now();
  svc.reset();  // stops the sender with a request hanging: must not wait for its hour-long deadline
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::minutes(5));  // liveness, not speed
}
