#include "push_requests.hpp"

#include <set>

namespace sb::server::push {

namespace p = sb::protocol;

namespace {
// {endpoint, keys: {p256dh, auth}}: absent or mistyped fields read as empty, which
// check_subscription words as Skapi does ("Missing parameter: ...").
Subscription subscription_of(const nlohmann::json& body) {
  Subscription s;
  auto str = [](const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  s.endpoint = str(body, "endpoint");
  if (auto k = body.find("keys"); k != body.end() && k->is_object()) {
    s.p256dh = str(*k, "p256dh");
    s.auth = str(*k, "auth");
  }
  return s;
}

HubResult disabled() { return HubResult::fail(p::Error::NotSupported, "Push notifications are not enabled on this server."); }
}  // namespace

HubResult handle_request(PushService* svc, const p::Request& req, const Identity& who, const p::Limits& limits,
                         nlohmann::json& data) {
  if (!svc) return disabled();
  switch (req.op) {
    case p::Op::Vapid:
      data = {{"VAPIDPublicKey", svc->public_key()}};
      return {};
    case p::Op::Subscribe: return svc->subscribe(who.user, subscription_of(req.body));
    case p::Op::Unsubscribe: return svc->unsubscribe(who.user, subscription_of(req.body));
    case p::Op::Push: {
      if (!who.admin) return HubResult::fail(p::Error::Forbidden, "Only admins can send push notifications.");
      p::Notification n;
      std::string message;
      if (!p::parse_notification(req.body, limits, false, n, message))
        return HubResult::fail(p::Error::InvalidParameter, message);
      std::string payload = PushService::payload(n.title, n.body);
      auto ids = req.body.find("user_ids");
      std::size_t queued = 0;
      if (ids == req.body.end() || ids->is_null() || *ids == "all_users") {
        queued = svc->notify_all(payload);
      } else {
        std::set<std::string> users;
        if (ids->is_string()) users.insert(ids->get<std::string>());
        else if (ids->is_array())
          for (const auto& u : *ids) {
            if (!u.is_string() || !p::valid_name(u.get_ref<const std::string&>(), limits.max_name_bytes))
              return HubResult::fail(p::Error::InvalidParameter, "\"user_ids\" must be user ids.");
            users.insert(u.get<std::string>());
          }
        else
          return HubResult::fail(p::Error::InvalidParameter, "\"user_ids\" must be a user id or an array of them.");
        for (const auto& u : users) queued += svc->notify(u, payload);
      }
      data = {{"queued", queued}};
      return {};
    }
    default: return HubResult::fail(p::Error::InvalidRequest, "Not a push request.");
  }
}

HubResult after_private(PushService* svc, const std::string& recipient, const p::Notification& n,
                        HubResult delivered) {
  if (!svc) return delivered;
  bool offline = !delivered.ok && delivered.code == p::Error::RecipientOffline;
  if (offline || (delivered.ok && n.always)) svc->notify(recipient, PushService::payload(n.title, n.body));
  return offline ? HubResult{} : delivered;
}

void after_group(PushService* svc, const PresenceManager& presence, const std::string& group,
                 const std::string& sender, const p::Notification& n, std::size_t max_users) {
  if (!svc || !n.always) return;
  std::string payload = PushService::payload(n.title, n.body);
  KeyRange<MemberKey> range;
  std::string last_user;
  std::size_t users = 0;
  while (users < max_users) {
    std::vector<MemberKey> page;
    try {
      page = presence.members(group, range, 256);
    } catch (const BackendUnavailable&) {
      return;  // Redis down: the post was delivered; its pushes to the group are skipped
    }
    if (page.empty()) break;
    for (const auto& m : page) {
      if (m.user == last_user) continue;  // members come ordered by (user, cid)
      last_user = m.user;
      if (m.user != sender && users++ < max_users) svc->notify(m.user, payload);
    }
    range.lo = Bound<MemberKey>{page.back(), false};
  }
}

}  // namespace sb::server::push
