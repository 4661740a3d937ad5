// switchboard-server: the realtime relay. `switchboard-server --help` lists every option;
// docs/operations.md explains them.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>

#include "server.hpp"

namespace {
std::string random_secret() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 32; ++i) s += "0123456789abcdef"[rd() % 16];
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  sb::server::Config cfg;
  CLI::App app{"Switchboard realtime server"};
  app.option_defaults()->always_capture_default();
  std::size_t max_frame = cfg.limits.max_frame_bytes;
  int idle = static_cast<int>(cfg.idle_timeout.count());
  app.add_option("--bind", cfg.bind, "Address to listen on")->envname("SWITCHBOARD_BIND");
  app.add_option("--port", cfg.port, "TCP port (0: any free port)")->envname("PORT");
  app.add_option("--threads", cfg.threads, "I/O threads (0: one per core)")->envname("SWITCHBOARD_THREADS");
  app.add_option("--static", cfg.static_dir, "Directory served at /")->envname("SWITCHBOARD_STATIC");
  app.add_option("--package", cfg.package_dir, "Directory served at /switchboard/ (the built npm package)")
      ->envname("SWITCHBOARD_PACKAGE");
  app.add_flag("--dev-login", cfg.dev_login, "Enable GET /dev/token?user=<id> (development only)")
      ->envname("SWITCHBOARD_DEV_LOGIN");
  app.add_option("--jwt-secret", cfg.jwt_secret, "HS256 secret for tokens (default: random, dev only)")
      ->envname("SWITCHBOARD_JWT_SECRET");
  app.add_option("--max-frame-bytes", max_frame, "Largest incoming frame")->envname("SWITCHBOARD_MAX_FRAME_BYTES");
  app.add_option("--max-depth", cfg.limits.max_depth, "Deepest JSON nesting in a frame")
      ->envname("SWITCHBOARD_MAX_DEPTH");
  app.add_option("--max-buffered-bytes", cfg.max_buffered_bytes,
                 "Outgoing bytes queued per connection before it is cut off as a slow consumer")
      ->envname("SWITCHBOARD_MAX_BUFFERED_BYTES");
  app.add_option("--idle-timeout", idle, "Seconds without a pong before a connection is dropped")
      ->envname("SWITCHBOARD_IDLE_TIMEOUT");

  std::string gen_user;
  int gen_ttl = 3600;
  auto* gentoken = app.add_subcommand("gentoken", "Print a token signed with the configured secret");
  gentoken->add_option("--user", gen_user, "User id (the token's sub)")->required();
  gentoken->add_option("--ttl", gen_ttl, "Lifetime in seconds");
  CLI11_PARSE(app, argc, argv);
  cfg.limits.max_frame_bytes = max_frame;
  cfg.idle_timeout = std::chrono::seconds(idle);

  if (*gentoken) {
    if (cfg.jwt_secret.empty()) {
      std::cerr << "gentoken needs --jwt-secret or SWITCHBOARD_JWT_SECRET\n";
      return 2;
    }
    std::cout << sb::server::Authenticator(cfg.jwt_secret).issue(gen_user, std::chrono::seconds(gen_ttl)) << "\n";
    return 0;
  }
  if (cfg.jwt_secret.empty()) {
    if (!cfg.dev_login) {
      std::cerr << "refusing to start: set --jwt-secret (or SWITCHBOARD_JWT_SECRET), or --dev-login for development\n";
      return 2;
    }
    cfg.jwt_secret = random_secret();
  }

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  sb::server::Server server(cfg);
  unsigned short port;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on " << cfg.bind << ":" << cfg.port << ": " << e.what() << "\n";
    return 1;
  }
  std::string host = cfg.bind == "0.0.0.0" || cfg.bind == "127.0.0.1" ? "localhost" : cfg.bind;
  std::cout << "switchboard listening on http://" << host << ":" << port << "/" << std::endl;
  int sig = 0;
  sigwait(&sigs, &sig);
  std::cout << "switchboard: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down" << std::endl;
  server.stop();
  return 0;
}
