#include "frames.hpp"

#include <array>
#include <charconv>

#include "json_text.hpp"

namespace sb::protocol {

#ifndef SB_PROTOCOL_CLIENT_ONLY
using nlohmann::json;
#endif

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s);
  return out;
}

void append_compact_json(std::string& out, std::string_view json) {
  out.reserve(out.size() + json.size());
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    out.push_back(c);
  }
}

int json_depth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth && (max_depth = depth) > limit) return max_depth;
    } else if (c == '}' || c == ']') --depth;
  }
  return max_depth;
}

namespace {
// Reads `"key":"value"` at `pos` (after an optional comma) when the value has no escapes; the
// fast path for the envelopes of message frames, which the server writes in a fixed order.
bool take_plain_field(std::string_view text, std::size_t& pos, std::string_view key, std::string& out) {
  if (pos >= text.size() || text[pos] != ',') return false;
  ++pos;
  if (pos + key.size() + 4 > text.size()) return false;
  if (text.compare(pos, 1, "\"") != 0 || text.compare(pos + 1, key.size(), key) != 0 ||
      text.compare(pos + 1 + key.size(), 3, "\":\"") != 0)
    return false;
  std::size_t start = pos + key.size() + 4;
  std::size_t end = text.find('"', start);
  if (end == std::string_view::npos) return false;
  std::string_view value = text.substr(start, end - start);
  if (value.find('\\') != std::string_view::npos) return false;
  out.assign(value);
  pos = end + 1;
  return true;
}

}  // namespace

bool split_payload(std::string_view frame, std::string& envelope, std::string_view& payload) {
  auto pos = frame.find(kPayloadKey);
  if (pos == std::string_view::npos || frame.size() < pos + kPayloadKey.size() + 2 ||
      frame.back() != '}')
    return false;
  envelope.assign(frame.substr(0, pos));
  envelope.push_back('}');
  auto start = pos + kPayloadKey.size();
  payload = frame.substr(start, frame.size() - 1 - start);
  return true;
}

// ---- client -> server ---------------------------------------------------------------------
std::optional<Op> op_from_string(std::string_view s) {
  if (s == "join") return Op::Join;
  if (s == "post") return Op::Post;
  if (s == "private") return Op::Private;
  if (s == "users") return Op::Users;
  if (s == "groups") return Op::Groups;
  if (s == "rtc") return Op::Rtc;
  if (s == "ping") return Op::Ping;
  if (s == "auth") return Op::Auth;
  if (s == "vapid") return Op::Vapid;
  if (s == "subscribe") return Op::Subscribe;
  if (s == "unsubscribe") return Op::Unsubscribe;
  if (s == "push") return Op::Push;
  return std::nullopt;
}

namespace {
std::string head(std::string_view op, std::int64_t id) {
  std::string f;
  f.reserve(64);
  f += "{\"op\":\"";
  f += op;
  f += "\",\"id\":";
  f += std::to_string(id);
  return f;
}
}  // namespace

std::string join_frame(std::int64_t id, const std::optional<std::string>& group) {
  auto f = head("join", id);
  f += ",\"group\":";
  if (group) append_json_string(f, *group);
  else f += "null";
  f += '}';
  return f;
}

namespace {
// {"op":..,"id":..,"<key>":"<value>","msg":<payload>}: the layout parse_request reads fastest.
std::string addressed_frame(std::string_view op, std::int64_t id, std::string_view key, std::string_view value,
                            std::string_view payload_json, std::string_view notification_json = {}) {
  auto f = head(op, id);
  f += ",\"";
  f += key;
  f += "\":";
  append_json_string(f, value);
  if (!notification_json.empty()) {
    f += ",\"notification\":";
    f += notification_json;
  }
  f += kPayloadKey;
  f += payload_json;
  f += '}';
  return f;
}
}  // namespace

std::string post_frame(std::int64_t id, std::string_view group, std::string_view payload_json,
                       std::string_view notification_json) {
  return addressed_frame("post", id, "group", group, payload_json, notification_json);
}

std::string private_frame(std::int64_t id, std::string_view user, std::string_view payload_json,
                          std::string_view notification_json) {
  return addressed_frame("private", id, "user", user, payload_json, notification_json);
}

