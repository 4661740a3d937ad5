// TEST ONLY (--test-rtc-jitter-ms): relays each rtc signal after a random delay of 0..N ms, so
// that end-to-end tests see signals arrive late and out of order (e2e/rtc_stress.spec.js). The
// request is answered at once, as without the option; a signal whose recipient left meanwhile
// is dropped, as one the recipient's socket lost would be. Off (0) unless the flag is given.
#include <chrono>
#include <memory>
#include <random>

#include "../protocol/errors.hpp"
#include "ws_session.hpp"

namespace sb::server {

HubResult WsSession::relay_rtc_with_jitter(const std::string& cid, const std::string& payload) {
  if (!ctx_.hub.presence().connection_exists(cid))
    return HubResult::fail(sb::protocol::Error::RecipientOffline, "No connection " + cid + ".");
  thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = std::uniform_int_distribution<int>(0, ctx_.config.test_rtc_jitter_ms)(rng);
  auto timer = std::make_shared<boost::asio::steady_timer>(socket_.get_executor(), std::chrono::milliseconds(delay));
  timer->async_wait([self = shared_from_this(), timer, cid, payload](beast::error_code ec) {
    if (!ec) self->ctx_.hub.relay_rtc(*self, cid, payload);
  });
  return {};
}

}  // namespace sb::server
