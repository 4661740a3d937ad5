#include "auth.hpp"

#include <jwt/jwt.hpp>

#include "../protocol/limits.hpp"

namespace sb::server {

Identity Authenticator::verify(const std::string& token) const {
  Identity id;
  if (token.empty()) {
    id.error = "A token is required.";
    return id;
  }
  std::error_code ec;
  auto obj = jwt::decode(token, jwt::params::algorithms({"HS256"}), ec, jwt::params::secret(secret_),
                         jwt::params::verify(true));
  if (ec) {
    id.error = "Invalid token: " + ec.message() + ".";
    return id;
  }
  const auto& payload = obj.payload();
  if (!payload.has_claim("sub")) {
    id.error = "Invalid token: no \"sub\" claim.";
    return id;
  }
  const auto& claims = payload.create_json_obj();
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() ||
      !protocol::valid_name(sub->get_ref<const std::string&>(), protocol::Limits{}.max_name_bytes)) {
    id.error = "Invalid token: \"sub\" must be a valid user id.";
    return id;
  }
  id.ok = true;
  id.user = sub->get<std::string>();
  return id;
}

std::string Authenticator::issue(const std::string& user, std::chrono::seconds ttl) const {
  auto now = std::chrono::system_clock::now();
  jwt::jwt_object obj{jwt::params::algorithm("HS256"), jwt::params::secret(secret_),
                      jwt::params::payload({{"sub", user}})};
  obj.add_claim("iat", now);
  obj.add_claim("exp", now + ttl);
  return obj.signature();
}

}  // namespace sb::server