#ifndef SB_PROTOCOL_CLIENT_ONLY
bool parse_notification(const json& j, const Limits& limits, bool with_config, Notification& out, std::string& message) {
  if (!j.is_object()) return message = "\"notification\" must be { title: string, body: string, config? }.", false;
  auto title = j.find("title"), body = j.find("body");
  if (title == j.end() || !title->is_string() || title->get_ref<const std::string&>().empty())
    return message = "Missing parameter: message title", false;
  if (body == j.end() || !body->is_string() || body->get_ref<const std::string&>().empty())
    return message = "Missing parameter: message body", false;
  out.title = title->get<std::string>();
  out.body = body->get<std::string>();
  // Skapi measures JSON.stringify({title, body}) in UTF-8 bytes; dump() writes the same text.
  if (json{{"title", out.title}, {"body", out.body}}.dump().size() > limits.max_notification_bytes)
    return message = "Notification size exceeds 3kb.", false;
  out.always = false;
  if (!with_config) return true;
  if (auto c = j.find("config"); c != j.end() && !c->is_null()) {
    if (!c->is_object()) return message = "\"notification.config\" must be an object.", false;
    if (auto a = c->find("always"); a != c->end() && !a->is_null()) {
      if (!a->is_boolean()) return message = "\"notification.config.always\" must be a boolean.", false;
      out.always = a->get<bool>();
    }
  }
  return true;
}

#endif

std::string ping_frame(std::int64_t id) { return head("ping", id) + "}"; }

std::string rtc_frame(std::int64_t id, std::string_view cid, std::string_view payload_json) {
  return addressed_frame("rtc", id, "cid", cid, payload_json);
}

std::string auth_frame(std::int64_t id, std::string_view token) {
  auto f = head("auth", id);
  f += ",\"token\":";
  append_json_string(f, token);
  f += '}';
  return f;
}

std::string query_frame(std::int64_t id, std::string_view op, std::string_view params_json) {
  auto f = head(op, id);
  json_text::append_members(f, params_json, {"op", "id"});
  f += '}';
  return f;
}

#ifndef SB_PROTOCOL_CLIENT_ONLY
namespace {
bool fail(RequestError& err, std::optional<std::int64_t> id, Error code, std::string msg) {
  err.id = id;
  err.code = code;
  err.message = std::move(msg);
  return false;
}

bool take_name(const json& j, const char* key, const Limits& limits, std::string& out,
               std::optional<std::int64_t> id, RequestError& err) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return fail(err, id, Error::InvalidRequest, std::string("\"") + key + "\" must be a string.");
  out = it->get<std::string>();
  if (!valid_name(out, limits.max_name_bytes))
    return fail(err, id, Error::InvalidParameter,
                std::string("\"") + key + "\" must be 1 to " +
                    std::to_string(limits.max_name_bytes) +
                    " bytes with no control characters.");
  return true;
}

bool take_payload(const json& j, const Limits& limits, Request& out, RequestError& err) {
  auto it = j.find("msg");
  if (it == j.end()) return fail(err, out.id, Error::InvalidRequest, "\"msg\" is missing.");
  out.payload = it->dump();
  if (auto n = j.find("notification"); n != j.end() && !n->is_null()) {
    std::string message;
    out.notification.emplace();
    if (!parse_notification(*n, limits, true, *out.notification, message))
      return fail(err, out.id, Error::InvalidParameter, message);
  }
  return true;
}
}  // namespace

namespace {
// post and private as our writers lay them out ({"op":..,"id":..,"group"|"user":..,"msg":..}),
// read without a JSON tree: the envelope is scanned, the payload validated in place and kept as
// the sender's text, compacted (no whitespace between tokens, hence no raw newline). Returns
// false to send anything else (other ops, other layouts, names that need unescaping, any error)
// through the full parse, which also words the errors.
bool parse_message_request_fast(std::string_view text, const Limits& limits, Request& out) {
  static constexpr std::string_view kPost = "{\"op\":\"post\",\"id\":", kPrivate = "{\"op\":\"private\",\"id\":";
  bool post = text.substr(0, kPost.size()) == kPost;
  if (!post && text.substr(0, kPrivate.size()) != kPrivate) return false;
  std::size_t pos = post ? kPost.size() : kPrivate.size();
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), id);
  if (ec != std::errc() || end == text.data() + pos) return false;
  // JSON has no leading zeros ("02", "-01"): such ids go to the full parse, which refuses them.
  std::size_t digits = pos + (text[pos] == '-');
  if (text[digits] == '0' && end - text.data() > static_cast<std::ptrdiff_t>(digits + 1)) return false;
  pos = static_cast<std::size_t>(end - text.data());
  std::string name;
  if (!take_plain_field(text, pos, post ? "group" : "user", name) || !valid_name(name, limits.max_name_bytes))
    return false;
  if (text.compare(pos, kPayloadKey.size(), kPayloadKey) != 0 || text.back() != '}') return false;
  std::string_view payload = text.substr(pos + kPayloadKey.size(), text.size() - 1 - pos - kPayloadKey.size());
  if (payload.empty() || !json::accept(payload.begin(), payload.end())) return false;
  out.op = post ? Op::Post : Op::Private;
  out.id = id;
  if (post) out.group = std::move(name);
  else out.user = std::move(name);
  out.payload.clear();
  append_compact_json(out.payload, payload);
  return true;
}
}  // namespace

