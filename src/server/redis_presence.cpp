// RedisEngine's presence half: each call one round trip to the presence shard (a Lua script
// where it changes several keys), the ordered reads one ZRANGEBYLEX (docs/scaling.md).
#include <cinttypes>
#include <cstdio>
#include <future>
#include <optional>

#include <boost/asio/post.hpp>

#include "redis_engine.hpp"
#include "redis_scripts.hpp"

namespace sb::server {

namespace net = boost::asio;

RedisReply RedisEngine::call(std::vector<std::string> argv) const { return call_on(0, std::move(argv)); }

RedisReply RedisEngine::call_on(std::size_t shard, std::vector<std::string> argv) const {
  RedisLink& link = *shards_[shard].cmd;
  if (!link.up()) throw BackendUnavailable("redis " + opts_.shards[shard].url + " is down");
  auto promise = std::make_shared<std::promise<std::optional<RedisReply>>>();
  auto fut = promise->get_future();
  net::post(ioc_, [&link, argv = std::move(argv), promise] {
    link.command(argv, [promise](const redisReply* r) {
      promise->set_value(r ? std::optional<RedisReply>(RedisReply::from(r)) : std::nullopt);
    });
  });
  if (fut.wait_for(opts_.timeout) != std::future_status::ready) throw BackendUnavailable("redis did not answer in time");
  auto reply = fut.get();
  if (!reply) throw BackendUnavailable("the connection to redis was lost");
  if (reply->type == RedisReply::Error) throw BackendUnavailable("redis: " + reply->str);
  return std::move(*reply);
}

RedisReply RedisEngine::eval(const char* script, std::vector<std::string> args) const {
  std::vector<std::string> argv{"EVAL", std::string(redis_lua::kLib) + script, "0"};
  for (auto& a : args) argv.push_back(std::move(a));
  return call(std::move(argv));
}

bool RedisEngine::add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) {
  return eval(redis_lua::kAdd, {opts_.node_id, user, cid, std::to_string(max_per_user)}).integer == 1;
}
void RedisEngine::remove_connection(const std::string&, const std::string& cid) { eval(redis_lua::kRemove, {cid}); }
bool RedisEngine::user_online(const std::string& user) const { return call({"HEXISTS", "sb:users", user}).integer == 1; }
bool RedisEngine::connection_exists(const std::string& cid) const { return call({"HEXISTS", "sb:cu", cid}).integer == 1; }
std::size_t RedisEngine::join(const std::string& group, const std::string& user, const std::string& cid) {
  return static_cast<std::size_t>(eval(redis_lua::kJoin, {group, user, cid}).integer);
}
std::size_t RedisEngine::leave(const std::string& group, const std::string& user, const std::string& cid) {
  return static_cast<std::size_t>(eval(redis_lua::kLeave, {group, user, cid}).integer);
}

namespace {
// Index members are encoded so that byte order is key order (redis_scripts.hpp).
std::string encode(const std::string& k) { return k; }
std::string encode(const MemberKey& k) { return k.user + '\0' + k.cid; }
std::string encode(const CountKey& k) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020" PRIu64, static_cast<std::uint64_t>(k.count));
  return digits + k.name;
}
// ZRANGEBYLEX bounds: "-" / "+" unbounded, "[x" inclusive, "(x" exclusive.
template <class K>
std::string lo_of(const KeyRange<K>& r) {
  return r.lo ? (r.lo->inclusive ? "[" : "(") + encode(r.lo->key) : "-";
}
template <class K>
std::string hi_of(const KeyRange<K>& r) {
  return r.hi ? (r.hi->inclusive ? "[" : "(") + encode(r.hi->key) : "+";
}
template <class K>
std::vector<std::string> lex_range(const std::string& key, const KeyRange<K>& r, std::size_t n) {
  if (r.ascending) return {"ZRANGEBYLEX", key, lo_of(r), hi_of(r), "LIMIT", "0", std::to_string(n)};
  return {"ZREVRANGEBYLEX", key, hi_of(r), lo_of(r), "LIMIT", "0", std::to_string(n)};
}
}  // namespace

std::vector<MemberKey> RedisEngine::members(const std::string& group, const KeyRange<MemberKey>& range, std::size_t n) const {
  std::vector<MemberKey> out;
  if (n == 0) return out;
  for (auto& e : call(lex_range("sb:g:" + group, range, n)).elements) {
    auto nul = e.str.find('\0');
    if (nul != std::string::npos) out.push_back(MemberKey{e.str.substr(0, nul), e.str.substr(nul + 1)});
  }
  return out;
}

std::vector<GroupEntry> RedisEngine::groups_by_name(const KeyRange<std::string>& range, std::size_t n) const {
  std::vector<GroupEntry> out;
  if (n == 0) return out;
  auto r = eval(redis_lua::kGroupsByName, {lo_of(range), hi_of(range), range.ascending ? "0" : "1", std::to_string(n)});
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out.push_back(GroupEntry{r.elements[i].str, static_cast<std::size_t>(r.elements[i + 1].integer)});
  return out;
}

std::vector<GroupEntry> RedisEngine::groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const {
  std::vector<GroupEntry> out;
  if (n == 0) return out;
  for (auto& e : call(lex_range("sb:gc", range, n)).elements)
    if (e.str.size() >= 20) out.push_back(GroupEntry{e.str.substr(20), std::stoull(e.str.substr(0, 20))});
  return out;
}

}  // namespace sb::server
