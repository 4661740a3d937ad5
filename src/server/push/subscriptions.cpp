#include "subscriptions.hpp"

#include <algorithm>
#include <cctype>

#include "../jwt.hpp"
#include "p256.hpp"
#include "vapid.hpp"

namespace sb::server::push {

bool host_allowed(const std::string& host, const std::vector<std::string>& patterns) {
  auto lower = [](std::string v) {
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  const std::string h = lower(host);
  for (const auto& raw : patterns) {
    const std::string p = lower(raw);
    if (p == "*" || p == h) return true;
    if (p.size() > 2 && p.compare(0, 2, "*.") == 0) {
      const std::string suffix = p.substr(1);  // ".example.com"
      if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
  }
  return false;
}

std::string check_subscription(const Subscription& s, std::size_t max_endpoint_bytes,
                               const std::vector<std::string>& allowed_hosts) {
  if (s.endpoint.empty()) return "Missing parameter: endpoint";
  if (s.p256dh.empty() || s.auth.empty()) return "Missing parameter: keys.p256dh or keys.auth";
  if (s.endpoint.size() > max_endpoint_bytes)
    return "\"endpoint\" is longer than " + std::to_string(max_endpoint_bytes) + " bytes.";
  for (unsigned char c : s.endpoint)
    if (c <= 0x20 || c >= 0x7f) return "\"endpoint\" must be a URL without spaces or control characters.";
  std::string origin = Vapid::origin_of(s.endpoint);
  if (origin.empty()) return "\"endpoint\" must be an https:// URL.";
  std::string host = origin.substr(8);
  if (!host.empty() && host[0] == '[') host = host.substr(1, host.find(']') - 1);
  else if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (!host_allowed(host, allowed_hosts)) return "\"endpoint\" is not on a push service this server sends to.";
  std::string raw;
  // Browsers give unpadded base64url; accept a padded copy too.
  auto unpad = [](std::string v) {
    while (!v.empty() && v.back() == '=') v.pop_back();
    return v;
  };
  if (!jwt::base64url_decode(unpad(s.p256dh), raw) || !P256Key::from_public_raw(raw).valid())
    return "\"keys.p256dh\" must be a P-256 public key (65 bytes, base64url).";
  if (!jwt::base64url_decode(unpad(s.auth), raw) || raw.size() != 16)
    return "\"keys.auth\" must be 16 bytes, base64url.";
  return {};
}

std::size_t MemorySubscriptionStore::add(const std::string& user, const Subscription& s, std::size_t max_per_user) {
  std::lock_guard lock(mu_);
  auto& list = by_user_[user];
  auto same = std::find_if(list.begin(), list.end(), [&](const Subscription& x) { return x.endpoint == s.endpoint; });
  if (same != list.end()) {
    list.erase(same);
    --count_;
  }
  list.push_back(s);
  ++count_;
  std::size_t evicted = 0;
  while (max_per_user > 0 && list.size() > max_per_user) {
    list.pop_front();
    --count_;
    ++evicted;
  }
  return evicted;
}

bool MemorySubscriptionStore::remove(const std::string& user, const std::string& endpoint) {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return false;
  auto& list = it->second;
  auto same = std::find_if(list.begin(), list.end(), [&](const Subscription& x) { return x.endpoint == endpoint; });
  if (same == list.end()) return false;
  list.erase(same);
  --count_;
  if (list.empty()) by_user_.erase(it);
  return true;
}

std::vector<Subscription> MemorySubscriptionStore::of(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> MemorySubscriptionStore::users() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(by_user_.size());
  for (const auto& [user, list] : by_user_) out.push_back(user);
  return out;
}

std::size_t MemorySubscriptionStore::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace sb::server::push
