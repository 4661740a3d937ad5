// Web Push state in Redis (docs/scaling.md, What is stored where), shared by every node of a
// cluster: a user who subscribed through one node gets pushes for posts that arrive on another,
// and every node signs with the same VAPID key (a push service refuses any other key than the
// subscription's applicationServerKey).
// Keys, all on the presence shard, each change one atomic Lua script:
//   sb:push:z:<user>  zset  endpoint -> insertion sequence (the oldest goes first)
//   sb:push:k:<user>  hash  endpoint -> "<p256dh> <auth>"
//   sb:push:users     set   users with a subscription
//   sb:push:count     string  how many subscriptions in all
//   sb:push:seq       string  the insertion sequence
//   sb:vapid:key      string  the VAPID private key (PEM), set once by the first node (SET NX)
// Every call may throw BackendUnavailable (Redis down or slow: bounded by the engine's timeout).
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "../redis_engine.hpp"
#include "subscriptions.hpp"

namespace sb::server::push {

class RedisSubscriptionStore final : public SubscriptionStore {
 public:
  explicit RedisSubscriptionStore(std::shared_ptr<RedisEngine> engine) : e_(std::move(engine)) {}
  std::size_t add(const std::string& user, const Subscription& s, std::size_t max_per_user) override;
  bool remove(const std::string& user, const std::string& endpoint) override;
  std::vector<Subscription> of(const std::string& user) const override;
  std::vector<std::string> users() const override;  // sorted
  std::size_t count() const override;

 private:
  std::shared_ptr<RedisEngine> e_;
};

// Stores `fresh_pem` as the cluster's VAPID key unless one is stored, then returns the stored
// one. Waits up to `wait` for Redis (a node may start before Redis is up); empty with `error`
// when Redis did not answer by then.
std::string redis_vapid_key(const RedisEngine& engine, const std::string& fresh_pem, std::chrono::milliseconds wait,
                            std::string& error);

}  // namespace sb::server::push
