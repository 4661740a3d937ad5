#include "redis_engine.hpp"

#include <future>
#include <optional>

#include <boost/asio/post.hpp>
#include <hiredis/hiredis.h>

#include "../protocol/frames.hpp"
#include "log.hpp"
#include "redis_scripts.hpp"

namespace sb::server {

namespace net = boost::asio;
using Target = Publication::Target;
using Scope = Publication::Scope;

namespace {
// FNV-1a, then splitmix64's finaliser: FNV alone barely moves the high bits for keys that
// differ in their last bytes ("...:6380#1", "...:6380#2"), which skews the ring.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}
constexpr int kVirtualPoints = 128;
}  // namespace

HashRing::HashRing(const std::vector<RedisAddress>& shards) {
  for (std::size_t i = 0; i < shards.size(); ++i)
    for (int v = 0; v < kVirtualPoints; ++v) points_[fnv1a(shards[i].url + "#" + std::to_string(v))] = i;
}

std::size_t HashRing::shard_of(std::string_view key) const {
  if (points_.empty()) return 0;
  auto it = points_.lower_bound(fnv1a(key));
  return it == points_.end() ? points_.begin()->second : it->second;
}

RedisEngine::RedisEngine(RedisOptions opts)
    : opts_(std::move(opts)), ring_(opts_.shards), work_(net::make_work_guard(ioc_)), heartbeat_timer_(ioc_),
      channels_(opts_.shards.size()) {
  for (std::size_t s = 0; s < opts_.shards.size(); ++s) {
    Shard sh;
    sh.cmd = std::make_unique<RedisLink>(ioc_, opts_.shards[s], [this, s] {
      if (s == 0) register_node();
    }, [this, s] {
      if (s == 0) registered_.store(false);
    });
    sh.sub = std::make_unique<RedisLink>(ioc_, opts_.shards[s], [this, s] { on_sub_up(s); }, [this, s] { on_sub_down(s); });
    sh.sub->set_push_handler([this, s](const redisReply* r) { on_push(s, r); });
    shards_.push_back(std::move(sh));
  }
  net::post(ioc_, [this] {
    for (auto& sh : shards_) {
      sh.cmd->start();
      sh.sub->start();
    }
    heartbeat();
  });
  thread_ = std::thread([this] { ioc_.run(); });
  log::info("redis_engine").kv("node", opts_.node_id).kv("shards", static_cast<unsigned long long>(shards_.size()))
      .kv("presence_ttl_ms", static_cast<long long>(opts_.presence_ttl.count()));
}

// A clean stop takes this node's (already empty) entries out of presence, then the links.
RedisEngine::~RedisEngine() {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  net::post(ioc_, [this, done] {
    heartbeat_timer_.cancel();
    shards_[0].cmd->command({"EVAL", std::string(redis_lua::kLib) + redis_lua::kDropNode, "0", opts_.node_id},
                            [done](const redisReply*) { done->set_value(); });
  });
  fut.wait_for(std::chrono::seconds(1));
  std::promise<void> stopped;
  auto stopped_fut = stopped.get_future();
  net::post(ioc_, [this, &stopped] {
    for (auto& sh : shards_) {
      sh.cmd->stop();
      sh.sub->stop();
    }
    stopped.set_value();
  });
  stopped_fut.wait();
  work_.reset();
  ioc_.stop();
  thread_.join();
}

bool RedisEngine::healthy() const {
  if (!registered_.load()) return false;
  for (const auto& sh : shards_)
    if (!sh.cmd->up() || !sh.sub->up()) return false;
  return true;
}

unsigned long long RedisEngine::reconnects() const {
  unsigned long long n = 0;
  for (const auto& sh : shards_) n += sh.cmd->reconnects() + sh.sub->reconnects();
  return n;
}

// ---- broker ----------------------------------------------------------------------------------
std::string RedisEngine::channel_of(Target t, const std::string& key) {
  switch (t) {
    case Target::Group: return "sb:g:" + key;
    case Target::User: return "sb:u:" + key;
    case Target::Connection: return "sb:c:" + key;
  }
  return key;
}

void RedisEngine::set_sink(BrokerSink* sink) {
  std::lock_guard lock(sink_mu_);
  sink_ = sink;
}

// The message on the channel: the scope byte, the cid the notice is about, NUL, the frame bytes.
BackendStatus RedisEngine::publish(const Publication& pub) {
  std::string channel = channel_of(pub.target, pub.key);
  std::size_t s = ring_.shard_of(channel);
  RedisLink& link = *shards_[s].cmd;
  if (!link.up()) return BackendStatus::unavailable("redis " + opts_.shards[s].url + " is down");
  std::string msg;
  msg.reserve(2 + pub.about_cid.size() + pub.frame->size());
  msg += static_cast<char>(pub.scope);
  msg += pub.about_cid;
  msg += '\0';
  msg += *pub.frame;
  // The caller waits for Redis to take it: "ok" means published (subscribers that came later do
  // not get it), UNAVAILABLE means nobody did. The engine's own thread cannot wait on itself.
  if (std::this_thread::get_id() == thread_.get_id()) {
    link.command({"PUBLISH", channel, msg}, [](const redisReply*) {});
    return {};
  }
  auto done = std::make_shared<std::promise<bool>>();
  auto fut = done->get_future();
  net::post(ioc_, [&link, channel = std::move(channel), msg = std::move(msg), done] {
    link.command({"PUBLISH", channel, msg}, [done](const redisReply* r) { done->set_value(r && r->type == REDIS_REPLY_INTEGER); });
  });
  if (fut.wait_for(opts_.timeout) != std::future_status::ready || !fut.get())
    return BackendStatus::unavailable("redis " + opts_.shards[s].url + " did not take the publication");
  return {};
}

BackendStatus RedisEngine::subscribe(Target t, const std::string& key) {
  std::string channel = channel_of(t, key);
  std::size_t s = ring_.shard_of(channel);
  RedisLink& link = *shards_[s].sub;
  std::unique_lock lock(mu_);
  if (!link.up()) return BackendStatus::unavailable("redis " + opts_.shards[s].url + " is down");
  ChannelState& st = channels_[s][channel];  // references survive rehashing; erased only at refs 0
  if (++st.refs == 1) net::post(ioc_, [this, s, channel] {
      std::lock_guard l(mu_);
      reconcile_locked(s, channel);
    });
  bool ok = cv_.wait_for(lock, opts_.timeout, [&] { return !link.up() || (st.subscribed && !st.inflight); }) && link.up();
  if (ok) return {};
  if (--st.refs == 0) net::post(ioc_, [this, s, channel] {
      std::lock_guard l(mu_);
      reconcile_locked(s, channel);
    });
  return BackendStatus::unavailable("redis " + opts_.shards[s].url + " did not confirm the subscription");
}

void RedisEngine::unsubscribe(Target t, const std::string& key) {
  std::string channel = channel_of(t, key);
  std::size_t s = ring_.shard_of(channel);
  std::lock_guard lock(mu_);
  auto it = channels_[s].find(channel);
  if (it == channels_[s].end() || it->second.refs == 0) return;
  if (--it->second.refs == 0) net::post(ioc_, [this, s, channel] {
      std::lock_guard l(mu_);
      reconcile_locked(s, channel);
    });
}

// Engine thread: brings Redis's view of a channel to what this node wants, one command at a time.
void RedisEngine::reconcile_locked(std::size_t s, const std::string& channel) {
  auto it = channels_[s].find(channel);
  if (it == channels_[s].end()) return;
  ChannelState& st = it->second;
  if (st.inflight) return;
  bool want = st.refs > 0;
  if (want != st.subscribed && shards_[s].sub->up()) {
    st.inflight = true;
    shards_[s].sub->subscribe(channel, want);
  } else if (!want && !st.subscribed) {
    channels_[s].erase(it);
  }
}

void RedisEngine::on_push(std::size_t s, const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_STRING)
    return;
  std::string_view kind(r->element[0]->str, r->element[0]->len);
  std::string channel(r->element[1]->str, r->element[1]->len);
  if (kind == "message") {
    if (r->element[2]->type == REDIS_REPLY_STRING) deliver(channel, r->element[2]->str, r->element[2]->len);
    return;
  }
  if (kind != "subscribe" && kind != "unsubscribe") return;
  std::lock_guard lock(mu_);
  auto it = channels_[s].find(channel);
  if (it == channels_[s].end()) return;
  it->second.inflight = false;
  it->second.subscribed = kind == "subscribe";
  reconcile_locked(s, channel);
  cv_.notify_all();
}

