#include "auth.hpp"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <jwt/jwt.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../protocol/limits.hpp"

namespace sb::server {

namespace {
using nlohmann::json;

constexpr const char* kAlgorithms[] = {"HS256", "HS384", "HS512", "RS256", "ES256"};

bool known_algorithm(const std::string& a) {
  for (const char* k : kAlgorithms)
    if (a == k) return true;
  return false;
}

// Strict base64url (RFC 7515: no padding, no other characters).
bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  unsigned buf = 0;
  int bits = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '-') v = 62;
    else if (ch == '_') v = 63;
    else return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return in.size() % 4 != 1;
}

Identity refuse(std::string why) {
  Identity id;
  id.error = std::move(why);
  return id;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The key type a PEM public key holds: EVP_PKEY_RSA, EVP_PKEY_EC, or 0 when it does not parse.
int public_key_type(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return 0;
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) return 0;
  int type = EVP_PKEY_base_id(key);
  EVP_PKEY_free(key);
  return type;
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

Authenticator::Authenticator(std::string hs256_secret) { cfg_.secret = std::move(hs256_secret); }
Authenticator::Authenticator(JwtConfig config) : cfg_(std::move(config)) {}

bool Authenticator::symmetric() const { return cfg_.algorithm.rfind("HS", 0) == 0; }

std::string Authenticator::check() const {
  if (!known_algorithm(cfg_.algorithm))
    return "unknown JWT algorithm \"" + cfg_.algorithm + "\" (use HS256, HS384, HS512, RS256 or ES256)";
  if (symmetric()) {
    if (cfg_.secret.empty()) return cfg_.algorithm + " needs a secret (--jwt-secret)";
    return {};
  }
  if (cfg_.public_key.empty()) return cfg_.algorithm + " needs a public key (--jwt-public-key)";
  int type = public_key_type(cfg_.public_key);
  if (type == 0) return "the JWT public key is not a PEM public key";
  if (cfg_.algorithm == "RS256" && type != EVP_PKEY_RSA) return "RS256 needs an RSA public key";
  if (cfg_.algorithm == "ES256" && type != EVP_PKEY_EC) return "ES256 needs an EC (P-256) public key";
  return {};
}

bool Authenticator::can_issue() const { return symmetric() ? !cfg_.secret.empty() : !cfg_.private_key.empty(); }

Identity Authenticator::verify(const std::string& token) const {
  if (token.empty()) return refuse("A token is required.");
  if (token.size() > 8192) return refuse("Invalid token: too long.");
  // Shape first, by hand: three base64url parts, a JSON header naming exactly the configured
  // algorithm. "none", a different algorithm (e.g. HS256 signed with an RSA public key as the
  // secret) and unsigned tokens stop here, before any library sees them.
  auto d1 = token.find('.');
  auto d2 = d1 == std::string::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos)
    return refuse("Invalid token: malformed (a JWT has three parts).");
  std::string header_text;
  if (!base64url_decode(std::string_view(token).substr(0, d1), header_text))
    return refuse("Invalid token: malformed header.");
  json header = json::parse(header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("alg") || !header["alg"].is_string())
    return refuse("Invalid token: malformed header.");
  const std::string& alg = header["alg"].get_ref<const std::string&>();
  if (alg.empty() || strcasecmp(alg.c_str(), "none") == 0)
    return refuse("Invalid token: unsigned tokens (alg none) are refused.");
  if (alg != cfg_.algorithm) return refuse("Invalid token: algorithm " + alg + " is not accepted.");
  if (d2 + 1 >= token.size()) return refuse("Invalid token: no signature.");
  std::string payload_text;
  if (!base64url_decode(std::string_view(token).substr(d1 + 1, d2 - d1 - 1), payload_text))
    return refuse("Invalid token: malformed payload.");
  json claims = json::parse(payload_text, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) return refuse("Invalid token: malformed payload.");

  // The signature, through cpp-jwt. Its own claim checks run with a wide leeway here: the time
  // claims are checked below, with clear reasons and no unsigned-integer surprises.
  std::error_code ec;
  try {
    const std::string& key = symmetric() ? cfg_.secret : cfg_.public_key;
    jwt::decode(token, jwt::params::algorithms({cfg_.algorithm}), ec, jwt::params::secret(key),
                jwt::params::verify(true), jwt::params::leeway(0xFFFFFFF));
  } catch (const std::exception&) {
    return refuse("Invalid token: malformed.");
  }
  if (ec) {
    if (ec == jwt::VerificationErrc::InvalidSignature || ec == jwt::AlgorithmErrc::VerificationErr)
      return refuse("Invalid token: bad signature.");
    if (ec == jwt::VerificationErrc::TokenExpired || ec == jwt::VerificationErrc::ImmatureSignature) {
      // Only with absurd time claims (the leeway above covers sane ones): fall through to ours.
    } else {
      return refuse("Invalid token: " + ec.message() + ".");
    }
  }

  const auto now = now_seconds();
  const auto leeway = static_cast<std::int64_t>(cfg_.leeway.count());
  if (auto exp = claims.find("exp"); exp != claims.end()) {
    if (!exp->is_number()) return refuse("Invalid token: \"exp\" must be a number.");
    if (now > exp->get<double>() + static_cast<double>(leeway)) return refuse("Token expired.");
  } else if (cfg_.require_exp) {
    return refuse("Invalid token: no \"exp\" claim.");
  }
  if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
    if (!nbf->is_number()) return refuse("Invalid token: \"nbf\" must be a number.");
    if (static_cast<double>(now + leeway) < nbf->get<double>()) return refuse("Token is not valid yet (nbf).");
  }
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
  if (auto exp = claims.find("exp"); exp != claims.end())  // a number, checked above
    id.exp = static_cast<std::int64_t>(std::clamp(std::floor(exp->get<double>()), -9.0e15, 9.0e15));
  id.ok = true;
  id.user = sub->get<std::string>();
  return id;
}

std::string Authenticator::issue(const json& claims) const {
  const std::string& key = symmetric() ? cfg_.secret : cfg_.private_key;
  jwt::jwt_object obj{jwt::params::algorithm(cfg_.algorithm), jwt::params::secret(key)};
  for (auto it = claims.begin(); it != claims.end(); ++it) obj.payload().add_claim(it.key(), it.value());
  return obj.signature();
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
