// One WebSocket connection, owned by one event loop (one I/O thread): the handshake answer and
// every frame out go through its own send path (non-blocking writev on the socket, each dirty
// connection flushed once per loop turn, a wait for writability only when the kernel buffer is
// full); client frames are read with ws::FrameReader from a per-thread buffer.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>

#include <sys/uio.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "auth.hpp"
#include "byte_budget.hpp"
#include "hub.hpp"
#include "server_context.hpp"
#include "ws_frame.hpp"

namespace sb::server {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// Runs one event loop (an io_context that only this thread runs) in rounds: every ready handler
// (reads, requests, fan-out), then one flush per connection of this loop that got frames in that
// round. Under load a round carries many publications, so each connection gets them in one
// system call, as uWebSockets does per loop turn.
void run_io_thread(boost::asio::io_context& ioc);

class WsSession : public Peer, public std::enable_shared_from_this<WsSession>, private ws::FrameSink {
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
  void shutdown();  // graceful close with GoingAway, from any thread
  std::size_t buffered() const { return buffered_.load(std::memory_order_relaxed); }

  // The hard cap on one incoming message: above max_frame_bytes a message is read and dropped
  // (TOO_LARGE, connection kept); above this Beast fails the connection with 1009.
  static std::size_t hard_message_cap(std::size_t max_frame_bytes);

 private:
  void start_session();  // after the upgrade: refusal, connection caps, attach, welcome
  void read();
  void on_readable(beast::error_code ec);
  void consume(char* data, std::size_t n);
  // ws::FrameSink: what the reader found
  void on_message(bool text, std::string_view payload) override;
  void on_oversized(bool text) override;
  void on_ping(std::string_view payload) override;
  void on_close(std::uint16_t code, std::string_view payload) override;
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
  // The send path (ws_writer.cpp).
  void send_control(std::string bytes);  // a control frame (or the handshake answer), next in line
  void schedule_flush();
  void flush();
  bool next_unit();
  int gather(iovec* iov, int max) const;
  void unit_written();
  void wait_writable();
  void drop_queued();
  void after_close_sent();
  friend void run_io_thread(boost::asio::io_context& ioc);
  // Keep-alive: a ping after half the idle timeout without a byte from the peer; closed after
  // the other half.
  void arm_idle();
  void close_with(int code, std::string reason, Disconnect why);
  void finish(Disconnect why);

  static constexpr std::chrono::seconds kCloseGrace{2};

  // The socket and timers name their loop's executor type (not any_io_executor): smaller
  // objects and operations, for every idle connection.
  using LoopExecutor = boost::asio::io_context::executor_type;
  using LoopTimer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                      boost::asio::wait_traits<std::chrono::steady_clock>, LoopExecutor>;
  static LoopExecutor loop_of(tcp::socket& s);

  boost::asio::basic_stream_socket<tcp, LoopExecutor> socket_;
  ServerContext& ctx_;
  Identity identity_;
  // Idle keep-alive while open, then the bound on the closing handshake (kCloseGrace).
  LoopTimer timer_;
  // Closes the connection (4002) when identity_'s token expires; re-armed by a refresh. Loop only.
  LoopTimer expiry_timer_;
  std::uint64_t expiry_generation_ = 0;  // a wait from an older arming (even one already due) does nothing
  ws::FrameReader reader_;
  // Outgoing. deliver() appends to pending_ from any thread and schedules one flush when none is
  // due; flush() (on the loop) takes a batch and writes it as ONE WebSocket message, frames
  // separated by '\n' (docs/protocol.md), header and frames in one writev: the frames themselves
  // are the strings shared by every recipient.
  std::mutex out_mu_;
  std::vector<Frame> pending_;     // guarded by out_mu_
  bool flush_due_ = false;         // guarded by out_mu_: a flush is scheduled or a write is waiting
  std::vector<Frame> batch_;       // loop only: the message being written
  std::vector<std::string> control_;  // loop only: control frames, written between messages
  std::size_t unit_size_ = 0;      // bytes of the unit being written (0: none)
  std::size_t unit_sent_ = 0;
  std::size_t batch_bytes_ = 0;    // frame bytes in batch_ (what buffered_ counts)
  char header_[ws::kMaxHeader];
  std::uint8_t header_len_ = 0;
  bool unit_control_ = false;
  bool write_waiting_ = false;
  bool read_waiting_ = false;
  bool heard_ = false;             // bytes came in since the last idle tick
  bool pinged_ = false;
  bool closing_ = false;           // our close frame is queued (or the connection failed)
  bool close_sent_ = false;
  bool peer_closed_ = false;       // the peer's close frame came in
  bool attached_ = false;
  bool finished_ = false;
  bool started_ = false;          // the upgrade was answered with 101
  std::optional<Disconnect> why_;  // set when the server closes
  std::string refusal_;
  int refusal_code_ = 0;
  double tokens_ = 0;              // rate limit bucket
  ByteBudget reply_bytes_;         // what query replies may cost (byte_budget.hpp)
  std::chrono::steady_clock::time_point refilled_;
  std::chrono::steady_clock::time_point opened_;
  std::atomic<std::size_t> buffered_{0};
  std::atomic<bool> cut_off_{false};
};

}  // namespace sb::server
