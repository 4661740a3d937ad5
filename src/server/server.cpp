#include "server.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "http_session.hpp"
#include "log.hpp"
#include "memory_streams.hpp"
#include "redis_streams.hpp"
#include "push/redis_push_store.hpp"
#include "ws_session.hpp"

namespace sb::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
JwtConfig jwt_of(const Config& c) {
  JwtConfig j = c.jwt;
  if (j.secret.empty()) j.secret = c.jwt_secret;
  return j;
}

// host-pid-random: unique without configuration (a restarted node is a new node).
std::string make_node_id() {
  char host[64] = "node";
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  char tail[16];
  std::snprintf(tail, sizeof tail, "%08x", rd());
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + tail;
}

std::shared_ptr<RedisEngine> redis_of(const Config& c) {
  if (c.redis_urls.empty()) return nullptr;
  RedisOptions o;
  for (const auto& url : c.redis_urls) {
    RedisAddress a;
    std::string why;
    if (!parse_redis_url(url, a, why)) throw std::invalid_argument(why);
    o.shards.push_back(a);
  }
  o.node_id = c.node_id.empty() ? make_node_id() : c.node_id;
  o.presence_ttl = c.presence_ttl;
  return std::make_shared<RedisEngine>(std::move(o));
}
StreamOptions streams_of(const Config& c) {
  StreamOptions o;
  o.history_size = c.history_size;
  o.history_ttl = c.history_ttl;
  o.idempotency_ttl = c.idempotency_ttl;
  o.max_replay_bytes = c.max_buffered_bytes / 2;  // a replay may not get its connection cut off
  return o;
}

std::unique_ptr<StreamStore> stream_store_of(const Config& c, const std::shared_ptr<RedisEngine>& redis) {
  if (redis) return std::make_unique<RedisStreams>(redis, streams_of(c));
  return std::make_unique<MemoryStreams>(streams_of(c));
}
}  // namespace

ServerContext::ServerContext(Config c)
    : config(std::move(c)),
      auth(jwt_of(config)),
      redis(redis_of(config)),
      hub(redis ? std::unique_ptr<Broker>(std::make_unique<RedisBroker>(redis)) : std::make_unique<MemoryBroker>(),
          redis ? std::unique_ptr<PresenceManager>(std::make_unique<RedisPresence>(redis)) : std::make_unique<MemoryPresence>(),
          stream_store_of(config, redis)) {
  if (!config.push.enabled) return;
  if (redis) {  // one store and one VAPID key for the whole cluster (docs/scaling.md)
    auto engine = redis;
    push = std::make_unique<push::PushService>(
        config.push, std::make_unique<push::RedisSubscriptionStore>(redis),
        [engine](const std::string& fresh, std::string& error) {
          return push::redis_vapid_key(*engine, fresh, std::chrono::seconds(10), error);
        });
  } else {
    push = std::make_unique<push::PushService>(config.push);
  }
  if (!push->start(push_error)) push.reset();
}


Server::Server(Config config)
    : ctx_(std::make_unique<ServerContext>(std::move(config))),
      ioc_(1),
      acceptor_(net::make_strand(ioc_)),
      accept_timer_(acceptor_.get_executor()) {}

Server::~Server() { stop(); }

unsigned short Server::start() {
  auto& cfg = ctx_->config;
  if (auto problem = ctx_->auth.check(); !problem.empty()) throw std::runtime_error(problem);
  log::Level level;
  if (log::parse_level(cfg.log_level, level)) log::set_level(level);
  tcp::endpoint ep{net::ip::make_address(cfg.bind), cfg.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  unsigned n = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  // One event loop per thread, each owning the connections it accepted (no strands, no locks on
  // a connection's own path); the acceptor deals them out in turn.
  for (unsigned i = 1; i < n; ++i) more_loops_.push_back(std::make_unique<net::io_context>(1));
  for (auto& loop : more_loops_) work_.push_back(net::make_work_guard(*loop));  // idle loops wait, not return
  accept();
  threads_.emplace_back([this] { run_io_thread(ioc_); });
  for (auto& loop : more_loops_) threads_.emplace_back([&loop = *loop] { run_io_thread(loop); });
  started_ = true;
  return acceptor_.local_endpoint().port();
}

void Server::accept() {
  const std::size_t turn = next_loop_++ % (more_loops_.size() + 1);
  net::io_context& loop = turn == 0 ? ioc_ : *more_loops_[turn - 1];
  acceptor_.async_accept(loop.get_executor(), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      return accept_failed(ec);
    }
    accept_backoff_ = std::chrono::milliseconds(0);
    socket.set_option(tcp::no_delay(true), ec);
    try {
      std::make_shared<HttpSession>(std::move(socket), *ctx_)->run();
    } catch (const std::exception& e) {
      log::error("accept_exception").kv("what", e.what());
    }
    accept();
  });
}

// Out of file descriptors (EMFILE/ENFILE) and the like: the pending connection stays in the
// backlog and accept() would fail again at once, spinning a core. Wait instead, longer each time
// (up to a second), and log once per interval with the count, not once per failure.
void Server::accept_failed(const boost::system::error_code& ec) {
  ctx_->metrics.accept_errors.fetch_add(1, std::memory_order_relaxed);
  ++accept_failures_;
  auto now = std::chrono::steady_clock::now();
  if (now - accept_logged_ >= kAcceptLogInterval) {
    log::error("accept_failed").kv("error", ec.message()).kv("failures", accept_failures_)
        .kv("backoff_ms", static_cast<long long>(accept_backoff_.count()));
    accept_logged_ = now;
    accept_failures_ = 0;
  }
  accept_backoff_ = std::clamp(accept_backoff_ * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  accept_timer_.expires_after(accept_backoff_);
  accept_timer_.async_wait([this](boost::system::error_code wait_ec) {
    if (!wait_ec && acceptor_.is_open()) accept();
  });
}

void Server::stop() {
  if (!started_) return;
  started_ = false;
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
  });
  std::vector<std::shared_ptr<WsSession>> sessions;
  {
    std::lock_guard lock(ctx_->sessions_mu);
    ctx_->stopping = true;
    sessions.assign(ctx_->sessions.begin(), ctx_->sessions.end());
  }
  for (auto& s : sessions) s->shutdown();
  sessions.clear();
  // Sessions close within their grace period; then nothing is left to run.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(ctx_->sessions_mu);
      if (ctx_->sessions.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  work_.clear();
  ioc_.stop();
  for (auto& loop : more_loops_) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // The close posted above may not have run before the stop (seen under load): the port would
  // then stay open with nobody serving it, and a new connection would hang in its handshake.
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::lock_guard lock(ctx_->sessions_mu);
  ctx_->sessions.clear();  // sockets must go before the io_context does
}

}  // namespace sb::server
