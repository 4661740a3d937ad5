// The server: a listener and N event loops (io_contexts), each run by one thread. Used by main.cpp and, in-process
// on an ephemeral port, by the tests.
#pragma once
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server_context.hpp"

namespace sb::server {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  unsigned short start();  // binds and starts the I/O threads; returns the bound port
  void stop();             // stop accepting, close every session with GoingAway, join threads
  ServerContext& context() { return *ctx_; }

 private:
  void accept();
  void accept_failed(const boost::system::error_code& ec);

  std::unique_ptr<ServerContext> ctx_;
  // Loops 1..N-1 (ioc_ is loop 0). Declared before ioc_, so destroyed after it: an accept still
  // pending on ioc_ holds a socket of one of these loops, and ioc_'s destructor destroys it.
  std::vector<std::unique_ptr<boost::asio::io_context>> more_loops_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Accept failures (acceptor strand only): backoff, and a log line per interval.
  static constexpr std::chrono::seconds kAcceptLogInterval{10};
  boost::asio::steady_timer accept_timer_;
  std::chrono::milliseconds accept_backoff_{0};
  std::chrono::steady_clock::time_point accept_logged_{};
  unsigned long long accept_failures_ = 0;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::size_t next_loop_ = 0;  // acceptor strand only
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace sb::server
