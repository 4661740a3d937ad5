// Presence in Redis (docs/scaling.md, What is stored where), as Lua run by EVAL: each script is
// atomic, so counts returned are after the change and exactly one caller sees a user's first
// join, last leave, or a dead node's connections go. Keys (all on the presence shard):
//   sb:nodes            zset  node id -> expiry (ms, Redis clock), refreshed by its heartbeat
//   sb:node:<node>      set   the node's connection ids
//   sb:cu / sb:cn / sb:cg  hash  cid -> user / node / group
//   sb:users            hash  user -> connections
//   sb:g:<group>        zset  "<user>\0<cid>", score 0: members in (user, cid) order (ZRANGEBYLEX)
//   sb:gu:<group>       hash  user -> connections in the group
//   sb:groups           zset  group names, score 0 (ZRANGEBYLEX)
//   sb:gc               zset  "<count, 20 digits><name>", score 0: groups by (count, name)
#pragma once

namespace sb::server::redis_lua {

inline constexpr const char* kLib = R"LUA(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function cnt(n) return string.format('%020d', n) end
local function join(g, u, c)
  local gk = 'sb:g:' .. g
  if redis.call('ZADD', gk, 'NX', 0, u .. '\0' .. c) == 0 then
    return tonumber(redis.call('HGET', 'sb:gu:' .. g, u) or '0')
  end
  local size = redis.call('ZCARD', gk)
  if size == 1 then redis.call('ZADD', 'sb:groups', 0, g) else redis.call('ZREM', 'sb:gc', cnt(size - 1) .. g) end
  redis.call('ZADD', 'sb:gc', 0, cnt(size) .. g)
  redis.call('HSET', 'sb:cg', c, g)
  return redis.call('HINCRBY', 'sb:gu:' .. g, u, 1)
end
local function leave(g, u, c)
  local gk, guk = 'sb:g:' .. g, 'sb:gu:' .. g
  if redis.call('ZREM', gk, u .. '\0' .. c) == 0 then return tonumber(redis.call('HGET', guk, u) or '0') end
  if redis.call('HGET', 'sb:cg', c) == g then redis.call('HDEL', 'sb:cg', c) end
  local size = redis.call('ZCARD', gk)
  redis.call('ZREM', 'sb:gc', cnt(size + 1) .. g)
  if size == 0 then redis.call('ZREM', 'sb:groups', g) else redis.call('ZADD', 'sb:gc', 0, cnt(size) .. g) end
  local left = redis.call('HINCRBY', guk, u, -1)
  if left <= 0 then redis.call('HDEL', guk, u); left = 0 end
  return left
end
local function add_conn(node, u, c, max)
  if redis.call('HEXISTS', 'sb:cu', c) == 1 then return 1 end
  local n = tonumber(redis.call('HGET', 'sb:users', u) or '0')
  if max > 0 and n >= max then return 0 end
  redis.call('HINCRBY', 'sb:users', u, 1)
  redis.call('HSET', 'sb:cu', c, u)
  redis.call('HSET', 'sb:cn', c, node)
  redis.call('SADD', 'sb:node:' .. node, c)
  return 1
end
local function remove_conn(c)
  local u = redis.call('HGET', 'sb:cu', c)
  if not u then return end
  local node = redis.call('HGET', 'sb:cn', c)
  redis.call('HDEL', 'sb:cu', c)
  redis.call('HDEL', 'sb:cn', c)
  if node then redis.call('SREM', 'sb:node:' .. node, c) end
  if redis.call('HINCRBY', 'sb:users', u, -1) <= 0 then redis.call('HDEL', 'sb:users', u) end
end
-- Every connection of a node goes, memberships first: {group, user, cid, left in group} each.
local function drop_node(node)
  local out = {}
  for _, c in ipairs(redis.call('SMEMBERS', 'sb:node:' .. node)) do
    local u, g = redis.call('HGET', 'sb:cu', c), redis.call('HGET', 'sb:cg', c)
    if u and g then out[#out + 1] = {g, u, c, leave(g, u, c)} end
    remove_conn(c)
  end
  redis.call('DEL', 'sb:node:' .. node)
  redis.call('ZREM', 'sb:nodes', node)
  return out
end
)LUA";

// ARGV: node, user, cid, max (0: none) -> 1 registered, 0 refused
inline constexpr const char* kAdd = "return add_conn(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]))";
// ARGV: cid
inline constexpr const char* kRemove = "remove_conn(ARGV[1]) return 1";
// ARGV: group, user, cid -> the user's connections in the group after the change
inline constexpr const char* kJoin = "return join(ARGV[1], ARGV[2], ARGV[3])";
inline constexpr const char* kLeave = "return leave(ARGV[1], ARGV[2], ARGV[3])";
// ARGV: node, ttl ms -> 1, or 0 when the node was unknown (reaped, or Redis restarted empty)
inline constexpr const char* kHeartbeat = R"LUA(
local had = redis.call('ZSCORE', 'sb:nodes', ARGV[1])
redis.call('ZADD', 'sb:nodes', now_ms() + tonumber(ARGV[2]), ARGV[1])
if had then return 1 end
return 0)LUA";
// -> {group, user, cid, left} for every membership of every node whose heartbeat expired. The
// ZREM inside drop_node makes each dead node's entries come back to exactly one caller.
inline constexpr const char* kReap = R"LUA(
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', 'sb:nodes', '-inf', now_ms())) do
  for _, e in ipairs(drop_node(node)) do out[#out + 1] = e end
end
return out)LUA";
// ARGV: node, ttl ms, then user, cid, group ('' for none) per connection: the node's entries are
// replaced by these, silently (no notices: the connections never went).
inline constexpr const char* kRegister = R"LUA(
drop_node(ARGV[1])
redis.call('ZADD', 'sb:nodes', now_ms() + tonumber(ARGV[2]), ARGV[1])
for i = 3, #ARGV, 3 do
  add_conn(ARGV[1], ARGV[i], ARGV[i + 1], 0)
  if ARGV[i + 2] ~= '' then join(ARGV[i + 2], ARGV[i], ARGV[i + 1]) end
end
return 1)LUA";
// ARGV: node -> 1; a clean shutdown (the connections were closed with their notices already).
inline constexpr const char* kDropNode = "drop_node(ARGV[1]) return 1";
// ARGV: min, max, reverse ('1'), n -> name, count, name, count, ...
inline constexpr const char* kGroupsByName = R"LUA(
local names
if ARGV[3] == '1' then names = redis.call('ZREVRANGEBYLEX', 'sb:groups', ARGV[2], ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
else names = redis.call('ZRANGEBYLEX', 'sb:groups', ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[4])) end
local out = {}
for _, n in ipairs(names) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('ZCARD', 'sb:g:' .. n)
end
return out)LUA";

}  // namespace sb::server::redis_lua
