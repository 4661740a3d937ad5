// RFC 8292 VAPID: the server's P-256 key pair, persisted in a PEM file (made on first start), and
// the Authorization header for a push request: "vapid t=<ES256 JWT with aud, exp, sub>, k=<key>".
// The JWT is signed by jwt::Key, the same ES256 JOSE code that verifies client tokens.
#pragma once
#include <chrono>
#include <string>

#include "../jwt.hpp"
#include "p256.hpp"

namespace sb::server::push {

class Vapid {
 public:
  // Reads the key from `path`, or makes one and writes it there (mode 0600) when the file does
  // not exist. Empty `path`: a fresh key in memory only. False with `error` on failure.
  bool load_or_create(const std::string& path, const std::string& subject, std::string& error);
  // Uses the P-256 private key in `pem` (the cluster's shared key, docs/scaling.md).
  bool use_pem(const std::string& pem, const std::string& subject, std::string& error);
  // Uses this key pair (tests).
  bool use(const P256Key& key, const std::string& subject, std::string& error);

  // The public key as browsers take it (applicationServerKey): base64url of the 65-byte point.
  const std::string& public_key() const { return public_b64_; }
  // The Authorization header value for a request to `endpoint` (its origin is the JWT's aud).
  // Empty when the endpoint has no origin.
  std::string authorization(const std::string& endpoint, std::chrono::system_clock::time_point now) const;

  // "https://host[:port]" of an absolute https URL, or empty.
  static std::string origin_of(const std::string& url);

 private:
  P256Key key_;
  jwt::Key signer_;
  std::string public_b64_, subject_;
};

}  // namespace sb::server::push
