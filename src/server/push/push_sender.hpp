// Sends Web Push requests (RFC 8030) over HTTPS with Beast and OpenSSL, on a thread of its own so
// that a slow or hanging push service never holds up the realtime I/O threads. A bounded queue,
// at most `concurrency` requests in flight, a deadline per attempt, bounded retries with
// exponential backoff on 429 / 5xx / network errors, and removal of a subscription the push
// service answers 404 or 410 for.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "push_config.hpp"
#include "subscriptions.hpp"
#include "vapid.hpp"

namespace sb::server::push {

struct PushMetrics {
  using Counter = std::atomic<std::uint64_t>;
  Counter queued{0};   // accepted into the queue
  Counter dropped{0};  // refused: queue full
  Counter sent{0};     // answered 2xx
  Counter retried{0};  // attempts repeated after 429 / 5xx / network error
  Counter failed{0};   // given up: other 4xx, encryption failure, retries exhausted
  Counter gone{0};     // subscriptions removed after 404 / 410
  Counter skipped{0};  // notifications not sent: the subscription store (Redis) was unavailable
};

struct PushJob {
  std::string user;
  Subscription sub;
  std::string payload;  // the plaintext, JSON {"title","body"}
  int attempt = 0;      // attempts made so far
};

class PushSender {
 public:
  PushSender(const PushConfig& config, const Vapid& vapid, SubscriptionStore& store, PushMetrics& metrics);
  ~PushSender();
  bool start(std::string& error);  // TLS context (system CAs + ca_file) and the thread
  void stop();
  bool enqueue(PushJob job);  // false (counted as dropped) when the queue is full
  std::size_t queued() const;
  std::size_t in_flight() const { return in_flight_.load(); }

 private:
  struct Attempt;
  void pump();  // sender thread: start queued jobs while there is room
  void finish(PushJob job, int status, const std::string& error, std::chrono::milliseconds retry_after);

  const PushConfig& cfg_;
  const Vapid& vapid_;
  SubscriptionStore& store_;
  PushMetrics& metrics_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ssl_{boost::asio::ssl::context::tls_client};
  std::thread thread_;
  mutable std::mutex mu_;
  std::deque<PushJob> queue_;
  std::atomic<std::size_t> in_flight_{0};
  bool started_ = false;
};

}  // namespace sb::server::push
