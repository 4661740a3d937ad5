#include "pager.hpp"

#include <nlohmann/json.hpp>

#include "../protocol/errors.hpp"

namespace sb::client {

using nlohmann::json;
namespace p = sb::protocol;

namespace {
constexpr int kDefaultLimit = 100, kMaxLimit = 1000;

std::string error(p::Error code, const std::string& message) {
  return json{{"error", {{"code", p::to_string(code)}, {"message", message}}}}.dump();
}

// JavaScript's truthiness, as `!!value` in the options object.
bool truthy(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return !v.is_null();
}

json page(json list, const json& start_key, bool end, const std::vector<std::string>& history) {
  json h = json::array();
  for (const auto& k : history) h.push_back(k);
  return {{"list", std::move(list)}, {"startKey", start_key}, {"endOfList", end}, {"startKeyHistory", h}};
}
}  // namespace

std::string Pager::begin(const std::string& op, const std::string& query_json, const std::string& options_json) {
  json query = json::parse(query_json, nullptr, false);
  json o = json::parse(options_json, nullptr, false);
  if (!query.is_object()) return error(p::Error::InvalidParameter, "Query parameters must be an object.");
  if (o.is_discarded() || o.is_null()) o = json::object();
  if (!o.is_object()) return error(p::Error::InvalidParameter, "\"fetchOptions\" must be an object.");
  int limit = kDefaultLimit;
  if (auto it = o.find("limit"); it != o.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > kMaxLimit)
      return error(p::Error::InvalidParameter, "\"limit\" must be an integer from 1 to 1000.");
    limit = it->get<int>();
  }
  bool ascending = !o.contains("ascending") || truthy(o["ascending"]);
  std::string key = op + ":" + query.dump() + ":" + (ascending ? "1" : "0");
  bool more = o.contains("fetchMore") && truthy(o["fetchMore"]);
  Cursor cursor = more && cursors_.count(key) ? cursors_[key] : Cursor{};

  // The start: an explicit startKey (an object, or its JSON text), else where fetchMore left off.
  json start;
  if (auto it = o.find("startKey"); it != o.end() && !it->is_null()) {
    start = *it;
  } else if (!cursor.start_key_json.empty()) {
    start = json::parse(cursor.start_key_json, nullptr, false);
  }
  if (start == "end") return json{{"page", page(json::array(), "end", true, cursor.history)}}.dump();
  json request = query;
  request["limit"] = limit;
  request["ascending"] = ascending;
  std::string start_text;
  if (start.is_string() && !start.get_ref<const std::string&>().empty()) {
    start_text = start.get<std::string>();
    request["start"] = json::parse(start_text, nullptr, false);
    if (request["start"].is_discarded()) return error(p::Error::InvalidParameter, "\"startKey\" must be a startKey returned by an earlier page.");
  } else if (start.is_object()) {
    start_text = start.dump();
    request["start"] = start;
  }
  json ticket{{"key", key}, {"more", more}, {"start", start_text}};
  return json{{"request", request}, {"ticket", ticket}}.dump();
}

std::string Pager::done(const std::string& ticket_json, const std::string& data_json) {
  json ticket = json::parse(ticket_json, nullptr, false);
  json data = json::parse(data_json, nullptr, false);
  if (!ticket.is_object() || !data.is_object()) return page(json::array(), "end", true, {}).dump();
  const std::string key = ticket.value("key", "");
  Cursor cursor = ticket.value("more", false) && cursors_.count(key) ? cursors_[key] : Cursor{};
  if (auto s = ticket.value("start", ""); !s.empty()) cursor.history.push_back(s);
  json start_key = data.contains("startKey") ? data["startKey"] : json("end");
  cursor.start_key_json = start_key.dump();
  cursors_[key] = cursor;
  json list = data.contains("list") ? data["list"] : json::array();
  return page(std::move(list), start_key, data.value("endOfList", true), cursor.history).dump();
}

}  // namespace sb::client