void RedisEngine::on_sub_up(std::size_t s) {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (auto& [name, st] : channels_[s]) names.push_back(name);
  for (auto& name : names) reconcile_locked(s, name);  // resubscribe what is still wanted
}

void RedisEngine::on_sub_down(std::size_t s) {
  std::lock_guard lock(mu_);
  for (auto it = channels_[s].begin(); it != channels_[s].end();) {
    it->second.subscribed = it->second.inflight = false;
    if (it->second.refs == 0) it = channels_[s].erase(it);
    else ++it;
  }
  cv_.notify_all();
}

void RedisEngine::deliver(const std::string& channel, const char* data, std::size_t size) {
  if (channel.size() < 5 || size < 2) return;
  Publication pub;
  switch (channel[3]) {
    case 'g': pub.target = Target::Group; break;
    case 'u': pub.target = Target::User; break;
    case 'c': pub.target = Target::Connection; break;
    default: return;
  }
  pub.key = channel.substr(5);
  unsigned char scope = static_cast<unsigned char>(data[0]);
  if (scope > static_cast<unsigned char>(Scope::Disconnect)) return;
  pub.scope = static_cast<Scope>(scope);
  const char* nul = static_cast<const char*>(std::memchr(data + 1, '\0', size - 1));
  if (!nul) return;
  pub.about_cid.assign(data + 1, nul);
  pub.frame = std::make_shared<const std::string>(nul + 1, data + size);
  std::lock_guard lock(sink_mu_);
  if (sink_) sink_->on_publication(pub);
}

