// What every session of one server shares: its configuration, hub, authenticator and metrics.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "auth.hpp"
#include "config.hpp"
#include "hub.hpp"
#include "metrics.hpp"

namespace sb::server {

class WsSession;

struct ServerContext {
  explicit ServerContext(Config c);
  Config config;
  Authenticator auth;
  Hub hub;
  Metrics metrics;
  std::atomic<std::uint64_t> next_conn{1};
  std::atomic<bool> stopping{false};

  // Live sessions, so that shutdown can close them all and /metrics can sum their buffers.
  std::mutex sessions_mu;
  std::unordered_set<std::shared_ptr<WsSession>> sessions;
};

}  // namespace sb::server
