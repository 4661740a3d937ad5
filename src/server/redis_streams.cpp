#include "redis_streams.hpp"

#include <algorithm>
#include <charconv>

#include "redis_scripts.hpp"
#include "redis_stream_scripts.hpp"

namespace sb::server {

namespace {
using Target = Publication::Target;

std::string stream_id(Target t, const std::string& key) { return (t == Target::Group ? "g:" : "u:") + key; }

// A stream's hash outlives its history, so that a quiet stream keeps its epoch: at least a day.
std::string meta_ttl_ms(const StreamOptions& o) {
  return std::to_string(std::max<long long>(o.history_ttl.count(), 24 * 3600) * 1000);
}

std::string eval_script(const char* script) {
  return std::string(redis_lua::kLib) + redis_lua::kStreamLib + script;
}

std::uint64_t offset_of_id(const std::string& id) {  // "<offset>-1"
  std::uint64_t v = 0;
  std::from_chars(id.data(), id.data() + id.size(), v);
  return v;
}
// Offsets Lua's numbers (doubles) hold exactly; a position beyond cannot be in any history.
constexpr std::uint64_t kMaxLuaOffset = 1ull << 52;
}  // namespace

RedisStreams::RedisStreams(std::shared_ptr<RedisEngine> engine, StreamOptions opts)
    : engine_(std::move(engine)), opts_(opts) {}

PublishOutcome RedisStreams::publish(StreamPublish& req, Broker&) {
  std::string channel = RedisEngine::channel_of(req.pub.target, req.pub.key);
  const bool keyed = !req.idempotency_key.empty() && opts_.idempotency_ttl.count() > 0;
  PublishOutcome out;
  try {
    RedisReply r = engine_->call_on(
        engine_->shard_of(channel),
        {"EVAL", eval_script(redis_lua::kStreamPublish), "0", stream_id(req.pub.target, req.pub.key), channel,
         req.parts.head, req.parts.tail, new_epoch(), std::to_string(opts_.history_size),
         std::to_string(opts_.history_ttl.count() * 1000), req.user, keyed ? req.idempotency_key : "",
         std::to_string(opts_.idempotency_ttl.count() * 1000), meta_ttl_ms(opts_)});
    if (r.type != RedisReply::Array || r.elements.empty())
      return {BackendStatus::unavailable("redis: unexpected reply to a publication"), false};
    out.duplicate = r.elements[0].integer == 0;
  } catch (const BackendUnavailable& e) {
    out.status = BackendStatus::unavailable(e.what());
  }
  return out;
}

StreamRead RedisStreams::read(Target target, const std::string& key, const std::optional<protocol::StreamPosition>& since) {
  std::string channel = RedisEngine::channel_of(target, key);
  bool asks = since && since->offset < kMaxLuaOffset;
  RedisReply r = engine_->call_on(
      engine_->shard_of(channel),
      {"EVAL", eval_script(redis_lua::kStreamRead), "0", stream_id(target, key), new_epoch(), asks ? since->epoch : "",
       asks ? std::to_string(since->offset) : "0", std::to_string(std::max<std::size_t>(opts_.history_size, 1)),
       meta_ttl_ms(opts_)});
  if (r.type != RedisReply::Array || r.elements.size() != 4 || r.elements[3].type != RedisReply::Array)
    throw BackendUnavailable("redis: unexpected reply to a history read");
  StreamRead out;
  out.top.epoch = r.elements[0].str;
  out.top.offset = static_cast<std::uint64_t>(r.elements[1].integer);
  if (!since) return out;
  out.recovered = false;
  if (!asks || since->epoch != out.top.epoch || since->offset > out.top.offset) return out;
  const auto& entries = r.elements[3].elements;
  const long long oldest_ms = r.elements[2].integer - static_cast<long long>(opts_.history_ttl.count()) * 1000;
  std::uint64_t expect = since->offset + 1;
  std::size_t bytes = 0;
  for (const auto& e : entries) {  // [id, [t, <ms>, f, <frame>]]
    if (e.elements.size() != 2 || e.elements[1].elements.size() != 4) return out;
    const auto& fields = e.elements[1].elements;
    long long at = 0;
    std::from_chars(fields[1].str.data(), fields[1].str.data() + fields[1].str.size(), at);
    if (offset_of_id(e.elements[0].str) != expect++ || at < oldest_ms) {
      out.frames.clear();
      return out;
    }
    if ((bytes += fields[3].str.size()) > opts_.max_replay_bytes) {
      out.frames.clear();
      return out;
    }
    out.frames.push_back(std::make_shared<const std::string>(fields[3].str));
  }
  if (expect != out.top.offset + 1) {  // the history does not reach back to since + 1
    out.frames.clear();
    return out;
  }
  out.recovered = true;
  return out;
}

}  // namespace sb::server