bool parse_request(std::string_view text, const Limits& limits, Request& out, RequestError& err) {
  if (text.size() > limits.max_frame_bytes)
    return fail(err, std::nullopt, Error::TooLarge,
                "Frame is larger than " + std::to_string(limits.max_frame_bytes) + " bytes.");
  if (json_depth(text, limits.max_depth) > limits.max_depth)
    return fail(err, std::nullopt, Error::TooDeep,
                "JSON nesting is deeper than " + std::to_string(limits.max_depth) + ".");
  // nlohmann's parser takes a raw NUL for the end of its input and would accept what precedes
  // it; JSON text never holds one (inside strings it is \u0000), so refuse it here, once.
  if (text.find('\0') != std::string_view::npos)
    return fail(err, std::nullopt, Error::InvalidRequest, "Frame is not valid JSON.");
  if (parse_message_request_fast(text, limits, out)) return true;
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(err, std::nullopt, Error::InvalidRequest, "Frame is not valid JSON.");
  if (!j.is_object()) return fail(err, std::nullopt, Error::InvalidRequest, "Frame must be a JSON object.");

  auto idit = j.find("id");
  if (idit == j.end() || !idit->is_number_integer())
    return fail(err, std::nullopt, Error::InvalidRequest, "\"id\" must be an integer.");
  out.id = idit->get<std::int64_t>();
  auto opit = j.find("op");
  if (opit == j.end() || !opit->is_string())
    return fail(err, out.id, Error::InvalidRequest, "\"op\" must be a string.");
  auto op = op_from_string(opit->get_ref<const std::string&>());
  if (!op) return fail(err, out.id, Error::InvalidRequest, "Unknown op \"" + opit->get<std::string>() + "\".");
  out.op = *op;

  switch (out.op) {
    case Op::Join: {
      auto g = j.find("group");
      if (g == j.end() || g->is_null() || (g->is_string() && g->get_ref<const std::string&>().empty())) {
        out.group.reset();
        break;
      }
      std::string name;
      if (!take_name(j, "group", limits, name, out.id, err)) return false;
      out.group = std::move(name);
      break;
    }
    case Op::Post: {
      std::string name;
      if (!take_name(j, "group", limits, name, out.id, err)) return false;
      out.group = std::move(name);
      if (!take_payload(j, limits, out, err)) return false;
      break;
    }
    case Op::Private:
      if (!take_name(j, "user", limits, out.user, out.id, err)) return false;
      if (!take_payload(j, limits, out, err)) return false;
      break;
    case Op::Rtc: {
      if (!take_name(j, "cid", limits, out.cid, out.id, err)) return false;
      auto m = j.find("msg");
      if (m == j.end() || !m->is_object())
        return fail(err, out.id, Error::InvalidRequest, "\"msg\" must be an object.");
      out.payload = m->dump();
      break;
    }
    case Op::Users: {
      std::string name;
      if (!take_name(j, "group", limits, name, out.id, err)) return false;
      out.group = std::move(name);
      break;
    }
    case Op::Auth: {
      // Only the shape here; the server verifies the token itself.
      auto t = j.find("token");
      if (t == j.end() || !t->is_string())
        return fail(err, out.id, Error::InvalidRequest, "\"token\" must be a string.");
      out.token = t->get<std::string>();
      break;
    }
    case Op::Groups:
    case Op::Ping:
    case Op::Vapid:
    case Op::Subscribe:    // the fields are read by the push handlers (src/server/push)
    case Op::Unsubscribe:
    case Op::Push:
      break;
  }
  out.body = std::move(j);
  return true;
}
#endif

