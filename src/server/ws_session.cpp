#include "ws_session.hpp"

#include "push/push_requests.hpp"

#include <algorithm>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include "../protocol/frames.hpp"
#include "log.hpp"
#include "queries.hpp"
#include "ws_handshake.hpp"

namespace sb::server {

namespace p = sb::protocol;
namespace net = boost::asio;

std::size_t WsSession::hard_message_cap(std::size_t max_frame_bytes) {
  return std::max<std::size_t>(max_frame_bytes * 16, 1024 * 1024);
}

// The session's loop: the io_context whose executor the acceptor gave the socket (server.cpp).
WsSession::LoopExecutor WsSession::loop_of(tcp::socket& s) {
  if (auto* e = s.get_executor().target<LoopExecutor>()) return *e;
  throw std::logic_error("a WebSocket session needs a socket on an io_context executor");
}

WsSession::WsSession(tcp::socket&& socket, ServerContext& ctx, Identity identity, std::string cid)
    : Peer(identity.user, std::move(cid)),
      socket_(loop_of(socket)),
      ctx_(ctx),
      identity_(std::move(identity)),
      timer_(socket_.get_executor()),
      expiry_timer_(socket_.get_executor()),
      reader_(ctx.config.limits.max_frame_bytes, hard_message_cap(ctx.config.limits.max_frame_bytes)),
      reply_bytes_(ctx.config.reply_rate_bytes, ctx.config.reply_burst_bytes) {
  beast::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  const int fd = ec ? -1 : socket.release(ec);
  if (!ec) socket_.assign(protocol, fd, ec);
  if (ec) {
    if (fd >= 0) ::close(fd);
    throw beast::system_error(ec);
  }
  ctx_.ws_sessions.fetch_add(1, std::memory_order_relaxed);
}

WsSession::~WsSession() { ctx_.ws_sessions.fetch_sub(1, std::memory_order_relaxed); }

// On the session's loop (HttpSession runs there). The answer goes out first through the send
// path; `preread` (frames that came with the upgrade request) is read before the socket.
void WsSession::run(http::request<http::string_body> req, std::string preread, std::string refusal,
                    int refusal_code, std::string subprotocol) {
  refusal_ = std::move(refusal);
  refusal_code_ = refusal_code;
  beast::error_code ec;
  socket_.non_blocking(true, ec);
  auto answer = ws::answer_upgrade(req, subprotocol);
  send_control(std::move(answer.response));
  if (!answer.ok) {  // an HTTP error: the answer is all we send, then TCP ends
    closing_ = peer_closed_ = true;
    timer_.expires_after(kCloseGrace);
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->finish(Disconnect::BadFrame);
    });
    read();
    return;
  }
  try {
    start_session();
  } catch (const std::exception& e) {
    fail_internal(e.what());
  }
  if (!preread.empty()) consume(preread.data(), preread.size());
  read();
}

void WsSession::start_session() {
  started_ = true;
  opened_ = refilled_ = std::chrono::steady_clock::now();
  tokens_ = ctx_.config.rate_burst;
  {
    std::lock_guard lock(ctx_.sessions_mu);
    if (ctx_.stopping) {
      close_with(p::close_code::GoingAway, "Server is shutting down.", Disconnect::Shutdown);
      return;
    }
    ctx_.sessions.insert(shared_from_this());
  }
  if (!refusal_.empty()) {
    log::info("conn_refused").kv("cid", cid()).kv("code", refusal_code_).kv("reason", refusal_);
    close_with(refusal_code_, refusal_,
               refusal_code_ == p::close_code::Unauthorized ? Disconnect::Unauthorized : Disconnect::Forbidden);
    return;
  }
  std::size_t cap = ctx_.config.max_connections_per_user;
  if (identity_.max_connections && (cap == 0 || identity_.max_connections < cap)) cap = identity_.max_connections;
  if (auto r = ctx_.hub.attach(shared_from_this(), cap); !r.ok) {
    if (r.code == p::Error::Unavailable) {  // the client reconnects, perhaps to another node
      log::warn("conn_refused").kv("cid", cid()).kv("user", user()).kv("code", p::close_code::TryAgainLater)
          .kv("reason", r.message);
      close_with(p::close_code::TryAgainLater, "The cluster backend is unavailable; try again later.",
                 Disconnect::InternalError);
      return;
    }
    log::info("conn_refused").kv("cid", cid()).kv("user", user()).kv("code", p::close_code::Forbidden)
        .kv("reason", "connection cap").kv("cap", static_cast<unsigned long long>(cap));
    close_with(p::close_code::Forbidden, "Too many connections for this user (at most " + std::to_string(cap) + ").",
               Disconnect::Forbidden);
    return;
  }
  attached_ = true;
  ctx_.metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
  log::info("conn_open").kv("cid", cid()).kv("user", user());
  deliver(std::make_shared<const std::string>(p::welcome_frame(cid(), user(), ctx_.config.limits, expires_in(), ctx_.config.ice_servers_json)));
  arm_expiry();
  arm_idle();
}

