#include "queries.hpp"

#include <cmath>
#include <limits>

#include "auth.hpp"
#include "page_walk.hpp"

namespace sb::server {

namespace p = sb::protocol;
using nlohmann::json;

namespace {
HubResult bad(std::string m) { return HubResult::fail(p::Error::InvalidParameter, std::move(m)); }
const char* const kBadStart = "\"start\" must be a startKey returned by an earlier page.";

struct Paging {
  int limit = kDefaultPageLimit;
  bool ascending = true;
  const json* start = nullptr;  // null: from the beginning
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
    if (!it->is_object()) return bad(kBadStart);
    out.start = &*it;
  }
  return {};
}

// A string field of a start key, or nullptr.
const std::string* start_string(const json& start, const char* field) {
  auto it = start.find(field);
  return it != start.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// What a page may hold. The reply is {"op":"ok","id":<id>,"data":{"endOfList":..,"list":[<items>],
// "startKey":<key>}}: the items get what the envelope (at most 96 bytes with a 20-digit id) and
// the largest possible startKey (two names, each escaped to at most twice its bytes) leave.
PageLimits page_limits(const Paging& pg, const p::Limits& limits, const QueryLimits& q) {
  std::size_t reserve = 96 + 4 * limits.max_name_bytes + 128;
  PageLimits lim;
  lim.limit = static_cast<std::size_t>(pg.limit);
  lim.max_bytes = q.max_reply_bytes > reserve ? q.max_reply_bytes - reserve : 0;
  lim.max_scan = std::max<std::size_t>(q.max_scan, 1);
  return lim;
}

template <class K>
json page_data(Page<K>& page, const std::function<json(const K&)>& render_key) {
  json data;
  data["list"] = std::move(page.items);
  data["endOfList"] = page.end;
  data["startKey"] = page.end || !page.resume ? json("end") : render_key(*page.resume);
  return data;
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

// The condition on names as ranges of the name index, in ascending order.
std::vector<KeyRange<std::string>> name_ranges(const std::string& cond, const std::string& v,
                                               const std::optional<std::string>& range) {
  using B = Bound<std::string>;
  KeyRange<std::string> r;
  if (range) {
    r.lo = B{v, true};
    r.hi = B{*range, true};
  } else if (cond == ">") r.lo = B{v, false};
  else if (cond == ">=") r.lo = B{v, true};
  else if (cond == "<") r.hi = B{v, false};
  else if (cond == "<=") r.hi = B{v, true};
  else if (cond == "=") r.lo = r.hi = B{v, true};
  else {  // "!="
    KeyRange<std::string> above;
    r.hi = B{v, false};
    above.lo = B{v, false};
    return {r, above};
  }
  if (range_empty(r)) return {};
  return {r};
}

// Counts x with lo <= x <= hi (integers, as long double so that every size_t is exact) as a
// range of the (count, name) index; nullopt when no count fits.
std::optional<KeyRange<CountKey>> count_span(long double lo, long double hi) {
  const long double top = static_cast<long double>(std::numeric_limits<std::size_t>::max());
  lo = std::max(lo, 0.0L);
  if (hi < lo || lo > top) return std::nullopt;
  KeyRange<CountKey> r;
  if (lo > 0) r.lo = Bound<CountKey>{CountKey{static_cast<std::size_t>(lo), ""}, true};
  if (hi < top) r.hi = Bound<CountKey>{CountKey{static_cast<std::size_t>(hi) + 1, ""}, false};
  return r;
}

long double number(const json& v) {
  if (v.is_number_unsigned()) return static_cast<long double>(v.get<std::uint64_t>());
  if (v.is_number_integer()) return static_cast<long double>(v.get<std::int64_t>());
  return static_cast<long double>(v.get<double>());
}

// The condition on counts as ranges of the count index, in ascending order. Counts are whole
// numbers, so `> 2.5` is `>= 3` and `= 2.5` matches nothing.
std::vector<KeyRange<CountKey>> count_ranges(const std::string& cond, const json& value, const json* range) {
  const long double inf = std::numeric_limits<long double>::infinity();
  const long double v = number(value);
  const bool whole = std::floor(v) == v;
  std::vector<std::optional<KeyRange<CountKey>>> spans;
  if (range) spans = {count_span(std::ceil(v), std::floor(number(*range)))};
  else if (cond == ">") spans = {count_span(std::floor(v) + 1, inf)};
  else if (cond == ">=") spans = {count_span(std::ceil(v), inf)};
  else if (cond == "<") spans = {count_span(-inf, std::ceil(v) - 1)};
  else if (cond == "<=") spans = {count_span(-inf, std::floor(v))};
  else if (cond == "=") spans = {whole ? count_span(v, v) : std::nullopt};
  else spans = whole ? decltype(spans){count_span(-inf, v - 1), count_span(v + 1, inf)}  // "!="
                     : decltype(spans){count_span(-inf, inf)};
  std::vector<KeyRange<CountKey>> out;
  for (auto& s : spans)
    if (s) out.push_back(*s);
  return out;
}
}  // namespace

KeyRange<std::string> claim_range(const std::string& pattern) {
  KeyRange<std::string> r;
  if (pattern.empty() || pattern.back() != '*') {
    r.lo = r.hi = Bound<std::string>{pattern, true};
    return r;
  }
  std::string prefix = pattern.substr(0, pattern.size() - 1);
  if (prefix.empty()) return r;  // "*"
  r.lo = Bound<std::string>{prefix, true};
  // Above every name starting with the prefix: the prefix with its last byte that is not 0xff
  // raised by one (what follows that byte dropped); none when every byte is 0xff.
  std::string next = prefix;
  while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xff) next.pop_back();
  if (!next.empty()) {
    next.back() = static_cast<char>(static_cast<unsigned char>(next.back()) + 1);
    r.hi = Bound<std::string>{next, false};
  }
  return r;
}

HubResult query_users(const json& r, const std::string& group, const PresenceManager& presence,
                      const GroupScope& scope, const p::Limits& limits, const QueryLimits& q, json& data) {
  Paging pg;
  if (auto e = read_paging(r, pg); !e.ok) return e;
  KeyRange<MemberKey> range;
  if (auto it = r.find("user_id"); it != r.end() && !it->is_null()) {
    if (!it->is_string() || !p::valid_name(it->get_ref<const std::string&>(), limits.max_name_bytes))
      return bad("\"user_id\" must be a valid user id.");
    // Every (user, cid) of this user: from (user, "") up to, not including, (user + "\0", "").
    const auto& user = it->get_ref<const std::string&>();
    range.lo = Bound<MemberKey>{MemberKey{user, ""}, true};
    range.hi = Bound<MemberKey>{MemberKey{user + '\0', ""}, false};
  }
  std::optional<MemberKey> after;
  if (pg.start) {
    auto* u = start_string(*pg.start, "user_id");
    auto* c = start_string(*pg.start, "cid");
    if (!u || !c) return bad(kBadStart);
    after = MemberKey{*u, *c};
  }
  if (scope && !Authenticator::group_allowed(*scope, group))
    return HubResult::fail(p::Error::Forbidden, "This token does not allow group \"" + group + "\".");
  IndexReader<MemberKey, MemberKey> index;
  index.fetch = [&](const KeyRange<MemberKey>& rg, std::size_t n) { return presence.members(group, rg, n); };
  index.key = [](const MemberKey& m) { return m; };
  index.render = [](const MemberKey& m) { return json{{"user_id", m.user}, {"cid", m.cid}}; };
  auto page = walk_page<MemberKey, MemberKey>({range}, pg.ascending, after, index, page_limits(pg, limits, q));
  data = page_data<MemberKey>(page, [](const MemberKey& k) { return json{{"user_id", k.user}, {"cid", k.cid}}; });
  return {};
}

HubResult query_groups(const json& r, const PresenceManager& presence, const GroupScope& scope,
                       const p::Limits& limits, const QueryLimits& q, json& data) {
  Paging pg;
  if (auto e = read_paging(r, pg); !e.ok) return e;
  std::string search_for = "group";
  if (auto it = r.find("searchFor"); it != r.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "group" && *it != "number_of_users"))
      return bad("\"searchFor\" must be \"group\" or \"number_of_users\".");
    search_for = it->get<std::string>();
  }
  const bool by_count = search_for == "number_of_users";
  auto right_type = [&](const json& v) { return by_count ? v.is_number() : v.is_string(); };
  const char* type_name = by_count ? "a number" : "a string";

  // The condition, as ranges of the index the groups are ordered by.
  std::vector<KeyRange<std::string>> by_name{KeyRange<std::string>{}};
  std::vector<KeyRange<CountKey>> by_counts{KeyRange<CountKey>{}};
  auto value = r.find("value");
  if (value != r.end() && !value->is_null()) {
    if (!right_type(*value)) return bad(std::string("\"value\" must be ") + type_name + " for \"" + search_for + "\".");
    std::string cond = "=";
    if (auto c = r.find("condition"); c != r.end() && !c->is_null()) {
      auto n = c->is_string() ? normalise_condition(c->get<std::string>()) : std::nullopt;
      if (!n) return bad("\"condition\" must be one of > >= = < <= != gt gte eq lt lte ne.");
      cond = *n;
    }
    const json* range = nullptr;
    if (auto rg = r.find("range"); rg != r.end() && !rg->is_null()) {
      if (!right_type(*rg)) return bad(std::string("\"range\" must be ") + type_name + ".");
      range = &*rg;
    }
    if (by_count) {
      by_counts = count_ranges(cond, *value, range);
    } else {
      by_name = name_ranges(cond, value->get<std::string>(),
                            range ? std::optional<std::string>(range->get<std::string>()) : std::nullopt);
    }
  }
  std::optional<CountKey> after_count;
  std::optional<std::string> after_name;
  if (pg.start) {
    auto* g = start_string(*pg.start, "group");
    if (!g) return bad(kBadStart);
    if (by_count) {
      auto n = pg.start->find("number_of_users");
      if (n == pg.start->end() || !n->is_number_unsigned()) return bad(kBadStart);
      after_count = CountKey{n->get<std::size_t>(), *g};
    } else {
      after_name = *g;
    }
  }

  // Scope: by name, the claim's ranges cut the walk itself, so a restricted asker never examines
  // other groups; by count, other groups are examined and skipped (within max_scan).
  auto keep = [&scope](const GroupEntry& g) { return !scope || Authenticator::group_allowed(*scope, g.name); };
  auto render = [](const GroupEntry& g) { return json{{"group", g.name}, {"number_of_users", g.count}}; };
  auto lim = page_limits(pg, limits, q);
  if (by_count) {
    IndexReader<CountKey, GroupEntry> index;
    index.fetch = [&](const KeyRange<CountKey>& rg, std::size_t n) { return presence.groups_by_count(rg, n); };
    index.key = [](const GroupEntry& g) { return CountKey{g.count, g.name}; };
    if (scope) index.keep = keep;
    index.render = render;
    auto page = walk_page(std::move(by_counts), pg.ascending, after_count, index, lim);
    data = page_data<CountKey>(page, [](const CountKey& k) { return json{{"number_of_users", k.count}, {"group", k.name}}; });
  } else {
    if (scope) {
      std::vector<KeyRange<std::string>> cut;
      for (auto& c : by_name)
        for (auto& pattern : *scope)
          if (auto x = intersect(c, claim_range(pattern))) cut.push_back(*x);
      by_name = std::move(cut);
    }
    IndexReader<std::string, GroupEntry> index;
    index.fetch = [&](const KeyRange<std::string>& rg, std::size_t n) { return presence.groups_by_name(rg, n); };
    index.key = [](const GroupEntry& g) { return g.name; };
    if (scope) index.keep = keep;  // the ranges already do it; this keeps a mistake in them from leaking
    index.render = render;
    auto page = walk_page(std::move(by_name), pg.ascending, after_name, index, lim);
    data = page_data<std::string>(page, [](const std::string& k) { return json{{"group", k}}; });
  }
  return {};
}

}  // namespace sb::server
