// The functions JS drives (js/index.js, through the WasmClient class in post.js): plain C exports
// that take numbers and UTF-8 strings in the wasm heap, so the module needs no embind (its glue
// and RTTI were a third of the module). Calls carry a JS-chosen call id; results come back
// through handlers.reply(callId, ok, code, message, dataJson) and events through
// handlers.event(type, messageJson, sender, senderCid, senderRid, code): strings only, so JS
// builds each object once with JSON.parse. `handlers` is Module.sbHandlers[h] (post.js).
#include <emscripten.h>

#include <cmath>
#include <optional>
#include <string>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "browser_platform.hpp"
#include "../client/pager.hpp"
#include "../client/rtc_signaling.hpp"

// ---- calls into JS ----------------------------------------------------------------------------
EM_JS(void, sb_js_token, (int h, double request), { Module['sbHandlers'][h]['token'](request); });
EM_JS(void, sb_js_reply, (int h, int call, int ok, const char* code, const char* message, const char* data), {
  Module['sbHandlers'][h]['reply'](call, !!ok, UTF8ToString(code), UTF8ToString(message), UTF8ToString(data));
});
EM_JS(void, sb_js_event, (int h, const char* type, const char* json, const char* sender, const char* sender_cid,
                          const char* sender_rid, const char* code), {
  Module['sbHandlers'][h]['event'](UTF8ToString(type), UTF8ToString(json), UTF8ToString(sender),
                                   UTF8ToString(sender_cid), UTF8ToString(sender_rid), UTF8ToString(code));
});
EM_JS(void, sb_js_rtc, (int h, const char* kind, int call, const char* peer, const char* peer_cid, const char* what,
                        const char* json, const char* code, const char* message, int remote), {
  Module['sbHandlers'][h]['rtc'](UTF8ToString(kind), call, UTF8ToString(peer), UTF8ToString(peer_cid),
                                 UTF8ToString(what), UTF8ToString(json), UTF8ToString(code), UTF8ToString(message),
                                 !!remote);
});

namespace sb::wasm {

namespace {
class JsHost : public client::Host {
 public:
  explicit JsHost(int handlers) : handlers_(handlers) {}
  void need_token(std::uint64_t request) override { sb_js_token(handlers_, static_cast<double>(request)); }
  double random_unit() override { return emscripten_random(); }

 private:
  int handlers_;
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

// Options arrive as numbers in a fixed order (post.js, kOptionNames); NaN: not given.
enum Opt { InitialDelay, MaxDelay, MaxAttempts, Jitter, ConnectTimeout, RequestTimeout, KeepAlive, DeadAfter,
           RtcConnectTimeout, QueueMaxCount, QueueMaxBytes };
double num(const double* o, Opt k, double fallback) { return std::isnan(o[k]) ? fallback : o[k]; }
// A count option: a number >= 0 (larger than 32 bits hold: the largest), else the default.
std::size_t count(const double* o, Opt k, std::size_t fallback) {
  double v = num(o, k, -1), max = static_cast<double>(std::numeric_limits<std::uint32_t>::max());
  return v >= 0 ? static_cast<std::size_t>(std::min(v, max)) : fallback;
}
}  // namespace

// One Realtime's core and what it needs; JS holds its address. Members are built in this order.
struct WasmClient {
  WasmClient(int handlers, const double* options)
      : handlers_(handlers),
        host_(handlers),
        core_(transport_, clock_, host_, make_sink(), make_options(options)),
        rtc_(core_, clock_, [this](const client::RtcEvent& e) {
          sb_js_rtc(handlers_, e.kind.c_str(), e.call, e.peer.c_str(), e.peer_cid.c_str(), e.what.c_str(),
                    e.json.c_str(), e.code.c_str(), e.message.c_str(), e.remote);
        }, make_rtc_options(options)) {
    transport_.bind(&core_);
    transport_.set_handlers(handlers);
  }

  const char* ret(std::string s) {
    out_ = std::move(s);
    return out_.c_str();
  }
  client::Reply reply(int call) {
    return [this, call](const client::Result& r) {
      sb_js_reply(handlers_, call, r.ok, r.code.c_str(), r.message.c_str(), r.data_json.c_str());
    };
  }
  int socket_id() const { return transport_.socket_id(); }
  client::EventSink make_sink() {
    return [this](const client::Event& e) {
      if (e.from_frame) return BrowserTransport::frame_event(e.type == "message" ? 1 : 2);
      sb_js_event(handlers_, e.type.c_str(), e.message_json.c_str(), e.sender.c_str(), e.sender_cid.c_str(),
                  e.sender_rid.c_str(), e.code.c_str());
    };
  }
  static client::RtcOptions make_rtc_options(const double* o) {
    client::RtcOptions opt;
    opt.connect_timeout_ms = num(o, RtcConnectTimeout, opt.connect_timeout_ms);
    return opt;
  }
  static client::Options make_options(const double* o) {
    client::Options opt;
    opt.backoff_initial_ms = num(o, InitialDelay, opt.backoff_initial_ms);
    opt.backoff_max_ms = num(o, MaxDelay, opt.backoff_max_ms);
    opt.max_reconnect_attempts = static_cast<int>(num(o, MaxAttempts, opt.max_reconnect_attempts));
    if (o[Jitter] == 0) opt.jitter = false;
    opt.connect_timeout_ms = num(o, ConnectTimeout, opt.connect_timeout_ms);
    opt.request_timeout_ms = num(o, RequestTimeout, opt.request_timeout_ms);
    opt.queue_max_count = count(o, QueueMaxCount, opt.queue_max_count);
    opt.queue_max_bytes = count(o, QueueMaxBytes, opt.queue_max_bytes);
    opt.keepalive_ms = num(o, KeepAlive, opt.keepalive_ms);
    opt.dead_after_ms = num(o, DeadAfter, opt.dead_after_ms);
    return opt;
  }