// ---- server -> client ---------------------------------------------------------------------
std::string welcome_frame(std::string_view cid, std::string_view user, const Limits& limits,
                          std::optional<std::int64_t> expires_in, std::string_view ice_servers_json) {
  std::string f = "{\"op\":\"welcome\",\"cid\":";
  append_json_string(f, cid);
  f += ",\"user\":";
  append_json_string(f, user);
  f += ",\"data\":{\"max_frame_bytes\":" + std::to_string(limits.max_frame_bytes) +
       ",\"max_depth\":" + std::to_string(limits.max_depth) +
       ",\"max_name_bytes\":" + std::to_string(limits.max_name_bytes);
  if (expires_in) f += ",\"expires_in\":" + std::to_string(*expires_in);
  if (!ice_servers_json.empty()) {
    f += ",\"ice_servers\":";
    f += ice_servers_json;
  }
  f += "}}";
  return f;
}

std::string ok_frame(std::int64_t id) { return head("ok", id) + "}"; }

#ifndef SB_PROTOCOL_CLIENT_ONLY
std::string ok_frame(std::int64_t id, const json& data) {
  return head("ok", id) + ",\"data\":" + data.dump() + "}";
}
#endif

std::string error_frame(const std::optional<std::int64_t>& id, Error code, std::string_view message) {
  std::string f = "{\"op\":\"error\",\"id\":";
  f += id ? std::to_string(*id) : "null";
  f += ",\"code\":\"";
  f += to_string(code);
  f += "\",\"message\":";
  append_json_string(f, message);
  f += '}';
  return f;
}

namespace {
using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// {"op":"<op>","<key>":"<value>",...} with string values, and the raw payload last under "msg"
// when there is one: the one shape of every event frame the server sends.
std::string event_frame(std::string_view op, Fields fields, std::optional<std::string_view> payload_json) {
  std::size_t size = 16 + op.size() + (payload_json ? payload_json->size() + kPayloadKey.size() : 0);
  for (auto& [k, v] : fields) size += k.size() + v.size() + 6;
  std::string f;
  f.reserve(size);
  f += "{\"op\":\"";
  f += op;
  f += '"';
  for (auto& [k, v] : fields) {
    f += ",\"";
    f += k;
    f += "\":";
    append_json_string(f, v);
  }
  if (payload_json) {
    f += kPayloadKey;
    f += *payload_json;
  }
  f += '}';
  return f;
}
}  // namespace

std::string group_message_frame(std::string_view group, std::string_view sender,
                                std::string_view sender_cid, std::string_view payload_json) {
  return event_frame("message", {{"group", group}, {"sender", sender}, {"sender_cid", sender_cid}}, payload_json);
}

std::string private_message_frame(std::string_view sender, std::string_view sender_cid,
                                  std::string_view sender_group, std::string_view payload_json) {
  return event_frame("private", {{"group", sender_group}, {"sender", sender}, {"sender_cid", sender_cid}},
                     payload_json);
}

std::string rtc_event_frame(std::string_view sender, std::string_view sender_cid,
                            std::string_view payload_json) {
  return event_frame("rtc", {{"sender", sender}, {"sender_cid", sender_cid}}, payload_json);
}

std::string notice_frame(std::string_view code, std::string_view group, std::string_view user,
                         std::string_view cid) {
  return event_frame("notice", {{"code", code}, {"group", group}, {"sender", user}, {"sender_cid", cid}},
                     std::nullopt);
}

bool parse_server_frame(std::string_view text, ServerFrame& out) {
  namespace jt = json_text;
  std::string envelope;
  std::string_view payload, body = text;
  bool split = split_payload(text, envelope, payload);
  if (split) body = envelope;
  jt::ObjectReader r(body);
  std::string_view k, v;
  while (r.next(k, v)) {
    std::string* str = k == "op"           ? &out.op
                       : k == "group"      ? &out.group
                       : k == "sender"     ? &out.sender
                       : k == "sender_cid" ? &out.sender_cid
                       : k == "code"       ? &out.code
                       : k == "message"    ? &out.message
                       : k == "user"       ? &out.user
                       : k == "cid"        ? &out.cid
                                           : nullptr;
    long long id = 0;
    if (str) jt::get_checked_string(v, *str);
    else if (k == "id" && jt::get_int(v, id)) out.id = id;
    else if (k == "data") out.data.assign(v);
    else if (k == "msg") out.payload.assign(v);
  }
  if (!r.ok() || out.op.empty()) return false;
  if (split) out.payload.assign(payload);
  return true;
}

}  // namespace sb::protocol
