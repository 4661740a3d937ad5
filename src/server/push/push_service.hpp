// Web Push for the realtime server (docs/api.md, Notifications): the VAPID key, the users'
// subscriptions and the sender, behind the calls the WebSocket handlers make. Thread-safe.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "../hub.hpp"
#include "push_config.hpp"
#include "push_sender.hpp"
#include "subscriptions.hpp"
#include "vapid.hpp"

namespace sb::server::push {

class PushService {
 public:
  // Given a fresh private key PEM, the PEM every node uses (the first one stored wins), or
  // empty with `error` set when it cannot be had (redis_subscriptions.hpp: redis_vapid_key).
  using SharedKey = std::function<std::string(const std::string& fresh_pem, std::string& error)>;
  // `store`: where subscriptions live (null: in memory). `shared_key`: where the VAPID key lives
  // (null: config.vapid_key_file).
  explicit PushService(PushConfig config, std::unique_ptr<SubscriptionStore> store = nullptr,
                       SharedKey shared_key = nullptr);
  ~PushService();
  bool start(std::string& error);  // loads or makes the VAPID key, starts the sender

  const std::string& public_key() const { return vapid_.public_key(); }
  HubResult subscribe(const std::string& user, Subscription s);
  HubResult unsubscribe(const std::string& user, const Subscription& s);
  // Queues {title, body} for every subscription of `user`; returns how many were queued.
  std::size_t notify(const std::string& user, const std::string& payload_json);
  std::size_t notify_all(const std::string& payload_json);  // every subscriber

  // {"title":..,"body":..}: the push payload, exactly what the service worker's data.json() gives.
  static std::string payload(const std::string& title, const std::string& body);

  void render_metrics(std::string& out) const;  // Prometheus lines
  const SubscriptionStore& store() const { return *store_; }
  const PushConfig& config() const { return cfg_; }

 private:
  PushConfig cfg_;
  std::unique_ptr<SubscriptionStore> store_;
  SharedKey shared_key_;
  Vapid vapid_;
  PushMetrics metrics_;
  PushSender sender_;
};

}  // namespace sb::server::push
