// A real redis-server on a free port, started per test (no persistence), and a small
// synchronous hiredis client to look inside it (PUBSUB NUMSUB, keys).
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

namespace sb::testing {

inline unsigned short free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// The answer of one command, flattened: an integer, a string, or an array of strings.
struct RedisAnswer {
  bool ok = false;
  long long integer = 0;
  std::string str;
  std::vector<std::string> items;
};

class RedisProcess {
 public:
  explicit RedisProcess(unsigned short port = 0) : port_(port ? port : free_port()) { start(); }
  ~RedisProcess() { kill_hard(); }
  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool up() const { return pid_ > 0; }
  // Starts it again on the same port (after kill_hard), empty, and waits until it answers.
  bool start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning", (char*)nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (command({"PING"}).str == "PONG") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  RedisAnswer command(const std::vector<std::string>& argv) const {
    RedisAnswer out;
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      return out;
    }
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (auto& a : argv) args.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
    if (r) {
      out.ok = r->type != REDIS_REPLY_ERROR;
      if (r->type == REDIS_REPLY_INTEGER) out.integer = r->integer;
      if (r->str) out.str.assign(r->str, r->len);
      for (size_t i = 0; i < r->elements; ++i) {
        auto* e = r->element[i];
        out.items.push_back(e->str ? std::string(e->str, e->len) : std::to_string(e->integer));
      }
      freeReplyObject(r);
    }
    redisFree(c);
    return out;
  }
  // Subscribers of a channel (PUBSUB NUMSUB).
  long long numsub(const std::string& channel) const {
    auto a = command({"PUBSUB", "NUMSUB", channel});
    return a.items.size() == 2 ? std::stoll(a.items[1]) : -1;
  }
  std::vector<std::string> channels() const { return command({"PUBSUB", "CHANNELS"}).items; }

 private:
  unsigned short port_;
  pid_t pid_ = -1;
};

}  // namespace sb::testing
