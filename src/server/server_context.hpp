// What every session of one server shares: its configuration, hub, authenticator and metrics.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "auth.hpp"
#include "config.hpp"
#include "http_queries.hpp"
#include "hub.hpp"
#include "metrics.hpp"
#include "push/push_service.hpp"
#include "redis_engine.hpp"

namespace sb::server {

class WsSession;

struct ServerContext {
  explicit ServerContext(Config c);
  Config config;
  Authenticator auth;
  std::shared_ptr<RedisEngine> redis;  // null: one node, in memory; outlives the hub
  Hub hub;
  Metrics metrics;
  // Web Push; null when disabled, or when it could not start (push_error says why).
  std::unique_ptr<push::PushService> push;
  std::string push_error;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> ws_sessions{0};  // WebSocket sessions alive (Config::max_connections)
  HttpQueryBudgets http_budgets;            // reply bytes of POST /realtime/users|groups, per user

  // Tests only (fault injection): called with each WebSocket request's text and each HTTP
  // request's target before it is handled; a throw there is a handler that throws.
  std::function<void(std::string_view)> fault_hook;

  // Live sessions, so that shutdown can close them all and /metrics can sum their buffers.
  std::mutex sessions_mu;
  std::unordered_set<std::shared_ptr<WsSession>> sessions;
};

}  // namespace sb::server
