// WebRTC call signalling: the per-call state machine the browser glue (js/rtc.js) drives. It
// rings, picks up, rejects and hangs up calls, routes offers/answers/ICE candidates by call id,
// buffers what arrives before the callee picks up, and ends unanswered calls through the Clock.
// The RTCPeerConnection itself lives in JS; this class only sees signals as opaque JSON.
//
// Wire format: the `msg` of an `rtc` frame (docs/protocol.md, "RTC calls"):
//   {"kind":"ring"|"pickup"|"reject"|"hangup"|"sdp"|"ice","call":"<id>","by":"caller"|"callee",
//    "seq":<n>,"timeout":<ms, ring only>,"code":<hangup only, optional>,"data":<JSON, last>}
// `call` is chosen by the caller; `by` is the sender's role, so a call is known by
// (peer cid, call id, role) and two calls in opposite directions with the same id never mix.
// `seq` numbers each side's messages of a call from 0 (the ring, the pickup). The receiver
// applies them in that order whatever order they arrive in (a late answer, a candidate before
// its description, a signal resent after RATE_LIMITED), drops repeats, and holds early ones;
// hangup and reject act at once. Messages without `seq` (older clients) act on arrival.
// The caller keeps its own sdp/ice until the pickup, so they never reach a callee that has not
// seen the ring.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core.hpp"
#include "platform.hpp"

namespace sb::client {

// What the Core tells its RTC signalling (set with Core::set_rtc_listener).
class RtcListener {
 public:
  virtual ~RtcListener() = default;
  // An `rtc` event from the server; payload_json is the raw `msg`.
  virtual void on_rtc_frame(const std::string& sender, const std::string& sender_cid,
                            const std::string& payload_json) = 0;
  // closeRealtime() / page hide: the socket is still open and about to close.
  virtual void on_closing() = 0;
  // The socket dropped (a reconnect may follow; this connection's id is gone).
  virtual void on_lost() = 0;
};

// Something for JS to act on. kind:
//   incoming  a call rings here (peer, peer_cid; json: the caller's ring data)
//   pickup    the callee picked up our call
//   signal    an sdp or ice signal for the call's peer connection (what = "sdp"/"ice", json = data)
//   ended     the call is over (code: why, see below; message: a text; remote: the other side or
//             the network ended it, not a local hangup)
// Codes of `ended` (always set): RTC_CANCELLED (the caller hung up before the pickup), RTC_HANGUP
// (either side hung up, or the data channels closed), CLOSED (closeRealtime), RTC_REJECTED,
// TIMEOUT (nobody answered), RTC_CONNECT_TIMEOUT (picked up but not connected within
// connect_timeout_ms), RTC_FAILED (ICE failed), RTC_DISCONNECTED (the peer-to-peer connection was
// lost), RECIPIENT_OFFLINE, DISCONNECTED (the realtime connection dropped while ringing), or the
// error code of a failed send. The last three RTC_* reach the other side too (in its hangup).
struct RtcEvent {
  std::string kind;
  int call = 0;  // the local handle of the call
  std::string peer, peer_cid;
  std::string what;
  std::string json;
  std::string code, message;
  bool remote = false;
};
using RtcSink = std::function<void(const RtcEvent&)>;

struct RtcOptions {
  double ring_timeout_ms = 30000;     // caller: no pickup within this ends the call with TIMEOUT
  double callee_grace_ms = 5000;      // callee: a ring expires at the caller's timeout plus this
  std::size_t max_buffered = 512;     // signals kept per ringing call before the callee picks up
  std::size_t max_calls = 64;         // calls at once; more incoming rings are rejected
  double rate_limited_retry_ms = 300; // a signal refused with RATE_LIMITED is sent again after this
  int rate_limited_retries = 5;       // (times the attempt number), this many times at most
  double connect_timeout_ms = 20000;  // picked up but not connected (peer_state "connected") in
                                      // this long: RTC_CONNECT_TIMEOUT on both sides; <= 0: never
};

enum class RtcRole { Caller, Callee };
enum class RtcCallState { Ringing, Active };

class RtcSignaling : public RtcListener {
 public:
  // Registers itself with `core` (and unregisters in the destructor).
  RtcSignaling(Core& core, Clock& clock, RtcSink sink, RtcOptions options = {});
  ~RtcSignaling() override;
  RtcSignaling(const RtcSignaling&) = delete;
  RtcSignaling& operator=(const RtcSignaling&) = delete;

