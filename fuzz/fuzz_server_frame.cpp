// The client's receive path on arbitrary bytes as one server WebSocket message: the frame
// splitter and decoder (protocol::for_each_frame, parse_server_frame), then a whole client Core
// with RTC signalling attached (fake platform), fed the bytes once while it waits for the
// welcome and once open with requests pending, so welcomes, replies, events, notices and rtc
// signals are all reached. Timers then run for a minute of fake time.
#include <set>

#include <nlohmann/json.hpp>

#include "client/core.hpp"
#include "client/rtc_signaling.hpp"
#include "fake_platform.hpp"
#include "fuzz_check.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_text.hpp"

namespace p = sb::protocol;
using namespace sb::client;

namespace {
void check_decoder(std::string_view message) {
  std::size_t newlines = 0;
  for (char c : message) newlines += c == '\n';
  std::size_t next_index = 0;
  p::for_each_frame(message, [&](std::string_view frame, std::size_t index, std::size_t count) {
    SB_FUZZ_CHECK(!frame.empty() && frame.find('\n') == std::string_view::npos,
                  "frames are non-empty and hold no newline");
    SB_FUZZ_CHECK(frame.data() >= message.data() && frame.data() + frame.size() <= message.data() + message.size(),
                  "a frame is a piece of the message");
    SB_FUZZ_CHECK(count == newlines + 1 && index < count && index >= next_index,
                  "frame index and count number the pieces in order");
    next_index = index + 1;
    p::ServerFrame f;
    if (p::parse_server_frame(frame, f)) SB_FUZZ_CHECK(!f.op.empty(), "a decoded frame has an op");
    // The client's reader against the server's parser, where both have a say: valid UTF-8
    // (nlohmann checks it, json_text leaves it to the browser), nesting json_text follows, no
    // NUL (nlohmann stops there) and no byte-order mark (nlohmann skips one).
    if (p::valid_utf8(frame) && p::json_depth(frame, p::json_text::kMaxDepth) < p::json_text::kMaxDepth &&
        frame.find('\0') == std::string_view::npos && frame.substr(0, 3) != "\xEF\xBB\xBF")
      SB_FUZZ_CHECK(p::json_text::valid(frame) == nlohmann::json::accept(frame.begin(), frame.end()),
                    "json_text accepts exactly what nlohmann accepts");
  });
}

struct Client {
  sb::testing::FakeTransport transport;
  sb::testing::FakeClock clock;
  sb::testing::FakeHost host;
  std::vector<Event> events;
  std::vector<RtcEvent> rtc_events;
  Core core{transport, clock, host, [this](const Event& e) { events.push_back(e); }};
  RtcSignaling rtc{core, clock, [this](const RtcEvent& e) { rtc_events.push_back(e); }};
};

void ignore(const Result&) {}

void check_events(const Client& c) {
  static const std::set<std::string> types{"success", "message", "private", "notice", "error", "close", "reconnect"};
  static const std::set<std::string> rtc_kinds{"incoming", "pickup", "signal", "ended"};
  for (auto& e : c.events) {
    SB_FUZZ_CHECK(types.count(e.type), "events have a known type");
    if (e.type == "message" || e.type == "private")  // js/index.js takes piece frame_index of the message
      SB_FUZZ_CHECK(e.from_frame && e.frame_index < e.frame_count, "a message event points into its message");
    else
      SB_FUZZ_CHECK(nlohmann::json::accept(e.message_json), "the core's own event texts are JSON");
  }
  for (auto& e : c.rtc_events) SB_FUZZ_CHECK(rtc_kinds.count(e.kind), "rtc events have a known kind");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message = sb::fuzz::bytes(data, size);
  check_decoder(message);

  Client c;
  c.core.connect("ws://h/realtime", ignore);
  c.core.on_token(c.core.attempt(), "t");
  c.core.on_transport_open();
  c.core.on_transport_text(message);  // before the welcome: the bytes may hold one
  c.core.on_transport_text(p::welcome_frame("cid:me", "me", {}));
  // Requests ids 1.. the fuzzer can answer: join, private, users, an rtc ring.
  c.core.join(std::string("lobby"), ignore);
  c.core.post("{\"text\":1}", "bob", ignore);
  c.core.users("{\"group\":\"lobby\"}", ignore);
  c.rtc.call("cid:peer", 0, "{}");
  c.core.on_transport_text(message);
  c.clock.advance(60000);
  c.core.close(ignore);
  check_events(c);
  return 0;
}
