#include "core.hpp"

#include <algorithm>
#include <cmath>

#include "../protocol/frames.hpp"
#include "../protocol/json_text.hpp"
#include "rtc_signaling.hpp"

namespace sb::client {

namespace p = sb::protocol;
namespace jt = sb::protocol::json_text;
using p::Error;

namespace {
// Texts Skapi's client uses, kept so that apps matching on them keep working.
constexpr const char* kConnected = "Connected to WebSocket server.";
constexpr const char* kClosed = "WebSocket connection closed.";
constexpr const char* kUnexpectedClose = "Skapi: WebSocket unexpected close.";
constexpr const char* kMaxAttempts = "Skapi: Max reconnection attempts reached.";
constexpr const char* kReconnecting = "Reconnecting to WebSocket server...";
constexpr const char* kSocketError = "Skapi: WebSocket connection error.";
constexpr const char* kNoConnection =
    "No realtime connection. Execute connectRealtime() before this method.";

// Token refresh: ask this long before the expiry (a fifth of the lifetime, between 1 s and 60 s);
// after a failure retry after 1 s, 2 s, 4 s, 8 s, each time at most half the time left, and
// stop when that is under a quarter second or the retries are used up: the server's 4002 and
// the ordinary reconnect take over.
constexpr double kRefreshMarginMinMs = 1000, kRefreshMarginMaxMs = 60000;
constexpr double kRefreshRetryMs = 1000, kRefreshRetryMinMs = 250;
constexpr int kRefreshRetries = 4;
// A browser's setTimeout fires at once when asked to wait longer than this.
constexpr double kMaxTimerMs = 2147483647;

// The server's "expires_in" (seconds) in a welcome's or an auth reply's data, when valid.
std::optional<double> expires_in_of(std::string_view data) {
  double s = 0;
  if (!jt::get_number(jt::member(data, "expires_in"), s) || !(s >= 0)) return std::nullopt;
  return s;
}

// A reply's data for Result::data_json: its JSON text, "null" when it has none.
Result ok_with_data(const p::ServerFrame& f) {
  Result r{true, {}, {}, f.data.empty() ? "null" : f.data};
  return r;
}

Result ok(std::string message) { return Result{true, {}, std::move(message), {}}; }
Result err(Error code, std::string message) {
  return Result{false, std::string(p::to_string(code)), std::move(message), {}};
}

std::string url_escape(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string url_with_token(const std::string& url, const std::string& token) {
  return url + (url.find('?') == std::string::npos ? "?token=" : "&token=") + url_escape(token);
}

// A failed connection attempt's error, from the close code the server sent.
Result close_result(int code, const std::string& reason) {
  if (code == p::close_code::Unauthorized)
    return err(Error::Unauthorized, reason.empty() ? "The server refused the token." : reason);
  if (code == p::close_code::Forbidden)
    return err(Error::Forbidden, reason.empty() ? "The server refused the connection." : reason);
  if (code == p::close_code::DisconnectedByServer)  // the app's backend closed it: no reconnect
    return err(Error::Disconnected, reason.empty() ? "Disconnected by the server." : reason);
  return err(Error::NotConnected, "Could not connect to the realtime server (close code " +
                                      std::to_string(code) + (reason.empty() ? "" : ": " + reason) + ").");
}
}  // namespace

double backoff_ceiling_ms(const Options& o, int attempt) {
  double c = o.backoff_initial_ms * std::pow(2.0, std::max(0, attempt - 1));
  return std::min(c, o.backoff_max_ms);
}

Core::Core(Transport& transport, Clock& clock, Host& host, EventSink sink, Options options)
    : transport_(transport), clock_(clock), host_(host), sink_(std::move(sink)), opt_(options) {}

Core::~Core() {
  stop_timers();
  for (auto& [id, pend] : pending_) clock_.cancel(pend.timer);
  for (auto& q : outbox_.take_all()) clock_.cancel(q.timer);
}

// ---- events ---------------------------------------------------------------------------------
void Core::emit(Event e) {
  if (sink_) sink_(e);
}

void Core::emit_text(const char* type, const std::string& text, const std::string& code) {
  Event e;
  e.type = type;
  e.message_json = p::json_string(text);
  e.code = code;
  emit(std::move(e));
}

// ---- connection lifecycle -------------------------------------------------------------------
void Core::connect(const std::string& url, Reply done) {
  switch (state_) {
    case State::Open:
      done(ok(kConnected));
      return;
    case State::Connecting:
    case State::Waiting:
      connect_waiters_.push_back(std::move(done));
      return;
    case State::Idle:
    case State::Closed: {
      urls_.clear();  // split on spaces (no <sstream>: it would weigh on the wasm module)
      for (std::size_t i = 0, j; i < url.size(); i = j + 1) {
        j = std::min(url.find(' ', i), url.size());
        if (j > i) urls_.push_back(url.substr(i, j - i));
      }
      if (urls_.empty()) urls_.push_back(url);
      url_at_ = 0;
      first_tries_ = 1;
      ever_open_ = false;
      reconnect_n_ = 0;
      connect_waiters_.push_back(std::move(done));
      start_attempt();
      return;
    }
  }
}

void Core::start_attempt() {
  state_ = State::Connecting;
  attempt_ = ++token_requests_;
  clock_.cancel(connect_timer_);
  connect_timer_ = clock_.start(opt_.connect_timeout_ms, [this] {
    connect_timer_ = 0;
    transport_.close(p::close_code::Normal, "connect timeout");
    handle_lost(0, "timed out");
  });
  host_.need_token(attempt_);
}

void Core::on_token(std::uint64_t request, const std::string& token) {
  if (request != 0 && request == refresh_request_) {
    refresh_request_ = 0;
    if (state_ == State::Open) send_auth(token);
    return;
  }
  if (request != attempt_ || state_ != State::Connecting) return;
  std::string url = url_with_token(urls_[url_at_], token);
  // The private stream's position (docs/protocol.md, Recovery): since=<epoch>.<offset>.
  auto* since = user_stream_.since();
  user_since_sent_ = since != nullptr;
  if (since) url += "&since=" + url_escape(since->epoch) + "." + std::to_string(since->offset);
  transport_.open(url);
}

void Core::on_token_error(std::uint64_t request, const std::string& message) {
  if (request != 0 && request == refresh_request_) {
    refresh_request_ = 0;
    refresh_failed();
    return;
  }
  if (request != attempt_ || state_ != State::Connecting) return;
  if (!ever_open_) {
    finish_connect(err(Error::Unauthorized, "Could not get a token: " + message));
    go_closed();
    return;
  }
  emit_text("error", "Could not get a token: " + message, std::string(p::to_string(Error::Unauthorized)));
  clock_.cancel(connect_timer_);
  connect_timer_ = 0;
  schedule_reconnect();
}

void Core::on_transport_open() {
  // The server speaks first (welcome); nothing to do until then.
  last_rx_ = clock_.now_ms();
}

void Core::handle_welcome(const p::ServerFrame& f) {
  if (state_ != State::Connecting) return;
  clock_.cancel(connect_timer_);
  connect_timer_ = 0;
  state_ = State::Open;
  ever_open_ = true;
  reconnect_n_ = 0;
  cid_ = f.cid;
  user_ = f.user;
  // Another user (a new token) has another private stream: a position of the old one means nothing.
  bool user_asked = user_since_sent_ && user_stream_.name() == user_;
  user_stream_.track(user_);
  if (long long n = 0; jt::get_int(jt::member(f.data, "max_frame_bytes"), n) && n >= 0)
    max_frame_bytes_ = static_cast<std::size_t>(n);
  auto ice = jt::member(f.data, "ice_servers");
  ice_servers_json_ = jt::is_array(ice) ? std::string(ice) : std::string();
  last_rx_ = last_tx_ = clock_.now_ms();
  start_tick();
  stop_refresh();  // anything left from the previous connection is moot
  if (auto e = expires_in_of(f.data)) schedule_refresh(*e);
  // Rejoin first: the server handles frames in order, so queued posts land in the group.
  rejoin();
  emit_text("success", kConnected);
  if (auto stream = jt::member(f.data, "stream"); jt::is_object(stream))
    settle_stream(user_stream_, stream, user_asked, std::string());
  finish_connect(ok(kConnected));
  send_waiting();
}

// Rejoins the group after a reconnect, from where its stream was: the server replays what
// came after that before its ok, whose data says whether it could.
void Core::rejoin() {
  if (!group_) return;
  auto group = *group_;
  group_stream_.track(group);
  std::optional<p::StreamPosition> since;
  if (auto* s = group_stream_.since()) since = *s;
  send_now([group, since](std::int64_t id) { return p::join_frame(id, group, since ? &*since : nullptr); },
           [this](const Result& r) {
             // A connection lost again before the answer: the next welcome rejoins from here.
             if (!r.ok && r.code != p::to_string(Error::Disconnected)) {
               group_.reset();
               group_stream_.reset();
               emit_text("error", "Could not rejoin the group: " + r.message, r.code);
             }
           },
           [this, group, asked = since.has_value()](const p::ServerFrame& f) {
             if (group_ == group && group_stream_.name() == group) settle_stream(group_stream_, f.data, asked, group);
             return ok({});
           });
}

void Core::settle_stream(StreamCursor& cursor, std::string_view answer, bool asked, const std::string& group) {
  auto a = stream_answer(answer);
  if (!a || !cursor.settle(*a, asked)) return;
  Event e;
  e.type = "notice";
  e.message_json = p::json_string(kRecoveryFailedText);
  e.code = kRecoveryFailedCode;
  e.sender_rid = group;  // empty: the private stream
  emit(std::move(e));
}

// Sends what waited for the connection, in order.
void Core::send_waiting() {
  auto waiting = outbox_.take_all();
  std::size_t sent = 0;
  for (; sent < waiting.size() && state_ == State::Open; ++sent) {
    auto& q = waiting[sent];
    clock_.cancel(q.timer);
    send_now(std::move(q.build), std::move(q.done), std::move(q.on_ok), q.resend);
  }
  if (sent == waiting.size()) return;
  // A callback closed or lost the connection meanwhile.
  if (state_ == State::Closed) {
    Result r = err(Error::Closed, "The realtime connection is closed.");
    for (std::size_t i = sent; i < waiting.size(); ++i) {
      auto& q = waiting[i];
      clock_.cancel(q.timer);
      if (q.done) q.done(r);
    }
    return;
  }
  outbox_.put_back(std::move(waiting), sent);
}

void Core::arm_wait(Outgoing& item) {
  auto seq = item.seq = outbox_.next_seq();
  item.timer = clock_.start(opt_.request_timeout_ms, [this, seq] {
    auto q = outbox_.remove(seq);
    if (q && q->done) q->done(err(Error::Timeout, "No realtime connection within the request timeout."));
  });
}

void Core::finish_connect(const Result& r) {
  auto waiters = std::move(connect_waiters_);
  connect_waiters_.clear();
  for (auto& w : waiters) w(r);
}

void Core::on_transport_error() {
  if (state_ == State::Connecting || state_ == State::Open) emit_text("error", kSocketError);
}

void Core::on_transport_close(int code, const std::string& reason) {
  if (state_ != State::Connecting && state_ != State::Open) return;
  handle_lost(code, reason);
}

void Core::handle_lost(int code, const std::string& reason) {
  bool was_open = state_ == State::Open;
  stop_refresh();  // first: the auth reply failed below must not count as a refresh failure
  if (rtc_) rtc_->on_lost();
  clock_.cancel(connect_timer_);
  connect_timer_ = 0;
  clock_.cancel(tick_timer_);
  tick_timer_ = 0;
  requeue_or_fail_pending();
  url_at_ = (url_at_ + 1) % urls_.size();  // the next node, if there are several
  if (!ever_open_ && first_tries_ < urls_.size() && !p::close_is_fatal(code)) {
    ++first_tries_;  // the first connection: every URL once, at once
    start_attempt();
    return;
  }
  if (!ever_open_) {  // the first connection never came up: report it, do not retry
    Result r = code == 0 ? err(Error::Timeout, "Could not connect to the realtime server: " + reason)
                         : close_result(code, reason);
    go_closed();
    finish_connect(r);
    return;
  }
  if (p::close_is_fatal(code)) {
    Result r = close_result(code, reason);
    emit_text("error", r.message, r.code);
    go_closed();
    finish_connect(r);
    return;
  }
  if (was_open) emit_text("error", kUnexpectedClose);
  schedule_reconnect();
}

void Core::schedule_reconnect() {
  ++reconnect_n_;
  if (opt_.max_reconnect_attempts > 0 && reconnect_n_ > opt_.max_reconnect_attempts) {
    emit_text("error", kMaxAttempts);
    go_closed();
    finish_connect(err(Error::NotConnected, kMaxAttempts));
    return;
  }
  state_ = State::Waiting;
  double ceiling = backoff_ceiling_ms(opt_, reconnect_n_);
  double delay = opt_.jitter ? host_.random_unit() * ceiling : ceiling;
  clock_.cancel(backoff_timer_);
  backoff_timer_ = clock_.start(delay, [this] {
    backoff_timer_ = 0;
    emit_text("reconnect", kReconnecting + std::to_string(reconnect_n_));
    if (state_ == State::Waiting) start_attempt();
  });
}

void Core::wake() {
  if (state_ == State::Waiting && backoff_timer_) {
    clock_.cancel(backoff_timer_);
    backoff_timer_ = 0;
    emit_text("reconnect", kReconnecting + std::to_string(reconnect_n_));
    if (state_ == State::Waiting) start_attempt();
  } else if (state_ == State::Open) {
    // After sleep the socket may be dead without knowing it: a ping either comes back or the
    // dead-connection check in tick() reconnects.
    send_now([](std::int64_t id) { return p::ping_frame(id); }, [](const Result&) {}, nullptr);
  }
}

void Core::close(Reply done) {
  if (state_ == State::Idle || state_ == State::Closed) {
    done(ok(kClosed));
    return;
  }
  page_hide();
  done(ok(kClosed));
}

void Core::page_hide() {
  if (state_ == State::Idle || state_ == State::Closed) return;
  if (rtc_) rtc_->on_closing();  // hang up calls while the socket can still say so
  if (state_ == State::Open) {
    // Leave first so the group sees USER_LEFT, then close; the server reads both in order.
    if (group_) transport_.send(p::join_frame(next_id_++, std::nullopt));
    transport_.close(p::close_code::Normal, "closed by client");
  } else if (state_ == State::Connecting) {
    transport_.close(p::close_code::Normal, "closed by client");
  }
  group_.reset();
  group_stream_.reset();  // a new connectRealtime() starts afresh
  user_stream_.reset();
  go_closed();
  finish_connect(err(Error::Closed, "closeRealtime() was called."));
  emit_text("close", kClosed);
}

void Core::go_closed() {
  state_ = State::Closed;
  stop_timers();
  stop_refresh();
  fail_all(std::string(p::to_string(Error::Closed)), "The realtime connection is closed.", true);
}

void Core::stop_timers() {
  for (TimerId* t : {&backoff_timer_, &connect_timer_, &tick_timer_, &refresh_timer_}) {
    clock_.cancel(*t);
    *t = 0;
  }
}

void Core::requeue_or_fail_pending() {
  auto pending = std::move(pending_);
  pending_.clear();
  std::vector<Outgoing> again;  // in the order they were sent: ids grow
  Result r = err(Error::Disconnected, "The connection dropped before the server replied.");
  for (auto& [id, pend] : pending) {
    clock_.cancel(pend.timer);
    if (pend.resend) again.push_back(Outgoing{std::move(pend.resend), std::move(pend.done), std::move(pend.on_ok), true, pend.bytes});
    else if (pend.done) pend.done(r);
  }
  for (auto& q : again) arm_wait(q);
  outbox_.put_back(std::move(again));
}

void Core::fail_all(const std::string& code, const std::string& message, bool include_queued) {
  auto pending = std::move(pending_);
  pending_.clear();
  std::vector<Outgoing> queued;
  if (include_queued) queued = outbox_.take_all();
  Result r{false, code, message, {}};
  for (auto& [id, pend] : pending) {
    clock_.cancel(pend.timer);
    if (pend.done) pend.done(r);
  }
  for (auto& q : queued) {
    clock_.cancel(q.timer);
    if (q.done) q.done(r);
  }
}

// ---- keep-alive -----------------------------------------------------------------------------
double Core::tick_interval_ms() const { return std::max(250.0, opt_.keepalive_ms / 3); }

void Core::start_tick() {
  clock_.cancel(tick_timer_);
  tick_timer_ = clock_.start(tick_interval_ms(), [this] {
    tick_timer_ = 0;
    tick();
    if (state_ == State::Open && !tick_timer_) start_tick();
  });
}

void Core::tick() {
  if (state_ != State::Open) return;
  double now = clock_.now_ms();
  if (rx_count_ != rx_seen_) {  // frames arrived since the last tick
    rx_seen_ = rx_count_;
    last_rx_ = now;
  }
  if (now - last_rx_ >= opt_.dead_after_ms) {
    transport_.close(p::close_code::Normal, "no traffic");
    handle_lost(p::close_code::Normal, "no traffic");
    return;
  }
  if (now - last_tx_ >= opt_.keepalive_ms || now - last_rx_ >= opt_.keepalive_ms)
    send_now([](std::int64_t id) { return p::ping_frame(id); }, [](const Result&) {}, nullptr);
  // A hidden tab's page timers may run a minute late; the platform's ticks (a Worker in the
  // browser) are not throttled, so a due refresh starts from here too.
  if (refresh_at_ && now >= *refresh_at_) start_refresh();
}

// ---- token refresh --------------------------------------------------------------------------
void Core::schedule_refresh(double expires_in_s) {
  double now = clock_.now_ms(), life = expires_in_s * 1000;
  expiry_ms_ = now + life;
  double margin = std::max(kRefreshMarginMinMs, std::min(kRefreshMarginMaxMs, life / 5));
  arm_refresh(now + std::max(0.0, life - margin));
}

// One timer until `at_ms`, in pieces a browser timer can hold.
void Core::arm_refresh(double at_ms) {
  refresh_at_ = at_ms;
  clock_.cancel(refresh_timer_);
  double delay = std::min(std::max(0.0, at_ms - clock_.now_ms()), kMaxTimerMs);
  refresh_timer_ = clock_.start(delay, [this, at_ms] {
    refresh_timer_ = 0;
    if (clock_.now_ms() < at_ms) arm_refresh(at_ms);
    else start_refresh();
  });
}

void Core::start_refresh() {
  clock_.cancel(refresh_timer_);
  refresh_timer_ = 0;
  refresh_at_.reset();
  if (state_ != State::Open || refresh_request_) return;
  refresh_request_ = ++token_requests_;
  host_.need_token(refresh_request_);
}

void Core::send_auth(const std::string& token) {
  auto epoch = refresh_epoch_;
  send_now([token](std::int64_t id) { return p::auth_frame(id, token); },
           [this, epoch](const Result& r) {
             if (epoch == refresh_epoch_ && state_ == State::Open) on_auth_reply(r);
           },
           ok_with_data);
}

void Core::on_auth_reply(const Result& r) {
  if (!r.ok) return refresh_failed();  // refused, timed out, too large
  auto e = expires_in_of(r.data_json);
  if (!e) {  // a token without exp: the server will not close this connection for it
    stop_refresh();
    return;
  }
  // The same token again (a caching token function) would refresh in a loop: it must buy time.
  // expires_in is in whole seconds, hence the second of slack.
  if (expiry_ms_ && clock_.now_ms() + *e * 1000 <= *expiry_ms_ + 1000) return refresh_failed();
  refresh_failures_ = 0;
  schedule_refresh(*e);
}

void Core::refresh_failed() {
  if (state_ != State::Open || !expiry_ms_) return;
  ++refresh_failures_;
  double left = *expiry_ms_ - clock_.now_ms();
  double delay = std::min(kRefreshRetryMs * std::pow(2.0, refresh_failures_ - 1), left / 2);
  if (refresh_failures_ > kRefreshRetries || delay < kRefreshRetryMinMs) return;
  arm_refresh(clock_.now_ms() + delay);
}

void Core::stop_refresh() {
  ++refresh_epoch_;
  clock_.cancel(refresh_timer_);
  refresh_timer_ = 0;
  refresh_request_ = 0;
  expiry_ms_.reset();
  refresh_at_.reset();
  refresh_failures_ = 0;
}

// ---- requests -------------------------------------------------------------------------------
void Core::request(Build build, Reply done, OnOk on_ok, bool resend) {
  switch (state_) {
    case State::Open:
      send_now(std::move(build), std::move(done), std::move(on_ok), resend);
      return;
    case State::Connecting:
    case State::Waiting: {
      std::size_t bytes = build(0).size();
      if (!outbox_.fits(bytes, opt_.queue_max_count, opt_.queue_max_bytes)) {
        done(err(Error::QueueFull, "The offline queue is full (" + std::to_string(outbox_.size()) + " calls, " +
                                       std::to_string(outbox_.bytes()) + " bytes wait for the connection)."));
        return;
      }
      Outgoing q{std::move(build), std::move(done), std::move(on_ok), resend, bytes};
      arm_wait(q);
      outbox_.push_back(std::move(q));
      return;
    }
    case State::Idle:
    case State::Closed:
      done(err(Error::NotConnected, kNoConnection));
      return;
  }
}

void Core::send_now(Build build, Reply done, OnOk on_ok, bool resend) {
  std::int64_t id = next_id_++;
  std::string frame = build(id);
  // The server would drop the connection for an oversized frame: refuse it here instead.
  if (frame.size() > max_frame_bytes_) {
    if (done)
      done(err(Error::TooLarge, "The message is " + std::to_string(frame.size()) +
                                    " bytes framed; the server accepts at most " +
                                    std::to_string(max_frame_bytes_) + "."));
    return;
  }
  Pending pend{std::move(done), std::move(on_ok), 0, resend ? std::move(build) : Build(), resend ? frame.size() : 0};
  pend.timer = clock_.start(opt_.request_timeout_ms, [this, id] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Reply d = std::move(it->second.done);
    pending_.erase(it);
    if (d) d(err(Error::Timeout, "The server did not reply in time."));
  });
  pending_.emplace(id, std::move(pend));
  last_tx_ = clock_.now_ms();
  transport_.send(frame);
}

void Core::handle_reply(const p::ServerFrame& f) {
  auto it = pending_.find(f.id);
  if (it == pending_.end()) return;  // timed out already, or fire-and-forget
  Pending pend = std::move(it->second);
  pending_.erase(it);
  clock_.cancel(pend.timer);
  if (!pend.done) return;
  if (f.op == "error") {
    pend.done(Result{false, f.code, f.message, {}});
    return;
  }
  pend.done(pend.on_ok ? pend.on_ok(f) : ok({}));
}

void Core::on_transport_text(std::string_view message) {
  ++rx_count_;  // tick() turns this into last_rx_: no clock read per frame
  p::for_each_frame(message, [this](std::string_view frame, std::size_t index, std::size_t count) {
    handle_frame(frame, index, count);
  });
}

bool Core::on_transport_head(std::string_view envelope) {
  p::ServerFrame f;
  if (!p::parse_server_frame(envelope, f) || (f.op != "message" && f.op != "private")) return false;
  ++rx_count_;
  handle_frame(f, 0, 1);
  return true;
}

bool Core::fresh(const p::ServerFrame& f) {
  if (f.op == "private") return user_stream_.accept(f.epoch, f.offset);
  // The group's stream: the group being joined, else the joined one. Frames of a group being
  // left pass untracked.
  const auto& group = joining_ && *joining_ ? *joining_ : group_;
  if (!group || f.group != *group) return true;
  group_stream_.track(*group);
  return group_stream_.accept(f.epoch, f.offset);
}

void Core::handle_frame(std::string_view text, std::size_t index, std::size_t count) {
  p::ServerFrame f;
  if (!p::parse_server_frame(text, f)) {
    emit_text("error", "Received a frame that is not valid JSON.", std::string(p::to_string(Error::InvalidRequest)));
    return;
  }
  handle_frame(f, index, count);
}

void Core::handle_frame(p::ServerFrame& f, std::size_t index, std::size_t count) {
  if (f.op == "welcome") {
    handle_welcome(f);
  } else if (f.op == "ok" || (f.op == "error" && f.id >= 0)) {
    handle_reply(f);
  } else if (f.op == "error") {
    emit_text("error", f.message, f.code);
  } else if (f.op == "message" || f.op == "private") {
    if (!fresh(f)) return;  // delivered already (a replay overlapping what came live)
    Event e;
    e.type = f.op;
    e.message_json = std::move(f.payload);
    e.sender = std::move(f.sender);
    e.sender_cid = std::move(f.sender_cid);
    e.sender_rid = std::move(f.group);
    e.from_frame = true;
    e.frame_index = index;
    e.frame_count = count;
    emit(std::move(e));
  } else if (f.op == "rtc") {
    if (rtc_) rtc_->on_rtc_frame(f.sender, f.sender_cid, f.payload);
  } else if (f.op == "notice") {
    Event e;
    e.type = "notice";
    // Skapi's texts: its examples test includes("message group") and take the id from /"([^"]+)"/.
    const char* what = f.code == "USER_JOINED" ? "\" has joined the message group."
                       : f.code == "USER_LEFT" ? "\" has left the message group."
                                               : "\" has been disconnected.";
    e.message_json = p::json_string("User \"" + f.sender + what);
    e.sender = std::move(f.sender);
    e.sender_cid = std::move(f.sender_cid);
    e.sender_rid = std::move(f.group);
    e.code = std::move(f.code);
    emit(std::move(e));
  }
}

// ---- API ------------------------------------------------------------------------------------
void Core::join(std::optional<std::string> group, Reply done) {
  if (group && group->empty()) group.reset();
  // Like Skapi, a post right after an un-awaited join goes to the group being joined: the
  // server handles frames in order, so it is a member by the time the post arrives.
  auto key = ++join_seq_;
  joining_ = group;
  request([group](std::int64_t id) { return p::join_frame(id, group); },
          [this, key, done = std::move(done)](const Result& r) {
            if (key == join_seq_) joining_.reset();
            done(r);
          },
          [this, group](const p::ServerFrame& f) {
            group_ = group;
            if (group) {
              group_stream_.track(*group);
              settle_stream(group_stream_, f.data, false, *group);
            } else {
              group_stream_.reset();
            }
            return group ? ok("Joined realtime message group: \"" + *group + "\".")
                         : ok("Left realtime message group.");
          });
}

void Core::post(const std::string& payload_json, const std::string& recipient, Reply done) {
  post(payload_json, recipient, std::string(), std::move(done));
}

void Core::post(const std::string& payload_json, const std::string& recipient, const std::string& notification_json,
                Reply done) {
  if (!notification_json.empty() && !jt::valid(notification_json)) {
    done(err(Error::InvalidParameter, "\"notification\" must be JSON."));
    return;
  }
  if (recipient.empty()) {
    done(err(Error::InvalidParameter, "\"recipient\" must be a user id or the joined group."));
    return;
  }
  const auto& group = joining_ ? *joining_ : group_;
  bool to_group = group && *group == recipient;
  // The key goes with every (re)send of this call: the server delivers it at most once and
  // answers a repeat with ok and data.duplicate, which is success here too.
  Build build = [to_group, key = keys_.next(host_), recipient, payload_json, notification_json](std::int64_t id) {
    return to_group ? p::post_frame(id, recipient, payload_json, notification_json, key)
                    : p::private_frame(id, recipient, payload_json, notification_json, key);
  };
  request(std::move(build), std::move(done), [](const p::ServerFrame&) { return ok("Message sent."); },
          /*resend=*/true);
}

void Core::users(const std::string& params_json, Reply done) { query("users", params_json, std::move(done)); }

void Core::push_request(const std::string& op, const std::string& params_json, Reply done) {
  for (const char* known : {"vapid", "subscribe", "unsubscribe", "push"})
    if (op == known) return query(known, params_json, std::move(done));
  done(err(Error::InvalidRequest, "Unknown push request \"" + op + "\"."));
}
void Core::groups(const std::string& params_json, Reply done) { query("groups", params_json, std::move(done)); }

void Core::query(const char* op, const std::string& params_json, Reply done) {
  std::string_view text = params_json;
  text = text.substr(jt::skip_ws(text, 0));
  if (!jt::valid(text) || !(jt::is_object(text) || jt::is_null(text.substr(0, 4)))) {
    done(err(Error::InvalidParameter, "Query parameters must be an object."));
    return;
  }
  if (!jt::is_object(text)) text = "{}";
  std::string params(text);
  auto group = jt::member(text, "group");
  if (std::string_view(op) == "users" && (group.empty() || jt::is_null(group))) {
    if (!group_) {
      done(err(Error::InvalidParameter, "No group joined: pass { group } or run joinRealtime() first."));
      return;
    }
    params = "{\"group\":";
    p::append_json_string(params, *group_);
    jt::append_members(params, text, {"group"});
    params += '}';
  }
  std::string name = op;
  request([name, params](std::int64_t id) { return p::query_frame(id, name, params); }, std::move(done),
          ok_with_data);
}

void Core::send_rtc(const std::string& cid, const std::string& payload_json, Reply done) {
  request([cid, payload_json](std::int64_t id) { return p::rtc_frame(id, cid, payload_json); },
          std::move(done), nullptr);
}

}  // namespace sb::client
