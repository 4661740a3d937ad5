#include "http_session.hpp"
#include "http_queries.hpp"
#include "server_api.hpp"

#include <charconv>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "../protocol/errors.hpp"
#include "../protocol/limits.hpp"
#include "metrics.hpp"
#include "log.hpp"
#include "static_files.hpp"
#include "ws_session.hpp"

namespace sb::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace p = sb::protocol;

namespace {
constexpr std::size_t kMaxRequestBytes = 16 * 1024;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view path_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}
}  // namespace

std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void token_from_subprotocols(std::string_view protos, std::string& token, std::string& subprotocol) {
  while (!protos.empty()) {
    auto comma = protos.find(',');
    auto item = protos.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 6) == "token.") token.assign(item.substr(6));
    else if (item == "switchboard") subprotocol = "switchboard";
    protos = comma == std::string_view::npos ? std::string_view() : protos.substr(comma + 1);
  }
}

// 128 bits from OpenSSL's CSPRNG: a cid is a capability (rtc reaches whoever holds it), so it
// must not be predictable from the cids a client has seen.
std::string new_cid(ServerContext&) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string cid = "cid:";
  for (unsigned char b : bytes) {
    cid.push_back(hex[b >> 4]);
    cid.push_back(hex[b & 15]);
  }
  return cid;
}

HttpSession::HttpSession(net::ip::tcp::socket&& socket, ServerContext& ctx)
    : stream_(std::move(socket)), ctx_(ctx) {}

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::read, shared_from_this()));
}

// The header first: the server API's bodies may be larger than other requests' (server_api.hpp).
void HttpSession::read() {
  parser_.emplace();
  parser_->header_limit(kMaxRequestBytes);
  parser_->body_limit(kMaxRequestBytes);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (ec) return self->on_read(ec, n);
    if (is_server_api_path(path_of(self->parser_->get().target())))
      self->parser_->body_limit(std::max(kMaxRequestBytes, server_api_body_cap(self->ctx_.config)));
    http::async_read(self->stream_, self->buffer_, *self->parser_,
                     beast::bind_front_handler(&HttpSession::on_read, self));
  });
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit && parser_->is_header_done() && is_server_api_path(path_of(parser_->get().target())))
    return send(api_answer(parser_->get(), server_api_too_large(ctx_.config), false), false);
  if (ec) {
    // A request the parser refused (bad framing, too large) gets a plain 400 before the close;
    // a peer that went away or timed out gets nothing.
    if (ec.category() == beast::error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
      return send(plain(http::request<http::string_body>{}, http::status::bad_request,
                        "Bad request: " + ec.message() + ".\n", false),
                  false);
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  // The handler boundary: whatever a request makes throw ends this connection only.
  try {
    if (ctx_.fault_hook) ctx_.fault_hook(parser_->get().target());
    if (auto refusal = framing_problem(parser_->get()))
      return send(std::move(*refusal), false);
    if (beast::websocket::is_upgrade(parser_->get())) return upgrade();
    bool keep_alive = parser_->get().keep_alive();
    send(respond(), keep_alive);
  } catch (const std::exception& e) {
    ctx_.metrics.handler_errors.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    auto peer = stream_.socket().remote_endpoint(ignored);
    log::error("handler_exception").kv("http", true).kv("peer", peer.address().to_string(ignored) + ":" +
                                                               std::to_string(peer.port())).kv("what", e.what());
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }
}

void HttpSession::send(http::message_generator msg, bool keep_alive) {
  beast::async_write(stream_, std::move(msg),
                     [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                       if (ec) return;
                       if (keep_alive) self->read();
                       else self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
                     });
}

// Request framing we do not serve: a transfer coding other than chunked, or one next to a
// Content-Length (the two ways one request can be read as two by a proxy in front, RFC 9112
// §6.1). The answer closes the connection, since the rest of the stream cannot be trusted.
std::optional<http::message_generator> HttpSession::framing_problem(const http::request<http::string_body>& req) {
  auto te = req.find(http::field::transfer_encoding);
  if (te == req.end()) return std::nullopt;
  if (req.find(http::field::content_length) != req.end())
    return plain(req, http::status::bad_request, "Content-Length and Transfer-Encoding together are refused.\n", false);
  if (!beast::iequals(te->value(), "chunked"))
    return plain(req, http::status::not_implemented, "Only the chunked transfer coding is understood.\n", false);
  return std::nullopt;
}

// The token comes from ?token= (as Skapi sends it) or from Sec-WebSocket-Protocol, where a
// browser can put it without exposing it in URLs: "switchboard, token.<jwt>" is echoed as
// "switchboard".
void HttpSession::upgrade() {
  auto req = parser_->release();
  std::string target(req.target());
  if (path_of(target) != "/realtime")
    return send(plain(req, http::status::not_found, "WebSocket endpoint is /realtime\n", false), false);
  // The global cap, before any work for this connection (no token check, no session).
  const auto cap = ctx_.config.max_connections;
  if (cap && ctx_.ws_sessions.load(std::memory_order_relaxed) >= cap) {
    ctx_.metrics.refused_full.fetch_add(1, std::memory_order_relaxed);
    http::response<http::string_body> res{http::status::service_unavailable, req.version()};
    res.set(http::field::retry_after, "5");
    res.set(http::field::content_type, "text/plain");
    res.body() = "Server is full: try again later.\n";
    res.keep_alive(false);
    res.prepare_payload();
    return send(http::message_generator(std::move(res)), false);
  }
  std::string token = query_param(target, "token");
  std::string subprotocol;
  token_from_subprotocols(req[http::field::sec_websocket_protocol], token, subprotocol);
  // Origin first (a refused origin learns nothing about tokens), then the token. Both refusals
  // complete the upgrade and close with a code and reason a browser can read.
  std::string refusal;
  int refusal_code = 0;
  Identity id;
  std::string origin(req[http::field::origin]);
  if (!origin_allowed(ctx_.config, origin, req[http::field::host])) {
    refusal = "Origin not allowed.";
    refusal_code = p::close_code::Forbidden;
  } else {
    id = ctx_.auth.verify(token);
    if (!id.ok) {
      refusal = id.error;
      refusal_code = p::close_code::Unauthorized;
    }
  }
  // Bytes the client sent right behind the upgrade request (its first frames, in the same TCP
  // segment) are already in our buffer: the WebSocket must read them first.
  std::string preread = beast::buffers_to_string(buffer_.data());
  auto session = std::make_shared<WsSession>(stream_.release_socket(), ctx_, std::move(id), new_cid(ctx_));
  session->run(std::move(req), std::move(preread), std::move(refusal), refusal_code, subprotocol);
}

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
// "localhost", "127.0.0.1", "[::1]" with or without a port.
bool loopback_host(std::string_view hostport) {
  std::string_view host = hostport;
  if (!host.empty() && host.front() == '[') host = host.substr(0, host.find(']') + 1);
  else host = host.substr(0, host.find(':'));
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}
}  // namespace

