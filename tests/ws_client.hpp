// A native WebSocket client for server tests: Beast over loopback, with a background reader so
// that waits are bounded by a timeout instead of blocking forever.
#pragma once
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"

namespace sb::testing {

namespace beast = boost::beast;
namespace net = boost::asio;
using nlohmann::json;

class WsClient {
 public:
  // Connects to ws://127.0.0.1:port<target>. Returns false when the upgrade fails.
  // `headers` are added to the upgrade request (e.g. Origin); `rcvbuf` > 0 shrinks the socket's
  // receive buffer before connecting (slow-reader tests).
  bool connect(unsigned short port, const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& headers = {}, int rcvbuf = 0) {
    beast::error_code ec;
    auto& sock = ws_.next_layer();
    sock.open(net::ip::tcp::v4(), ec);
    if (rcvbuf > 0) sock.set_option(net::socket_base::receive_buffer_size(rcvbuf), ec);
    sock.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return false;
    sock.set_option(net::ip::tcp::no_delay(true), ec);  // masked frames go out in pieces: no Nagle
    if (!headers.empty())
      ws_.set_option(beast::websocket::stream_base::decorator([headers](beast::websocket::request_type& req) {
        for (auto& [k, v] : headers) req.set(k, v);
      }));
    ws_.handshake("127.0.0.1:" + std::to_string(port), target, ec);
    if (ec) return false;
    read_more();
    return true;
  }
  // Runs the client's I/O for a while without consuming frames (answers pings, reads ahead).
  void pump(std::chrono::milliseconds d) {
    ioc_.restart();
    ioc_.run_for(d);
  }
  std::size_t buffered_frames() const { return frames_.size(); }
  void send(const std::string& text) {
    ws_.text(true);
    ws_.write(net::buffer(text));
  }
  // Like send, false instead of an exception when the connection is gone.
  bool try_send(const std::string& text) {
    beast::error_code ec;
    ws_.text(true);
    ws_.write(net::buffer(text), ec);
    return !ec;
  }
  void send_binary(const std::string& data) {
    ws_.binary(true);
    ws_.write(net::buffer(data));
    ws_.text(true);
  }
  // Next frame as JSON, or nullopt after `timeout` (also when the connection closed).
  // Frames that arrived while request() waited for its reply come first.
  std::optional<json> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!pending_.empty()) {
      auto f = pending_.front();
      pending_.pop_front();
      return f;
    }
    return recv_fresh(timeout);
  }
  // Skips frames until one with this op (and, if given, this id) arrives.
  std::optional<json> recv_op(const std::string& op, std::optional<int64_t> id = std::nullopt,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!f) return std::nullopt;
      if ((*f)["op"] == op && (!id || (*f)["id"] == *id)) return f;
    }
    return std::nullopt;
  }
  // Sends a request with a fresh id and returns the reply (ok or error) to it.
  json request(json frame) {
    frame["id"] = next_id_;
    send(frame.dump());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = recv_fresh(std::chrono::seconds(5));
      if (!f) break;
      if (((*f)["op"] == "ok" || (*f)["op"] == "error") && (*f)["id"] == next_id_) {
        ++next_id_;
        return *f;
      }
      pending_.push_back(*f);
    }
    return json{{"op", "timeout"}};
  }
  std::optional<json> recv_fresh(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (frames_.empty() && !closed_ && std::chrono::steady_clock::now() < deadline) {
      ioc_.restart();
      ioc_.run_one_for(std::chrono::milliseconds(10));  // returns as soon as one handler ran
    }
    if (frames_.empty()) return std::nullopt;
    auto f = json::parse(frames_.front());
    frames_.pop_front();
    return f;
  }
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      ioc_.restart();
      ioc_.run_one_for(std::chrono::milliseconds(10));
    }
    return closed_;
  }
  void close(int code = 1000) {
    beast::error_code ec;
    ws_.close(websocket_close(code), ec);
  }
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  bool closed() const { return closed_; }

 private:
  static beast::websocket::close_reason websocket_close(int code) {
    return beast::websocket::close_reason(static_cast<std::uint16_t>(code));
  }
  void read_more() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        closed_ = true;
        close_code_ = ws_.reason().code;
        close_reason_ = std::string(ws_.reason().reason.c_str());
        return;
      }
      // The server may batch frames into one message, separated by '\n' (docs/protocol.md).
      std::string message = beast::buffers_to_string(buffer_.data());
      protocol::for_each_frame(message, [this](std::string_view f, std::size_t, std::size_t) {
        frames_.emplace_back(f);
      });
      buffer_.consume(buffer_.size());
      read_more();
    });
  }

  net::io_context ioc_;
  beast::websocket::stream<net::ip::tcp::socket> ws_{ioc_};
  beast::flat_buffer buffer_;
  std::deque<std::string> frames_;
  std::deque<json> pending_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string close_reason_;
  int64_t next_id_ = 1;
};

// One HTTP request over loopback; returns status and body.
inline std::pair<int, std::string> http(unsigned short port, beast::http::verb verb, const std::string& target,
                                        const std::string& authorization, const std::string& body) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  beast::http::request<beast::http::string_body> req{verb, target, 11};
  req.set(beast::http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(beast::http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res);
  return {res.result_int(), res.body()};
}

// One HTTP GET over loopback; returns status and body.
inline std::pair<int, std::string> http_get(unsigned short port, const std::string& target) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
  req.set(beast::http::field::host, "127.0.0.1");
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res);
  beast::error_code ec;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  return {res.result_int(), res.body()};
}

}  // namespace sb::testing
