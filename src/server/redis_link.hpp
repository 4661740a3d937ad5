// One Redis connection (hiredis async) driven by an Asio io_context: the small adapter hiredis
// needs (watch its socket for read/write readiness with posix::stream_descriptor::async_wait)
// and reconnection with backoff. Single-thread ownership: every member function except up()
// runs on the io_context's one thread (RedisBackend posts to it), so hiredis is never touched
// by two threads.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

struct redisAsyncContext;
struct redisReply;

namespace sb::server {

// A parsed redis://host:port[/db] address.
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string url;  // as given
};
// Parses redis://host[:port][/db]; nullopt-like: returns false and says why.
bool parse_redis_url(const std::string& url, RedisAddress& out, std::string& why);

// A reply copied out of hiredis (its replies live only during the callback).
struct RedisReply {
  enum Type { Nil, Integer, String, Status, Error, Array } type = Nil;
  long long integer = 0;
  std::string str;
  std::vector<RedisReply> elements;
  static RedisReply from(const redisReply* r);
};

class RedisLink {
 public:
  // `on_up` runs after each (re)connection, once SELECT was queued; `on_down` after each loss.
  RedisLink(boost::asio::io_context& ioc, RedisAddress addr, std::function<void()> on_up, std::function<void()> on_down);
  ~RedisLink();
  void start();
  void stop();  // disconnects and stops reconnecting
  bool up() const { return up_.load(std::memory_order_acquire); }  // any thread
  // Queues a command; `cb` gets the reply, or nullptr when the connection is or goes down.
  using Callback = std::function<void(const redisReply*)>;
  void command(const std::vector<std::string>& argv, Callback cb);
  // Pub/sub: one callback for every message and (un)subscribe confirmation on this link.
  void set_push_handler(Callback cb) { push_ = std::move(cb); }
  void subscribe(const std::string& channel, bool on);  // SUBSCRIBE or UNSUBSCRIBE
  unsigned long long reconnects() const { return reconnects_.load(std::memory_order_relaxed); }

 private:
  struct Watch;
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  void connect();
  void lost();
  void schedule_reconnect();

  boost::asio::io_context& ioc_;
  RedisAddress addr_;
  std::function<void()> on_up_, on_down_;
  Callback push_;
  redisAsyncContext* ac_ = nullptr;
  std::atomic<bool> up_{false};
  std::atomic<unsigned long long> reconnects_{0};
  bool stopped_ = false;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer connect_deadline_;
  std::chrono::milliseconds backoff_{0};
};

}  // namespace sb::server
