// The embind class JS drives (js/index.js). Calls carry a JS-chosen call id; results come back
// through handlers.reply(callId, ok, code, message, dataJson) and events through
// handlers.event(type, messageJson, sender, senderCid, senderRid, code): strings only, so JS
// builds each object once with JSON.parse.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "browser_platform.hpp"
#include "../client/pager.hpp"
#include "../client/rtc_signaling.hpp"

namespace sb::wasm {

using emscripten::val;

namespace {
double num(const val& options, const char* key, double fallback) {
  if (options.isUndefined() || options.isNull()) return fallback;
  val v = options[key];
  return v.isNumber() ? v.as<double>() : fallback;
}

// A count option: a number >= 0 (larger than size_t holds: the largest), else the default.
std::size_t size(const val& options, const char* key, std::size_t fallback) {
  double v = num(options, key, -1), max = static_cast<double>(std::numeric_limits<std::uint32_t>::max());
  return v >= 0 ? static_cast<std::size_t>(std::min(v, max)) : fallback;
}

class JsHost : public client::Host {
 public:
  explicit JsHost(val handlers) : handlers_(std::move(handlers)) {}
  void need_token(std::uint64_t request) override { handlers_.call<void>("token", static_cast<double>(request)); }
  double random_unit() override { return emscripten_random(); }

 private:
  val handlers_;
};

const char* state_name(client::State s) {
  switch (s) {
    case client::State::Idle: return "idle";
    case client::State::Connecting: return "connecting";
    case client::State::Open: return "open";
    case client::State::Waiting: return "reconnecting";
    case client::State::Closed: return "closed";
  }
  return "closed";
}
}  // namespace

class WasmClient {
 public:
  WasmClient(val handlers, val options)
      : handlers_(handlers),
        host_(handlers),
        core_(transport_, clock_, host_, make_sink(), make_options(options)),
        rtc_(core_, clock_, [this](const client::RtcEvent& e) {
          handlers_.call<void>("rtc", e.kind, e.call, e.peer, e.peer_cid, e.what, e.json, e.code, e.message, e.remote);
        }, make_rtc_options(options)) {
    transport_.bind(&core_);
  }

  void connect(int call, const std::string& url) { core_.connect(url, reply(call)); }
  void close(int call) { core_.close(reply(call)); }
  void join(int call, const std::string& group) {
    core_.join(group.empty() ? std::nullopt : std::optional<std::string>(group), reply(call));
  }
  void post(int call, const std::string& payload_json, const std::string& recipient, const std::string& notification_json) {
    core_.post(payload_json, recipient, notification_json, reply(call));
  }
  void push_request(int call, const std::string& op, const std::string& params_json) {
    core_.push_request(op, params_json, reply(call));
  }
  void users(int call, const std::string& params_json) { core_.users(params_json, reply(call)); }
  void groups(int call, const std::string& params_json) { core_.groups(params_json, reply(call)); }
  void provide_token(double request, const std::string& token) {
    core_.on_token(static_cast<std::uint64_t>(request), token);
  }
  void token_failed(double request, const std::string& message) {
    core_.on_token_error(static_cast<std::uint64_t>(request), message);
  }
  void wake() { core_.wake(); }
  void page_hide() { core_.page_hide(); }
  void tick() { core_.tick(); }
  double tick_interval() const { return core_.tick_interval_ms(); }
  // List paging (pager.hpp): JSON in, JSON out.
  std::string page_begin(const std::string& op, const std::string& query_json, const std::string& options_json) {
    return pager_.begin(op, query_json, options_json);
  }
  std::string page_done(const std::string& ticket_json, const std::string& data_json) {
    return pager_.done(ticket_json, data_json);
  }
  int socket_id() const { return transport_.socket_id(); }
  std::string state() const { return state_name(core_.state()); }
  std::string cid() const { return core_.cid(); }
  std::string user() const { return core_.user(); }
  std::string group() const { return core_.group().value_or(""); }