namespace {
std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Epoch seconds (a token's claim, so anything) to milliseconds, without overflow.
std::int64_t to_ms(std::int64_t s) {
  constexpr std::int64_t kMax = 9'000'000'000'000'000;  // ~285,000 years
  return std::clamp(s, -kMax, kMax) * 1000;
}
// A long wait is cut into pieces, each ending with a fresh look at the wall clock.
constexpr std::int64_t kMaxExpiryWaitMs = 3600 * 1000;
}  // namespace

// Whole seconds until the token's own exp (the leeway is the server's slack, not the client's):
// relative, so the client needs no clock agreement with us.
std::optional<std::int64_t> WsSession::expires_in() const {
  if (!identity_.exp) return std::nullopt;
  return std::max<std::int64_t>(0, (to_ms(*identity_.exp) - epoch_ms()) / 1000);
}

// A connection does not outlive its token: it is closed at exp + leeway, when verify() starts
// refusing the token, unless a refresh moved the deadline.
void WsSession::arm_expiry() {
  ++expiry_generation_;
  expiry_timer_.cancel();
  if (identity_.exp) wait_expiry(expiry_generation_);
}

void WsSession::wait_expiry(std::uint64_t generation) {
  const std::int64_t left = to_ms(*identity_.exp) + ctx_.config.jwt.leeway.count() * 1000 - epoch_ms();
  if (left <= 0) {  // conn_close logs it, with reason=token_expired
    close_with(p::close_code::TokenExpired, "Token expired.", Disconnect::TokenExpired);
    return;
  }
  expiry_timer_.expires_after(std::chrono::milliseconds(std::min(left, kMaxExpiryWaitMs)));
  expiry_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
    if (ec || generation != self->expiry_generation_ || self->closing_ || self->finished_) return;
    self->wait_expiry(generation);  // closes, or waits out what is left by the wall clock
  });
}

// `auth` (docs/protocol.md, Token refresh). The token is the client's word until verify() says
// otherwise; a refusal changes nothing, so the old deadline still stands.
HubResult WsSession::refresh(const std::string& token, nlohmann::json& data) {
  Identity fresh = ctx_.auth.verify(token);
  if (!fresh.ok) return HubResult::fail(p::Error::Unauthorized, fresh.error);
  if (fresh.user != user()) return HubResult::fail(p::Error::Forbidden, "The token is for another user.");
  // verify() counts whole seconds; within the last one the deadline may already be behind us.
  if (fresh.exp && to_ms(*fresh.exp) + ctx_.config.jwt.leeway.count() * 1000 <= epoch_ms())
    return HubResult::fail(p::Error::Unauthorized, "Token expired.");
  if (fresh.groups) {
    auto group = ctx_.hub.group_of(*this);
    if (group && !Authenticator::group_allowed(*fresh.groups, *group))
      return HubResult::fail(p::Error::Forbidden, "This token does not allow group \"" + *group +
                                                      "\", which this connection is in. Leave it first.");
  }
  identity_ = std::move(fresh);  // the new groups claim governs later joins
  arm_expiry();
  data = nlohmann::json::object();
  if (auto left = expires_in()) data["expires_in"] = *left;
  log::debug("token_refreshed").kv("cid", cid()).kv("user", user());
  return {};
}

