// Fakes for unit tests of the client core's own logic: a transport that records frames, a
// clock that moves only when told, a host with fixed randomness.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "client/core.hpp"

namespace sb::testing {

struct FakeTransport : client::Transport {
  std::vector<std::string> opened;  // URLs
  std::vector<std::string> sent;
  std::vector<std::pair<int, std::string>> closed;
  bool is_open = false;
  void open(const std::string& url) override { opened.push_back(url); is_open = true; }
  void send(const std::string& text) override { sent.push_back(text); }
  void close(int code, const std::string& reason) override { closed.emplace_back(code, reason); is_open = false; }
};

struct FakeClock : client::Clock {
  double now = 0;
  client::TimerId next = 1;
  std::map<client::TimerId, std::pair<double, std::function<void()>>> timers;
  double now_ms() override { return now; }
  client::TimerId start(double delay, std::function<void()> fn) override {
    timers[next] = {now + delay, std::move(fn)};
    return next++;
  }
  void cancel(client::TimerId id) override { timers.erase(id); }
  // Moves time forward, firing due timers in deadline order (each at its own deadline).
  void advance(double ms) {
    double end = now + ms;
    for (;;) {
      auto due = timers.end();
      for (auto it = timers.begin(); it != timers.end(); ++it)
        if (it->second.first <= end && (due == timers.end() || it->second.first < due->second.first)) due = it;
      if (due == timers.end()) break;
      now = std::max(now, due->second.first);
      auto fn = std::move(due->second.second);
      timers.erase(due);
      fn();
    }
    now = end;
  }
};

struct FakeHost : client::Host {
  std::vector<std::uint64_t> token_requests;
  double random = 0.5;
  void need_token(std::uint64_t attempt) override { token_requests.push_back(attempt); }
  double random_unit() override { return random; }
};

}  // namespace sb::testing
