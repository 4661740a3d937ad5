// Web Push settings (docs/operations.md, Web Push). Part of Config; flags in main.cpp.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace sb::server::push {

struct PushConfig {
  bool enabled = true;
  // PEM file with the VAPID private key (P-256), made on first start (mode 0600). Empty: a key
  // kept in memory only (tests, embedding); subscriptions made against it die with the process.
  std::string vapid_key_file;
  std::string vapid_subject = "mailto:admin@localhost";  // RFC 8292 "sub": how a push service reaches you
  std::string ca_file;            // extra CA bundle for push services (private CAs, tests); empty: system CAs
  std::size_t max_subscriptions_per_user = 10;  // the oldest goes when a user adds one more
  std::size_t max_endpoint_bytes = 2048;
  // Hosts a subscription's endpoint may name: exact names, "*.suffix" for subdomains, "*" for any.
  // Without such a list any user could make the server POST to any https host (SSRF). The
  // default: the push services of Chrome/Edge (FCM, WNS), Firefox (Mozilla) and Safari (Apple).
  std::vector<std::string> allowed_hosts = {"fcm.googleapis.com", "android.googleapis.com",
                                            "*.push.services.mozilla.com", "*.notify.windows.com",
                                            "*.push.apple.com"};
  std::size_t queue_max = 10000;  // pushes waiting to be sent; more are dropped (counted)
  std::size_t concurrency = 16;   // requests in flight at once
  int max_attempts = 4;           // first try + retries on 429 / 5xx / network errors
  std::chrono::milliseconds retry_base{1000};  // backoff: base * 2^(attempt-1), capped by retry_max
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds timeout{10000};    // connect + TLS + request + response, per attempt
  int ttl_seconds = 86400;         // TTL header: how long the push service keeps it for an offline device
  std::string urgency = "normal";  // Urgency header: very-low, low, normal, high
};

}  // namespace sb::server::push
