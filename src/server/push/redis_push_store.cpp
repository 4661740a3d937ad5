#include "redis_push_store.hpp"

#include <algorithm>
#include <thread>

namespace sb::server::push {

namespace {
// ARGV: user, endpoint, "<p256dh> <auth>", max (0: no cap). Returns how many of the oldest went.
constexpr const char* kAdd = R"LUA(
local u, e, k, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local z, h = 'sb:push:z:' .. u, 'sb:push:k:' .. u
local seq = redis.call('INCR', 'sb:push:seq')
if redis.call('ZADD', z, seq, e) == 1 then redis.call('INCR', 'sb:push:count') end
redis.call('HSET', h, e, k)
redis.call('SADD', 'sb:push:users', u)
local over = 0
if max > 0 then over = redis.call('ZCARD', z) - max end
if over <= 0 then return 0 end
for _, old in ipairs(redis.call('ZRANGE', z, 0, over - 1)) do redis.call('HDEL', h, old) end
redis.call('ZREMRANGEBYRANK', z, 0, over - 1)
redis.call('DECRBY', 'sb:push:count', over)
return over
)LUA";
// ARGV: user, endpoint. Returns 1 when it was there.
constexpr const char* kRemove = R"LUA(
local u, e = ARGV[1], ARGV[2]
local z = 'sb:push:z:' .. u
if redis.call('ZREM', z, e) == 0 then return 0 end
redis.call('HDEL', 'sb:push:k:' .. u, e)
redis.call('DECR', 'sb:push:count')
if redis.call('ZCARD', z) == 0 then redis.call('SREM', 'sb:push:users', u) end
return 1
)LUA";
// ARGV: user. Returns endpoint, keys, endpoint, keys, ... oldest first.
constexpr const char* kOf = R"LUA(
local u = ARGV[1]
local out = {}
for _, e in ipairs(redis.call('ZRANGE', 'sb:push:z:' .. u, 0, -1)) do
  out[#out + 1] = e
  out[#out + 1] = redis.call('HGET', 'sb:push:k:' .. u, e) or ''
end
return out
)LUA";
}  // namespace

std::size_t RedisSubscriptionStore::add(const std::string& user, const Subscription& s, std::size_t max_per_user) {
  // base64url has no spaces, and check_subscription accepted both keys before they come here.
  return static_cast<std::size_t>(
      e_->eval(kAdd, {user, s.endpoint, s.p256dh + " " + s.auth, std::to_string(max_per_user)}).integer);
}

bool RedisSubscriptionStore::remove(const std::string& user, const std::string& endpoint) {
  return e_->eval(kRemove, {user, endpoint}).integer == 1;
}

std::vector<Subscription> RedisSubscriptionStore::of(const std::string& user) const {
  auto reply = e_->eval(kOf, {user});
  std::vector<Subscription> out;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& keys = reply.elements[i + 1].str;
    auto space = keys.find(' ');
    if (space == std::string::npos) continue;  // not written by kAdd
    out.push_back({reply.elements[i].str, keys.substr(0, space), keys.substr(space + 1)});
  }
  return out;
}

std::vector<std::string> RedisSubscriptionStore::users() const {
  auto reply = e_->call({"SMEMBERS", "sb:push:users"});
  std::vector<std::string> out;
  out.reserve(reply.elements.size());
  for (auto& u : reply.elements) out.push_back(std::move(u.str));
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t RedisSubscriptionStore::count() const {
  auto reply = e_->call({"GET", "sb:push:count"});
  return reply.type == RedisReply::String ? static_cast<std::size_t>(std::stoull(reply.str)) : 0;
}

std::string redis_vapid_key(const RedisEngine& engine, const std::string& fresh_pem, std::chrono::milliseconds wait,
                            std::string& error) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    try {
      engine.call({"SET", "sb:vapid:key", fresh_pem, "NX"});
      auto stored = engine.call({"GET", "sb:vapid:key"});
      if (stored.type == RedisReply::String && !stored.str.empty()) {
        error.clear();  // an earlier attempt's (the link was still connecting)
        return stored.str;
      }
      error = "sb:vapid:key in redis is not a string";
    } catch (const BackendUnavailable& e) {
      error = e.what();
    }
    if (std::chrono::steady_clock::now() >= deadline) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the link is still connecting
  }
}

}  // namespace sb::server::push
