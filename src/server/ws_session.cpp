#include "ws_session.hpp"

#include "push/push_requests.hpp"

#include <algorithm>
#include <sstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include "../protocol/frames.hpp"
#include "log.hpp"
#include "queries.hpp"

namespace sb::server {

namespace p = sb::protocol;
namespace net = boost::asio;

std::size_t WsSession::hard_message_cap(std::size_t max_frame_bytes) {
  return std::max<std::size_t>(max_frame_bytes * 16, 1024 * 1024);
}

WsSession::WsSession(tcp::socket&& socket, ServerContext& ctx, Identity identity, std::string cid)
    : Peer(identity.user, std::move(cid)),
      ws_(std::move(socket)),
      ctx_(ctx),
      identity_(std::move(identity)),
      close_timer_(ws_.get_executor()),
      expiry_timer_(ws_.get_executor()),
      reply_bytes_(ctx.config.reply_rate_bytes, ctx.config.reply_burst_bytes) {
  ctx_.ws_sessions.fetch_add(1, std::memory_order_relaxed);
}

WsSession::~WsSession() { ctx_.ws_sessions.fetch_sub(1, std::memory_order_relaxed); }

void WsSession::run(http::request<http::string_body> req, std::string preread, std::string refusal,
                    int refusal_code, std::string subprotocol) {
  refusal_ = std::move(refusal);
  refusal_code_ = refusal_code;
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = ctx_.config.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.read_message_max(hard_message_cap(ctx_.config.limits.max_frame_bytes));
  ws_.auto_fragment(false);
  ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
    res.set(http::field::server, "switchboard");
    if (!subprotocol.empty()) res.set(http::field::sec_websocket_protocol, subprotocol);
  }));
  if (preread.empty()) {
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
    return;
  }
  // Beast accepts a request object or raw bytes, not both; hand it the request as bytes with
  // what followed it, so that the frames behind the upgrade are read, not dropped.
  std::ostringstream head;
  head << req.base();
  handshake_ = head.str() + preread;
  ws_.async_accept(net::buffer(handshake_), beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;
  try {
    start_session();
  } catch (const std::exception& e) {
    fail_internal(e.what());
    if (!reading_) read();  // the close handshake completes through the read loop
  }
}

void WsSession::start_session() {
  opened_ = refilled_ = std::chrono::steady_clock::now();
  tokens_ = ctx_.config.rate_burst;
  {
    std::lock_guard lock(ctx_.sessions_mu);
    if (ctx_.stopping) {
      close_with(p::close_code::GoingAway, "Server is shutting down.", Disconnect::Shutdown);
      read();
      return;
    }
    ctx_.sessions.insert(shared_from_this());
  }
  if (!refusal_.empty()) {
    log::info("conn_refused").kv("cid", cid()).kv("code", refusal_code_).kv("reason", refusal_);
    close_with(refusal_code_, refusal_,
               refusal_code_ == p::close_code::Unauthorized ? Disconnect::Unauthorized : Disconnect::Forbidden);
    read();
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
      read();
      return;
    }
    log::info("conn_refused").kv("cid", cid()).kv("user", user()).kv("code", p::close_code::Forbidden)
        .kv("reason", "connection cap").kv("cap", static_cast<unsigned long long>(cap));
    close_with(p::close_code::Forbidden, "Too many connections for this user (at most " + std::to_string(cap) + ").",
               Disconnect::Forbidden);
    read();
    return;
  }
  attached_ = true;
  ctx_.metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
  log::info("conn_open").kv("cid", cid()).kv("user", user());
  deliver(std::make_shared<const std::string>(p::welcome_frame(cid(), user(), ctx_.config.limits, expires_in(), ctx_.config.ice_servers_json)));
  arm_expiry();
  read();
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

// Reads in pieces so that an oversized message can be dropped as it streams in, without
// buffering it: the connection survives with a TOO_LARGE error.
void WsSession::read() {
  reading_ = true;
  std::size_t chunk = std::clamp<std::size_t>(ctx_.config.limits.max_frame_bytes + 1, 4096, 1024 * 1024);
  ws_.async_read_some(buffer_, chunk,
                      net::bind_allocator(net::recycling_allocator<void>(),
                                          beast::bind_front_handler(&WsSession::on_read, shared_from_this())));
}

