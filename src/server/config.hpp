// Server configuration: every field has a flag and an environment variable (main.cpp, --help;
// docs/operations.md).
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "../protocol/limits.hpp"
#include "push/push_config.hpp"

namespace sb::server {

// How tokens are checked (auth.hpp).
struct JwtConfig {
  std::string algorithm = "HS256";  // HS256, HS384, HS512 (secret) or RS256, ES256 (public key)
  std::string secret;               // HS*: the shared secret
  std::string public_key;           // RS256/ES256: PEM text of the public key (verification)
  std::string private_key;          // RS256/ES256: PEM text of the private key (gentoken, dev login)
  std::chrono::seconds leeway{30};  // clock skew allowed on exp and nbf
  std::string issuer;               // when set, "iss" must equal it
  std::string audience;             // when set, "aud" (string or array) must contain it
  bool require_exp = true;          // tokens without "exp" are refused
};

struct Config {
  std::string bind = "127.0.0.1";
  unsigned short port = 8080;        // 0: pick a free port (tests)
  unsigned threads = 0;              // 0: one per core
  std::string static_dir;            // served at /      (empty: none)
  std::string package_dir;           // served at /switchboard/ (empty: none)
  bool dev_login = false;            // GET /dev/token?user=<id>
  std::string jwt_secret;            // HS secret (kept for compatibility; copied into jwt.secret)
  JwtConfig jwt;
  std::chrono::seconds dev_token_ttl{24 * 3600};
  protocol::Limits limits;
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;  // per connection, outgoing; then cut off (4008)
  std::chrono::seconds idle_timeout{60};              // WebSocket pings after half of it
  double rate_per_second = 100;      // per-connection request rate (token bucket); 0: unlimited
  double rate_burst = 200;           // bucket size
  std::size_t max_connections_per_user = 32;  // 0: unlimited; a token's max_connections lowers it
  std::size_t max_connections = 10000;        // WebSocket sessions in all; then 503 before the upgrade (0: no cap)
  std::string metrics_token;         // when set, GET /metrics needs "Authorization: Bearer <it>"
  // Queries (users, groups): what one reply and one connection's replies may cost.
  std::size_t max_reply_bytes = 64 * 1024;    // one reply at most; a page stops early (min 4096)
  double reply_rate_bytes = 256 * 1024;       // per-connection query-reply bytes per second; 0: unlimited
  double reply_burst_bytes = 1024 * 1024;     // bucket size
  std::size_t max_query_scan = 4096;          // index entries one query may examine
  // Origins allowed to open a WebSocket. Empty: the same origin as the Host header (and, with
  // dev_login, any http(s)://localhost / 127.0.0.1 / [::1] origin). "*" allows every origin;
  // "https://*.example.com" allows subdomains. Requests without Origin (native clients) pass.
  std::vector<std::string> allowed_origins;
  std::string log_level = "info";    // debug, info, warn, error, off
  // RTC: the ICE servers handed to clients in the welcome (a JSON array of RTCIceServer), used
  // when connectRTC is given none. Empty: none (host candidates only).
  std::string ice_servers_json;
  // TEST ONLY (--test-rtc-jitter-ms): delay every relayed rtc signal by a random 0..N ms, so
  // tests see signals late and out of order. 0 (the default) in any real deployment.
  int test_rtc_jitter_ms = 0;
  push::PushConfig push;             // Web Push (src/server/push)
  // Several nodes (docs/scaling.md): empty: one node, in memory. Otherwise redis://host:port[/db]
  // URLs; channels are sharded over them, presence lives on the first.
  std::vector<std::string> redis_urls;
  std::string node_id;                               // unique per node (empty: host-pid-random)
  std::chrono::milliseconds presence_ttl{20000};     // a dead node's connections go within 1.25 x this
  // Streams and recovery (docs/protocol.md): history per group and per user's private stream.
  std::size_t history_size = 1000;                   // entries per stream (0: none; recovery fails)
  std::chrono::seconds history_ttl{300};             // entries older than this are gone
  std::chrono::seconds idempotency_ttl{120};         // a post's key is remembered this long (0: off)
  // The server API for app backends (server_api.hpp): off (404) while api_key is empty.
  std::string api_key;                 // "Authorization: apikey <it>"
  std::string api_sender = "server";   // the `sender` of messages published through the API
  std::size_t api_max_body_bytes = 0;  // one request body at most; 0: max_frame_bytes + 4096
};

}  // namespace sb::server
