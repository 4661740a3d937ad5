#include "push_sender.hpp"

#include "../broker.hpp"

#include <algorithm>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "../log.hpp"
#include "ece.hpp"

namespace sb::server::push {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
struct Target {
  std::string host, port = "443", path = "/";
};
// https://host[:port]/path of an endpoint that passed check_subscription.
bool parse_endpoint(const std::string& url, Target& t) {
  std::string origin = Vapid::origin_of(url);
  if (origin.empty()) return false;
  std::string authority = origin.substr(8);
  if (url.size() > origin.size()) t.path = url.substr(origin.size());
  if (t.path.empty() || t.path[0] != '/') t.path = "/" + t.path;
  if (!authority.empty() && authority[0] == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') t.port = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    t.host = authority.substr(0, colon);
    t.port = authority.substr(colon + 1);
  } else {
    t.host = authority;
  }
  return !t.host.empty() && !t.port.empty();
}
}  // namespace

// One HTTPS request: resolve, connect, TLS handshake, POST, read the status. One deadline covers
// all of it (tcp_stream's expiry applies to every operation until changed).
struct PushSender::Attempt : std::enable_shared_from_this<Attempt> {
  PushSender& owner;
  PushJob job;
  Target target;
  tcp::resolver resolver;
  beast::ssl_stream<beast::tcp_stream> stream;
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;

  Attempt(PushSender& o, PushJob j)
      : owner(o), job(std::move(j)), resolver(o.ioc_), stream(o.ioc_, o.ssl_) {
    parser.body_limit(64 * 1024);
  }

  void fail(const std::string& what) { done(0, what); }
  void done(int status, const std::string& error, std::chrono::milliseconds retry_after = {}) {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
    owner.finish(std::move(job), status, error, retry_after);
  }

  void run() {
    std::string error;
    if (!parse_endpoint(job.sub.endpoint, target)) return done(-1, "bad endpoint");
    std::string ua_public, auth;
    if (!jwt::base64url_decode(job.sub.p256dh, ua_public) || !jwt::base64url_decode(job.sub.auth, auth))
      return done(-1, "bad keys");
    EceInput in;
    in.plaintext = job.payload;
    in.ua_public = ua_public;
    in.auth_secret = auth;
    std::string body = ece_encrypt(in, error);
    if (body.empty()) return done(-1, error);
    std::string authorization = owner.vapid_.authorization(job.sub.endpoint, std::chrono::system_clock::now());
    if (authorization.empty()) return done(-1, "cannot sign the VAPID token");
    req = http::request<http::string_body>(http::verb::post, target.path, 11);
    req.set(http::field::host, target.port == "443" ? target.host : target.host + ":" + target.port);
    req.set(http::field::authorization, authorization);
    req.set(http::field::content_encoding, "aes128gcm");
    req.set(http::field::content_type, "application/octet-stream");
    req.set("TTL", std::to_string(owner.cfg_.ttl_seconds));
    req.set("Urgency", owner.cfg_.urgency);
    req.body() = std::move(body);
    req.prepare_payload();

    if (!SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str())) return fail("SNI");
    stream.set_verify_mode(net::ssl::verify_peer);
    stream.set_verify_callback(net::ssl::host_name_verification(target.host));
    beast::get_lowest_layer(stream).expires_after(owner.cfg_.timeout);
    resolver.async_resolve(target.host, target.port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->fail("resolve: " + ec.message());
      beast::get_lowest_layer(self->stream).async_connect(r, [self](beast::error_code ec, const tcp::endpoint&) {
        if (ec) return self->fail("connect: " + ec.message());
        self->stream.async_handshake(net::ssl::stream_base::client, [self](beast::error_code ec) {
          if (ec) return self->fail("tls: " + ec.message());
          http::async_write(self->stream, self->req, [self](beast::error_code ec, std::size_t) {
            if (ec) return self->fail("write: " + ec.message());
            http::async_read(self->stream, self->buffer, self->parser, [self](beast::error_code ec, std::size_t) {
              if (ec) return self->fail("read: " + ec.message());
              auto& res = self->parser.get();
              std::chrono::milliseconds retry_after{};
              if (auto it = res.find(http::field::retry_after); it != res.end()) {
                try {
                  retry_after = std::chrono::seconds(std::stol(std::string(it->value())));
                } catch (...) {
                }
              }
              self->done(static_cast<int>(res.result_int()), {}, retry_after);
            });
          });
        });
      });
    });
  }
};

PushSender::PushSender(const PushConfig& config, const Vapid& vapid, SubscriptionStore& store, PushMetrics& metrics)
    : cfg_(config), vapid_(vapid), store_(store), metrics_(metrics) {}

PushSender::~PushSender() { stop(); }

bool PushSender::start(std::string& error) {
  beast::error_code ec;
  ssl_.set_default_verify_paths(ec);
  if (!cfg_.ca_file.empty()) {
    ssl_.load_verify_file(cfg_.ca_file, ec);
    if (ec) return error = "cannot load --push-ca-file " + cfg_.ca_file + ": " + ec.message(), false;
  }
  started_ = true;
  thread_ = std::thread([this] {
    auto guard = net::make_work_guard(ioc_);
    ioc_.run();
  });
  return true;
}

void PushSender::stop() {
  if (!started_) return;
  started_ = false;
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

bool PushSender::enqueue(PushJob job) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= cfg_.queue_max) {
      metrics_.dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(job));
  }
  metrics_.queued.fetch_add(1, std::memory_order_relaxed);
  net::post(ioc_, [this] { pump(); });
  return true;
}

std::size_t PushSender::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void PushSender::pump() {
  while (in_flight_.load() < std::max<std::size_t>(1, cfg_.concurrency)) {
    PushJob job;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ++in_flight_;
    ++job.attempt;
    std::make_shared<Attempt>(*this, std::move(job))->run();
  }
}

// Sender thread. status: HTTP status, 0 for a network error or timeout, -1 for a job that can
// never succeed (bad keys, encryption).
void PushSender::finish(PushJob job, int status, const std::string& error, std::chrono::milliseconds retry_after) {
  --in_flight_;
  if (status >= 200 && status < 300) {
    metrics_.sent.fetch_add(1, std::memory_order_relaxed);
  } else if (status == 404 || status == 410) {
    // The push service says the subscription is gone for good.
    try {
      if (store_.remove(job.user, job.sub.endpoint)) metrics_.gone.fetch_add(1, std::memory_order_relaxed);
    } catch (const BackendUnavailable&) {  // Redis down: the next push to it finds it gone again
    }
    log::info("push_gone").kv("user", job.user).kv("status", status);
  } else if ((status == 0 || status == 429 || status >= 500) && job.attempt < cfg_.max_attempts) {
    metrics_.retried.fetch_add(1, std::memory_order_relaxed);
    auto delay = std::min(cfg_.retry_max, cfg_.retry_base * (1 << std::min(job.attempt - 1, 16)));
    delay = std::min(cfg_.retry_max, std::max(delay, retry_after));
    log::debug("push_retry").kv("user", job.user).kv("status", status).kv("error", error).kv("attempt", job.attempt);
    auto timer = std::make_shared<net::steady_timer>(ioc_, delay);
    timer->async_wait([this, timer, job = std::move(job)](beast::error_code ec) mutable {
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        queue_.push_front(std::move(job));  // already admitted: not bounded again
      }
      pump();
    });
  } else {
    metrics_.failed.fetch_add(1, std::memory_order_relaxed);
    log::warn("push_failed").kv("user", job.user).kv("status", status).kv("error", error).kv("attempts", job.attempt);
  }
  pump();
}

}  // namespace sb::server::push
