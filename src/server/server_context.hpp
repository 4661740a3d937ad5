// What every session of one server shares: its configuration, hub and authenticator.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "auth.hpp"
#include "config.hpp"
#include "hub.hpp"

namespace sb::server {

class WsSession;

struct ServerContext {
  explicit ServerContext(Config c) : config(std::move(c)), auth(config.jwt_secret) {}
  Config config;
  Authenticator auth;
  Hub hub;
  std::atomic<std::uint64_t> next_conn{1};
  std::atomic<bool> stopping{false};

  // Live sessions, so that shutdown can close them all.
  std::mutex sessions_mu;
  std::unordered_set<std::shared_ptr<WsSession>> sessions;
};

}  // namespace sb::server
