#include "rtc_signaling.hpp"

#include <optional>

#include "../protocol/errors.hpp"
#include "../protocol/frames.hpp"
#include "../protocol/json_text.hpp"

namespace sb::client {

// Not inlined: GCC 12 inlined two of these into one caller and saw a shared count as a use after free.
RtcSignaling::AliveToken::~AliveToken() {
  if (--s_->refs == 0) delete s_;
}


namespace p = sb::protocol;
namespace jt = sb::protocol::json_text;

namespace {
const char* role_name(RtcRole r) { return r == RtcRole::Caller ? "caller" : "callee"; }

bool is_json_value(const std::string& text) {
  return !text.empty() && jt::valid(text);
}

// Ends that the other side learns with their code (in the hangup), and their texts.
struct SharedEnd {
  const char* code;
  const char* message;
};
constexpr SharedEnd kSharedEnds[] = {
    {"RTC_CONNECT_TIMEOUT", "The call did not connect in time."},
    {"RTC_FAILED", "The peer-to-peer connection failed."},
    {"RTC_DISCONNECTED", "The peer-to-peer connection was lost."},
};
const SharedEnd* shared_end(const std::string& code) {
  for (auto& e : kSharedEnds)
    if (code == e.code) return &e;
  return nullptr;
}
}  // namespace

RtcSignaling::RtcSignaling(Core& core, Clock& clock, RtcSink sink, RtcOptions options)
    : core_(core), clock_(clock), sink_(std::move(sink)), opt_(options) {
  core_.set_rtc_listener(this);
}

RtcSignaling::~RtcSignaling() {
  alive_.kill();
  core_.set_rtc_listener(nullptr);
  for (auto& [h, c] : calls_) clock_.cancel(c.timer);
}

void RtcSignaling::emit(RtcEvent e) {
  if (sink_) sink_(e);
}

RtcSignaling::Call* RtcSignaling::find(int handle) {
  auto it = calls_.find(handle);
  return it == calls_.end() ? nullptr : &it->second;
}

RtcSignaling::Call* RtcSignaling::find_by_wire(const std::string& peer_cid, const std::string& id, RtcRole role) {
  for (auto& [h, c] : calls_)
    if (c.role == role && c.id == id && c.peer_cid == peer_cid) return &c;
  return nullptr;
}

std::vector<RtcSignaling::CallInfo> RtcSignaling::calls() const {
  std::vector<CallInfo> out;
  for (auto& [h, c] : calls_) out.push_back({c.handle, c.role, c.state, c.peer, c.peer_cid, c.id, c.connected});
  return out;
}

// Sends one signal of call `c`. `extra` is appended inside the object after the common fields
// (",\"data\":..." must stay last). A failed essential signal (ring, pickup), or any signal the
// server cannot deliver because the peer's connection is gone, ends the call.
void RtcSignaling::send(Call& c, std::string_view kind, const std::string& extra, bool essential) {
  std::string msg = "{\"kind\":";
  p::append_json_string(msg, kind);
  msg += ",\"call\":";
  p::append_json_string(msg, c.id);
  msg += ",\"by\":\"";
  msg += role_name(c.role);
  msg += "\",\"seq\":" + std::to_string(c.next_seq++);
  msg += extra;
  msg += '}';
  send_msg(c.handle, c.peer_cid, std::move(msg), essential, 0);
}

void RtcSignaling::send_msg(int handle, const std::string& cid, std::string msg, bool essential, int attempt) {
  AliveToken alive = alive_;
  core_.send_rtc(cid, msg, [this, alive, handle, cid, msg, essential, attempt](const Result& r) {
    if (r.ok || !alive.alive()) return;
    // Over the server's message rate (a burst of ICE candidates): try again a little later, as
    // long as the call is still on.
    if (r.code == p::to_string(p::Error::RateLimited) && attempt < opt_.rate_limited_retries) {
      clock_.start(opt_.rate_limited_retry_ms * (attempt + 1), [this, alive, handle, cid, msg, essential, attempt] {
        if (!alive.alive() || !find(handle)) return;
        send_msg(handle, cid, msg, essential, attempt + 1);
      });
      return;
    }
    if (!essential && r.code != p::to_string(p::Error::RecipientOffline)) return;
    // Core may answer inside send_rtc (no connection): end the call from a fresh stack.
    std::string code = r.code, message = r.message;
    clock_.start(0, [this, alive, handle, code, message] {
      if (!alive.alive()) return;
      end(handle, code, message, /*remote=*/true, /*tell_peer=*/false);
    });
  });
}

// Ends a call: forgets it, optionally tells the peer, then reports `ended`.
void RtcSignaling::end(int handle, std::string code, std::string message, bool remote, bool tell_peer) {
  Call* c = find(handle);
  if (!c) return;
  clock_.cancel(c->timer);
  c->timer = 0;
  const bool ringing = c->state == RtcCallState::Ringing;
  if (tell_peer) {
    bool decline = c->role == RtcRole::Callee && ringing && code.empty();
    std::string extra;
    if (shared_end(code)) extra = ",\"code\":\"" + code + "\"";
    send(*c, decline ? "reject" : "hangup", extra, false);
  }
  if (code.empty()) {  // hung up here
    bool cancelled = c->role == RtcRole::Caller && ringing;
    code = cancelled ? "RTC_CANCELLED" : "RTC_HANGUP";
    message = cancelled ? "The call was hung up before it was answered." : "Hung up.";
  }
  RtcEvent e;
  e.kind = "ended";
  e.call = handle;
  e.peer = c->peer;
  e.peer_cid = c->peer_cid;
  e.code = std::move(code);
  e.message = std::move(message);
  e.remote = remote;
  calls_.erase(handle);
  emit(std::move(e));
}

// ---- API ------------------------------------------------------------------------------------
int RtcSignaling::call(const std::string& cid, double timeout_ms, const std::string& data_json) {
  int handle = next_handle_++;
  Call c;
  c.handle = handle;
  c.role = RtcRole::Caller;
  c.id = std::to_string(next_id_++);
  c.peer_cid = cid;
  double timeout = timeout_ms > 0 ? timeout_ms : opt_.ring_timeout_ms;
  AliveToken alive = alive_;
  auto fail_later = [this, alive, handle](std::string code, std::string message) {
    clock_.start(0, [this, alive, handle, code, message] {
      if (!alive.alive()) return;
      end(handle, code, message, true, false);
    });
  };
  auto [it, inserted] = calls_.emplace(handle, std::move(c));
  Call& call = it->second;
  if (cid.rfind("cid:", 0) != 0 || cid.size() > p::Limits{}.max_name_bytes) {
    fail_later(std::string(p::to_string(p::Error::InvalidParameter)), "\"cid\" must be a connection id (\"cid:…\").");
    return handle;
  }
  if (calls_.size() > opt_.max_calls) {
    fail_later(std::string(p::to_string(p::Error::InvalidRequest)), "Too many calls at once.");
    return handle;
  }
  call.timer = clock_.start(timeout, [this, handle] {
    if (Call* c = find(handle)) {
      c->timer = 0;
      end(handle, std::string(p::to_string(p::Error::Timeout)), "The callee did not answer in time.",
          /*remote=*/false, /*tell_peer=*/true);
    }
  });
  std::string extra = ",\"timeout\":" + std::to_string(static_cast<long long>(timeout));
  if (!data_json.empty() && is_json_value(data_json)) extra += ",\"data\":" + data_json;
  send(call, "ring", extra, /*essential=*/true);
  return handle;
}

bool RtcSignaling::accept(int handle) {
  Call* c = find(handle);
  if (!c || c->role != RtcRole::Callee || c->state != RtcCallState::Ringing) return false;
  clock_.cancel(c->timer);
  c->timer = 0;
  c->state = RtcCallState::Active;
  send(*c, "pickup", {}, /*essential=*/true);
  start_connect_bound(*c);
  auto buffered = std::move(c->buffered);
  c->buffered.clear();
  std::string peer = c->peer, peer_cid = c->peer_cid;
  for (auto& [what, data] : buffered) {
    Call* now = find(handle);
    if (!now) break;  // a signal handler hung up meanwhile
    emit_signal(*now, what, std::move(data));
  }
  return true;
}

bool RtcSignaling::reject(int handle) {
  if (!find(handle)) return false;
  end(handle, {}, "Hung up.", false, true);
  return true;
}

bool RtcSignaling::hangup(int handle) { return reject(handle); }

void RtcSignaling::hangup_all() {
  std::vector<int> handles;
  for (auto& [h, c] : calls_) handles.push_back(h);
  for (int h : handles) end(h, {}, "Hung up.", false, true);
}

bool RtcSignaling::signal(int handle, const std::string& what, const std::string& data_json) {
  Call* c = find(handle);
  if (!c || (what != "sdp" && what != "ice") || !is_json_value(data_json)) return false;
  if (c->role == RtcRole::Callee && c->state == RtcCallState::Ringing) return false;  // pick up first
  if (c->role == RtcRole::Caller && c->state == RtcCallState::Ringing) {
    if (c->outbox.size() >= opt_.max_buffered) return false;
    c->outbox.emplace_back(what, data_json);
    return true;
  }
  send(*c, what, ",\"data\":" + data_json, /*essential=*/false);
  return true;
}

bool RtcSignaling::peer_state(int handle, const std::string& state) {
  Call* c = find(handle);
  if (!c) return false;
  if (state == "connected") {
    if (!c->connected && c->state == RtcCallState::Active) {
      c->connected = true;
      clock_.cancel(c->timer);
      c->timer = 0;
    }
    return true;
  }
  if (state == "failed" || state == "disconnected") {
    std::string code = state == "failed" ? "RTC_FAILED" : "RTC_DISCONNECTED";
    end(handle, code, shared_end(code)->message, /*remote=*/true, /*tell_peer=*/true);
    return true;
  }
  if (state == "channels-closed") {
    end(handle, "RTC_HANGUP", "The data channels closed.", /*remote=*/true, /*tell_peer=*/true);
    return true;
  }
  return false;
}

// Picked up: the call must connect within connect_timeout_ms, or it ends on both sides.
void RtcSignaling::start_connect_bound(Call& c) {
  if (opt_.connect_timeout_ms <= 0 || c.connected) return;
  int handle = c.handle;
  c.timer = clock_.start(opt_.connect_timeout_ms, [this, handle] {
    if (Call* c = find(handle)) {
      c->timer = 0;
      end(handle, "RTC_CONNECT_TIMEOUT", shared_end("RTC_CONNECT_TIMEOUT")->message, /*remote=*/false,
          /*tell_peer=*/true);
    }
  });
}

void RtcSignaling::emit_signal(Call& c, const std::string& what, std::string data) {
  RtcEvent e;
  e.kind = "signal";
  e.call = c.handle;
  e.peer = c.peer;
  e.peer_cid = c.peer_cid;
  e.what = what;
  e.json = std::move(data);
  emit(std::move(e));
}

// ---- from the core --------------------------------------------------------------------------
void RtcSignaling::on_rtc_frame(const std::string& sender, const std::string& sender_cid,
                                const std::string& payload_json) {
  std::string_view m = payload_json;
  m = m.substr(jt::skip_ws(m, 0));
  if (!jt::is_object(m) || !jt::valid(m)) return;
  auto str = [&](const char* k) {
    std::string out;
    jt::get_string(jt::member(m, k), out);
    return out;
  };
  std::string kind = str("kind"), id = str("call"), by = str("by");
  if (kind.empty() || id.empty() || (by != "caller" && by != "callee") || sender_cid.empty()) return;
  // `seq`: absent (an older client: act on arrival) or a non-negative integer.
  std::optional<long long> seq;
  if (auto s = jt::member(m, "seq"); !s.empty()) {
    long long n = 0;
    if (!jt::get_int(s, n) || n < 0) return;
    seq = n;
  }
  // The sender's role decides ours: a signal from a caller belongs to a call we receive.
  RtcRole mine = by == "caller" ? RtcRole::Callee : RtcRole::Caller;
  std::string data;
  p::append_compact_json(data, jt::member(m, "data"));

  if (kind == "ring") {
    if (mine != RtcRole::Callee || find_by_wire(sender_cid, id, mine)) return;  // duplicate
    Call c;
    c.handle = next_handle_++;
    c.role = RtcRole::Callee;
    c.id = id;
    c.peer = sender;
    c.peer_cid = sender_cid;
    if (seq) c.expect_seq = *seq + 1;
    int handle = c.handle;
    auto [it, ok] = calls_.emplace(handle, std::move(c));
    if (calls_.size() > opt_.max_calls) {
      send(it->second, "reject", {}, false);
      calls_.erase(handle);
      return;
    }
    double timeout = opt_.ring_timeout_ms;
    if (double t = 0; jt::get_number(jt::member(m, "timeout"), t) && t > 0) timeout = t;
    it->second.timer = clock_.start(timeout + opt_.callee_grace_ms, [this, handle] {
      if (Call* c = find(handle)) {
        c->timer = 0;
        end(handle, std::string(p::to_string(p::Error::Timeout)), "The call was not answered in time.",
            /*remote=*/true, /*tell_peer=*/true);
      }
    });
    RtcEvent e;
    e.kind = "incoming";
    e.call = handle;
    e.peer = sender;
    e.peer_cid = sender_cid;
    e.json = data.empty() ? "{}" : data;
    emit(std::move(e));
    return;
  }

  Call* c = find_by_wire(sender_cid, id, mine);
  if (!c) return;  // a call that ended here already, or never existed
  int handle = c->handle;
  // Ends act at once, whatever came before them.
  if (kind == "reject") return end(handle, "RTC_REJECTED", "The callee rejected the call.", true, false);
  if (kind == "hangup") {
    if (const SharedEnd* why = shared_end(str("code"))) return end(handle, why->code, why->message, true, false);
    return end(handle, "RTC_HANGUP",
               c->state == RtcCallState::Ringing && c->role == RtcRole::Caller ? "The callee hung up before answering."
                                                                               : "The other side hung up.",
               true, false);
  }
  if (!seq) return apply(handle, kind, std::move(data), sender, sender_cid);
  if (*seq < c->expect_seq) return;  // a repeat
  if (*seq > c->expect_seq) {        // early: wait for the ones before it
    if (c->held.size() < opt_.max_buffered && *seq - c->expect_seq <= static_cast<long long>(opt_.max_buffered))
      c->held.emplace(*seq, std::make_pair(kind, std::move(data)));
    return;
  }
  c->expect_seq++;
  apply(handle, kind, std::move(data), sender, sender_cid);
  // Then whatever was waiting for it, in order (a handler may end the call meanwhile).
  while ((c = find(handle)) && !c->held.empty() && c->held.begin()->first == c->expect_seq) {
    auto [k, d] = std::move(c->held.begin()->second);
    c->held.erase(c->held.begin());
    c->expect_seq++;
    apply(handle, k, std::move(d), sender, sender_cid);
  }
}

// One in-order message of a known call (not ring, reject or hangup).
void RtcSignaling::apply(int handle, const std::string& kind, std::string data, const std::string& sender,
                         const std::string& sender_cid) {
  Call* c = find(handle);
  if (!c) return;
  if (kind == "pickup") {
    if (c->role != RtcRole::Caller || c->state != RtcCallState::Ringing) return;
    clock_.cancel(c->timer);
    c->timer = 0;
    c->state = RtcCallState::Active;
    c->peer = sender;
    start_connect_bound(*c);
    RtcEvent e;
    e.kind = "pickup";
    e.call = handle;
    e.peer = sender;
    e.peer_cid = sender_cid;
    emit(std::move(e));
    // Now the signals the caller made while it rang.
    c = find(handle);
    if (!c) return;
    auto outbox = std::move(c->outbox);
    c->outbox.clear();
    for (auto& [what, d] : outbox) {
      if (!(c = find(handle))) return;
      send(*c, what, ",\"data\":" + d, /*essential=*/false);
    }
  } else if (kind == "sdp" || kind == "ice") {
    if (data.empty()) return;
    if (c->role == RtcRole::Callee && c->state == RtcCallState::Ringing) {
      if (c->buffered.size() < opt_.max_buffered) c->buffered.emplace_back(kind, std::move(data));
      return;
    }
    if (c->peer.empty()) c->peer = sender;
    emit_signal(*c, kind, std::move(data));
  }
}

void RtcSignaling::on_closing() {
  std::vector<int> handles;
  for (auto& [h, c] : calls_) handles.push_back(h);
  for (int h : handles)
    end(h, std::string(p::to_string(p::Error::Closed)), "closeRealtime() was called.", false, true);
}

void RtcSignaling::on_lost() {
  // Calls still ringing cannot be answered on a new connection id: end them. Established calls
  // keep their peer-to-peer media; only their signalling is gone until the peer's cid answers.
  std::vector<int> handles;
  for (auto& [h, c] : calls_)
    if (c.state == RtcCallState::Ringing) handles.push_back(h);
  for (int h : handles)
    end(h, std::string(p::to_string(p::Error::Disconnected)), "The realtime connection dropped.", true, false);
}

}  // namespace sb::client
