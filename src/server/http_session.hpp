// One HTTP connection: serves /healthz, /dev/token, static files, and hands WebSocket upgrades
// on /realtime to a WsSession after checking the token.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server_api.hpp"
#include "server_context.hpp"

namespace sb::server {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, ServerContext& ctx);
  void run();

 private:
  void read();
  void on_read(boost::beast::error_code ec, std::size_t);
  void upgrade();
  void send(boost::beast::http::message_generator msg, bool keep_alive);
  boost::beast::http::message_generator respond();
  boost::beast::http::message_generator query_response(
      const boost::beast::http::request<boost::beast::http::string_body>& req, bool keep_alive);
  static boost::beast::http::message_generator api_answer(
      const boost::beast::http::request<boost::beast::http::string_body>& req, ServerApiAnswer a, bool keep_alive);
  static std::optional<boost::beast::http::message_generator> framing_problem(
      const boost::beast::http::request<boost::beast::http::string_body>& req);
  static boost::beast::http::message_generator plain(
      const boost::beast::http::request<boost::beast::http::string_body>& req, boost::beast::http::status status,
      std::string body, bool keep_alive, std::string_view type = "text/plain");

  boost::beast::tcp_stream stream_;
  ServerContext& ctx_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
};

// "cid:" followed by 32 hex digits: 128 random bits (RAND_bytes), unguessable.
std::string new_cid(ServerContext& ctx);

// Whether a WebSocket upgrade with this Origin header may proceed (Config::allowed_origins).
bool origin_allowed(const Config& cfg, std::string_view origin_header, std::string_view host_header);

// Whether an Authorization header value may read /metrics (Config::metrics_token).
bool metrics_authorized(const Config& cfg, std::string_view authorization);

// Value of one query parameter, percent-decoded; empty when absent.
std::string query_param(std::string_view target, std::string_view name);

// Reads a Sec-WebSocket-Protocol header ("switchboard, token.<jwt>"): each comma-separated item,
// trimmed of spaces, "token.<jwt>" sets `token` (the last one wins) and "switchboard" sets
// `subprotocol` to "switchboard". Leaves both as they are when the header offers neither.
void token_from_subprotocols(std::string_view header, std::string& token, std::string& subprotocol);

}  // namespace sb::server