bool origin_allowed(const Config& cfg, std::string_view origin_header, std::string_view host_header) {
  if (origin_header.empty()) return true;  // not a browser: Origin is a browser's statement
  std::string origin = lower(origin_header);
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  auto sep = origin.find("://");
  if (sep == std::string::npos) return false;  // "null" (sandboxed frames, file:) and junk
  std::string scheme = origin.substr(0, sep), hostport = origin.substr(sep + 3);
  if (hostport.empty() || hostport.find('/') != std::string::npos) return false;
  if (hostport == lower(host_header)) return true;  // same origin as the page this server served
  if (cfg.dev_login && loopback_host(hostport)) return true;
  for (const auto& entry_raw : cfg.allowed_origins) {
    std::string entry = lower(entry_raw);
    while (!entry.empty() && entry.back() == '/') entry.pop_back();
    if (entry == "*" || entry == origin) return true;
    auto esep = entry.find("://*.");
    if (esep != std::string::npos && entry.substr(0, esep) == scheme) {
      std::string suffix = entry.substr(esep + 4);  // ".example.com" (a port, if any, included)
      if (hostport.size() > suffix.size() && hostport.compare(hostport.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    }
  }
  return false;
}

namespace {
// One answer with its body, as GET gets it; for HEAD the same head with no body (its
// Content-Length still tells the size a GET would get, and nothing follows that could desync a
// keep-alive connection).
template <class Body>
http::message_generator answer(const http::request<http::string_body>& req, http::status status, bool keep_alive,
                               std::string_view type, typename Body::value_type body) {
  http::response<Body> res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(keep_alive);
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> head{std::move(res.base())};
    head.content_length(body.size());
    return http::message_generator(std::move(head));
  }
  res.body() = std::move(body);
  res.prepare_payload();
  return http::message_generator(std::move(res));
}
}  // namespace

http::message_generator HttpSession::plain(const http::request<http::string_body>& req, http::status status,
                                           std::string body, bool keep_alive, std::string_view type) {
  return answer<http::string_body>(req, status, keep_alive, type, std::move(body));
}

http::message_generator HttpSession::respond() {
  auto& req = parser_->get();
  const bool keep = req.keep_alive();
  auto make = [&](http::status status, std::string body, std::string_view type = "text/plain") {
    return plain(req, status, std::move(body), keep, type);
  };
  std::string target(req.target());
  auto path = path_of(target);
  if (is_http_query_path(path)) return query_response(req, keep);
  if (is_server_api_path(path))
    return api_answer(req, server_api(ctx_, req.method_string(), target, req[http::field::authorization], req.body()), keep);
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return make(http::status::method_not_allowed, "Only GET is served here.\n");
  if (path == "/healthz") return ctx_.stopping ? make(http::status::service_unavailable, "stopping\n")
                                 : !ctx_.hub.backend_healthy() ? make(http::status::service_unavailable, "degraded: redis unreachable\n")
                                                               : make(http::status::ok, "ok\n");
  if (path == "/metrics") {
    if (!metrics_authorized(ctx_.config, req[http::field::authorization]))
      return make(http::status::unauthorized, "A bearer token is required for /metrics.\n");
    return make(http::status::ok, render_metrics(ctx_), "text/plain; version=0.0.4");
  }
  if (path == "/dev/token") {
    if (!ctx_.config.dev_login || !ctx_.auth.can_issue()) return make(http::status::not_found, "Dev login is disabled.\n");
    std::string user = query_param(target, "user");
    if (!p::valid_name(user, ctx_.config.limits.max_name_bytes))
      return make(http::status::bad_request,
                  R"({"code":"INVALID_PARAMETER","message":"\"user\" must be a valid user id."})", "application/json");
    auto ttl = ctx_.config.dev_token_ttl;
    if (std::string t = query_param(target, "ttl"); !t.empty()) {  // short-lived tokens, for tests and demos
      long long secs = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), secs);
      if (ec != std::errc() || end != t.data() + t.size() || secs < 1 || secs > 86400)
        return make(http::status::bad_request,
                    R"({"code":"INVALID_PARAMETER","message":"\"ttl\" must be a whole number of seconds from 1 to 86400."})",
                    "application/json");
      ttl = std::chrono::seconds(secs);
    }
    return make(http::status::ok, nlohmann::json{{"token", ctx_.auth.issue(user, ttl)}}.dump(), "application/json");
  }
  auto file = resolve_static(ctx_.config.package_dir, "/switchboard/", path);
  if (!file) file = resolve_static(ctx_.config.static_dir, "/", path);
  if (!file) return make(http::status::not_found, "Not found.\n");
  // Streamed from the file (file_body reads it piece by piece as the socket drains).
  http::file_body::value_type body;
  beast::error_code ec;
  body.open(file->path.c_str(), beast::file_mode::scan, ec);
  if (ec) return make(http::status::not_found, "Not found.\n");
  return answer<http::file_body>(req, http::status::ok, keep, file->content_type, std::move(body));
}

