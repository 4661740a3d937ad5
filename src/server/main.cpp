// switchboard-server: the realtime relay. `switchboard-server --help` lists every option (each
// also readable from an environment variable); docs/operations.md explains them.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <filesystem>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <CLI/CLI.hpp>

#include "ice_servers.hpp"
#include "log.hpp"
#include "private_file.hpp"
#include "queries.hpp"
#include "server.hpp"

namespace {
// The dev login's secret: kept in a file (mode 0600) so that a restart of `npm start` keeps
// every open page's token valid. Made on first use from OpenSSL's CSPRNG. Empty on failure.
std::string dev_secret(const std::string& path, std::string& why) {
  std::string secret;
  if (sb::server::read_file(path, secret)) {
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      why = path + " is readable by others: chmod 600 it, or delete it to make a new one";
      return {};
    }
    if (secret.size() >= 32) return secret;
  }
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    why = "no randomness for the dev secret";
    return {};
  }
  secret.clear();
  for (unsigned char b : bytes) {
    secret += "0123456789abcdef"[b >> 4];
    secret += "0123456789abcdef"[b & 15];
  }
  // Two servers starting at once in one folder end up sharing the first one's secret.
  auto made = sb::server::write_new_private_file(path, secret);
  if (made == sb::server::NewFile::Written) return secret;
  std::string theirs;
  if (made == sb::server::NewFile::Exists && sb::server::read_file(path, theirs) && theirs.size() >= 32) return theirs;
  why = "cannot write " + path;
  return {};
}

// Many connections need many descriptors: take the soft limit up to the hard one.
void raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}
}  // namespace

