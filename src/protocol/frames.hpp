// Wire frames (docs/protocol.md). Every frame is one JSON object in one WebSocket text message,
// with its kind in "op". Frames that carry a user payload put it last, under "msg", so a reader
// can take the payload as raw JSON text without re-encoding it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// SB_PROTOCOL_CLIENT_ONLY (the wasm build): only what the client needs, without nlohmann/json;
// the client reads frames with json_text.hpp.
#ifndef SB_PROTOCOL_CLIENT_ONLY
#include <nlohmann/json.hpp>
#endif

#include "errors.hpp"
#include "limits.hpp"

namespace sb::protocol {

// ---- helpers ------------------------------------------------------------------------------
// Appends s as a JSON string literal. s must be valid UTF-8 (it always came from a parsed frame,
// a validated token or our own code).
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

// Appends valid JSON text without the whitespace between its tokens. `json` must be valid (the
// caller has checked it): then the only raw control characters it can hold are that whitespace,
// so the result has no raw newline and cannot split a batch (for_each_frame).
void append_compact_json(std::string& out, std::string_view json);

// Depth of the deepest nesting in a JSON text, scanning without parsing. Stops counting past
// `limit` so a hostile frame costs O(n) at most.
int json_depth(std::string_view text, int limit);

// The key that precedes the raw payload in frames that carry one.
inline constexpr std::string_view kPayloadKey = ",\"msg\":";

// Splits a frame `{...,"msg":<payload>}` into the envelope (returned as `{...}`) and the raw
// payload text. A literal `,"msg":` cannot occur inside a JSON string (its quotes would be
// escaped), so the first occurrence is the envelope's key as long as writers put "msg" last.
bool split_payload(std::string_view frame, std::string& envelope, std::string_view& payload);

// A server text message holds one frame, or several separated by '\n' when the server batches
// what queued up for a connection (docs/protocol.md). No frame the server writes holds a raw
// newline: strings are escaped (append_json_string) and payloads compacted (append_compact_json),
// so a sender's bytes cannot end one frame and start another. Calls fn(frame, index, count) for each; index counts from 0 over the raw pieces.
template <class Fn>
void for_each_frame(std::string_view message, Fn&& fn) {
  std::size_t count = 1;
  for (char c : message) count += c == '\n';
  std::size_t index = 0;
  while (true) {
    auto nl = message.find('\n');
    auto frame = message.substr(0, nl);
    if (!frame.empty()) fn(frame, index, count);
    if (nl == std::string_view::npos) break;
    message.remove_prefix(nl + 1);
    ++index;
  }
}

// ---- streams (docs/protocol.md, Streams and recovery) --------------------------------------
// A stream's position: the offset of its last message within an epoch (the epoch changes
// whenever the stream's history is lost).
struct StreamPosition {
  std::uint64_t offset = 0;
  std::string epoch;
};
inline constexpr std::size_t kMaxStreamTokenBytes = 64;
// An epoch or an idempotency key: 1..64 characters of [A-Za-z0-9_-].
bool valid_stream_token(std::string_view s);
// "<epoch>.<offset>", the connect URL's since= parameter. False when malformed.
bool parse_stream_position(std::string_view text, StreamPosition& out);
// A message frame of a stream, split where its position goes (before "msg", which stays last):
// head + ,"offset":N,"epoch":"E" + tail. The Redis engine joins the parts in its Lua script.
struct StreamFrame {
  std::string head, tail;
  std::string at(std::uint64_t offset, std::string_view epoch) const;
  std::string without_position() const { return head + tail; }
};
// The "offset" of a frame the server wrote (message, private), read without parsing it.
std::optional<std::uint64_t> frame_offset(std::string_view frame);

// ---- client -> server ---------------------------------------------------------------------
enum class Op { Join, Post, Private, Users, Groups, Rtc, Ping, Auth, Vapid, Subscribe, Unsubscribe, Push };
std::optional<Op> op_from_string(std::string_view s);

// `since`: the joined group's position, for the server to replay what came after it.
std::string join_frame(std::int64_t id, const std::optional<std::string>& group,
                       const StreamPosition* since = nullptr);
// `notification_json`: Skapi's {title, body, config?} for Web Push (docs/protocol.md), or empty.
// `key`: the idempotency key (docs/protocol.md, Posts while offline), or empty.
std::string post_frame(std::int64_t id, std::string_view group, std::string_view payload_json,
                       std::string_view notification_json = {}, std::string_view key = {});
std::string private_frame(std::int64_t id, std::string_view user, std::string_view payload_json,
                          std::string_view notification_json = {}, std::string_view key = {});
std::string ping_frame(std::int64_t id);
std::string rtc_frame(std::int64_t id, std::string_view cid, std::string_view payload_json);
// A fresh token for the open connection (docs/protocol.md, Token refresh).
std::string auth_frame(std::int64_t id, std::string_view token);
// users / groups: the query fields (docs/protocol.md), a valid JSON object, plus op and id.
std::string query_frame(std::int64_t id, std::string_view op, std::string_view params_json);

#ifndef SB_PROTOCOL_CLIENT_ONLY

// A post's or private message's Web Push notification (docs/protocol.md, Notifications).
struct Notification {
  std::string title, body;
  bool always = false;  // config.always: push even to a recipient who is connected
};

// {title, body} (plus config.always when `with_config`) checked as Skapi does: strings, and at
// most limits.max_notification_bytes as the JSON {"title","body"}. False with `message` set.
bool parse_notification(const nlohmann::json& j, const Limits& limits, bool with_config, Notification& out,
                        std::string& message);

// A request as the server sees it, validated for shape. Fields not used by `op` stay empty.
struct Request {
  Op op{};
  std::int64_t id = 0;
  std::optional<std::string> group;  // join (nullopt = leave), post
  std::string user;                  // private
  std::string cid;                   // rtc: the addressed connection
  std::string token;                 // auth: the new JWT, unverified
  std::string payload;               // post, private: raw JSON text of "msg"
  std::optional<Notification> notification;  // post, private: Web Push for offline recipients
  nlohmann::json body;               // the whole frame, for ops with more fields (users, groups, rtc)
  std::string key;                   // post, private: idempotency key, empty when none
  std::optional<StreamPosition> since;  // join: the position to recover from
};

struct RequestError {
  std::optional<std::int64_t> id;  // echoed when the frame had a usable id
  Error code;
  std::string message;
};

// Parses and validates one client frame. Never throws.
bool parse_request(std::string_view text, const Limits& limits, Request& out, RequestError& err);
#endif

// ---- server -> client ---------------------------------------------------------------------
// `expires_in`: whole seconds until the connection's token expires; absent when it has no exp.
// `ice_servers_json`: a JSON array (already validated) sent as data.ice_servers, or empty.
std::string welcome_frame(std::string_view cid, std::string_view user, const Limits& limits,
                          std::optional<std::int64_t> expires_in = std::nullopt,
                          std::string_view ice_servers_json = {}, std::string_view stream_json = {});
std::string ok_frame(std::int64_t id);
#ifndef SB_PROTOCOL_CLIENT_ONLY
std::string ok_frame(std::int64_t id, const nlohmann::json& data);  // {"op":"ok","id":..,"data":..}
#endif
std::string error_frame(const std::optional<std::int64_t>& id, Error code, std::string_view message);
// Without a stream position (as before streams; tests and tools). The server sends the parts.
std::string group_message_frame(std::string_view group, std::string_view sender,
                                std::string_view sender_cid, std::string_view payload_json);
std::string private_message_frame(std::string_view sender, std::string_view sender_cid,
                                  std::string_view sender_group, std::string_view payload_json);
StreamFrame group_message_parts(std::string_view group, std::string_view sender, std::string_view sender_cid,
                                std::string_view payload_json);
StreamFrame private_message_parts(std::string_view sender, std::string_view sender_cid,
                                  std::string_view sender_group, std::string_view payload_json);
std::string rtc_event_frame(std::string_view sender, std::string_view sender_cid,
                            std::string_view payload_json);
// A message the app's backend published (the server API): `op` "message" with `group`, or
// "private" with "group":null; `sender` is the server's identity and "sender_cid" is null (no
// connection sent it). Split for the stream position as the other message frames are.
StreamFrame server_message_parts(std::string_view op, std::string_view group, std::string_view sender,
                                 std::string_view payload_json);
std::string notice_frame(std::string_view code, std::string_view group, std::string_view user,
                         std::string_view cid);

// A server frame as the client sees it.
struct ServerFrame {
  std::string op;
  std::int64_t id = -1;
  std::string code, message;            // error, notice
  std::string group, sender, sender_cid, user, cid;
  std::string payload;                  // raw JSON text of "msg", if any
  std::uint64_t offset = 0;             // message, private: the stream position (0: none)
  std::string epoch;
  std::string data;                     // raw JSON text of "data" (ok replies, welcome), if any
};
// Reads the envelope's fields with json_text (no tree); the payload after `,"msg":` is kept as
// text without being scanned. A frame without "msg" may be just the envelope of a longer one.
bool parse_server_frame(std::string_view text, ServerFrame& out);

}  // namespace sb::protocol