// POST /realtime/users and /realtime/groups (http_queries.hpp), with CORS for allowed origins.
http::message_generator HttpSession::query_response(const http::request<http::string_body>& req, bool keep_alive) {
  auto a = http_query(ctx_, req.method_string(), path_of(req.target()), req[http::field::origin], req[http::field::host],
                      req[http::field::authorization], req.body());
  http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::vary, "Origin");
  if (!a.allow_origin.empty()) res.set(http::field::access_control_allow_origin, a.allow_origin);
  if (a.preflight) {
    res.set(http::field::access_control_allow_methods, "POST");
    res.set(http::field::access_control_allow_headers, "authorization, content-type");
    res.set(http::field::access_control_max_age, "600");
  } else {
    res.set(http::field::content_type, "application/json");
  }
  res.keep_alive(keep_alive);
  res.body() = std::move(a.body);
  res.prepare_payload();
  return http::message_generator(std::move(res));
}

http::message_generator HttpSession::api_answer(const http::request<http::string_body>& req, ServerApiAnswer a,
                                                bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = std::move(a.body);
  res.prepare_payload();
  return http::message_generator(std::move(res));
}

// Constant time in the token's bytes: the comparison does not stop at the first difference.
bool metrics_authorized(const Config& cfg, std::string_view authorization) {
  if (cfg.metrics_token.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() != kBearer.size() + cfg.metrics_token.size() ||
      !beast::iequals(authorization.substr(0, kBearer.size()), kBearer))
    return false;
  return CRYPTO_memcmp(authorization.data() + kBearer.size(), cfg.metrics_token.data(), cfg.metrics_token.size()) == 0;
}

}  // namespace sb::server
