#include "rtc_signaling.hpp"

#include <nlohmann/json.hpp>

#include "../protocol/errors.hpp"
#include "../protocol/frames.hpp"

namespace sb::client {

namespace p = sb::protocol;
using nlohmann::json;

namespace {
const char* role_name(RtcRole r) { return r == RtcRole::Caller ? "caller" : "callee"; }

bool is_json_value(const std::string& text) {
  if (text.empty()) return false;
  return !json::parse(text, nullptr, false).is_discarded();
}
}  // namespace

RtcSignaling::RtcSignaling(Core& core, Clock& clock, RtcSink sink, RtcOptions options)
    : core_(core), clock_(clock), sink_(std::move(sink)), opt_(options) {
  core_.set_rtc_listener(this);
}

RtcSignaling::~RtcSignaling() {
  *alive_ = false;
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
  for (auto& [h, c] : calls_) out.push_back({c.handle, c.role, c.state, c.peer, c.peer_cid, c.id});
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
  msg += '"';
  msg += extra;
  msg += '}';
  send_msg(c.handle, c.peer_cid, std::move(msg), essential, 0);
}

void RtcSignaling::send_msg(int handle, const std::string& cid, std::string msg, bool essential, int attempt) {
  std::weak_ptr<bool> alive = alive_;
  core_.send_rtc(cid, msg, [this, alive, handle, cid, msg, essential, attempt](const Result& r) {
    if (r.ok || alive.expired() || !*alive.lock()) return;
    // Over the server's message rate (a burst of ICE candidates): try again a little later, as
    // long as the call is still on.
    if (r.code == p::to_string(p::Error::RateLimited) && attempt < opt_.rate_limited_retries) {
      clock_.start(opt_.rate_limited_retry_ms * (attempt + 1), [this, alive, handle, cid, msg, essential, attempt] {
        if (alive.expired() || !*alive.lock() || !find(handle)) return;
        send_msg(handle, cid, msg, essential, attempt + 1);
      });
      return;
    }
    if (!essential && r.code != p::to_string(p::Error::RecipientOffline)) return;
    // Core may answer inside send_rtc (no connection): end the call from a fresh stack.
    std::string code = r.code, message = r.message;
    clock_.start(0, [this, alive, handle, code, message] {
      if (alive.expired() || !*alive.lock()) return;
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
  if (tell_peer) {
    bool decline = c->role == RtcRole::Callee && c->state == RtcCallState::Ringing && code.empty();
    send(*c, decline ? "reject" : "hangup", {}, false);
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
  std::weak_ptr<bool> alive = alive_;
  auto fail_later = [this, alive, handle](std::string code, std::string message) {
    clock_.start(0, [this, alive, handle, code, message] {
      if (alive.expired() || !*alive.lock()) return;
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
  auto buffered = std::move(c->buffered);
  c->buffered.clear();
  std::string peer = c->peer, peer_cid = c->peer_cid;
  for (auto& [what, data] : buffered) {
    if (!find(handle)) break;  // a signal handler hung up meanwhile
    RtcEvent e;
    e.kind = "signal";
    e.call = handle;
    e.peer = peer;
    e.peer_cid = peer_cid;
    e.what = what;
    e.json = std::move(data);
    emit(std::move(e));
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
  send(*c, what, ",\"data\":" + data_json, /*essential=*/false);
  return true;
}

// ---- from the core --------------------------------------------------------------------------
void RtcSignaling::on_rtc_frame(const std::string& sender, const std::string& sender_cid,
                                const std::string& payload_json) {
  json m = json::parse(payload_json, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return;
  auto str = [&](const char* k) {
    auto it = m.find(k);
    return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string kind = str("kind"), id = str("call"), by = str("by");
  if (kind.empty() || id.empty() || (by != "caller" && by != "callee") || sender_cid.empty()) return;
  // The sender's role decides ours: a signal from a caller belongs to a call we receive.
  RtcRole mine = by == "caller" ? RtcRole::Callee : RtcRole::Caller;
  auto data_it = m.find("data");
  std::string data = data_it != m.end() ? data_it->dump() : std::string();

  if (kind == "ring") {
    if (mine != RtcRole::Callee || find_by_wire(sender_cid, id, mine)) return;  // duplicate
    Call c;
    c.handle = next_handle_++;
    c.role = RtcRole::Callee;
    c.id = id;
    c.peer = sender;
    c.peer_cid = sender_cid;
    int handle = c.handle;
    auto [it, ok] = calls_.emplace(handle, std::move(c));
    if (calls_.size() > opt_.max_calls) {
      send(it->second, "reject", {}, false);
      calls_.erase(handle);
      return;
    }
    double timeout = opt_.ring_timeout_ms;
    auto t = m.find("timeout");
    if (t != m.end() && t->is_number() && t->get<double>() > 0) timeout = t->get<double>();
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
  if (kind == "pickup") {
    if (c->role != RtcRole::Caller || c->state != RtcCallState::Ringing) return;
    clock_.cancel(c->timer);
    c->timer = 0;
    c->state = RtcCallState::Active;
    RtcEvent e;
    e.kind = "pickup";
    e.call = handle;
    e.peer = c->peer = sender;
    e.peer_cid = sender_cid;
    emit(std::move(e));
  } else if (kind == "reject") {
    end(handle, "RTC_REJECTED", "The callee rejected the call.", true, false);
  } else if (kind == "hangup") {
    end(handle, "RTC_HANGUP", c->state == RtcCallState::Ringing && c->role == RtcRole::Caller
                                  ? "The callee hung up before answering."
                                  : "The other side hung up.",
        true, false);
  } else if (kind == "sdp" || kind == "ice") {
    if (data.empty()) return;
    if (c->role == RtcRole::Callee && c->state == RtcCallState::Ringing) {
      if (c->buffered.size() < opt_.max_buffered) c->buffered.emplace_back(kind, std::move(data));
      return;
    }
    RtcEvent e;
    e.kind = "signal";
    e.call = handle;
    e.peer = c->peer.empty() ? sender : c->peer;
    e.peer_cid = sender_cid;
    e.what = kind;
    e.json = std::move(data);
    emit(std::move(e));
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