void WsSession::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    finish(ec);
    return;
  }
  message_bytes_ += bytes;
  const std::size_t max = ctx_.config.limits.max_frame_bytes;
  if (message_bytes_ > max) {
    discarding_ = true;
    buffer_.consume(buffer_.size());
  }
  if (!ws_.is_message_done()) {
    read();
    return;
  }
  ctx_.metrics.messages_in.fetch_add(1, std::memory_order_relaxed);
  ctx_.metrics.bytes_in.fetch_add(message_bytes_, std::memory_order_relaxed);
  if (!attached_ || closing_) {
    // refused or closing: frames are not served; keep reading until the close completes
  } else if (discarding_) {
    if (take_token())
      reply_error(std::nullopt, p::Error::TooLarge, "Frame is larger than " + std::to_string(max) + " bytes.");
  } else if (!ws_.got_text()) {
    if (take_token()) reply_error(std::nullopt, p::Error::NotSupported, "Binary frames are not supported.");
  } else {
    auto data = buffer_.cdata();
    // The handler boundary: whatever a request makes throw ends this connection only.
    try {
      handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
    } catch (const std::exception& e) {
      fail_internal(e.what());
    }
  }
  buffer_.consume(buffer_.size());
  message_bytes_ = 0;
  discarding_ = false;
  read();  // also while closing: the closing handshake ends with a read error
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

// Called from any thread. The byte count is checked here so a flood from many publishers is
// refused before it is queued; the queue itself is touched only on the strand.
void WsSession::deliver(const Frame& frame) {
  if (cut_off_.load(std::memory_order_relaxed)) return;
  auto total = buffered_.fetch_add(frame->size(), std::memory_order_relaxed) + frame->size();
  if (total > ctx_.config.max_buffered_bytes) {
    buffered_.fetch_sub(frame->size(), std::memory_order_relaxed);
    if (!cut_off_.exchange(true)) {
      ctx_.metrics.slow_consumer_cutoffs.fetch_add(1, std::memory_order_relaxed);
      net::post(ws_.get_executor(), [self = shared_from_this()] {
        log::warn("slow_consumer").kv("cid", self->cid()).kv("user", self->user())
            .kv("buffered", static_cast<unsigned long long>(self->buffered()));
        self->close_with(p::close_code::SlowConsumer, "Slow consumer: outgoing buffer over the limit.",
                         Disconnect::SlowConsumer);
      });
    }
    return;
  }
  bool post;
  {
    std::lock_guard lock(out_mu_);
    pending_.push_back(frame);
    post = !flush_due_;
    flush_due_ = true;
  }
  if (post) schedule_flush();
}

namespace {
// Connections that got frames in this round of this I/O thread (run_io_thread).
thread_local std::vector<std::shared_ptr<WsSession>>* t_round = nullptr;
}  // namespace

void WsSession::schedule_flush() {
  if (t_round) t_round->push_back(shared_from_this());
  else  // not on an I/O thread: flush at once
    net::post(ws_.get_executor(),
              net::bind_allocator(net::recycling_allocator<void>(), [self = shared_from_this()] { self->flush(); }));
}

constexpr std::size_t kRoundHandlers = 64;

void run_io_thread(net::io_context& ioc) {
  std::vector<std::shared_ptr<WsSession>> round, posting;
  t_round = &round;
  while (!ioc.stopped()) {
    // A round is bounded, so that a steady stream of input cannot hold back the flushes.
    std::size_t ran = 0;
    try {
      while (ran < kRoundHandlers && ioc.poll_one()) ++ran;
      if (ran == 0 && round.empty()) ioc.run_one();  // nothing ready: wait for the next event
    } catch (const std::exception& e) {
      // The last line of defence: session handlers catch their own (with their cid); whatever
      // still gets here is logged and the loop goes on serving everyone else.
      log::error("io_exception").kv("what", e.what());
    }
    posting.swap(round);
    for (auto& s : posting)
      net::post(s->ws_.get_executor(),
                net::bind_allocator(net::recycling_allocator<void>(), [s] { s->flush(); }));
    posting.clear();
  }
  t_round = nullptr;
}