  // Caller: rings connection `cid`. data_json (a JSON object or empty) goes to the callee's
  // `incoming` event. timeout_ms <= 0 takes the default. Returns the call's handle (> 0); a
  // failure comes later as an `ended` event for that handle (never inside this call).
  int call(const std::string& cid, double timeout_ms, const std::string& data_json);
  // Callee: picks up a ringing call; buffered signals follow as `signal` events. False when
  // the handle is unknown or not ringing here.
  bool accept(int call);
  // Callee: declines a ringing call. Otherwise the same as hangup().
  bool reject(int call);
  // Either side, any state: tells the peer and ends the call (an `ended` event with code "").
  bool hangup(int call);
  void hangup_all();
  // Sends an sdp or ice signal (data_json: a JSON value) to the call's peer. A caller's
  // signals before the pickup are kept and sent right after it.
  bool signal(int call, const std::string& what, const std::string& data_json);
  // What the RTCPeerConnection reports. state:
  //   "connected"        connected and every data channel open: the connect bound is met
  //   "failed"           ICE failed: ends the call with RTC_FAILED, on both sides
  //   "disconnected"     the connection was lost: RTC_DISCONNECTED, on both sides (as Skapi)
  //   "channels-closed"  the last data channel closed: RTC_HANGUP, on both sides (as Skapi)
  // False when the handle or the state is unknown.
  bool peer_state(int call, const std::string& state);

  struct CallInfo {
    int handle;
    RtcRole role;
    RtcCallState state;
    std::string peer, peer_cid, id;
    bool connected;
  };
  std::vector<CallInfo> calls() const;
  std::size_t size() const { return calls_.size(); }

  // RtcListener
  void on_rtc_frame(const std::string& sender, const std::string& sender_cid,
                    const std::string& payload_json) override;
  void on_closing() override;
  void on_lost() override;

 private:
  struct Call {
    int handle = 0;
    RtcRole role = RtcRole::Caller;
    RtcCallState state = RtcCallState::Ringing;
    std::string id, peer, peer_cid;
    TimerId timer = 0;          // ringing: the ring timeout; active: the connect bound
    bool connected = false;     // peer_state("connected") came
    std::vector<std::pair<std::string, std::string>> buffered;  // callee: (what, data) before pickup
    std::vector<std::pair<std::string, std::string>> outbox;    // caller: own (what, data) before pickup
    long long next_seq = 0;     // of our next message
    long long expect_seq = 0;   // of the peer's next message
    std::map<long long, std::pair<std::string, std::string>> held;  // peer's early (kind, data) by seq
  };

  Call* find(int handle);
  Call* find_by_wire(const std::string& peer_cid, const std::string& id, RtcRole role);
  void send(Call& c, std::string_view kind, const std::string& extra, bool essential);
  void apply(int handle, const std::string& kind, std::string data, const std::string& sender,
             const std::string& sender_cid);
  void emit_signal(Call& c, const std::string& what, std::string data);
  void start_connect_bound(Call& c);
  void send_msg(int handle, const std::string& cid, std::string msg, bool essential, int attempt);
  void end(int handle, std::string code, std::string message, bool remote, bool tell_peer);
  void emit(RtcEvent e);

  Core& core_;
  Clock& clock_;
  RtcSink sink_;
  RtcOptions opt_;
  std::map<int, Call> calls_;
  int next_handle_ = 1;
  std::uint64_t next_id_ = 1;
  // Callbacks left with the core or the clock check this before touching `this`. Counted by
  // hand rather than a std::shared_ptr, whose control block drags the C++ runtime's type-info
  // code into the wasm module (about 1.7 KiB gzip). Single-threaded, like the core.
  class AliveToken {
   public:
    AliveToken() : s_(new State{true, 1}) {}
    AliveToken(const AliveToken& o) : s_(o.s_) { ++s_->refs; }
    AliveToken& operator=(const AliveToken&) = delete;
    [[gnu::noinline]] ~AliveToken();  // see rtc_signaling.cpp
    bool alive() const { return s_->alive; }
    void kill() { s_->alive = false; }

   private:
    struct State {
      bool alive;
      int refs;
    };
    State* s_;
  };
  AliveToken alive_;
};

}  // namespace sb::client
