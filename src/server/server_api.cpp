#include "server_api.hpp"

#include <cctype>
#include <charconv>

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "../protocol/frames.hpp"
#include "http_session.hpp"
#include "queries.hpp"
#include "server_context.hpp"

namespace sb::server {

namespace p = sb::protocol;
using nlohmann::json;
// Request bodies keep their keys' order: a published message reaches clients as it was written.
using body_json = nlohmann::ordered_json;

namespace {
ServerApiAnswer failure(unsigned status, p::Error code, std::string_view message) {
  return {status, json{{"code", p::to_string(code)}, {"message", message}}.dump()};
}
ServerApiAnswer bad(std::string_view message) { return failure(400, p::Error::InvalidParameter, message); }
const ServerApiAnswer kDone{200, R"({"ok":true})"};

// "apikey <key>", the scheme in any case. The keys are compared as SHA-256 digests with
// CRYPTO_memcmp: constant time, and the key's length is not measurable either.
bool authorized(const std::string& key, std::string_view authorization) {
  constexpr std::string_view kScheme = "apikey ";
  if (authorization.size() <= kScheme.size() || !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme))
    return false;
  auto given = authorization.substr(kScheme.size());
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

// The body as a JSON object, held to the limits of a client's frame: nesting, no raw NUL (which
// nlohmann's parser would take for the end of the text).
ServerApiAnswer parse_body(const Config& cfg, const std::string& body, body_json& out) {
  if (p::json_depth(body, cfg.limits.max_depth) > cfg.limits.max_depth)
    return failure(400, p::Error::TooDeep, "JSON nesting is deeper than " + std::to_string(cfg.limits.max_depth) + ".");
  if (body.find('\0') == std::string::npos) out = body_json::parse(body, nullptr, false);
  if (!out.is_object()) return failure(400, p::Error::InvalidRequest, "The body must be a JSON object.");
  return kDone;
}

// A name field (group or user id); false when absent or not a valid name.
bool name_field(const Config& cfg, const body_json& body, const char* field, std::string& out) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || !p::valid_name(it->get_ref<const std::string&>(), cfg.limits.max_name_bytes))
    return false;
  out = it->get<std::string>();
  return true;
}

bool only_fields(const body_json& body, std::initializer_list<std::string_view> allowed, std::string& unknown) {
  for (auto& [k, v] : body.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) {
      unknown = k;
      return false;
    }
  }
  return true;
}

ServerApiAnswer unavailable(const std::string& message) { return failure(503, p::Error::Unavailable, message); }

ServerApiAnswer publish(ServerContext& ctx, const std::string& text) {
  const Config& cfg = ctx.config;
  body_json body;
  if (auto r = parse_body(cfg, text, body); r.status != 200) return r;
  std::string unknown;
  if (!only_fields(body, {"group", "user", "message", "key"}, unknown))
    return bad("Unknown field \"" + unknown + "\": a publish takes group or user, message, and key.");
  bool to_group = body.contains("group"), to_user = body.contains("user");
  if (to_group == to_user) return bad("Give either \"group\" or \"user\".");
  std::string name;
  if (!name_field(cfg, body, to_group ? "group" : "user", name))
    return bad(to_group ? "\"group\" must be a valid group name." : "\"user\" must be a valid user id.");
  auto message = body.find("message");
  if (message == body.end()) return bad("\"message\" is required (any JSON value).");
  // An idempotency key, as a post's: a repeat within --idempotency-ttl is not published again.
  std::string key;
  if (auto k = body.find("key"); k != body.end()) {
    if (!k->is_string() || !p::valid_stream_token(k->get_ref<const std::string&>()))
      return bad("\"key\" must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -.");
    key = k->get<std::string>();
  }
  std::string payload = message->dump(-1, ' ', false, body_json::error_handler_t::replace);
  if (payload.size() > cfg.limits.max_frame_bytes)
    return failure(413, p::Error::TooLarge,
                   "The message is over " + std::to_string(cfg.limits.max_frame_bytes) + " bytes.");
  HubResult r = to_group ? ctx.hub.publish_group_as_server(cfg.api_sender, name, payload, key)
                         : ctx.hub.publish_user_as_server(cfg.api_sender, name, payload, key);
  if (!r.ok) return unavailable(r.message);
  return kDone;
}

