#include "ws_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "../protocol/frames.hpp"
#include "queries.hpp"

namespace sb::server {

namespace p = sb::protocol;
namespace net = boost::asio;

WsSession::WsSession(tcp::socket&& socket, ServerContext& ctx, std::string user, std::string cid)
    : Peer(std::move(user), std::move(cid)),
      ws_(std::move(socket)),
      ctx_(ctx),
      close_timer_(ws_.get_executor()) {}

void WsSession::run(http::request<http::string_body> req, std::string refusal, int refusal_code,
                    std::string subprotocol) {
  refusal_ = std::move(refusal);
  refusal_code_ = refusal_code;
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = ctx_.config.idle_timeout;
  ws_.set_option(timeouts);
  ws_.read_message_max(ctx_.config.limits.max_frame_bytes);
  ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
    res.set(http::field::server, "switchboard");
    if (!subprotocol.empty()) res.set(http::field::sec_websocket_protocol, subprotocol);
  }));
  ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;
  if (!refusal_.empty()) {
    close_with(refusal_code_, refusal_);
    read();
    return;
  }
  {
    std::lock_guard lock(ctx_.sessions_mu);
    if (ctx_.stopping) return;
    ctx_.sessions.insert(shared_from_this());
  }
  ctx_.hub.attach(shared_from_this());
  attached_ = true;
  deliver(std::make_shared<const std::string>(p::welcome_frame(cid(), user(), ctx_.config.limits)));
  read();
}

void WsSession::read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    finish();
    return;
  }
  if (!ws_.got_text()) {
    reply(p::error_frame(std::nullopt, p::Error::NotSupported, "Binary frames are not supported."));
  } else {
    auto data = buffer_.cdata();
    handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  buffer_.consume(buffer_.size());
  read();  // also while closing: the closing handshake ends with a read error
}

void WsSession::handle(std::string_view text) {
  p::Request req;
  p::RequestError err;
  if (!p::parse_request(text, ctx_.config.limits, req, err)) {
    reply(p::error_frame(err.id, err.code, err.message));
    return;
  }
  HubResult r;
  switch (req.op) {
    case p::Op::Join: r = ctx_.hub.join(*this, req.group); break;
    case p::Op::Post: r = ctx_.hub.post_group(*this, *req.group, req.payload); break;
    case p::Op::Private: r = ctx_.hub.post_private(*this, req.user, req.payload); break;
    case p::Op::Ping: break;
    case p::Op::Rtc: r = ctx_.hub.relay_rtc(*this, req.cid, req.payload); break;
    case p::Op::Users: {
      auto members = ctx_.hub.members(*req.group);
      std::vector<Member> list;
      if (members)
        for (auto& [u, c] : *members) list.push_back(Member{u, c});
      nlohmann::json data;
      r = query_users(req.body, std::move(list), ctx_.config.limits, data);
      if (r.ok) return reply(p::ok_frame(req.id, data));
      break;
    }
    case p::Op::Groups: {
      std::vector<GroupInfo> list;
      for (auto& [g, n] : ctx_.hub.groups()) list.push_back(GroupInfo{g, n});
      nlohmann::json data;
      r = query_groups(req.body, std::move(list), ctx_.config.limits, data);
      if (r.ok) return reply(p::ok_frame(req.id, data));
      break;
    }
  }
  reply(r.ok ? p::ok_frame(req.id) : p::error_frame(req.id, r.code, r.message));
}

void WsSession::reply(std::string frame) { deliver(std::make_shared<const std::string>(std::move(frame))); }

// Called from any thread. The byte count is checked here so a flood from many publishers is
// refused before it is queued; the queue itself is touched only on the strand.
void WsSession::deliver(const Frame& frame) {
  if (cut_off_.load(std::memory_order_relaxed)) return;
  auto total = buffered_.fetch_add(frame->size(), std::memory_order_relaxed) + frame->size();
  if (total > ctx_.config.max_buffered_bytes) {
    if (!cut_off_.exchange(true))
      net::post(ws_.get_executor(), [self = shared_from_this()] {
        self->close_with(p::close_code::SlowConsumer, "Slow consumer: outgoing buffer over the limit.");
      });
    return;
  }
  net::post(ws_.get_executor(), [self = shared_from_this(), frame] {
    if (self->closing_) return;
    self->queue_.push_back(frame);
    if (!self->writing_) self->write_next();
  });
}

void WsSession::write_next() {
  if (queue_.empty() || closing_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(*queue_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                    self->buffered_.fetch_sub(self->queue_.front()->size(), std::memory_order_relaxed);
                    self->queue_.pop_front();
                    if (ec) {
                      self->writing_ = false;
                      return;  // the read side sees the error and finishes
                    }
                    self->write_next();
                  });
}

// Starts the closing handshake and bounds it: a peer that does not read (a slow consumer, or a
// dead one during shutdown) is dropped at the TCP level after kCloseGrace.
void WsSession::close_with(int code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  websocket::close_reason cr(static_cast<std::uint16_t>(code));
  cr.reason = reason.substr(0, 120);  // a close frame's payload is at most 125 bytes
  ws_.async_close(cr,
                  [self = shared_from_this()](beast::error_code) {});
  close_timer_.expires_after(kCloseGrace);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) beast::get_lowest_layer(self->ws_).socket().close(ec);
  });
}

void WsSession::shutdown() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_with(p::close_code::GoingAway, "Server is shutting down.");
  });
}

void WsSession::finish() {
  close_timer_.cancel();
  if (attached_) {
    attached_ = false;
    ctx_.hub.detach(*this);
  }
  std::lock_guard lock(ctx_.sessions_mu);
  ctx_.sessions.erase(shared_from_this());
}

}  // namespace sb::server
