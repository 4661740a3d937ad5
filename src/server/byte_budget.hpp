// A per-connection token bucket of bytes, for what a connection's query replies may cost
// (docs/operations.md, Limits): `rate` bytes per second on average, `burst` at once; rate 0 is
// unlimited. A reply is allowed while the bucket is not empty and is then charged in full, so the
// bucket goes below zero by at most one reply (max_reply_bytes) and time pays the debt back.
// Used on the connection's strand only.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>

namespace sb::server {

class ByteBudget {
 public:
  using Clock = std::chrono::steady_clock;
  ByteBudget(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst), refilled_(Clock::now()) {}

  bool available(Clock::time_point now = Clock::now()) {
    if (rate_ <= 0) return true;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate_);
    refilled_ = now;
    return tokens_ > 0;
  }
  void charge(std::size_t bytes) {
    if (rate_ > 0) tokens_ -= static_cast<double>(bytes);
  }

 private:
  double rate_, burst_, tokens_;
  Clock::time_point refilled_;
};

}  // namespace sb::server
