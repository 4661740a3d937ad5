#include "auth.hpp"

#include <strings.h>

#include <fstream>
#include <sstream>

#include "../protocol/limits.hpp"

namespace sb::server {

namespace {
using nlohmann::json;

Identity refuse(std::string why) {
  Identity id;
  id.error = std::move(why);
  return id;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Parses a token's JSON part: an object, no duplicate keys (two parsers must not read two
// meanings), nothing past the object.
bool parse_object(const std::string& text, json& out) {
  if (text.find('\0') != std::string::npos) return false;  // nlohmann would stop reading there
  bool duplicate = false;
  std::vector<std::vector<std::string>> keys;  // the keys seen so far, per open object
  out = json::parse(
      text,
      [&](int, json::parse_event_t ev, json& parsed) {
        if (ev == json::parse_event_t::object_start) keys.emplace_back();
        else if (ev == json::parse_event_t::object_end) keys.pop_back();
        else if (ev == json::parse_event_t::key) {
          auto& seen = keys.back();
          const auto& k = parsed.get_ref<const std::string&>();
          for (auto& s : seen) duplicate |= s == k;
          seen.push_back(k);
        }
        return true;
      },
      false);
  return !out.is_discarded() && out.is_object() && !duplicate;
}

// NumericDate claims (exp, nbf, iat): integers from 0 to 2^53, so that arithmetic with the leeway
// cannot overflow and every JSON parser reads the same value. Returns false when present and bad.
constexpr std::int64_t kMaxTime = std::int64_t{1} << 53;
bool time_claim(const json& claims, const char* name, std::optional<std::int64_t>& out) {
  auto it = claims.find(name);
  if (it == claims.end()) return true;
  if (it->is_number_unsigned()) {
    if (it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxTime)) return false;
    out = static_cast<std::int64_t>(it->get<std::uint64_t>());
    return true;
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > kMaxTime) return false;
  out = it->get<std::int64_t>();
  return true;
}
}  // namespace

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

namespace {
JwtConfig hs256(std::string secret) {
  JwtConfig c;  // HS256 by default
  c.secret = std::move(secret);
  return c;
}
}  // namespace

Authenticator::Authenticator(std::string hs256_secret) : Authenticator(hs256(std::move(hs256_secret))) {}

Authenticator::Authenticator(JwtConfig config) : cfg_(std::move(config)) {
  problem_ = jwt::Key::load(cfg_.algorithm, cfg_.secret, cfg_.public_key, cfg_.private_key, key_);
}

std::string Authenticator::check() const { return problem_; }

bool Authenticator::can_issue() const { return problem_.empty() && key_.can_sign(); }

// The order matters: shape, then the header's algorithm against the configured one, then the
// signature over the exact bytes received. Only a token whose signature holds has its claims
// read; no claim, however odd, can skip a step.
Identity Authenticator::verify(const std::string& token) const {
  if (token.empty()) return refuse("A token is required.");
  if (token.size() > 8192) return refuse("Invalid token: too long.");
  if (!problem_.empty()) return refuse("Invalid token: the server cannot verify tokens.");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos)
    return refuse("Invalid token: malformed (a JWT has three parts).");
  std::string header_text;
  json header;
  if (!jwt::base64url_decode(std::string_view(token).substr(0, d1), header_text) || !parse_object(header_text, header))
    return refuse("Invalid token: malformed header.");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return refuse("Invalid token: malformed header.");
  const std::string& alg_name = alg->get_ref<const std::string&>();
  if (alg_name.empty() || strcasecmp(alg_name.c_str(), "none") == 0)
    return refuse("Invalid token: unsigned tokens (alg none) are refused.");
  if (alg_name != cfg_.algorithm) return refuse("Invalid token: algorithm " + alg_name + " is not accepted.");
  // RFC 7515 §4.1.11: extensions the recipient does not understand must be refused.
  if (header.contains("crit")) return refuse("Invalid token: critical header extensions are not supported.");
  std::string signature;
  if (d2 + 1 >= token.size() || !jwt::base64url_decode(std::string_view(token).substr(d2 + 1), signature) ||
      !key_.verify(std::string_view(token).substr(0, d2), signature))
    return refuse("Invalid token: bad signature.");

