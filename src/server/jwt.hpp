// JSON Web Signatures for the algorithms the server accepts (HS256/384/512, RS256, ES256), on
// OpenSSL alone. Only the cryptography lives here: auth.cpp decides what a token means. The
// signature is always checked over the exact bytes received, before anything in them is read.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace sb::server::jwt {

// Strict base64url (RFC 7515 §2: no padding, no other characters, no non-zero trailing bits).
bool base64url_decode(std::string_view in, std::string& out);
std::string base64url_encode(std::string_view in);

// One algorithm with its key. A PEM public key verifies (RS256/ES256); a PEM private key also
// signs; an HS* secret does both.
class Key {
 public:
  // The empty string, or why this algorithm and key cannot be used.
  static std::string load(const std::string& algorithm, const std::string& secret, const std::string& public_pem,
                          const std::string& private_pem, Key& out);
  Key();
  ~Key();
  Key(const Key&);
  Key& operator=(const Key&);

  // `signing_input` is "<header>.<payload>" as received; `signature` the decoded third part.
  // HMACs compare in constant time; RS/ES go through EVP_DigestVerify.
  bool verify(std::string_view signing_input, std::string_view signature) const;
  // The raw signature (for ES256 the JOSE form r||s), or empty when this key cannot sign.
  std::string sign(std::string_view signing_input) const;
  bool can_sign() const;
  const std::string& algorithm() const { return algorithm_; }

 private:
  struct Impl;
  std::string algorithm_;
  std::shared_ptr<const Impl> impl_;  // immutable once loaded: shared by copies and threads
};

}  // namespace sb::server::jwt
