// Streams in Redis (redis_streams.hpp), as Lua run by EVAL on the shard of the stream's channel,
// next to it. Keys (<s>: "g:<group>" or "u:<user>"):
//   sb:s:<s>            hash    epoch, top (the last offset); expires when idle (meta ttl)
//   sb:h:<s>            stream  the history: id "<offset>-1", fields t (ms, Redis clock), f (frame);
//                               MAXLEN --history-size, expires --history-ttl after the last entry
//   sb:k:<user>\0<key>  string  an idempotency key, PX --idempotency-ttl
// A stream whose hash is gone starts again with the epoch the caller offers (and no history).
#pragma once

namespace sb::server::redis_lua {

inline constexpr const char* kStreamLib = R"LUA(
local function stream_meta(s, fresh_epoch, meta_ttl)
  local meta = 'sb:s:' .. s
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = fresh_epoch
    redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
    redis.call('DEL', 'sb:h:' .. s)
  end
  redis.call('PEXPIRE', meta, meta_ttl)
  return meta, epoch
end
)LUA";

// ARGV: stream, channel, frame head, frame tail, fresh epoch, history size, history ttl ms,
// user, key ('' none), key ttl ms, meta ttl ms -> {0} a repeated key, or {1, offset}.
// Key check, offset, history and PUBLISH in one script: every node sees one order.
inline constexpr const char* kStreamPublish = R"LUA(
if ARGV[9] ~= '' and not redis.call('SET', 'sb:k:' .. ARGV[8] .. '\0' .. ARGV[9], '1', 'NX', 'PX', ARGV[10]) then
  return {0}
end
local meta, epoch = stream_meta(ARGV[1], ARGV[5], ARGV[11])
local offset = string.format('%d', redis.call('HINCRBY', meta, 'top', 1))
local frame = ARGV[3] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"' .. ARGV[4]
if tonumber(ARGV[6]) > 0 then
  local hist = 'sb:h:' .. ARGV[1]
  redis.call('XADD', hist, 'MAXLEN', ARGV[6], offset .. '-1', 't', now_ms(), 'f', frame)
  redis.call('PEXPIRE', hist, ARGV[7])
end
redis.call('PUBLISH', ARGV[2], '\0\0' .. frame)
return {1, tonumber(offset)})LUA";

// ARGV: stream, fresh epoch, since epoch ('' none), since offset, count, meta ttl ms
// -> {epoch, top, now ms, entries}: with a since of this epoch below top, the history entries
// after it (at most count), as XRANGE gives them.
inline constexpr const char* kStreamRead = R"LUA(
local meta, epoch = stream_meta(ARGV[1], ARGV[2], ARGV[6])
local top = tonumber(redis.call('HGET', meta, 'top'))
local entries = {}
if ARGV[3] == epoch and tonumber(ARGV[4]) < top then
  entries = redis.call('XRANGE', 'sb:h:' .. ARGV[1], string.format('%d', tonumber(ARGV[4]) + 1) .. '-0', '+',
                       'COUNT', ARGV[5])
end
return {epoch, top, now_ms(), entries})LUA";

}  // namespace sb::server::redis_lua