namespace {
// One receive buffer per I/O thread: a connection holds no read buffer between messages (the
// reader keeps only a message split over reads).
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWake = 4;  // then the loop serves others before this socket again
thread_local char t_read_buffer[kReadChunk];
}  // namespace

void WsSession::read() {
  if (read_waiting_ || finished_) return;
  read_waiting_ = true;
  socket_.async_wait(tcp::socket::wait_read,
                     net::bind_allocator(net::recycling_allocator<void>(), [self = shared_from_this()](beast::error_code ec) {
                       self->read_waiting_ = false;
                       self->on_readable(ec);
                     }));
}

void WsSession::on_readable(beast::error_code ec) {
  if (finished_) return;
  if (ec) return finish(Disconnect::ConnectionLost);
  const int fd = socket_.native_handle();
  for (int i = 0; i < kReadsPerWake; ++i) {
    ssize_t n = ::recv(fd, t_read_buffer, kReadChunk, MSG_DONTWAIT);
    if (n > 0) {
      heard_ = true;
      consume(t_read_buffer, static_cast<std::size_t>(n));
      if (finished_) return;
      if (static_cast<std::size_t>(n) < kReadChunk) break;  // drained
      continue;
    }
    if (n == 0) {  // the peer's FIN: the end of a close handshake, or a lost connection
      return finish(peer_closed_ ? Disconnect::ClientClosed : Disconnect::ConnectionLost);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return finish(Disconnect::ConnectionLost);
  }
  reader_.trim();
  read();
}

// Bytes from the peer. After its close frame (or a failure) nothing more is read as frames.
void WsSession::consume(char* data, std::size_t n) {
  if (peer_closed_ || reader_.closed()) return;
  if (auto f = reader_.feed(data, n, *this); f != ws::ReadFail::None) {
    peer_closed_ = true;  // the rest of the stream is not WebSocket any more
    flush();              // answers to what came before the bad frame still go out, then the close
    close_with(ws::close_code_of(f), "", f == ws::ReadFail::TooBig ? Disconnect::TooLarge : Disconnect::BadFrame);
  }
}

void WsSession::on_message(bool text, std::string_view payload) {
  ctx_.metrics.messages_in.fetch_add(1, std::memory_order_relaxed);
  ctx_.metrics.bytes_in.fetch_add(payload.size(), std::memory_order_relaxed);
  if (!attached_ || closing_) return;  // refused or closing: frames are not served
  if (!text) {
    if (take_token()) reply_error(std::nullopt, p::Error::NotSupported, "Binary frames are not supported.");
    return;
  }
  // The handler boundary: whatever a request makes throw ends this connection only.
  try {
    handle(payload);
  } catch (const std::exception& e) {
    fail_internal(e.what());
  }
}

void WsSession::on_oversized(bool) {
  ctx_.metrics.messages_in.fetch_add(1, std::memory_order_relaxed);
  if (!attached_ || closing_) return;
  if (take_token())
    reply_error(std::nullopt, p::Error::TooLarge,
                "Frame is larger than " + std::to_string(ctx_.config.limits.max_frame_bytes) + " bytes.");
}

void WsSession::on_ping(std::string_view payload) {
  if (!closing_) send_control(ws::control_frame(ws::kPong, payload));
}

// The peer's close: answered with its own code (RFC 6455 §5.5.1) unless ours is out already;
// either way the handshake is then complete and the TCP connection ends.
void WsSession::on_close(std::uint16_t code, std::string_view) {
  peer_closed_ = true;
  if (!closing_) {
    flush();  // answers to the requests before the close go out first, as far as the socket takes them
    closing_ = true;
    drop_queued();
    send_control(code ? ws::close_frame(code, "") : ws::control_frame(ws::kClose, ""));
    timer_.expires_after(kCloseGrace);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish(Disconnect::ClientClosed);
    });
  } else if (close_sent_) {
    after_close_sent();
  }
}

