// The Redis engine behind RedisBroker and RedisPresence (docs/scaling.md): pub/sub channels per
// group, user and connection, sharded over one or more Redis instances by consistent hashing,
// and cluster-wide presence in sorted sets and hashes on the first instance, kept alive by a
// heartbeat and swept of dead nodes by an atomic Lua reaper.
//
// Threads: hiredis runs on the engine's own io_context thread (single-thread ownership; nothing
// else touches a redisAsyncContext). Sessions call in from the server's I/O threads: publishes
// are posted and return at once; subscriptions and presence calls post, then wait for the reply
// with a bound (RedisOptions::timeout), so a dead Redis costs a caller that bound, never a hang.
// The waits are why this is not the server's own io_context: a caller blocked on it could be
// the thread that should run the reply.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker.hpp"
#include "redis_link.hpp"

namespace sb::server {

struct RedisOptions {
  std::vector<RedisAddress> shards;  // every node lists the same URLs (order does not matter)
  std::string node_id;
  std::chrono::milliseconds presence_ttl{20000};  // a silent node's connections go within 1.25 x this
  std::chrono::milliseconds timeout{2000};        // a call waits at most this for Redis
};

// Shards by FNV-1a over a ring of virtual points per shard URL: the same on every node, and
// adding a shard moves only about 1/n of the channels.
class HashRing {
 public:
  explicit HashRing(const std::vector<RedisAddress>& shards);
  std::size_t shard_of(std::string_view key) const;

 private:
  std::map<std::uint64_t, std::size_t> points_;
};

class RedisEngine {
 public:
  explicit RedisEngine(RedisOptions opts);
  ~RedisEngine();
  RedisEngine(const RedisEngine&) = delete;
  RedisEngine& operator=(const RedisEngine&) = delete;

  // ---- broker ----
  void set_sink(BrokerSink* sink);
  BackendStatus publish(const Publication& pub);
  BackendStatus subscribe(Publication::Target t, const std::string& key);
  void unsubscribe(Publication::Target t, const std::string& key);

  // ---- presence (PresenceManager's contract; throw BackendUnavailable) ----
  bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user);
  void remove_connection(const std::string& user, const std::string& cid);
  bool user_online(const std::string& user) const;
  bool connection_exists(const std::string& cid) const;
  std::size_t join(const std::string& group, const std::string& user, const std::string& cid);
  std::size_t leave(const std::string& group, const std::string& user, const std::string& cid);
  std::vector<MemberKey> members(const std::string& group, const KeyRange<MemberKey>& range, std::size_t n) const;
  std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& range, std::size_t n) const;
  std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const;

  // ---- other state on the presence shard (push subscriptions, the VAPID key) ----
  // Runs a command on the presence shard and waits for its reply (any thread but the engine's):
  // at most RedisOptions::timeout, else, when the link is down or Redis answers an error, throws
  // BackendUnavailable. eval runs a Lua script (kLib's helpers in scope) with no KEYS.
  RedisReply call(std::vector<std::string> argv) const;
  RedisReply eval(const char* script, std::vector<std::string> args) const;
  // The same on the shard that carries `channel` (redis_streams.hpp keeps a stream's history
  // and offset next to its channel, so that one script can publish on it).
  RedisReply call_on(std::size_t shard, std::vector<std::string> argv) const;
  std::size_t shard_of(const std::string& channel) const { return ring_.shard_of(channel); }
  static std::string channel_of(Publication::Target t, const std::string& key);

  bool healthy() const;  // every link up and this node's presence registered
  const std::string& node_id() const { return opts_.node_id; }
  unsigned long long reconnects() const;
  unsigned long long reaped() const { return reaped_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::unique_ptr<RedisLink> cmd;  // commands and PUBLISH
    std::unique_ptr<RedisLink> sub;  // SUBSCRIBE only (a subscribed connection takes nothing else)
  };
  // A channel as this node wants it (refs) and as Redis has it (subscribed, after `inflight`
  // settles). One SUBSCRIBE or UNSUBSCRIBE at a time per channel: hiredis keeps one callback per
  // channel and an overlapping pair would drop it.
  struct ChannelState {
    int refs = 0;
    bool subscribed = false, inflight = false;
  };
  void reconcile_locked(std::size_t shard, const std::string& channel);
  void on_push(std::size_t shard, const redisReply* reply);
  void on_sub_up(std::size_t shard);
  void on_sub_down(std::size_t shard);
  void deliver(const std::string& channel, const char* data, std::size_t size);
  void register_node();  // engine thread: this node's connections into presence again
  void heartbeat();      // engine thread: refresh, then reap dead nodes
  void announce_reaped(const RedisReply& entries);

  RedisOptions opts_;
  HashRing ring_;
  mutable boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<Shard> shards_;
  boost::asio::steady_timer heartbeat_timer_;
  std::atomic<bool> registered_{false};
  std::atomic<unsigned long long> reaped_{0};

  mutable std::mutex mu_;  // channels_
  std::condition_variable cv_;
  std::vector<std::unordered_map<std::string, ChannelState>> channels_;  // per shard

  std::mutex sink_mu_;
  BrokerSink* sink_ = nullptr;
  std::thread thread_;
};

// The two interfaces over one engine (the hub owns them; the engine outlives the hub).
class RedisBroker final : public Broker {
 public:
  explicit RedisBroker(std::shared_ptr<RedisEngine> e) : e_(std::move(e)) {}
  void set_sink(BrokerSink* sink) override { e_->set_sink(sink); }
  BackendStatus publish(const Publication& pub) override { return e_->publish(pub); }
  BackendStatus subscribe(Publication::Target t, const std::string& key) override { return e_->subscribe(t, key); }
  void unsubscribe(Publication::Target t, const std::string& key) override { e_->unsubscribe(t, key); }
  bool healthy() const override { return e_->healthy(); }

 private:
  std::shared_ptr<RedisEngine> e_;
};

class RedisPresence final : public PresenceManager {
 public:
  explicit RedisPresence(std::shared_ptr<RedisEngine> e) : e_(std::move(e)) {}
  bool healthy() const override { return e_->healthy(); }
  bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) override {
    return e_->add_connection(user, cid, max_per_user);
  }
  void remove_connection(const std::string& user, const std::string& cid) override { e_->remove_connection(user, cid); }
  bool user_online(const std::string& user) const override { return e_->user_online(user); }
  bool connection_exists(const std::string& cid) const override { return e_->connection_exists(cid); }
  std::size_t join(const std::string& group, const std::string& user, const std::string& cid) override {
    return e_->join(group, user, cid);
  }
  std::size_t leave(const std::string& group, const std::string& user, const std::string& cid) override {
    return e_->leave(group, user, cid);
  }
  std::vector<MemberKey> members(const std::string& group, const KeyRange<MemberKey>& range, std::size_t n) const override {
    return e_->members(group, range, n);
  }
  std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& range, std::size_t n) const override {
    return e_->groups_by_name(range, n);
  }
  std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const override {
    return e_->groups_by_count(range, n);
  }

 private:
  std::shared_ptr<RedisEngine> e_;
};

}  // namespace sb::server
