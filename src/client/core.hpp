// The portable client core: connection state machine, reconnect with backoff, request ids and
// replies, the joined group, keep-alive, recovery of missed messages (streams.hpp), the offline
// queue (outbox.hpp), and events shaped like Skapi's RealtimeCallback argument.
// Single-threaded: every method and every platform callback runs on one thread.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbox.hpp"
#include "platform.hpp"
#include "result.hpp"
#include "streams.hpp"

namespace sb::protocol { struct ServerFrame; }

namespace sb::client {

class RtcListener;  // rtc_signaling.hpp

// One RealtimeCallback argument. message_json is JSON text (the user's payload for
// message/private events, a JSON string for the others); empty fields are absent.
struct Event {
  std::string type;  // success message private notice error close reconnect
  std::string message_json;
  std::string sender, sender_cid, sender_rid, code;
  // message/private: every field is a straight copy of the frame being handled, so a platform
  // that still holds that frame's text may build the event from it instead (src/wasm does).
  // The frame is piece frame_index of frame_count in the received message (split on '\n').
  bool from_frame = false;
  std::size_t frame_index = 0, frame_count = 1;
};

using EventSink = std::function<void(const Event&)>;

struct Options {
  double backoff_initial_ms = 500;   // first reconnect delay ceiling; doubles per attempt
  double backoff_max_ms = 20000;    // ceiling of the delay; the delay is uniform in [0, ceiling)
  int max_reconnect_attempts = 0;   // 0: keep trying
  bool jitter = true;               // false: wait the whole ceiling (predictable, for tests/demos)
  double connect_timeout_ms = 10000;
  double request_timeout_ms = 10000;  // for a reply, and for the connection when queued
  double keepalive_ms = 15000;        // send a ping when nothing was sent for this long
  double dead_after_ms = 40000;       // reconnect when nothing was received for this long
  // The offline queue: calls made while (re)connecting wait in it, in order; a call that would
  // pass either bound fails at once with QUEUE_FULL (docs/api.md, Offline queue).
  std::size_t queue_max_count = 1000;
  std::size_t queue_max_bytes = 1 << 20;  // framed bytes of the waiting calls
};

enum class State { Idle, Connecting, Open, Waiting, Closed };

// Backoff ceiling for reconnect attempt n (1-based): min(max, initial * 2^(n-1)).
double backoff_ceiling_ms(const Options& o, int attempt);

class Core {
 public:
  Core(Transport& transport, Clock& clock, Host& host, EventSink sink, Options options = {});
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // ---- API (Skapi's methods) ----
  // `url`: one WebSocket URL, or several separated by spaces (nodes of one cluster,
  // docs/scaling.md): each lost connection or failed attempt moves on to the next.
  void connect(const std::string& url, Reply done);
  void close(Reply done);
  void join(std::optional<std::string> group, Reply done);
  void post(const std::string& payload_json, const std::string& recipient, Reply done);
  // With Skapi's notification {title, body, config?} as JSON text (empty: none), sent along for
  // Web Push to an offline recipient (docs/protocol.md, Notifications).
  void post(const std::string& payload_json, const std::string& recipient, const std::string& notification_json,
            Reply done);
  // Web Push requests: op is "vapid", "subscribe", "unsubscribe" or "push"; `params_json` an
  // object of its fields. Result.data_json is the reply's data, if any.
  void push_request(const std::string& op, const std::string& params_json, Reply done);
  // getRealtimeUsers / getRealtimeGroups: `params_json` holds the query fields of
  // docs/protocol.md; users without a group asks about the joined one. Result.data_json is the
  // server's {list, startKey, endOfList}.
  void users(const std::string& params_json, Reply done);
  void groups(const std::string& params_json, Reply done);

  // ---- RTC signalling (rtc_signaling.hpp) ----
  // Sends one `rtc` frame to connection `cid`; `payload_json` must be a JSON object.
  void send_rtc(const std::string& cid, const std::string& payload_json, Reply done);
  void set_rtc_listener(RtcListener* listener) { rtc_ = listener; }
  // The ICE servers the server handed out in its welcome (a JSON array, "" when none).
  const std::string& ice_servers_json() const { return ice_servers_json_; }

  // ---- lifecycle hints from the platform ----
  void wake();       // network back online or tab visible: reconnect now / probe the socket
  void page_hide();  // the page is going away: leave the group and close, without waiting
  void tick();       // keep-alive and dead-connection check; the platform may call it more often
  // How often the platform's own unthrottled timer (a Worker in the browser) should call tick().
  double tick_interval_ms() const;

  // ---- platform callbacks ----
  // Answers to Host::need_token(request): for a connection attempt or for a refresh of the open
  // connection's token. Each request has its own id, so an answer to an older or other request
  // (a stale attempt, a refresh overtaken by a reconnect) is ignored.
  void on_token(std::uint64_t request, const std::string& token);
  void on_token_error(std::uint64_t request, const std::string& message);
  void on_transport_open();
  void on_transport_text(std::string_view text);
  // For a platform that holds each frame's text itself (src/wasm): one frame's envelope, its text
  // before `,"msg":` closed with '}' (the whole frame when it has no payload). A message or
  // private frame is handled here, its event an Event::from_frame, and true returned; for any
  // other frame nothing happens and false is returned: pass the whole frame to on_transport_text.
  bool on_transport_head(std::string_view envelope);
  void on_transport_close(int code, const std::string& reason);
  void on_transport_error();  // the socket reported an error; its close follows