// ---- heartbeat, reaper, registration (engine thread) ----------------------------------------
void RedisEngine::register_node() {
  registered_.store(false);
  std::vector<std::string> argv{"EVAL", std::string(redis_lua::kLib) + redis_lua::kRegister, "0", opts_.node_id,
                                std::to_string(opts_.presence_ttl.count())};
  std::size_t n = 0;
  {
    std::lock_guard lock(sink_mu_);
    if (sink_)
      for (auto& c : sink_->local_connections()) {
        argv.push_back(c.user);
        argv.push_back(c.cid);
        argv.push_back(c.group.value_or(""));
        ++n;
      }
  }
  shards_[0].cmd->command(argv, [this, n](const redisReply* r) {
    if (!r || r->type == REDIS_REPLY_ERROR) {
      log::warn("redis_register_failed").kv("node", opts_.node_id).kv("error", r ? r->str : "connection lost");
      return;
    }
    registered_.store(true);
    log::info("redis_registered").kv("node", opts_.node_id).kv("connections", static_cast<unsigned long long>(n));
  });
}

// Every ttl/4: refresh this node's expiry (register again if Redis forgot it), then sweep the
// nodes whose expiry passed. A silent node's connections go at most ttl + ttl/4 after its last beat.
void RedisEngine::heartbeat() {
  RedisLink& link = *shards_[0].cmd;
  if (link.up()) {
    link.command({"EVAL", std::string(redis_lua::kLib) + redis_lua::kHeartbeat, "0", opts_.node_id,
                  std::to_string(opts_.presence_ttl.count())},
                 [this](const redisReply* r) {
                   if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0 && registered_.load()) {
                     log::warn("redis_node_forgotten").kv("node", opts_.node_id);
                     register_node();
                   }
                 });
    link.command({"EVAL", std::string(redis_lua::kLib) + redis_lua::kReap, "0"}, [this](const redisReply* r) {
      if (r && r->type == REDIS_REPLY_ARRAY && r->elements) announce_reaped(RedisReply::from(r));
    });
  }
  heartbeat_timer_.expires_after(std::max(opts_.presence_ttl / 4, std::chrono::milliseconds(50)));
  heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) heartbeat();
  });
}

void RedisEngine::announce_reaped(const RedisReply& entries) {
  for (const auto& e : entries.elements) {
    if (e.elements.size() != 4) continue;
    const std::string &group = e.elements[0].str, &user = e.elements[1].str, &cid = e.elements[2].str;
    Publication pub;
    pub.target = Target::Group;
    pub.scope = e.elements[3].integer == 0 ? Scope::UserLevel : Scope::ConnLevel;
    pub.key = group;
    pub.about_cid = cid;
    pub.frame = std::make_shared<const std::string>(protocol::notice_frame("USER_DISCONNECTED", group, user, cid));
    publish(pub);
    reaped_.fetch_add(1, std::memory_order_relaxed);
  }
  log::info("redis_reaped").kv("node", opts_.node_id).kv("memberships", static_cast<unsigned long long>(entries.elements.size()));
}

}  // namespace sb::server