  int handlers_;
  BrowserTransport transport_;
  BrowserClock clock_;
  JsHost host_;
  client::Core core_;
  client::Pager pager_;
  client::RtcSignaling rtc_;
  std::string out_;  // the last string returned to JS
};

}  // namespace sb::wasm

// ---- exports (post.js wraps them as the WasmClient class js/index.js uses) -----------------------
using sb::wasm::WasmClient;
using S = const char*;
namespace {
std::optional<std::string> opt_group(S g) { return *g ? std::optional<std::string>(g) : std::nullopt; }
}  // namespace

extern "C" {
EMSCRIPTEN_KEEPALIVE WasmClient* sb_new(int handlers, const double* options) { return new WasmClient(handlers, options); }
EMSCRIPTEN_KEEPALIVE void sb_delete(WasmClient* c) { delete c; }
EMSCRIPTEN_KEEPALIVE void sb_connect(WasmClient* c, int call, S url) { c->core_.connect(url, c->reply(call)); }
EMSCRIPTEN_KEEPALIVE void sb_close(WasmClient* c, int call) { c->core_.close(c->reply(call)); }
EMSCRIPTEN_KEEPALIVE void sb_join(WasmClient* c, int call, S group) { c->core_.join(opt_group(group), c->reply(call)); }
EMSCRIPTEN_KEEPALIVE void sb_post(WasmClient* c, int call, S payload, S recipient, S notification) {
  c->core_.post(payload, recipient, notification, c->reply(call));
}
EMSCRIPTEN_KEEPALIVE void sb_push_request(WasmClient* c, int call, S op, S params) {
  c->core_.push_request(op, params, c->reply(call));
}
EMSCRIPTEN_KEEPALIVE void sb_users(WasmClient* c, int call, S params) { c->core_.users(params, c->reply(call)); }
EMSCRIPTEN_KEEPALIVE void sb_groups(WasmClient* c, int call, S params) { c->core_.groups(params, c->reply(call)); }
EMSCRIPTEN_KEEPALIVE void sb_provide_token(WasmClient* c, double request, S token) {
  c->core_.on_token(static_cast<std::uint64_t>(request), token);
}
EMSCRIPTEN_KEEPALIVE void sb_token_failed(WasmClient* c, double request, S message) {
  c->core_.on_token_error(static_cast<std::uint64_t>(request), message);
}
EMSCRIPTEN_KEEPALIVE void sb_wake(WasmClient* c) { c->core_.wake(); }
EMSCRIPTEN_KEEPALIVE void sb_page_hide(WasmClient* c) { c->core_.page_hide(); }
EMSCRIPTEN_KEEPALIVE void sb_tick(WasmClient* c) { c->core_.tick(); }
EMSCRIPTEN_KEEPALIVE double sb_tick_interval(WasmClient* c) { return c->core_.tick_interval_ms(); }
// List paging (pager.hpp): JSON in, JSON out.
EMSCRIPTEN_KEEPALIVE S sb_page_begin(WasmClient* c, S op, S query, S options) {
  return c->ret(c->pager_.begin(op, query, options));
}
EMSCRIPTEN_KEEPALIVE S sb_page_done(WasmClient* c, S ticket, S data) { return c->ret(c->pager_.done(ticket, data)); }
EMSCRIPTEN_KEEPALIVE int sb_socket_id(WasmClient* c) { return c->socket_id(); }
EMSCRIPTEN_KEEPALIVE S sb_state(WasmClient* c) { return sb::wasm::state_name(c->core_.state()); }
EMSCRIPTEN_KEEPALIVE S sb_cid(WasmClient* c) { return c->core_.cid().c_str(); }
EMSCRIPTEN_KEEPALIVE S sb_user(WasmClient* c) { return c->core_.user().c_str(); }
EMSCRIPTEN_KEEPALIVE S sb_group(WasmClient* c) { return c->core_.group() ? c->core_.group()->c_str() : ""; }
// RTC calls (js/rtc.js): events come back through handlers.rtc(kind, handle, peer, peerCid, what,
// json, code, message, remote).
EMSCRIPTEN_KEEPALIVE int sb_rtc_call(WasmClient* c, S cid, double timeout_ms, S data) { return c->rtc_.call(cid, timeout_ms, data); }
EMSCRIPTEN_KEEPALIVE int sb_rtc_accept(WasmClient* c, int call) { return c->rtc_.accept(call); }
EMSCRIPTEN_KEEPALIVE int sb_rtc_hangup(WasmClient* c, int call) { return c->rtc_.hangup(call); }
EMSCRIPTEN_KEEPALIVE void sb_rtc_hangup_all(WasmClient* c) { c->rtc_.hangup_all(); }
EMSCRIPTEN_KEEPALIVE int sb_rtc_signal(WasmClient* c, int call, S what, S json) { return c->rtc_.signal(call, what, json); }
EMSCRIPTEN_KEEPALIVE int sb_rtc_peer_state(WasmClient* c, int call, S state) { return c->rtc_.peer_state(call, state); }
EMSCRIPTEN_KEEPALIVE S sb_ice_servers(WasmClient* c) { return c->core_.ice_servers_json().c_str(); }
}
