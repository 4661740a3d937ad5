// Token verification and issuing (dev login, `gentoken`): JWTs signed with the one configured
// algorithm (jwt.hpp). docs/security.md and docs/operations.md (Authentication) list the rules
// and the claims the server honours.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "jwt.hpp"

namespace sb::server {

struct Identity {
  bool ok = false;
  std::string user;   // the token's "sub"
  std::string error;  // why the token was refused, safe to send to the client (never the token)
  // Optional claims the server honours:
  std::optional<std::vector<std::string>> groups;  // "groups": the groups this user may join
  std::size_t max_connections = 0;                 // "max_connections": per-user cap (0: none)
  std::optional<std::int64_t> exp;                 // "exp", seconds since the epoch; none: never expires
  bool admin = false;                              // "admin": true may send pushNotification
};

class Authenticator {
 public:
  explicit Authenticator(std::string hs256_secret);
  explicit Authenticator(JwtConfig config);

  // A configuration problem (unknown algorithm, missing or unreadable key), or empty.
  std::string check() const;
  Identity verify(const std::string& token) const;

  // Signs {"sub": user, "iat", "exp"} (plus "iss"/"aud" when configured) with the configured
  // algorithm; needs the secret (HS*) or the private key (RS256/ES256).
  std::string issue(const std::string& user, std::chrono::seconds ttl) const;
  // Signs these claims as they are.
  std::string issue(const nlohmann::json& claims) const;
  bool can_issue() const;
  const JwtConfig& config() const { return cfg_; }

  // Whether a "groups" claim lets its holder join `group`: exact names, or a prefix ending in
  // "*" ("team-*"), or "*" for any.
  static bool group_allowed(const std::vector<std::string>& allowed, const std::string& group);

 private:
  JwtConfig cfg_;
  jwt::Key key_;
  std::string problem_;  // why key_ could not be loaded, or empty
};

// Reads a whole file; false when it cannot.
bool read_file(const std::string& path, std::string& out);

}  // namespace sb::server
