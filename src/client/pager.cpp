#include "pager.hpp"

#include "../protocol/errors.hpp"
#include "../protocol/frames.hpp"
#include "../protocol/json_text.hpp"

namespace sb::client {

namespace p = sb::protocol;
namespace jt = sb::protocol::json_text;

namespace {
constexpr int kDefaultLimit = 100, kMaxLimit = 1000;
constexpr std::string_view kEnd = "\"end\"";

std::string error(p::Error code, const std::string& message) {
  std::string out = "{\"error\":{\"code\":";
  p::append_json_string(out, p::to_string(code));
  out += ",\"message\":";
  p::append_json_string(out, message);
  return out += "}}";
}

// A member of an options object that is present and not null (else empty).
std::string_view given(std::string_view obj, std::string_view key) {
  auto v = jt::member(obj, key);
  return jt::is_null(v) ? std::string_view() : v;
}

std::string compact(std::string_view json) {
  std::string out;
  p::append_compact_json(out, json);
  return out;
}

// The DatabaseResponse: {list, startKey, endOfList, startKeyHistory}; list and start key as JSON.
std::string page(std::string_view list, std::string_view start_key, bool end, const std::vector<std::string>& history) {
  std::string out = "{\"list\":";
  p::append_compact_json(out, list);
  out += ",\"startKey\":";
  p::append_compact_json(out, start_key);
  out += end ? ",\"endOfList\":true,\"startKeyHistory\":[" : ",\"endOfList\":false,\"startKeyHistory\":[";
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i) out.push_back(',');
    p::append_json_string(out, history[i]);
  }
  return out += "]}";
}

// A boolean member, or `fallback` when absent or not a boolean.
bool flag(std::string_view obj, std::string_view key, bool fallback) {
  auto v = jt::member(obj, key);
  return v == "true" ? true : v == "false" ? false : fallback;
}

std::string text(std::string_view obj, std::string_view key) {
  std::string out;
  jt::get_string(jt::member(obj, key), out);
  return out;
}
}  // namespace

std::string Pager::begin(const std::string& op, const std::string& query_json, const std::string& options_json) {
  std::string_view query = query_json, o = options_json;
  query = query.substr(jt::skip_ws(query, 0));
  if (!jt::valid(query) || !jt::is_object(query))
    return error(p::Error::InvalidParameter, "Query parameters must be an object.");
  if (!jt::valid(o)) o = "{}";
  o = o.substr(jt::skip_ws(o, 0));
  if (jt::is_null(o.substr(0, 4))) o = "{}";
  if (!jt::is_object(o)) return error(p::Error::InvalidParameter, "\"fetchOptions\" must be an object.");
  long long limit = kDefaultLimit;
  if (auto v = given(o, "limit"); !v.empty() && (!jt::get_int(v, limit) || limit < 1 || limit > kMaxLimit))
    return error(p::Error::InvalidParameter, "\"limit\" must be an integer from 1 to 1000.");
  auto asc = jt::member(o, "ascending");
  bool ascending = asc.empty() || jt::truthy(asc);
  std::string key = op + ":" + compact(query) + ":" + (ascending ? "1" : "0");
  bool more = jt::truthy(jt::member(o, "fetchMore"));
  Cursor cursor = more && cursors_.count(key) ? cursors_[key] : Cursor{};

  // The start: an explicit startKey (an object, or its JSON text), else where fetchMore left off.
  std::string_view start = given(o, "startKey");
  if (start.empty()) start = cursor.start_key_json;
  if (start == kEnd) return "{\"page\":" + page("[]", kEnd, true, cursor.history) + "}";
  std::string request;  // its members, each after a comma
  jt::append_members(request, query, {"limit", "ascending", "start"});
  request += ",\"limit\":" + std::to_string(limit) + (ascending ? ",\"ascending\":true" : ",\"ascending\":false");
  std::string start_text;
  if (jt::is_string(start) && start != "\"\"") {
    jt::get_string(start, start_text);
    if (!jt::valid(start_text))
      return error(p::Error::InvalidParameter, "\"startKey\" must be a startKey returned by an earlier page.");
    start_text = compact(start_text);
  } else if (jt::is_object(start)) {
    start_text = compact(start);
  }
  if (!start_text.empty()) request += ",\"start\":" + start_text;
  request[0] = '{';
  request += '}';
  std::string out = "{\"request\":" + request + ",\"ticket\":{\"key\":";
  p::append_json_string(out, key);
  out += more ? ",\"more\":true,\"start\":" : ",\"more\":false,\"start\":";
  p::append_json_string(out, start_text);
  return out += "}}";
}

std::string Pager::done(const std::string& ticket_json, const std::string& data_json) {
  std::string_view ticket = ticket_json, data = data_json;
  ticket = ticket.substr(jt::skip_ws(ticket, 0));
  data = data.substr(jt::skip_ws(data, 0));
  if (!jt::is_object(ticket) || !jt::is_object(data) || !jt::valid(ticket) || !jt::valid(data))
    return page("[]", kEnd, true, {});
  const std::string key = text(ticket, "key");
  Cursor cursor = flag(ticket, "more", false) && cursors_.count(key) ? cursors_[key] : Cursor{};
  if (auto s = text(ticket, "start"); !s.empty()) cursor.history.push_back(s);
  std::string_view start_key = jt::member(data, "startKey");
  if (start_key.empty()) start_key = kEnd;
  cursor.start_key_json = compact(start_key);
  cursors_[key] = cursor;
  std::string_view list = jt::member(data, "list");
  return page(list.empty() ? "[]" : list, cursor.start_key_json, flag(data, "endOfList", true), cursor.history);
}

}  // namespace sb::client
