#include "beast_transport.hpp"

#include <chrono>
#include <deque>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace sb::native {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// One socket's life: resolve, connect, handshake, then a read loop and a write queue. `owner` is
// cleared when the transport retires it; from then on nothing is reported.
struct BeastTransport::Socket : std::enable_shared_from_this<Socket> {
  Socket(net::io_context& ioc, BeastTransport* o) : ws(ioc), resolver(ioc), owner(o) {}
  websocket::stream<tcp::socket> ws;
  tcp::resolver resolver;
  beast::flat_buffer buf;
  std::deque<std::string> outq;
  bool open = false, writing = false;
  BeastTransport* owner;
  std::string host, port, target;

  client::Core* core() const { return owner ? owner->core_ : nullptr; }

  // The socket ended: an error and then a close, as a browser reports them (1006: no close frame).
  void lost(const beast::error_code& ec) {
    if (!owner) return;
    if (ec == websocket::error::closed) {
      auto r = ws.reason();
      auto* c = core();
      owner->sock_.reset();  // the core may open the next one from its callback
      owner = nullptr;
      if (c) c->on_transport_close(r.code, std::string(r.reason.data(), r.reason.size()));
      return;
    }
    if (auto* c = core()) c->on_transport_error();
    if (!owner) return;  // the core moved on from this socket
    auto* c = core();
    owner->sock_.reset();
    owner = nullptr;
    if (c) c->on_transport_close(1006, "");
  }

  void start() {
    resolver.async_resolve(host, port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->lost(ec);
      net::async_connect(self->ws.next_layer(), r, [self](beast::error_code ec, const tcp::endpoint&) {
        if (ec) return self->lost(ec);
        if (!self->owner) {
          self->ws.next_layer().close(ec);
          return;
        }
        self->ws.next_layer().set_option(tcp::no_delay(true), ec);
        self->ws.read_message_max(64 * 1024 * 1024);
        self->ws.async_handshake(self->host + ":" + self->port, self->target, [self](beast::error_code ec) {
          if (ec) return self->lost(ec);
          if (!self->owner) return self->ws.async_close(websocket::close_code::normal, [self](beast::error_code) {});
          self->open = true;
          self->ws.text(true);
          self->read();
          if (auto* c = self->core()) c->on_transport_open();
          self->write_next();
        });
      });
    });
  }

  void read() {
    ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->lost(ec);
      auto d = self->buf.cdata();
      std::string_view text(static_cast<const char*>(d.data()), d.size());
      if (auto* c = self->core()) c->on_transport_text(text);
      self->buf.consume(self->buf.size());
      self->read();
    });
  }

  void write_next() {
    if (!open || writing || outq.empty()) return;
    writing = true;
    ws.async_write(net::buffer(outq.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing = false;
      self->outq.pop_front();
      if (ec) return;  // the read side reports the loss
      self->write_next();
    });
  }

  void close(int code, const std::string& reason) {
    owner = nullptr;
    if (!open) {
      beast::error_code ec;
      resolver.cancel();
      ws.next_layer().close(ec);  // a connection attempt in flight: abandon it
      return;
    }
    open = false;
    websocket::close_reason r(static_cast<websocket::close_code>(code), reason.substr(0, 120));
    ws.async_close(r, [self = shared_from_this()](beast::error_code) {});
  }
};

BeastTransport::~BeastTransport() {
  if (!sock_) return;
  sock_->owner = nullptr;
  beast::error_code ec;
  sock_->resolver.cancel();
  sock_->ws.next_layer().close(ec);
}

void BeastTransport::retire() {
  if (sock_) sock_->close(1000, "");
  sock_.reset();
}

// ws://host[:port]/target; anything else fails like an unreachable server (error, then close).
void BeastTransport::open(const std::string& url) {
  retire();
  sock_ = std::make_shared<Socket>(ioc_, this);
  std::string rest = url.rfind("ws://", 0) == 0 ? url.substr(5) : std::string();
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  sock_->target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  sock_->host = authority.substr(0, colon);
  sock_->port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (rest.empty() || sock_->host.empty()) {
    net::post(ioc_, [s = sock_] { s->lost(net::error::host_not_found); });
    return;
  }
  sock_->start();
}

void BeastTransport::send(const std::string& text) {
  if (!sock_) return;
  sock_->outq.push_back(text);
  sock_->write_next();
}

void BeastTransport::close(int code, const std::string& reason) {
  if (!sock_) return;
  sock_->close(code, reason);
  sock_.reset();
}

// ---- clock ----------------------------------------------------------------------------------

AsioClock::~AsioClock() {
  *alive_ = false;
  for (auto& [id, t] : timers_) t->cancel();
}

double AsioClock::now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

client::TimerId AsioClock::start(double delay_ms, std::function<void()> fn) {
  auto id = next_++;
  auto t = std::make_shared<net::steady_timer>(ioc_);
  t->expires_after(std::chrono::microseconds(static_cast<long long>(std::max(0.0, delay_ms) * 1000)));
  timers_[id] = t;
  t->async_wait([this, alive = alive_, id, fn = std::move(fn)](beast::error_code ec) {
    if (ec || !*alive) return;
    auto it = timers_.find(id);
    if (it == timers_.end()) return;  // cancelled after it fired
    timers_.erase(it);
    fn();
  });
  return id;
}

void AsioClock::cancel(client::TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  timers_.erase(it);
}

// ---- host -----------------------------------------------------------------------------------

void TokenHost::need_token(std::uint64_t request) {
  net::post(ioc_, [this, alive = alive_, request] {
    if (*alive && core_) core_->on_token(request, token_());
  });
}

double TokenHost::random_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

NativeClient::NativeClient(net::io_context& ioc, std::function<std::string()> token, client::EventSink sink,
                           client::Options options)
    : transport_(ioc), clock_(ioc), host_(ioc, std::move(token)), core_(transport_, clock_, host_, std::move(sink), options) {
  transport_.bind(&core_);
  host_.bind(&core_);
}

}  // namespace sb::native