ServerApiAnswer disconnect(ServerContext& ctx, const std::string& text) {
  body_json body;
  if (auto r = parse_body(ctx.config, text, body); r.status != 200) return r;
  std::string unknown, user;
  if (!only_fields(body, {"user"}, unknown)) return bad("Unknown field \"" + unknown + "\": a disconnect takes user.");
  if (!name_field(ctx.config, body, "user", user)) return bad("\"user\" must be a valid user id.");
  HubResult r = ctx.hub.disconnect_user(user);
  if (!r.ok) return unavailable(r.message);
  return kDone;
}

// The users query's request, from query parameters: group, user_id, limit, ascending, and start
// (the JSON of a previous answer's startKey).
ServerApiAnswer presence(ServerContext& ctx, std::string_view target) {
  const Config& cfg = ctx.config;
  std::string group = query_param(target, "group");
  if (!p::valid_name(group, cfg.limits.max_name_bytes)) return bad("\"group\" must be a valid group name.");
  json request = json::object();
  if (std::string u = query_param(target, "user_id"); !u.empty()) request["user_id"] = u;
  if (std::string l = query_param(target, "limit"); !l.empty()) {
    long long n = 0;
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), n);
    if (ec != std::errc() || end != l.data() + l.size()) return bad("\"limit\" must be an integer.");
    request["limit"] = n;
  }
  if (std::string a = query_param(target, "ascending"); !a.empty()) {
    if (a != "true" && a != "false") return bad("\"ascending\" must be true or false.");
    request["ascending"] = a == "true";
  }
  if (std::string s = query_param(target, "start"); !s.empty()) {
    if (s.size() > 4 * cfg.limits.max_name_bytes + 64 || s.find('\0') != std::string::npos)
      return bad("\"start\" must be the startKey of a previous page.");
    request["start"] = json::parse(s, nullptr, false);
  }
  json data;
  HubResult r;
  try {
    r = query_users(request, group, ctx.hub.presence(), std::nullopt, cfg.limits,
                    QueryLimits{cfg.max_reply_bytes, cfg.max_query_scan}, data);
  } catch (const BackendUnavailable& e) {
    return unavailable(std::string("The cluster backend is unavailable (") + e.what() + ").");
  }
  if (!r.ok) return failure(400, r.code, r.message);
  return {200, data.dump()};
}

std::string_view path_only(std::string_view target) { return target.substr(0, target.find('?')); }
}  // namespace

bool is_server_api_path(std::string_view path) { return path.substr(0, 5) == "/api/" || path == "/api"; }

std::size_t server_api_body_cap(const Config& cfg) {
  return cfg.api_max_body_bytes ? cfg.api_max_body_bytes : cfg.limits.max_frame_bytes + 4096;
}

ServerApiAnswer server_api_too_large(const Config& cfg) {
  return failure(413, p::Error::TooLarge, "The body is over " + std::to_string(server_api_body_cap(cfg)) + " bytes.");
}

ServerApiAnswer server_api(ServerContext& ctx, std::string_view method, std::string_view target,
                           std::string_view authorization, const std::string& body) {
  if (ctx.config.api_key.empty())
    return failure(404, p::Error::NotSupported, "The server API is off: start the server with --api-key.");
  if (!authorized(ctx.config.api_key, authorization))
    return failure(401, p::Error::Unauthorized, "Send \"Authorization: apikey <key>\" with the server's API key.");
  auto path = path_only(target);
  bool post = method == "POST";
  if (path == "/api/publish") return post ? publish(ctx, body) : failure(405, p::Error::InvalidRequest, "Use POST.");
  if (path == "/api/disconnect") return post ? disconnect(ctx, body) : failure(405, p::Error::InvalidRequest, "Use POST.");
  if (path == "/api/presence")
    return method == "GET" ? presence(ctx, target) : failure(405, p::Error::InvalidRequest, "Use GET.");
  return failure(404, p::Error::InvalidRequest, "No such endpoint: /api/publish, /api/disconnect and /api/presence are.");
}

}  // namespace sb::server
