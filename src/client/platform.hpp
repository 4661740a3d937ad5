// What the portable client core needs from the platform it runs on. The wasm build binds these
// to the browser (src/wasm), native tools to Beast, unit tests to fakes (tests/fake_platform.hpp).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace sb::client {

// One WebSocket at a time. open() replaces any previous socket: after open() or close() the
// platform must not report events of the old socket. Events come back through the Core's
// on_transport_* methods.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void open(const std::string& url) = 0;
  virtual void send(const std::string& text) = 0;
  virtual void close(int code, const std::string& reason) = 0;
};

using TimerId = std::uint64_t;

// Monotonic time and one-shot timers. Callbacks run on the core's thread, never inside start().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual double now_ms() = 0;
  virtual TimerId start(double delay_ms, std::function<void()> fn) = 0;
  virtual void cancel(TimerId id) = 0;
};

// Services the core asks of its host: a token for each connection attempt and for each refresh
// of the open connection's token before it expires (answered later, with the same request id,
// through Core::on_token / Core::on_token_error), and randomness for backoff jitter.
class Host {
 public:
  virtual ~Host() = default;
  virtual void need_token(std::uint64_t request) = 0;
  virtual double random_unit() = 0;  // uniform in [0, 1)
};

}  // namespace sb::client
