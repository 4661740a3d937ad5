#include "push_service.hpp"

#include <nlohmann/json.hpp>

namespace sb::server::push {

namespace {
std::string unpadded(std::string v) {
  while (!v.empty() && v.back() == '=') v.pop_back();
  return v;
}
}  // namespace

PushService::PushService(PushConfig config, std::unique_ptr<SubscriptionStore> store, SharedKey shared_key)
    : cfg_(std::move(config)),
      store_(store ? std::move(store) : std::make_unique<MemorySubscriptionStore>()),
      shared_key_(std::move(shared_key)),
      sender_(cfg_, vapid_, *store_, metrics_) {}

PushService::~PushService() { sender_.stop(); }

bool PushService::start(std::string& error) {
  bool key = false;
  if (shared_key_) {
    P256Key fresh = P256Key::generate();
    std::string pem = fresh.valid() ? shared_key_(fresh.private_pem(), error) : std::string();
    key = !pem.empty() && vapid_.use_pem(pem, cfg_.vapid_subject, error);
    if (!key && error.empty()) error = "cannot make a VAPID key";
    if (!key) error = "VAPID key: " + error;
  } else {
    key = vapid_.load_or_create(cfg_.vapid_key_file, cfg_.vapid_subject, error);
  }
  return key && sender_.start(error);
}

HubResult PushService::subscribe(const std::string& user, Subscription s) {
  s.p256dh = unpadded(std::move(s.p256dh));
  s.auth = unpadded(std::move(s.auth));
  if (auto why = check_subscription(s, cfg_.max_endpoint_bytes, cfg_.allowed_hosts); !why.empty())
    return HubResult::fail(protocol::Error::InvalidParameter, why);
  try {
    store_->add(user, s, cfg_.max_subscriptions_per_user);
  } catch (const BackendUnavailable& e) {
    return HubResult::fail(protocol::Error::Unavailable, e.what());
  }
  return {};
}

HubResult PushService::unsubscribe(const std::string& user, const Subscription& s) {
  if (s.endpoint.empty()) return HubResult::fail(protocol::Error::InvalidParameter, "Missing parameter: endpoint");
  if (s.p256dh.empty() || s.auth.empty())
    return HubResult::fail(protocol::Error::InvalidParameter, "Missing parameter: keys.p256dh or keys.auth");
  try {
    store_->remove(user, s.endpoint);  // unsubscribing twice is not an error
  } catch (const BackendUnavailable& e) {
    return HubResult::fail(protocol::Error::Unavailable, e.what());
  }
  return {};
}

// Redis down (docs/scaling.md): the message itself went its way; its pushes are skipped, counted.
std::size_t PushService::notify(const std::string& user, const std::string& payload_json) {
  std::vector<Subscription> subs;
  try {
    subs = store_->of(user);
  } catch (const BackendUnavailable&) {
    metrics_.skipped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  std::size_t n = 0;
  for (auto& s : subs) n += sender_.enqueue({user, std::move(s), payload_json});
  return n;
}

std::size_t PushService::notify_all(const std::string& payload_json) {
  std::vector<std::string> users;
  try {
    users = store_->users();
  } catch (const BackendUnavailable&) {
    metrics_.skipped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  std::size_t n = 0;
  for (const auto& user : users) n += notify(user, payload_json);
  return n;
}

std::string PushService::payload(const std::string& title, const std::string& body) {
  return nlohmann::json{{"title", title}, {"body", body}}.dump();
}

void PushService::render_metrics(std::string& out) const {
  auto line = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  line("switchboard_push_queued_total", "counter", "Web Push messages accepted into the send queue.", metrics_.queued.load());
  line("switchboard_push_dropped_total", "counter", "Web Push messages refused because the queue was full.", metrics_.dropped.load());
  line("switchboard_push_sent_total", "counter", "Web Push messages a push service accepted (2xx).", metrics_.sent.load());
  line("switchboard_push_retries_total", "counter", "Web Push attempts repeated after 429, 5xx or a network error.", metrics_.retried.load());
  line("switchboard_push_failed_total", "counter", "Web Push messages given up on.", metrics_.failed.load());
  line("switchboard_push_gone_total", "counter", "Subscriptions removed after 404 or 410 from the push service.", metrics_.gone.load());
  line("switchboard_push_queue", "gauge", "Web Push messages waiting to be sent.", sender_.queued());
  line("switchboard_push_in_flight", "gauge", "Web Push requests under way.", sender_.in_flight());
  line("switchboard_push_skipped_total", "counter", "Web Push notifications skipped: the subscription store (Redis) was unavailable.", metrics_.skipped.load());
  std::size_t stored = 0;
  try {
    stored = store_->count();
  } catch (const BackendUnavailable&) {
    return;  // Redis down: no gauge rather than a wrong one
  }
  line("switchboard_push_subscriptions", "gauge", "Push subscriptions stored.", stored);
}

}  // namespace sb::server::push
