// Server configuration: every field has a flag and an environment variable (main.cpp, --help).
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

#include "../protocol/limits.hpp"

namespace sb::server {

struct Config {
  std::string bind = "127.0.0.1";
  unsigned short port = 8080;        // 0: pick a free port (tests)
  unsigned threads = 0;              // 0: one per core
  std::string static_dir;            // served at /      (empty: none)
  std::string package_dir;           // served at /switchboard/ (empty: none)
  bool dev_login = false;            // GET /dev/token?user=<id>
  std::string jwt_secret;            // HS256 secret; empty: a random one (dev only)
  std::chrono::seconds dev_token_ttl{24 * 3600};
  protocol::Limits limits;
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;  // per connection, outgoing; then cut off
  std::chrono::seconds idle_timeout{60};              // WebSocket pings after half of it
};

}  // namespace sb::server