// Token bucket: `rate_per_second` requests per second on average, `rate_burst` at once.
bool WsSession::take_token() {
  const double rate = ctx_.config.rate_per_second;
  if (rate <= 0) return true;
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(ctx_.config.rate_burst,
                     tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate);
  refilled_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void WsSession::handle(std::string_view text) {
  if (ctx_.fault_hook) ctx_.fault_hook(text);
  p::Request req;
  p::RequestError err;
  bool parsed = p::parse_request(text, ctx_.config.limits, req, err);
  if (!take_token()) {
    ctx_.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    reply_error(parsed ? std::optional<std::int64_t>(req.id) : err.id, p::Error::RateLimited,
                "Too many requests: at most " + std::to_string(static_cast<long long>(ctx_.config.rate_per_second)) +
                    " per second. The request was dropped.");
    return;
  }
  if (!parsed) {
    reply_error(err.id, err.code, err.message);
    return;
  }
  HubResult r;
  switch (req.op) {
    case p::Op::Join: {
      NoticeMode mode = NoticeMode::User;
      if (auto n = req.body.find("notices"); n != req.body.end() && !n->is_null()) {
        if (*n == "connection") mode = NoticeMode::Connection;
        else if (*n != "user") {
          r = HubResult::fail(p::Error::InvalidParameter, "\"notices\" must be \"user\" or \"connection\".");
          break;
        }
      }
      if (req.group && identity_.groups && !Authenticator::group_allowed(*identity_.groups, *req.group)) {
        r = HubResult::fail(p::Error::Forbidden, "This token does not allow joining group \"" + *req.group + "\".");
        break;
      }
      r = ctx_.hub.join(*this, req.group, mode);
      break;
    }
    case p::Op::Post:
      r = ctx_.hub.post_group(*this, *req.group, req.payload);
      if (r.ok && req.notification)
        push::after_group(ctx_.push.get(), ctx_.hub.presence(), *req.group, user(), *req.notification);
      break;
    case p::Op::Private:
      r = ctx_.hub.post_private(*this, req.user, req.payload);
      if (req.notification) r = push::after_private(ctx_.push.get(), req.user, *req.notification, std::move(r));
      break;
    case p::Op::Vapid:
    case p::Op::Subscribe:
    case p::Op::Unsubscribe:
    case p::Op::Push: {
      nlohmann::json data;
      r = push::handle_request(ctx_.push.get(), req, identity_, ctx_.config.limits, data);
      if (r.ok && !data.is_null()) return reply(p::ok_frame(req.id, data));
      break;
    }
    case p::Op::Ping: break;
    case p::Op::Rtc:
      r = ctx_.config.test_rtc_jitter_ms > 0 ? relay_rtc_with_jitter(req.cid, req.payload)
                                             : ctx_.hub.relay_rtc(*this, req.cid, req.payload);
      break;
    case p::Op::Auth: {
      nlohmann::json data;
      r = refresh(req.token, data);
      if (r.ok) return reply(p::ok_frame(req.id, data));
      break;
    }
    case p::Op::Users:
    case p::Op::Groups: {
      // A reply's bytes count against the connection's reply budget (docs/operations.md, Limits).
      if (!reply_bytes_.available()) {
        ctx_.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
        r = HubResult::fail(p::Error::RateLimited, "Too many query reply bytes: at most " +
                                                       std::to_string(static_cast<long long>(ctx_.config.reply_rate_bytes)) +
                                                       " per second. The request was dropped.");
        break;
      }
      QueryLimits limits{ctx_.config.max_reply_bytes, ctx_.config.max_query_scan};
      nlohmann::json data;
      try {
        r = req.op == p::Op::Users
                ? query_users(req.body, *req.group, ctx_.hub.presence(), identity_.groups, ctx_.config.limits, limits, data)
                : query_groups(req.body, ctx_.hub.presence(), identity_.groups, ctx_.config.limits, limits, data);
      } catch (const BackendUnavailable& e) {
        r = HubResult::fail(p::Error::Unavailable, std::string("The cluster backend is unavailable (") + e.what() + ").");
      }
      if (!r.ok) break;
      std::string frame = p::ok_frame(req.id, data);
      reply_bytes_.charge(frame.size());
      return reply(std::move(frame));
    }
  }
  if (r.ok) reply(p::ok_frame(req.id));
  else reply_error(req.id, r.code, r.message);
}

void WsSession::fail_internal(const char* what) {
  ctx_.metrics.handler_errors.fetch_add(1, std::memory_order_relaxed);
  log::error("handler_exception").kv("cid", cid()).kv("user", user()).kv("what", what);
  close_with(p::close_code::InternalError, "Internal error.", Disconnect::InternalError);
}

void WsSession::reply(std::string frame) { deliver(std::make_shared<const std::string>(std::move(frame))); }

void WsSession::reply_error(const std::optional<std::int64_t>& id, p::Error code, std::string_view message) {
  ctx_.metrics.error(code);
  log::debug("request_error").kv("cid", cid()).kv("user", user()).kv("code", p::to_string(code));
  reply(p::error_frame(id, code, message));
}

void WsSession::arm_idle() {
  if (ctx_.config.idle_timeout.count() <= 0 || closing_ || finished_) return;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.config.idle_timeout) / 2);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closing_ || self->finished_) return;
    if (self->heard_) {
      self->heard_ = self->pinged_ = false;
    } else if (!self->pinged_) {
      self->pinged_ = true;
      self->send_control(ws::control_frame(ws::kPing, ""));
    } else {
      return self->finish(Disconnect::IdleTimeout);
    }
    self->arm_idle();
  });
}

