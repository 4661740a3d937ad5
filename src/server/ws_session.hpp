// One WebSocket connection: reads client frames in order, answers each request once, and
// writes outgoing frames from a bounded queue on its own strand.
#pragma once
#include <atomic>
#include <deque>
#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "hub.hpp"
#include "server_context.hpp"

namespace sb::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

class WsSession : public Peer, public std::enable_shared_from_this<WsSession> {
 public:
  // `identity` was checked on the upgrade request; when refused the session accepts the
  // upgrade only to close with a typed code and reason, which browsers can read.
  WsSession(tcp::socket&& socket, ServerContext& ctx, std::string user, std::string cid);
  void run(http::request<http::string_body> req, std::string refusal, int refusal_code,
           std::string subprotocol);
  void deliver(const Frame& frame) override;
  void shutdown();  // graceful close with GoingAway, from any thread

 private:
  void on_accept(beast::error_code ec);
  void read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(std::string_view text);
  void reply(std::string frame);
  void write_next();
  void close_with(int code, std::string reason);
  void finish();

  static constexpr std::chrono::seconds kCloseGrace{2};

  websocket::stream<beast::tcp_stream> ws_;
  ServerContext& ctx_;
  boost::asio::steady_timer close_timer_;
  beast::flat_buffer buffer_;
  std::deque<Frame> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool attached_ = false;
  std::string refusal_;
  int refusal_code_ = 0;
  std::atomic<std::size_t> buffered_{0};
  std::atomic<bool> cut_off_{false};
};

}  // namespace sb::server
