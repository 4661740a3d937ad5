#include "redis_link.hpp"

#include <algorithm>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.hpp"

namespace sb::server {

namespace net = boost::asio;
using error_code = boost::system::error_code;

bool parse_redis_url(const std::string& url, RedisAddress& out, std::string& why) {
  const std::string scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    why = "a Redis URL starts with redis:// (" + url + ")";
    return false;
  }
  RedisAddress a;
  a.url = url;
  std::string rest = url.substr(scheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    if (!db.empty()) {
      if (db.size() > 5 || !std::all_of(db.begin(), db.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        why = "the database in " + url + " must be a number";
        return false;
      }
      a.db = std::stoi(db);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    rest.resize(colon);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      why = "the port in " + url + " must be 1 to 65535";
      return false;
    }
    a.port = std::stoi(port);
  }
  if (rest.find('@') != std::string::npos) {
    why = "credentials in Redis URLs are not supported (" + url + ")";
    return false;
  }
  if (!rest.empty()) a.host = rest;
  out = a;
  return true;
}

RedisReply RedisReply::from(const redisReply* r) {
  RedisReply out;
  if (!r) return out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER: out.type = Integer; out.integer = r->integer; break;
    case REDIS_REPLY_STRING: out.type = String; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = Status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.type = Error; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ARRAY:
      out.type = Array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(from(r->element[i]));
      break;
    default: break;
  }
  return out;
}

// ---- the Asio adapter: hiredis asks for read/write readiness, we wait for it -----------------
struct RedisLink::Watch : std::enable_shared_from_this<Watch> {
  redisAsyncContext* ac;
  net::posix::stream_descriptor sd;
  bool want_read = false, want_write = false, reading = false, writing = false;
  Watch(net::io_context& ioc, redisAsyncContext* c) : ac(c), sd(ioc, c->c.fd) {}

  void arm(bool read) {
    bool& want = read ? want_read : want_write;
    bool& armed = read ? reading : writing;
    if (!ac || !want || armed) return;
    armed = true;
    sd.async_wait(read ? net::posix::stream_descriptor::wait_read : net::posix::stream_descriptor::wait_write,
                  [self = shared_from_this(), read](error_code ec) {
                    (read ? self->reading : self->writing) = false;
                    if (ec || !self->ac || !(read ? self->want_read : self->want_write)) return;
                    if (read) redisAsyncHandleRead(self->ac);  // may free the context: cleanup clears ac
                    else redisAsyncHandleWrite(self->ac);
                    self->arm(read);
                  });
  }
  static Watch& of(void* p) { return **static_cast<std::shared_ptr<Watch>*>(p); }
  static void add_read(void* p) { of(p).want_read = true, of(p).arm(true); }
  static void del_read(void* p) { of(p).want_read = false; }
  static void add_write(void* p) { of(p).want_write = true, of(p).arm(false); }
  static void del_write(void* p) { of(p).want_write = false; }
  static void cleanup(void* p) {  // the context is being freed; hiredis closes the socket after this
    auto* holder = static_cast<std::shared_ptr<Watch>*>(p);
    Watch& w = **holder;
    w.ac = nullptr;
    error_code ec;
    w.sd.cancel(ec);
    w.sd.release();
    delete holder;
  }
};

RedisLink::RedisLink(net::io_context& ioc, RedisAddress addr, std::function<void()> on_up, std::function<void()> on_down)
    : ioc_(ioc), addr_(std::move(addr)), on_up_(std::move(on_up)), on_down_(std::move(on_down)), retry_(ioc), connect_deadline_(ioc) {}

RedisLink::~RedisLink() {
  stopped_ = true;
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    ac->onDisconnect = nullptr;
    ac->onConnect = nullptr;
    redisAsyncFree(ac);
  }
}

void RedisLink::start() { connect(); }

void RedisLink::stop() {
  stopped_ = true;
  retry_.cancel();
  connect_deadline_.cancel();
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks get nullptr; on_disconnect runs when it was connected
  }
  up_.store(false, std::memory_order_release);
}

