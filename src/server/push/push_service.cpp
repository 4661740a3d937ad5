#include "push_service.hpp"

#include <nlohmann/json.hpp>

namespace sb::server::push {

namespace {
std::string unpadded(std::string v) {
  while (!v.empty() && v.back() == '=') v.pop_back();
  return v;
}
}  // namespace

PushService::PushService(PushConfig config, std::unique_ptr<SubscriptionStore> store)
    : cfg_(std::move(config)),
      store_(store ? std::move(store) : std::make_unique<MemorySubscriptionStore>()),
      sender_(cfg_, vapid_, *store_, metrics_) {}

PushService::~PushService() { sender_.stop(); }

bool PushService::start(std::string& error) {
  return vapid_.load_or_create(cfg_.vapid_key_file, cfg_.vapid_subject, error) && sender_.start(error);
}

HubResult PushService::subscribe(const std::string& user, Subscription s) {
  s.p256dh = unpadded(std::move(s.p256dh));
  s.auth = unpadded(std::move(s.auth));
  if (auto why = check_subscription(s, cfg_.max_endpoint_bytes, cfg_.allowed_hosts); !why.empty())
    return HubResult::fail(protocol::Error::InvalidParameter, why);
  store_->add(user, s, cfg_.max_subscriptions_per_user);
  return {};
}

HubResult PushService::unsubscribe(const std::string& user, const Subscription& s) {
  if (s.endpoint.empty()) return HubResult::fail(protocol::Error::InvalidParameter, "Missing parameter: endpoint");
  if (s.p256dh.empty() || s.auth.empty())
    return HubResult::fail(protocol::Error::InvalidParameter, "Missing parameter: keys.p256dh or keys.auth");
  store_->remove(user, s.endpoint);  // unsubscribing twice is not an error
  return {};
}

std::size_t PushService::notify(const std::string& user, const std::string& payload_json) {
  std::size_t n = 0;
  for (auto& s : store_->of(user)) n += sender_.enqueue({user, std::move(s), payload_json});
  return n;
}

std::size_t PushService::notify_all(const std::string& payload_json) {
  std::size_t n = 0;
  for (const auto& user : store_->users()) n += notify(user, payload_json);
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
  line("switchboard_push_subscriptions", "gauge", "Push subscriptions stored.", store_->count());
}

}  // namespace sb::server::push
