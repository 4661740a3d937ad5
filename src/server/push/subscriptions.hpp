// Push subscriptions per user. SubscriptionStore is the interface (a Redis store can implement
// it for several nodes); MemorySubscriptionStore keeps them in this process. Thread-safe.
#pragma once
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sb::server::push {

// As the browser gives it (PushSubscription.toJSON()): keys in base64url.
struct Subscription {
  std::string endpoint;
  std::string p256dh;  // base64url of the 65-byte P-256 point
  std::string auth;    // base64url of the 16-byte secret
};

// Checks a subscription from a client: an https endpoint (at most max_endpoint_bytes, no
// spaces or control characters) on an allowed host (push_config.hpp), p256dh a point on P-256,
// auth 16 bytes. Empty when it is good, else the reason (Skapi's wording for missing fields).
std::string check_subscription(const Subscription& s, std::size_t max_endpoint_bytes,
                               const std::vector<std::string>& allowed_hosts);
// Whether `host` matches one of `patterns` (exact, "*.suffix", or "*"), ignoring case.
bool host_allowed(const std::string& host, const std::vector<std::string>& patterns);

class SubscriptionStore {
 public:
  virtual ~SubscriptionStore() = default;
  // Adds or refreshes (same endpoint: new keys, counted as the newest). When the user then has
  // more than `max_per_user`, the oldest go; returns how many went.
  virtual std::size_t add(const std::string& user, const Subscription& s, std::size_t max_per_user) = 0;
  // Removes the user's subscription with this endpoint; false when there was none.
  virtual bool remove(const std::string& user, const std::string& endpoint) = 0;
  virtual std::vector<Subscription> of(const std::string& user) const = 0;
  virtual std::vector<std::string> users() const = 0;  // every user with a subscription
  virtual std::size_t count() const = 0;
};

class MemorySubscriptionStore final : public SubscriptionStore {
 public:
  std::size_t add(const std::string& user, const Subscription& s, std::size_t max_per_user) override;
  bool remove(const std::string& user, const std::string& endpoint) override;
  std::vector<Subscription> of(const std::string& user) const override;
  std::vector<std::string> users() const override;
  std::size_t count() const override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Subscription>> by_user_;  // oldest first
  std::size_t count_ = 0;
};

}  // namespace sb::server::push