void RedisLink::connect() {
  if (stopped_) return;
  redisAsyncContext* ac = redisAsyncConnect(addr_.host.c_str(), addr_.port);
  if (!ac || ac->err) {
    log::warn("redis_connect_failed").kv("url", addr_.url).kv("error", ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    return schedule_reconnect();
  }
  ac_ = ac;
  ac->data = this;
  auto* holder = new std::shared_ptr<Watch>(std::make_shared<Watch>(ioc_, ac));
  ac->ev.data = holder;
  ac->ev.addRead = Watch::add_read;
  ac->ev.delRead = Watch::del_read;
  ac->ev.addWrite = Watch::add_write;
  ac->ev.delWrite = Watch::del_write;
  ac->ev.cleanup = Watch::cleanup;
  redisAsyncSetConnectCallback(ac, &RedisLink::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisLink::on_disconnect);
  Watch::add_write(holder);  // the connect completes on the first writable event
  // A connect that neither succeeds nor fails (a black-holed address) is given up after a while.
  connect_deadline_.expires_after(std::chrono::seconds(3));
  connect_deadline_.async_wait([this, ac](error_code ec) {
    if (ec || ac_ != ac || up()) return;
    log::warn("redis_connect_failed").kv("url", addr_.url).kv("error", "timeout");
    ac_ = nullptr;
    ac->onDisconnect = nullptr;
    ac->onConnect = nullptr;
    redisAsyncFree(ac);
    lost();
  });
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (status != REDIS_OK) {  // hiredis frees the context after this
    log::warn("redis_connect_failed").kv("url", self->addr_.url).kv("error", ac->errstr);
    self->ac_ = nullptr;
    return self->lost();
  }
  self->connect_deadline_.cancel();
  self->backoff_ = std::chrono::milliseconds(0);
  self->up_.store(true, std::memory_order_release);
  log::info("redis_connected").kv("url", self->addr_.url);
  if (self->addr_.db) self->command({"SELECT", std::to_string(self->addr_.db)}, [](const redisReply*) {});
  if (self->on_up_) self->on_up_();
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self->ac_ == ac) self->ac_ = nullptr;  // hiredis frees it after this
  log::warn("redis_disconnected").kv("url", self->addr_.url).kv("error", ac->errstr ? ac->errstr : "");
  self->lost();
}

void RedisLink::lost() {
  bool was_up = up_.exchange(false, std::memory_order_acq_rel);
  connect_deadline_.cancel();
  if (was_up && on_down_) on_down_();
  if (!stopped_) schedule_reconnect();
}

// 100 ms, doubling up to 5 s; a try per interval, never a spin.
void RedisLink::schedule_reconnect() {
  if (stopped_) return;
  backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
  reconnects_.fetch_add(1, std::memory_order_relaxed);
  retry_.expires_after(backoff_);
  retry_.async_wait([this](error_code ec) {
    if (!ec) connect();
  });
}

namespace {
void run_once(redisAsyncContext*, void* reply, void* priv) {
  std::unique_ptr<RedisLink::Callback> cb(static_cast<RedisLink::Callback*>(priv));
  (*cb)(static_cast<const redisReply*>(reply));
}
}  // namespace

void RedisLink::command(const std::vector<std::string>& argv, Callback cb) {
  if (!ac_ || !up()) return cb(nullptr);
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* priv = new Callback(std::move(cb));
  if (redisAsyncCommandArgv(ac_, run_once, priv, static_cast<int>(args.size()), args.data(), lens.data()) != REDIS_OK) {
    std::unique_ptr<Callback> own(priv);
    (*own)(nullptr);
  }
}

namespace {
// Every subscription of a link shares this callback: hiredis calls it for the confirmation and
// each message of the channel (and with nullptr when the context goes).
void run_push(redisAsyncContext* ac, void* reply, void* priv) {
  auto* cb = static_cast<RedisLink::Callback*>(priv);
  if (reply && *cb) (*cb)(static_cast<const redisReply*>(reply));
}
}  // namespace

void RedisLink::subscribe(const std::string& channel, bool on) {
  if (!ac_ || !up()) return;
  const char* args[2] = {on ? "SUBSCRIBE" : "UNSUBSCRIBE", channel.data()};
  std::size_t lens[2] = {on ? 9u : 11u, channel.size()};
  redisAsyncCommandArgv(ac_, run_push, &push_, 2, args, lens);
}

}  // namespace sb::server
