// Token verification (JWT via cpp-jwt) and issuing, for the dev login and `gentoken`.
#pragma once
#include <chrono>
#include <string>

namespace sb::server {

struct Identity {
  bool ok = false;
  std::string user;   // the token's "sub"
  std::string error;  // why the token was refused, safe to send to the client
};

class Authenticator {
 public:
  explicit Authenticator(std::string secret) : secret_(std::move(secret)) {}
  Identity verify(const std::string& token) const;
  std::string issue(const std::string& user, std::chrono::seconds ttl) const;

 private:
  std::string secret_;
};

}  // namespace sb::server
