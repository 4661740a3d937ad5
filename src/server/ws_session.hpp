// One WebSocket connection: reads client frames in order, answers each request once, and
// writes outgoing frames from a bounded queue on its own strand.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "auth.hpp"
#include "byte_budget.hpp"
#include "hub.hpp"
#include "server_context.hpp"

namespace sb::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// Runs the io_context like run(), but in rounds: every ready handler (reads, requests, fan-out),
// then one flush per connection that got frames in that round. Under load a round carries many
// publications, so each connection gets them in one write, as uWebSockets does per loop turn.
void run_io_thread(boost::asio::io_context& ioc);

class WsSession : public Peer, public std::enable_shared_from_this<WsSession> {
 public:
  // `identity` was checked on the upgrade request; when refused the session accepts the
  // upgrade only to close with a typed code and reason, which browsers can read.
  WsSession(tcp::socket&& socket, ServerContext& ctx, Identity identity, std::string cid);
  ~WsSession() override;
  // `preread`: bytes read past the upgrade request (the client's first frames, if they came in
  // the same segment); the WebSocket reads them before the socket.
  void run(http::request<http::string_body> req, std::string preread, std::string refusal, int refusal_code,
           std::string subprotocol);
  void deliver(const Frame& frame) override;
  void close_by_server() override;  // 4005 (POST /api/disconnect), from any thread
  void shutdown();  // graceful close with GoingAway, from any thread
  std::size_t buffered() const { return buffered_.load(std::memory_order_relaxed); }

  // The hard cap on one incoming message: above max_frame_bytes a message is read and dropped
  // (TOO_LARGE, connection kept); above this Beast fails the connection with 1009.
  static std::size_t hard_message_cap(std::size_t max_frame_bytes);

 private:
  void on_accept(beast::error_code ec);
  void start_session();  // after the upgrade: refusal, connection caps, attach, welcome
  void read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(std::string_view text);
  bool take_token();
  HubResult relay_rtc_with_jitter(const std::string& cid, const std::string& payload);  // test only
  HubResult refresh(const std::string& token, nlohmann::json& data);
  void arm_expiry();
  void wait_expiry(std::uint64_t generation);
  std::optional<std::int64_t> expires_in() const;
  void reply(std::string frame);
  void fail_internal(const char* what);  // a handler threw: log, count, close this connection
  void reply_error(const std::optional<std::int64_t>& id, protocol::Error code, std::string_view message);
  void flush();
  void drop_queued();
  void schedule_flush();
  friend void run_io_thread(boost::asio::io_context& ioc);
  void close_with(int code, std::string reason, Disconnect why);
  void finish(beast::error_code ec);

  static constexpr std::chrono::seconds kCloseGrace{2};

  // A plain socket below the WebSocket: Beast's own timeout option covers idle and handshakes,
  // and tcp_stream's per-operation timer bookkeeping would cost on every write.
  websocket::stream<tcp::socket> ws_;
  ServerContext& ctx_;
  Identity identity_;
  boost::asio::steady_timer close_timer_;
  // Closes the connection (4002) when identity_'s token expires; re-armed by a refresh. Strand only.
  boost::asio::steady_timer expiry_timer_;
  std::uint64_t expiry_generation_ = 0;  // a wait from an older arming (even one already due) does nothing
  beast::flat_buffer buffer_;
  std::size_t message_bytes_ = 0;  // of the message being read
  bool discarding_ = false;        // the message being read is over max_frame_bytes
  // Outgoing frames. deliver() appends to pending_ from any thread and posts one flush when none
  // is due; flush() (on the strand) moves a batch into inflight_ and writes it as ONE WebSocket
  // message, frames separated by '\n' (docs/protocol.md): one write and one system call for
  // everything that queued up meanwhile, each frame still serialised once for all recipients.
  std::mutex out_mu_;
  std::vector<Frame> pending_;     // guarded by out_mu_; swapped with inflight_, so no allocation
  bool flush_due_ = false;         // guarded by out_mu_: a flush is posted or a write is in flight
  std::vector<Frame> inflight_;    // strand only
  std::vector<boost::asio::const_buffer> gather_;
  bool writing_ = false;
  bool reading_ = false;           // the read loop has started
  bool closing_ = false;
  bool attached_ = false;
  bool finished_ = false;
  std::optional<Disconnect> why_;  // set when the server closes
  std::string refusal_;
  std::string handshake_;          // the upgrade request, re-serialised, plus preread bytes
  int refusal_code_ = 0;
  double tokens_ = 0;              // rate limit bucket
  ByteBudget reply_bytes_;         // what query replies may cost (byte_budget.hpp)
  std::chrono::steady_clock::time_point refilled_;
  std::chrono::steady_clock::time_point opened_;
  std::atomic<std::size_t> buffered_{0};
  std::atomic<bool> cut_off_{false};
};

}  // namespace sb::server