int main(int argc, char** argv) {
  using sb::server::log::Level;
  sb::server::Config cfg;
  CLI::App app{"Switchboard realtime server. Every option can also be set by the environment variable shown."};
  app.option_defaults()->always_capture_default();
  app.fallthrough();
  std::size_t max_frame = cfg.limits.max_frame_bytes;
  int idle = static_cast<int>(cfg.idle_timeout.count());
  int leeway = static_cast<int>(cfg.jwt.leeway.count());
  std::string public_key_file, private_key_file;
  bool allow_no_exp = false;

  app.add_option("--bind", cfg.bind, "Address to listen on (0.0.0.0: every interface)")->envname("SWITCHBOARD_BIND");
  app.add_option("--port", cfg.port, "TCP port (0: any free port)")->envname("PORT");
  app.add_option("--threads", cfg.threads, "I/O threads (0: one per core)")->envname("SWITCHBOARD_THREADS");
  app.add_option("--static", cfg.static_dir, "Directory served at /")->envname("SWITCHBOARD_STATIC");
  app.add_option("--package", cfg.package_dir, "Directory served at /switchboard/ (the built npm package)")
      ->envname("SWITCHBOARD_PACKAGE");
  app.add_flag("--dev-login", cfg.dev_login,
               "Enable GET /dev/token?user=<id>[&ttl=<s>] and loopback origins (development only)")
      ->envname("SWITCHBOARD_DEV_LOGIN");
  std::string dev_secret_file = ".switchboard/dev-secret";
  app.add_option("--dev-secret-file", dev_secret_file,
                 "With --dev-login and no secret: the file (mode 0600) holding the dev secret, made on first start")
      ->envname("SWITCHBOARD_DEV_SECRET_FILE");
  app.add_option("--metrics-token", cfg.metrics_token,
                 "When set, GET /metrics needs the header \"Authorization: Bearer <token>\"")
      ->envname("SWITCHBOARD_METRICS_TOKEN");
  app.add_option("--log-level", cfg.log_level, "debug, info, warn, error or off (logfmt lines on stderr)")
      ->envname("SWITCHBOARD_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));

  std::string ice_servers;
  app.add_option("--ice-servers", ice_servers,
                 "STUN/TURN servers for WebRTC calls, handed to clients at connect: a JSON array of RTCIceServer or comma-separated URLs")
      ->envname("SWITCHBOARD_ICE_SERVERS");
  app.add_option("--test-rtc-jitter-ms", cfg.test_rtc_jitter_ms,
                 "TEST ONLY: delay each relayed rtc signal by a random 0..N ms (reorders them); never in production")
      ->group("")->check(CLI::Range(0, 5000));

  auto* jwt = "Authentication";
  app.add_option("--jwt-alg", cfg.jwt.algorithm, "Token algorithm: HS256, HS384, HS512 (secret), RS256, ES256 (public key)")
      ->envname("SWITCHBOARD_JWT_ALG")->group(jwt)
      ->check(CLI::IsMember({"HS256", "HS384", "HS512", "RS256", "ES256"}));
  app.add_option("--jwt-secret", cfg.jwt.secret, "HS* shared secret (with --dev-login and none given: kept in --dev-secret-file)")
      ->envname("SWITCHBOARD_JWT_SECRET")->group(jwt);
  app.add_option("--jwt-public-key", public_key_file, "RS256/ES256: PEM file with the public key that verifies tokens")
      ->envname("SWITCHBOARD_JWT_PUBLIC_KEY")->group(jwt);
  app.add_option("--jwt-private-key", private_key_file,
                 "RS256/ES256: PEM file with the private key, only for gentoken and --dev-login")
      ->envname("SWITCHBOARD_JWT_PRIVATE_KEY")->group(jwt);
  app.add_option("--jwt-leeway", leeway, "Seconds of clock skew allowed on exp and nbf")
      ->envname("SWITCHBOARD_JWT_LEEWAY")->group(jwt)->check(CLI::Range(0, 3600));
  app.add_option("--jwt-issuer", cfg.jwt.issuer, "When set, tokens must carry this \"iss\"")
      ->envname("SWITCHBOARD_JWT_ISSUER")->group(jwt);
  app.add_option("--jwt-audience", cfg.jwt.audience, "When set, tokens' \"aud\" must contain this")
      ->envname("SWITCHBOARD_JWT_AUDIENCE")->group(jwt);
  app.add_flag("--jwt-allow-no-exp", allow_no_exp, "Accept tokens without \"exp\" (not recommended)")
      ->envname("SWITCHBOARD_JWT_ALLOW_NO_EXP")->group(jwt);
  app.add_option("--allowed-origins", cfg.allowed_origins,
                 "Comma-separated browser origins allowed besides the server's own, e.g. "
                 "https://app.example.com,https://*.example.com; * allows any")
      ->envname("SWITCHBOARD_ALLOWED_ORIGINS")->delimiter(',')->group(jwt);

  auto* lim = "Limits";
  app.add_option("--max-frame-bytes", max_frame, "Largest incoming message; larger: TOO_LARGE error (16x or >1 MiB: close 1009)")
      ->envname("SWITCHBOARD_MAX_FRAME_BYTES")->group(lim)->check(CLI::Range(std::size_t{256}, std::size_t{16} << 20));
  app.add_option("--max-depth", cfg.limits.max_depth, "Deepest JSON nesting in a frame (TOO_DEEP)")
      ->envname("SWITCHBOARD_MAX_DEPTH")->group(lim)->check(CLI::Range(2, 512));
  app.add_option("--max-buffered-bytes", cfg.max_buffered_bytes,
                 "Outgoing bytes queued per connection before it is cut off as a slow consumer (close 4008)")
      ->envname("SWITCHBOARD_MAX_BUFFERED_BYTES")->group(lim);
  app.add_option("--idle-timeout", idle, "Seconds without any sign of life before a connection is dropped; pings at half")
      ->envname("SWITCHBOARD_IDLE_TIMEOUT")->group(lim)->check(CLI::Range(1, 86400));
  app.add_option("--rate", cfg.rate_per_second, "Requests per second per connection, on average (0: unlimited; RATE_LIMITED)")
      ->envname("SWITCHBOARD_RATE")->group(lim)->check(CLI::NonNegativeNumber);
  app.add_option("--rate-burst", cfg.rate_burst, "Requests a connection may send at once before --rate applies")
      ->envname("SWITCHBOARD_RATE_BURST")->group(lim)->check(CLI::PositiveNumber);
  app.add_option("--max-connections", cfg.max_connections,
                 "WebSocket connections in all (0: no cap); over it new ones get 503 before the upgrade")
      ->envname("SWITCHBOARD_MAX_CONNECTIONS")->group(lim);
  app.add_option("--max-connections-per-user", cfg.max_connections_per_user,
                 "Connections one user may hold (0: unlimited; close 4003); a token's max_connections lowers it")
      ->envname("SWITCHBOARD_MAX_CONNECTIONS_PER_USER")->group(lim);
  app.add_option("--max-reply-bytes", cfg.max_reply_bytes,
                 "Largest users/groups reply; a page stops early (endOfList false, startKey continues)")
      ->envname("SWITCHBOARD_MAX_REPLY_BYTES")->group(lim)
      ->check(CLI::Range(sb::server::kMinReplyBytes, std::size_t{16} << 20));
  app.add_option("--reply-rate-bytes", cfg.reply_rate_bytes,
                 "Query reply bytes per second per connection, on average (0: unlimited; then RATE_LIMITED)")
      ->envname("SWITCHBOARD_REPLY_RATE_BYTES")->group(lim)->check(CLI::NonNegativeNumber);
  app.add_option("--reply-burst-bytes", cfg.reply_burst_bytes,
                 "Query reply bytes a connection may get at once before --reply-rate-bytes applies")
      ->envname("SWITCHBOARD_REPLY_BURST_BYTES")->group(lim)->check(CLI::PositiveNumber)->default_str("1048576");
  app.add_option("--max-query-scan", cfg.max_query_scan,
                 "Index entries one users/groups request may examine before it returns a partial page")
      ->envname("SWITCHBOARD_MAX_QUERY_SCAN")->group(lim)->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));

  auto* wp = "Web Push";
  auto& push = cfg.push;
  push.vapid_key_file = ".switchboard/vapid-private-key.pem";
  bool no_push = false;
  long long push_timeout_ms = push.timeout.count(), push_retry_ms = push.retry_base.count();
  app.add_flag("--no-push", no_push, "Disable Web Push (vapid/subscribe/push requests answer NOT_SUPPORTED)")
      ->envname("SWITCHBOARD_NO_PUSH")->group(wp);
  app.add_option("--vapid-key-file", push.vapid_key_file,
                 "PEM file (mode 0600) with the VAPID P-256 private key; made on first start. Deleting it rotates the key")
      ->envname("SWITCHBOARD_VAPID_KEY_FILE")->group(wp);
  app.add_option("--vapid-subject", push.vapid_subject, "VAPID \"sub\": a mailto: or https: contact for push services")
      ->envname("SWITCHBOARD_VAPID_SUBJECT")->group(wp);
  app.add_option("--push-ca-file", push.ca_file, "Extra CA certificates (PEM) trusted for push services, e.g. a private CA")
      ->envname("SWITCHBOARD_PUSH_CA_FILE")->group(wp);
  app.add_option("--push-allowed-hosts", push.allowed_hosts,
                 "Comma-separated hosts subscription endpoints may name (exact, *.suffix, or * for any); "
                 "default: the push services of Chrome, Edge, Firefox and Safari")
      ->envname("SWITCHBOARD_PUSH_ALLOWED_HOSTS")->delimiter(',')->group(wp);
  app.add_option("--push-max-subscriptions-per-user", push.max_subscriptions_per_user,
                 "Subscriptions kept per user; adding one more drops the oldest")
      ->envname("SWITCHBOARD_PUSH_MAX_SUBSCRIPTIONS_PER_USER")->group(wp)->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  app.add_option("--push-queue", push.queue_max, "Pushes waiting to be sent; more are dropped (switchboard_push_dropped_total)")
      ->envname("SWITCHBOARD_PUSH_QUEUE")->group(wp)->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  app.add_option("--push-concurrency", push.concurrency, "Push requests in flight at once")
      ->envname("SWITCHBOARD_PUSH_CONCURRENCY")->group(wp)->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app.add_option("--push-attempts", push.max_attempts, "Attempts per push (retries on 429, 5xx and network errors)")
      ->envname("SWITCHBOARD_PUSH_ATTEMPTS")->group(wp)->check(CLI::Range(1, 20));
  app.add_option("--push-retry-ms", push_retry_ms, "First retry delay in ms; doubles per attempt, at most 60 s")
      ->envname("SWITCHBOARD_PUSH_RETRY_MS")->group(wp)->check(CLI::Range(1LL, 600000LL));
  app.add_option("--push-timeout-ms", push_timeout_ms, "Deadline of one push attempt (connect, TLS, request, response)")
      ->envname("SWITCHBOARD_PUSH_TIMEOUT_MS")->group(wp)->check(CLI::Range(100LL, 600000LL));
  app.add_option("--push-ttl", push.ttl_seconds, "TTL header: seconds a push service keeps a message for an offline device")
      ->envname("SWITCHBOARD_PUSH_TTL")->group(wp)->check(CLI::Range(0, 2419200));
  app.add_option("--push-urgency", push.urgency, "Urgency header")
      ->envname("SWITCHBOARD_PUSH_URGENCY")->group(wp)->check(CLI::IsMember({"very-low", "low", "normal", "high"}));
  auto* cluster = "Cluster (docs/scaling.md)";
  app.add_option("--redis", cfg.redis_urls,
                 "redis://host:port[/db] of a Redis shard; repeat (or comma-separate) for several. None: one node, in memory")
      ->envname("SWITCHBOARD_REDIS_URL")->delimiter(',')->group(cluster);
  app.add_option("--node-id", cfg.node_id, "This node's id, unique in the cluster (default: host-pid-random)")
      ->envname("SWITCHBOARD_NODE_ID")->group(cluster);
  double presence_ttl = cfg.presence_ttl.count() / 1000.0;
  app.add_option("--presence-ttl", presence_ttl,
                 "Seconds a node's presence outlives its last heartbeat; a dead node's users go within 1.25x this")
      ->envname("SWITCHBOARD_PRESENCE_TTL")->group(cluster)->check(CLI::Range(0.2, 3600.0));
  auto* api = "Server API for app backends (docs/operations.md, Server API)";
  app.add_option("--api-key", cfg.api_key,
                 "Key of POST /api/publish, /api/disconnect, GET /api/presence (\"Authorization: apikey <key>\"); "
                 "none: the API is off. At least 16 characters")
      ->envname("SWITCHBOARD_API_KEY")->group(api);
  app.add_option("--api-sender", cfg.api_sender, "The `sender` of messages published through the API")
      ->envname("SWITCHBOARD_API_SENDER")->group(api)->capture_default_str();
  app.add_option("--api-max-body-bytes", cfg.api_max_body_bytes,
                 "Largest API request body (0: --max-frame-bytes + 4096); larger: 413 TOO_LARGE")
      ->envname("SWITCHBOARD_API_MAX_BODY_BYTES")->group(api);

  auto* streams = "Streams and recovery (docs/protocol.md)";
  long long history_ttl = cfg.history_ttl.count(), idempotency_ttl = cfg.idempotency_ttl.count();
  app.add_option("--history-size", cfg.history_size,
                 "Messages kept per group and per user's private stream for recovery (0: none)")
      ->envname("SWITCHBOARD_HISTORY_SIZE")->group(streams)->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  app.add_option("--history-ttl", history_ttl, "Seconds a message stays in history")
      ->envname("SWITCHBOARD_HISTORY_TTL")->group(streams)->check(CLI::Range(1LL, 30LL * 24 * 3600));
  app.add_option("--idempotency-ttl", idempotency_ttl,
                 "Seconds a post's idempotency key is remembered (a repeat is not published; 0: off)")
      ->envname("SWITCHBOARD_IDEMPOTENCY_TTL")->group(streams)->check(CLI::Range(0LL, 24LL * 3600));

  std::string gen_user;
  int gen_ttl = 3600;
  std::vector<std::string> gen_groups;
  std::size_t gen_max_conns = 0;
  auto* gentoken = app.add_subcommand("gentoken", "Print a token signed with the configured secret or private key");
  gentoken->add_option("--user", gen_user, "User id (the token's sub)")->required();
  gentoken->add_option("--ttl", gen_ttl, "Lifetime in seconds");
  gentoken->add_option("--groups", gen_groups, "Comma-separated \"groups\" claim: the groups the user may join")
      ->delimiter(',');
  gentoken->add_option("--max-connections", gen_max_conns, "\"max_connections\" claim (0: none)");
  bool gen_admin = false;
  gentoken->add_flag("--admin", gen_admin, "\"admin\": true claim (may send pushNotification)");
  CLI11_PARSE(app, argc, argv);
  cfg.limits.max_frame_bytes = max_frame;
  push.enabled = !no_push;
  push.timeout = std::chrono::milliseconds(push_timeout_ms);
  push.retry_base = std::chrono::milliseconds(push_retry_ms);
  cfg.idle_timeout = std::chrono::seconds(idle);
  cfg.jwt.leeway = std::chrono::seconds(leeway);
  cfg.jwt.require_exp = !allow_no_exp;
  if (std::string why; !sb::server::parse_ice_servers(ice_servers, cfg.ice_servers_json, why)) {
    std::cerr << "--ice-servers: " << why << "\n";
    return 2;
  }
  cfg.presence_ttl = std::chrono::milliseconds(static_cast<long long>(presence_ttl * 1000));
  cfg.history_ttl = std::chrono::seconds(history_ttl);
  cfg.idempotency_ttl = std::chrono::seconds(idempotency_ttl);
  if (!cfg.api_key.empty() && cfg.api_key.size() < 16) {
    std::cerr << "--api-key: at least 16 characters (a guessable key opens the API to anyone)\n";
    return 2;
  }
  if (!sb::protocol::valid_name(cfg.api_sender, cfg.limits.max_name_bytes)) {
    std::cerr << "--api-sender: a valid user id (1 to 128 bytes of UTF-8, no control characters)\n";
    return 2;
  }
  Level level;
  if (sb::server::log::parse_level(cfg.log_level, level)) sb::server::log::set_level(level);
  if (cfg.reply_rate_bytes > 0 && cfg.reply_burst_bytes + cfg.max_reply_bytes > cfg.max_buffered_bytes)
    sb::server::log::warn("config").kv("problem",
        "--reply-burst-bytes + --max-reply-bytes exceed --max-buffered-bytes: a burst of queries can get its asker cut off");

  if (!public_key_file.empty() && !sb::server::read_file(public_key_file, cfg.jwt.public_key)) {
    std::cerr << "cannot read --jwt-public-key " << public_key_file << "\n";
    return 2;
  }
  if (!private_key_file.empty() && !sb::server::read_file(private_key_file, cfg.jwt.private_key)) {
    std::cerr << "cannot read --jwt-private-key " << private_key_file << "\n";
    return 2;
  }
  const bool hs = cfg.jwt.algorithm.rfind("HS", 0) == 0;

  if (*gentoken) {
    sb::server::Authenticator auth(cfg.jwt);
    if (!auth.can_issue()) {
      std::cerr << "gentoken needs " << (hs ? "--jwt-secret or SWITCHBOARD_JWT_SECRET" : "--jwt-private-key") << "\n";
      return 2;
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    nlohmann::json claims{{"sub", gen_user}, {"iat", now}, {"exp", now + gen_ttl}};
    if (!cfg.jwt.issuer.empty()) claims["iss"] = cfg.jwt.issuer;
    if (!cfg.jwt.audience.empty()) claims["aud"] = cfg.jwt.audience;
    if (!gen_groups.empty()) claims["groups"] = gen_groups;
    if (gen_max_conns) claims["max_connections"] = gen_max_conns;
    if (gen_admin) claims["admin"] = true;
    std::cout << auth.issue(claims) << "\n";
    return 0;
  }
  if (hs && cfg.jwt.secret.empty()) {
    if (!cfg.dev_login) {
      std::cerr << "refusing to start: set --jwt-secret (or SWITCHBOARD_JWT_SECRET), or --dev-login for development\n";
      return 2;
    }
    std::string why;
    cfg.jwt.secret = dev_secret(dev_secret_file, why);
    if (cfg.jwt.secret.empty()) {
      std::cerr << "refusing to start: " << why << "\n";
      return 2;
    }
  }
  if (auto problem = sb::server::Authenticator(cfg.jwt).check(); !problem.empty()) {
    std::cerr << "refusing to start: " << problem << "\n";
    return 2;
  }

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  raise_fd_limit();
  std::unique_ptr<sb::server::Server> server_ptr;
  try {
    server_ptr = std::make_unique<sb::server::Server>(cfg);
  } catch (const std::invalid_argument& e) {
    std::cerr << "refusing to start: " << e.what() << "\n";
    return 2;
  }
  sb::server::Server& server = *server_ptr;
  if (!server.context().push_error.empty()) {
    std::cerr << "refusing to start: " << server.context().push_error << "\n";
    return 2;
  }
  unsigned short port;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on " << cfg.bind << ":" << cfg.port << ": " << e.what() << "\n";
    return 1;
  }
  std::string host = cfg.bind == "0.0.0.0" || cfg.bind == "127.0.0.1" ? "localhost" : cfg.bind;
  std::cout << "switchboard listening on http://" << host << ":" << port << "/" << std::endl;
  sb::server::log::info("server_start").kv("bind", cfg.bind).kv("port", static_cast<unsigned>(port))
      .kv("threads", cfg.threads).kv("jwt_alg", cfg.jwt.algorithm).kv("dev_login", cfg.dev_login);
  int sig = 0;
  sigwait(&sigs, &sig);
  sb::server::log::info("server_stop").kv("signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop();
  sb::server::log::info("server_stopped");
  return 0;
}
