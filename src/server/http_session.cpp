#include "http_session.hpp"

#include <charconv>
#include <random>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "../protocol/errors.hpp"
#include "../protocol/limits.hpp"
#include "metrics.hpp"
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

std::string new_cid(ServerContext& ctx) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t n = rng() ^ (ctx.next_conn.fetch_add(1) * 0x9E3779B97F4A7C15ull);
  static constexpr char hex[] = "0123456789abcdef";
  std::string cid = "cid:";
  for (int i = 60; i >= 0; i -= 4) cid.push_back(hex[(n >> i) & 15]);
  return cid;
}

HttpSession::HttpSession(net::ip::tcp::socket&& socket, ServerContext& ctx)
    : stream_(std::move(socket)), ctx_(ctx) {}

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::read, shared_from_this()));
}

void HttpSession::read() {
  parser_.emplace();
  parser_->header_limit(kMaxRequestBytes);
  parser_->body_limit(kMaxRequestBytes);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  if (beast::websocket::is_upgrade(parser_->get())) {
    upgrade();
    return;
  }
  bool keep_alive = parser_->get().keep_alive();
  beast::async_write(stream_, respond(),
                     [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                       if (ec) return;
                       if (keep_alive) self->read();
                       else self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
                     });
}

// The token comes from ?token= (as Skapi sends it) or from Sec-WebSocket-Protocol, where a
// browser can put it without exposing it in URLs: "switchboard, token.<jwt>" is echoed as
// "switchboard".
void HttpSession::upgrade() {
  auto req = parser_->release();
  std::string target(req.target());
  if (path_of(target) != "/realtime") {
    http::response<http::string_body> res{http::status::not_found, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = "WebSocket endpoint is /realtime\n";
    res.prepare_payload();
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code, std::size_t) {});
    return;
  }
  std::string token = query_param(target, "token");
  std::string subprotocol;
  std::string_view protos = req[http::field::sec_websocket_protocol];
  while (!protos.empty()) {
    auto comma = protos.find(',');
    auto item = protos.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 6) == "token.") token.assign(item.substr(6));
    else if (item == "switchboard") subprotocol = "switchboard";
    protos = comma == std::string_view::npos ? std::string_view() : protos.substr(comma + 1);
  }
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
  auto session = std::make_shared<WsSession>(stream_.release_socket(), ctx_, std::move(id), new_cid(ctx_));
  session->run(std::move(req), std::move(refusal), refusal_code, subprotocol);
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

http::message_generator HttpSession::respond() {
  auto& req = parser_->get();
  auto make = [&](http::status status, std::string body, std::string_view type) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "switchboard");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return http::message_generator(std::move(res));
  };
  std::string target(req.target());
  auto path = path_of(target);
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return make(http::status::method_not_allowed, "Only GET is served here.\n", "text/plain");
  if (path == "/healthz") return ctx_.stopping ? make(http::status::service_unavailable, "stopping\n", "text/plain")
                                          : make(http::status::ok, "ok\n", "text/plain");
  if (path == "/metrics") return make(http::status::ok, render_metrics(ctx_), "text/plain; version=0.0.4");
  if (path == "/dev/token") {
    if (!ctx_.config.dev_login || !ctx_.auth.can_issue())
      return make(http::status::not_found, "Dev login is disabled.\n", "text/plain");
    std::string user = query_param(target, "user");
    if (!p::valid_name(user, ctx_.config.limits.max_name_bytes))
      return make(http::status::bad_request,
                  nlohmann::json{{"code", "INVALID_PARAMETER"}, {"message", "\"user\" must be a valid user id."}}.dump(),
                  "application/json");
    auto ttl = ctx_.config.dev_token_ttl;
    if (std::string t = query_param(target, "ttl"); !t.empty()) {  // short-lived tokens, for tests and demos
      long long secs = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), secs);
      if (ec != std::errc() || end != t.data() + t.size() || secs < 1 || secs > 86400)
        return make(http::status::bad_request,
                    nlohmann::json{{"code", "INVALID_PARAMETER"},
                                   {"message", "\"ttl\" must be a whole number of seconds from 1 to 86400."}}
                        .dump(),
                    "application/json");
      ttl = std::chrono::seconds(secs);
    }
    return make(http::status::ok, nlohmann::json{{"token", ctx_.auth.issue(user, ttl)}}.dump(), "application/json");
  }
  if (auto f = load_static(ctx_.config.package_dir, "/switchboard/", path))
    return make(http::status::ok, std::move(f->body), f->content_type);
  if (auto f = load_static(ctx_.config.static_dir, "/", path))
    return make(http::status::ok, std::move(f->body), f->content_type);
  return make(http::status::not_found, "Not found.\n", "text/plain");
}

}  // namespace sb::server
