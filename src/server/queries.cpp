#include "queries.hpp"

#include <algorithm>
#include <functional>
#include <optional>

namespace sb::server {

namespace p = sb::protocol;
using nlohmann::json;

namespace {
HubResult bad(std::string m) { return HubResult::fail(p::Error::InvalidParameter, std::move(m)); }

struct Paging {
  int limit = kDefaultPageLimit;
  bool ascending = true;
  json start;  // null: from the beginning
};

HubResult read_paging(const json& r, Paging& out) {
  if (auto it = r.find("limit"); it != r.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > kMaxPageLimit)
      return bad("\"limit\" must be an integer from 1 to " + std::to_string(kMaxPageLimit) + ".");
    out.limit = it->get<int>();
  }
  if (auto it = r.find("ascending"); it != r.end() && !it->is_null()) {
    if (!it->is_boolean()) return bad("\"ascending\" must be a boolean.");
    out.ascending = it->get<bool>();
  }
  if (auto it = r.find("start"); it != r.end() && !it->is_null()) {
    if (!it->is_object()) return bad("\"start\" must be a startKey returned by an earlier page.");
    out.start = *it;
  }
  return {};
}

// Sorts by `less`, skips past the start key, and cuts one page. Items compare through their key
// object so that a start key from a previous page positions the next one exactly, even when the
// item it named has gone since.
template <class T>
json page(std::vector<T>& items, const Paging& pg, const std::function<json(const T&)>& key,
          const std::function<bool(const json&, const json&)>& key_less,
          const std::function<json(const T&)>& render) {
  auto before = [&](const json& a, const json& b) { return pg.ascending ? key_less(a, b) : key_less(b, a); };
  std::vector<std::pair<json, const T*>> keyed;
  keyed.reserve(items.size());
  for (auto& it : items) keyed.emplace_back(key(it), &it);
  std::sort(keyed.begin(), keyed.end(), [&](auto& a, auto& b) { return before(a.first, b.first); });
  auto first = keyed.begin();
  if (!pg.start.is_null())
    first = std::upper_bound(keyed.begin(), keyed.end(), pg.start,
                             [&](const json& s, const auto& e) { return before(s, e.first); });
  json list = json::array();
  auto it = first;
  for (; it != keyed.end() && static_cast<int>(list.size()) < pg.limit; ++it) list.push_back(render(*it->second));
  bool end = it == keyed.end();
  json data;
  data["list"] = std::move(list);
  data["endOfList"] = end;
  data["startKey"] = end ? json("end") : std::prev(it)->first;
  return data;
}

// Compares two JSON scalars of one type (strings or numbers).
bool scalar_less(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  return a.type() < b.type();
}

bool fields_less(const json& a, const json& b, std::initializer_list<const char*> fields) {
  for (const char* f : fields) {
    const json& x = a.contains(f) ? a[f] : json();
    const json& y = b.contains(f) ? b[f] : json();
    if (scalar_less(x, y)) return true;
    if (scalar_less(y, x)) return false;
  }
  return false;
}

std::optional<std::string> normalise_condition(const std::string& c) {
  if (c == ">" || c == "gt") return ">";
  if (c == ">=" || c == "gte") return ">=";
  if (c == "=" || c == "==" || c == "eq") return "=";
  if (c == "<" || c == "lt") return "<";
  if (c == "<=" || c == "lte") return "<=";
  if (c == "!=" || c == "ne") return "!=";
  return std::nullopt;
}

bool holds(const json& x, const std::string& cond, const json& v) {
  bool lt = scalar_less(x, v), gt = scalar_less(v, x);
  if (cond == ">") return gt;
  if (cond == ">=") return !lt;
  if (cond == "<") return lt;
  if (cond == "<=") return !gt;
  if (cond == "!=") return lt || gt;
  return !lt && !gt;
}
}  // namespace

HubResult query_users(const json& r, std::vector<Member> members, const p::Limits& limits, json& data) {
  Paging pg;
  if (auto e = read_paging(r, pg); !e.ok) return e;
  std::optional<std::string> user;
  if (auto it = r.find("user_id"); it != r.end() && !it->is_null()) {
    if (!it->is_string() || !p::valid_name(it->get_ref<const std::string&>(), limits.max_name_bytes))
      return bad("\"user_id\" must be a valid user id.");
    user = it->get<std::string>();
  }
  if (user)
    members.erase(std::remove_if(members.begin(), members.end(), [&](const Member& m) { return m.user_id != *user; }),
                  members.end());
  data = page<Member>(
      members, pg, [](const Member& m) { return json{{"user_id", m.user_id}, {"cid", m.cid}}; },
      [](const json& a, const json& b) { return fields_less(a, b, {"user_id", "cid"}); },
      [](const Member& m) { return json{{"user_id", m.user_id}, {"cid", m.cid}}; });
  return {};
}

HubResult query_groups(const json& r, std::vector<GroupInfo> groups, const p::Limits& limits, json& data) {
  Paging pg;
  if (auto e = read_paging(r, pg); !e.ok) return e;
  std::string search_for = "group";
  if (auto it = r.find("searchFor"); it != r.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "group" && *it != "number_of_users"))
      return bad("\"searchFor\" must be \"group\" or \"number_of_users\".");
    search_for = it->get<std::string>();
  }
  const bool by_count = search_for == "number_of_users";
  auto field = [&](const GroupInfo& g) { return by_count ? json(g.number_of_users) : json(g.group); };
  auto right_type = [&](const json& v) { return by_count ? v.is_number() : v.is_string(); };
  const char* type_name = by_count ? "a number" : "a string";

  auto value = r.find("value");
  if (value != r.end() && !value->is_null()) {
    if (!right_type(*value)) return bad(std::string("\"value\" must be ") + type_name + " for \"" + search_for + "\".");
    std::string cond = "=";
    if (auto c = r.find("condition"); c != r.end() && !c->is_null()) {
      auto n = c->is_string() ? normalise_condition(c->get<std::string>()) : std::nullopt;
      if (!n) return bad("\"condition\" must be one of > >= = < <= != gt gte eq lt lte ne.");
      cond = *n;
    }
    std::optional<json> range;
    if (auto rg = r.find("range"); rg != r.end() && !rg->is_null()) {
      if (!right_type(*rg)) return bad(std::string("\"range\" must be ") + type_name + ".");
      range = *rg;
    }
    groups.erase(std::remove_if(groups.begin(), groups.end(),
                                [&](const GroupInfo& g) {
                                  json x = field(g);
                                  if (range) return scalar_less(x, *value) || scalar_less(*range, x);
                                  return !holds(x, cond, *value);
                                }),
                 groups.end());
  }
  (void)limits;
  auto key = [&](const GroupInfo& g) {
    return by_count ? json{{"number_of_users", g.number_of_users}, {"group", g.group}} : json{{"group", g.group}};
  };
  auto key_less = [by_count](const json& a, const json& b) {
    return by_count ? fields_less(a, b, {"number_of_users", "group"}) : fields_less(a, b, {"group"});
  };
  data = page<GroupInfo>(groups, pg, key, key_less, [](const GroupInfo& g) {
    return json{{"group", g.group}, {"number_of_users", g.number_of_users}};
  });
  return {};
}

}  // namespace sb::server