// Starts the closing handshake and bounds it: a peer that does not read (a slow consumer, or a
// dead one during shutdown) is dropped at the TCP level after kCloseGrace.
void WsSession::close_with(int code, std::string reason, Disconnect why) {
  if (closing_ || finished_) return;
  closing_ = true;
  why_ = why;
  drop_queued();
  // A close frame's payload is at most 125 bytes: 2 for the code, the reason cut on a character
  // boundary (a reason that is not valid UTF-8 fails the close, and the browser sees 1006).
  send_control(ws::close_frame(static_cast<std::uint16_t>(code), reason));
  timer_.expires_after(kCloseGrace);
  timer_.async_wait([self = shared_from_this(), why](beast::error_code ec) {
    if (!ec) self->finish(why);
  });
}

void WsSession::shutdown() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    self->close_with(p::close_code::GoingAway, "Server is shutting down.", Disconnect::Shutdown);
  });
}

// The end, once: the socket closes (pending waits complete with an error and do nothing).
void WsSession::finish(Disconnect why) {
  if (finished_) return;
  finished_ = true;
  beast::error_code ec;
  timer_.cancel();
  expiry_timer_.cancel();
  socket_.close(ec);
  drop_queued();
  batch_.clear();
  control_.clear();
  unit_size_ = 0;
  if (!started_) return;  // the upgrade was refused at the HTTP level: no session to count
  if (why_) why = *why_;
  // Refused connections were counted by their refusal reason; count every session once.
  ctx_.metrics.disconnect(why);
  if (attached_) {
    attached_ = false;
    ctx_.hub.detach(*this);
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - opened_).count();
    log::info("conn_close").kv("cid", cid()).kv("user", user()).kv("reason", to_string(why))
        .kv("seconds", static_cast<long long>(secs));
  }
  std::lock_guard lock(ctx_.sessions_mu);
  ctx_.sessions.erase(shared_from_this());
}

const char* to_string(Disconnect d) {
  switch (d) {
    case Disconnect::ClientClosed: return "client_closed";
    case Disconnect::ConnectionLost: return "connection_lost";
    case Disconnect::IdleTimeout: return "idle_timeout";
    case Disconnect::TooLarge: return "too_large";
    case Disconnect::BadFrame: return "bad_frame";
    case Disconnect::Unauthorized: return "unauthorized";
    case Disconnect::Forbidden: return "forbidden";
    case Disconnect::TokenExpired: return "token_expired";
    case Disconnect::SlowConsumer: return "slow_consumer";
    case Disconnect::Shutdown: return "shutdown";
    case Disconnect::InternalError: return "internal_error";
    case Disconnect::kCount: break;
  }
  return "unknown";
}

}  // namespace sb::server
