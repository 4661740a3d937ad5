// A client core on the fakes of fake_platform.hpp, and a recorder of call results.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "client/core.hpp"
#include "fake_platform.hpp"
#include "protocol/frames.hpp"

namespace sb::testing {

using client::Core;
using client::Event;
using client::Options;
using client::Reply;
using client::Result;

struct Harness {
  FakeTransport transport;
  FakeClock clock;
  FakeHost host;
  std::vector<Event> events;
  Options options;
  std::unique_ptr<Core> core;
  explicit Harness(Options o = {}) : options(o) {
    core = std::make_unique<Core>(transport, clock, host, [this](const Event& e) { events.push_back(e); }, options);
  }
  // Drives one connection attempt through token, socket and welcome.
  void open(const std::string& cid = "cid:1") {
    core->on_token(core->attempt(), "tok en");
    core->on_transport_open();
    core->on_transport_text(protocol::welcome_frame(cid, "alice", {}));
  }
  // Connected and welcomed, with the events so far cleared.
  void connected() {
    core->connect("ws://h/realtime", [](const Result&) {});
    open();
    events.clear();
  }
  nlohmann::json last_sent() { return nlohmann::json::parse(transport.sent.back()); }
  std::vector<std::string> types() {
    std::vector<std::string> t;
    for (auto& e : events) t.push_back(e.type);
    return t;
  }
};

struct Capture {
  std::vector<Result> results;
  Reply operator()() {
    return [this](const Result& r) { results.push_back(r); };
  }
};

}  // namespace sb::testing
