// Counters for GET /metrics (Prometheus text format). Relaxed atomics: a counter costs one
// uncontended-ish add; gauges (connections, users, groups, buffered bytes) are read from the hub
// and the sessions when scraped, not kept on the hot path.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "../protocol/errors.hpp"

namespace sb::server {

// Why a connection ended (label `reason` of switchboard_disconnects_total).
enum class Disconnect : unsigned char {
  ClientClosed,   // the client sent a close frame
  ConnectionLost, // TCP error or EOF without a close frame
  IdleTimeout,    // no pong within the idle timeout
  TooLarge,       // a message over the hard size cap (1009)
  BadFrame,       // a protocol violation, e.g. invalid UTF-8 in a text frame (1007/1002)
  Unauthorized,   // token refused (4001)
  Forbidden,      // origin refused or connection cap reached (4003)
  TokenExpired,   // the token expired and was not refreshed (4002)
  SlowConsumer,   // outgoing buffer over the limit (4008)
  Shutdown,       // server shutting down (1001)
  InternalError,  // a handler of this connection threw (1011)
  ByServer,       // the app's backend closed it: POST /api/disconnect (4005)
  kCount
};
const char* to_string(Disconnect d);

struct Metrics {
  using Counter = std::atomic<std::uint64_t>;
  Counter connections_total{0};    // accepted and welcomed
  Counter messages_in{0};          // frames read from clients
  Counter bytes_in{0};
  Counter messages_out{0};         // frames written to clients
  Counter bytes_out{0};
  Counter slow_consumer_cutoffs{0};
  Counter rate_limited{0};
  Counter handler_errors{0};       // handlers that threw; each closed only its own connection
  Counter accept_errors{0};        // accept() failures, out of file descriptors among them
  Counter refused_full{0};         // upgrades answered 503: --max-connections reached
  std::array<Counter, static_cast<std::size_t>(protocol::Error::Internal) + 1> errors{};
  std::array<Counter, static_cast<std::size_t>(Disconnect::kCount)> disconnects{};

  void error(protocol::Error e) { errors[static_cast<std::size_t>(e)].fetch_add(1, std::memory_order_relaxed); }
  void disconnect(Disconnect d) { disconnects[static_cast<std::size_t>(d)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t errors_of(protocol::Error e) const { return errors[static_cast<std::size_t>(e)].load(); }
  std::uint64_t disconnects_of(Disconnect d) const { return disconnects[static_cast<std::size_t>(d)].load(); }
};

}  // namespace sb::server

namespace sb::server {
struct ServerContext;
// The Prometheus text exposition of every metric (GET /metrics).
std::string render_metrics(ServerContext& ctx);
}  // namespace sb::server