  std::string payload_text;
  json claims;
  if (!jwt::base64url_decode(std::string_view(token).substr(d1 + 1, d2 - d1 - 1), payload_text) ||
      !parse_object(payload_text, claims))
    return refuse("Invalid token: malformed payload.");
  std::optional<std::int64_t> exp, nbf, iat;
  if (!time_claim(claims, "exp", exp)) return refuse("Invalid token: \"exp\" must be an integer from 0 to 2^53.");
  if (!time_claim(claims, "nbf", nbf)) return refuse("Invalid token: \"nbf\" must be an integer from 0 to 2^53.");
  if (!time_claim(claims, "iat", iat)) return refuse("Invalid token: \"iat\" must be an integer from 0 to 2^53.");
  const std::int64_t now = now_seconds();
  const std::int64_t leeway = static_cast<std::int64_t>(cfg_.leeway.count());  // 0..3600 (main.cpp)
  if (exp) {
    if (now > *exp + leeway) return refuse("Token expired.");
  } else if (cfg_.require_exp) {
    return refuse("Invalid token: no \"exp\" claim.");
  }
  if (nbf && now + leeway < *nbf) return refuse("Token is not valid yet (nbf).");
  if (!cfg_.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || iss->get_ref<const std::string&>() != cfg_.issuer)
      return refuse("Invalid token: wrong issuer.");
  }
  if (!cfg_.audience.empty()) {
    auto aud = claims.find("aud");
    bool match = false;
    if (aud != claims.end() && aud->is_string()) match = aud->get_ref<const std::string&>() == cfg_.audience;
    if (aud != claims.end() && aud->is_array())
      for (auto& a : *aud)
        if (a.is_string() && a.get_ref<const std::string&>() == cfg_.audience) match = true;
    if (!match) return refuse("Invalid token: wrong audience.");
  }
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() ||
      !protocol::valid_name(sub->get_ref<const std::string&>(), protocol::Limits{}.max_name_bytes))
    return refuse("Invalid token: \"sub\" must be a valid user id.");

  Identity id;
  if (auto g = claims.find("groups"); g != claims.end() && !g->is_null()) {
    if (!g->is_array()) return refuse("Invalid token: \"groups\" must be an array of strings.");
    std::vector<std::string> groups;
    for (auto& x : *g) {
      if (!x.is_string()) return refuse("Invalid token: \"groups\" must be an array of strings.");
      groups.push_back(x.get<std::string>());
    }
    id.groups = std::move(groups);
  }
  if (auto m = claims.find("max_connections"); m != claims.end() && !m->is_null()) {
    if (!m->is_number_unsigned() || m->get<std::uint64_t>() == 0)
      return refuse("Invalid token: \"max_connections\" must be a positive integer.");
    id.max_connections = static_cast<std::size_t>(m->get<std::uint64_t>());
  }
  // "admin": true allows pushNotification (docs/api.md); only the literal true counts.
  if (auto a = claims.find("admin"); a != claims.end()) id.admin = a->is_boolean() && a->get<bool>();
  id.ok = true;
  id.user = sub->get<std::string>();
  id.exp = exp;
  return id;
}

std::string Authenticator::issue(const json& claims) const {
  if (!can_issue()) return {};
  std::string input = jwt::base64url_encode(json{{"alg", cfg_.algorithm}, {"typ", "JWT"}}.dump()) + "." +
                      jwt::base64url_encode(claims.dump());
  return input + "." + jwt::base64url_encode(key_.sign(input));
}

std::string Authenticator::issue(const std::string& user, std::chrono::seconds ttl) const {
  auto now = now_seconds();
  json claims{{"sub", user}, {"iat", now}, {"exp", now + ttl.count()}};
  if (!cfg_.issuer.empty()) claims["iss"] = cfg_.issuer;
  if (!cfg_.audience.empty()) claims["aud"] = cfg_.audience;
  return issue(claims);
}

bool Authenticator::group_allowed(const std::vector<std::string>& allowed, const std::string& group) {
  for (const auto& a : allowed) {
    if (a == group) return true;
    if (!a.empty() && a.back() == '*' && group.compare(0, a.size() - 1, a, 0, a.size() - 1) == 0) return true;
  }
  return false;
}

}  // namespace sb::server