namespace {
// One outgoing WebSocket message holds at most this much of a batch (a single larger frame
// still goes alone), so a backlog reaches a browser in digestible pieces.
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
constexpr char kFrameSeparator = '\n';
}  // namespace

void WsSession::flush() {
  if (writing_) return;  // the write's completion flushes again
  if (closing_) return drop_queued();
  std::size_t bytes = 0;
  {
    std::lock_guard lock(out_mu_);
    std::size_t n = 0;
    while (n < pending_.size() && (n == 0 || bytes + pending_[n]->size() < kMaxBatchBytes)) bytes += pending_[n++]->size();
    if (n == pending_.size()) {
      inflight_.swap(pending_);  // the usual case: all of it; both keep their capacity
    } else {
      inflight_.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + n));
      pending_.erase(pending_.begin(), pending_.begin() + n);
    }
    if (inflight_.empty()) {
      flush_due_ = false;
      return;
    }
  }
  gather_.clear();
  for (std::size_t i = 0; i < inflight_.size(); ++i) {
    if (i) gather_.push_back(net::buffer(&kFrameSeparator, 1));
    gather_.push_back(net::buffer(*inflight_[i]));
  }
  writing_ = true;
  ws_.text(true);
  // The recycling allocator keeps Beast's per-write operation state out of malloc.
  ws_.async_write(gather_, net::bind_allocator(net::recycling_allocator<void>(),
                                               [self = shared_from_this(), bytes](beast::error_code ec, std::size_t) {
    self->writing_ = false;
    self->buffered_.fetch_sub(bytes, std::memory_order_relaxed);
    self->ctx_.metrics.messages_out.fetch_add(self->inflight_.size(), std::memory_order_relaxed);
    self->ctx_.metrics.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    self->inflight_.clear();
    if (ec) return self->drop_queued();  // the read side sees the error and finishes
    self->flush();
  }));
}

// Closing or failed: what is still queued will not be sent.
void WsSession::drop_queued() {
  std::lock_guard lock(out_mu_);
  for (auto& f : pending_) buffered_.fetch_sub(f->size(), std::memory_order_relaxed);
  pending_.clear();
  flush_due_ = false;
}

// Starts the closing handshake and bounds it: a peer that does not read (a slow consumer, or a
// dead one during shutdown) is dropped at the TCP level after kCloseGrace.
void WsSession::close_with(int code, std::string reason, Disconnect why) {
  if (closing_ || finished_) return;
  closing_ = true;
  why_ = why;
  websocket::close_reason cr(static_cast<std::uint16_t>(code));
  // A close frame's payload is at most 125 bytes: 2 for the code, the reason cut on a character
  // boundary (a reason that is not valid UTF-8 fails the close, and the browser sees 1006).
  cr.reason = std::string(p::utf8_prefix(reason, 123));
  ws_.async_close(cr, [self = shared_from_this()](beast::error_code) {});
  close_timer_.expires_after(kCloseGrace);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->ws_.next_layer().close(ec);
  });
}

// From the hub, under its lock, on any thread: the close runs on this session's strand.
void WsSession::close_by_server() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_with(p::close_code::DisconnectedByServer, "Disconnected by the server.", Disconnect::ByServer);
  });
}

void WsSession::shutdown() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_with(p::close_code::GoingAway, "Server is shutting down.", Disconnect::Shutdown);
  });
}

void WsSession::finish(beast::error_code ec) {
  if (finished_) return;
  finished_ = true;
  close_timer_.cancel();
  expiry_timer_.cancel();
  Disconnect why = Disconnect::ConnectionLost;
  if (why_) why = *why_;
  else if (ec == websocket::error::closed) why = Disconnect::ClientClosed;
  else if (ec == beast::error::timeout) why = Disconnect::IdleTimeout;
  else if (ec == websocket::error::message_too_big) why = Disconnect::TooLarge;
  else if (ec.category() == beast::error_code(websocket::error::closed).category() ||
           ec == websocket::condition::protocol_violation)
    why = Disconnect::BadFrame;
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
    case Disconnect::ByServer: return "by_server";
    case Disconnect::kCount: break;
  }
  return "unknown";
}

}  // namespace sb::server
