// The portable client core (src/client) on a native platform: Boost.Beast WebSockets and Asio
// timers on one io_context, the counterpart of src/wasm's browser binding. Everything runs on
// the io_context's thread (the core is single-threaded). Used by the load generator
// (bench/loadgen.cpp) and by the core-against-server integration test.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/core.hpp"

namespace sb::native {

// One WebSocket at a time (ws:// only). open() and close() retire the current socket: it is
// closed in the background and none of its events reach the core any more.
class BeastTransport final : public client::Transport {
 public:
  explicit BeastTransport(boost::asio::io_context& ioc) : ioc_(ioc) {}
  ~BeastTransport() override;
  void bind(client::Core* core) { core_ = core; }  // where events go (nullptr: nowhere)
  void open(const std::string& url) override;
  void send(const std::string& text) override;
  void close(int code, const std::string& reason) override;

  struct Socket;  // beast_transport.cpp

 private:
  void retire();
  boost::asio::io_context& ioc_;
  client::Core* core_ = nullptr;
  std::shared_ptr<Socket> sock_;
};

// Monotonic milliseconds and one-shot steady timers.
class AsioClock final : public client::Clock {
 public:
  explicit AsioClock(boost::asio::io_context& ioc) : ioc_(ioc) {}
  ~AsioClock() override;
  double now_ms() override;
  client::TimerId start(double delay_ms, std::function<void()> fn) override;
  void cancel(client::TimerId id) override;

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // a wait already due outlives a cancel
  client::TimerId next_ = 1;
  std::map<client::TimerId, std::shared_ptr<boost::asio::steady_timer>> timers_;
};

// Tokens from a function (called for every connection attempt and refresh), answered
// asynchronously as the core requires; randomness from a seeded generator.
class TokenHost final : public client::Host {
 public:
  TokenHost(boost::asio::io_context& ioc, std::function<std::string()> token, unsigned seed = 1)
      : ioc_(ioc), token_(std::move(token)), rng_(seed) {}
  ~TokenHost() override { *alive_ = false; }
  void bind(client::Core* core) { core_ = core; }
  void need_token(std::uint64_t request) override;
  double random_unit() override;

 private:
  boost::asio::io_context& ioc_;
  std::function<std::string()> token_;
  std::mt19937 rng_;
  client::Core* core_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A client core with its native platform: what an app or a tool holds.
class NativeClient {
 public:
  NativeClient(boost::asio::io_context& ioc, std::function<std::string()> token, client::EventSink sink,
               client::Options options = {});
  client::Core& core() { return core_; }

 private:
  BeastTransport transport_;
  AsioClock clock_;
  TokenHost host_;
  client::Core core_;
};

}  // namespace sb::native