  State state() const { return state_; }
  const std::optional<std::string>& group() const { return group_; }
  const std::string& cid() const { return cid_; }
  const std::string& user() const { return user_; }
  std::uint64_t attempt() const { return attempt_; }  // the current connection attempt's token request

 private:
  using Build = BuildFrame;
  // A request sent and not yet answered; `resend` keeps a keyed post's frame builder.
  struct Pending { Reply done; OnOk on_ok; TimerId timer = 0; Build resend; std::size_t bytes = 0; };

  // `resend`: a keyed post, sent again after a lost connection instead of failing.
  void request(Build build, Reply done, OnOk on_ok, bool resend = false);
  void send_now(Build build, Reply done, OnOk on_ok, bool resend = false);
  // Starts the wait timer of a call about to wait in the outbox.
  void arm_wait(Outgoing& item);
  void send_waiting();
  void rejoin();
  // Applies the server's stream answer; a recovery it could not make becomes one notice.
  void settle_stream(StreamCursor& cursor, std::string_view answer, bool asked, const std::string& group);
  void start_attempt();
  void schedule_reconnect();
  void handle_lost(int code, const std::string& reason);
  void handle_frame(std::string_view text, std::size_t index, std::size_t count);
  void handle_frame(protocol::ServerFrame& f, std::size_t index, std::size_t count);
  // A message or private frame not delivered before (streams.hpp); tracks its stream's position.
  bool fresh(const protocol::ServerFrame& f);
  void handle_welcome(const protocol::ServerFrame& f);
  void query(const char* op, const std::string& params_json, Reply done);
  void handle_reply(const protocol::ServerFrame& f);
  void fail_all(const std::string& code, const std::string& message, bool include_queued);
  // The connection dropped: keyed posts go back to the outbox, other requests fail.
  void requeue_or_fail_pending();
  void finish_connect(const Result& r);
  void go_closed();
  void stop_timers();
  void emit(Event e);
  void emit_text(const char* type, const std::string& text, const std::string& code = {});
  void start_tick();
  // Token refresh (docs/protocol.md): before the server's expires_in runs out, a fresh token
  // goes to the server on the open connection.
  void schedule_refresh(double expires_in_s);
  void arm_refresh(double at_ms);
  void start_refresh();
  void send_auth(const std::string& token);
  void on_auth_reply(const Result& r);
  void refresh_failed();
  void stop_refresh();

  Transport& transport_;
  Clock& clock_;
  Host& host_;
  EventSink sink_;
  Options opt_;

  State state_ = State::Idle;
  std::vector<std::string> urls_;  // never empty once connect() ran
  std::size_t url_at_ = 0;         // the one the current or next attempt uses
  std::size_t first_tries_ = 0;    // URLs tried before the first connection came up
  std::string cid_, user_;
  std::optional<std::string> group_;  // the group the server confirmed; rejoined on reconnect
  // The group of the latest join not yet answered (nullopt inside: leaving); posts address it.
  std::optional<std::optional<std::string>> joining_;
  std::uint64_t join_seq_ = 0;
  bool ever_open_ = false;            // this connect() reached Open at least once
  std::uint64_t token_requests_ = 0;  // ids of Host::need_token requests, attempts and refreshes alike
  std::uint64_t attempt_ = 0;         // the token request of the current connection attempt
  std::uint64_t refresh_request_ = 0; // the token request of the refresh under way (0: none)
  std::uint64_t refresh_epoch_ = 0;   // bumped when the refresh state resets: older replies are moot
  std::optional<double> expiry_ms_;   // clock time the server's expires_in runs out, if it said one
  std::optional<double> refresh_at_;  // when the armed refresh is due; tick() checks it too
  int refresh_failures_ = 0;          // in a row, for the current token
  int reconnect_n_ = 0;               // attempts in the current reconnect streak
  std::int64_t next_id_ = 1;
  double last_rx_ = 0, last_tx_ = 0;
  std::uint64_t rx_count_ = 0, rx_seen_ = 0;  // frames received / as of the last tick
  std::size_t max_frame_bytes_ = 64 * 1024;  // the server's, from its welcome
  std::string ice_servers_json_;             // the server's, from its welcome

  std::vector<Reply> connect_waiters_;
  std::map<std::int64_t, Pending> pending_;
  Outbox outbox_;   // calls waiting for the connection
  KeyMaker keys_;   // idempotency keys of posts
  // Recovery (streams.hpp): the joined group's stream and the user's private stream.
  StreamCursor group_stream_, user_stream_;
  bool user_since_sent_ = false;  // the current attempt's URL carried user_stream_'s position
  TimerId backoff_timer_ = 0, connect_timer_ = 0, tick_timer_ = 0, refresh_timer_ = 0;
  RtcListener* rtc_ = nullptr;
};

}  // namespace sb::client