  // ---- RTC calls (js/rtc.js): events come back through handlers.rtc(kind, handle, peer,
  // peerCid, what, json, code, message, remote) ----
  int rtc_call(const std::string& cid, double timeout_ms, const std::string& data_json) {
    return rtc_.call(cid, timeout_ms, data_json);
  }
  bool rtc_accept(int call) { return rtc_.accept(call); }
  bool rtc_hangup(int call) { return rtc_.hangup(call); }
  void rtc_hangup_all() { rtc_.hangup_all(); }
  bool rtc_signal(int call, const std::string& what, const std::string& json) { return rtc_.signal(call, what, json); }
  bool rtc_peer_state(int call, const std::string& state) { return rtc_.peer_state(call, state); }
  std::string ice_servers() const { return core_.ice_servers_json(); }

 private:
  client::EventSink make_sink() {
    return [this](const client::Event& e) {
      if (e.from_frame) {  // js/index.js reads Module.sbFrame (browser_platform.cpp)
        handlers_.call<void>("frame", e.type == "message" ? 1 : 2, static_cast<int>(e.frame_index),
                             static_cast<int>(e.frame_count));
        return;
      }
      handlers_.call<void>("event", e.type, e.message_json, e.sender, e.sender_cid, e.sender_rid, e.code);
    };
  }
  static client::RtcOptions make_rtc_options(const val& o) {
    client::RtcOptions opt;
    opt.connect_timeout_ms = num(o, "rtcConnectTimeout", opt.connect_timeout_ms);
    return opt;
  }
  static client::Options make_options(const val& o) {
    client::Options opt;
    opt.backoff_initial_ms = num(o, "initialDelay", opt.backoff_initial_ms);
    opt.backoff_max_ms = num(o, "maxDelay", opt.backoff_max_ms);
    opt.max_reconnect_attempts = static_cast<int>(num(o, "maxAttempts", opt.max_reconnect_attempts));
    if (!o.isUndefined() && !o.isNull() && o["jitter"].isFalse()) opt.jitter = false;
    opt.connect_timeout_ms = num(o, "connectTimeout", opt.connect_timeout_ms);
    opt.request_timeout_ms = num(o, "requestTimeout", opt.request_timeout_ms);
    opt.queue_max_count = size(o, "queueMaxCount", opt.queue_max_count);
    opt.queue_max_bytes = size(o, "queueMaxBytes", opt.queue_max_bytes);
    opt.keepalive_ms = num(o, "keepAlive", opt.keepalive_ms);
    opt.dead_after_ms = num(o, "deadAfter", opt.dead_after_ms);
    return opt;
  }
  client::Reply reply(int call) {
    return [this, call](const client::Result& r) {
      handlers_.call<void>("reply", call, r.ok, r.code, r.message, r.data_json);
    };
  }

  val handlers_;
  BrowserTransport transport_;
  BrowserClock clock_;
  JsHost host_;
  client::Core core_;
  client::Pager pager_;
  client::RtcSignaling rtc_;
};

EMSCRIPTEN_BINDINGS(switchboard) {
  emscripten::class_<WasmClient>("WasmClient")
      .constructor<val, val>()
      .function("connect", &WasmClient::connect)
      .function("close", &WasmClient::close)
      .function("join", &WasmClient::join)
      .function("post", &WasmClient::post)
      .function("pushRequest", &WasmClient::push_request)
      .function("users", &WasmClient::users)
      .function("groups", &WasmClient::groups)
      .function("provideToken", &WasmClient::provide_token)
      .function("tokenFailed", &WasmClient::token_failed)
      .function("wake", &WasmClient::wake)
      .function("pageHide", &WasmClient::page_hide)
      .function("tick", &WasmClient::tick)
      .function("tickInterval", &WasmClient::tick_interval)
      .function("pageBegin", &WasmClient::page_begin)
      .function("pageDone", &WasmClient::page_done)
      .function("socketId", &WasmClient::socket_id)
      .function("state", &WasmClient::state)
      .function("cid", &WasmClient::cid)
      .function("user", &WasmClient::user)
      .function("group", &WasmClient::group)
      .function("rtcCall", &WasmClient::rtc_call)
      .function("rtcAccept", &WasmClient::rtc_accept)
      .function("rtcHangup", &WasmClient::rtc_hangup)
      .function("rtcHangupAll", &WasmClient::rtc_hangup_all)
      .function("rtcSignal", &WasmClient::rtc_signal)
      .function("rtcPeerState", &WasmClient::rtc_peer_state)
      .function("iceServers", &WasmClient::ice_servers);
}

}  // namespace sb::wasm
