// P-256 keys for Web Push (RFC 8291 message encryption, RFC 8292 VAPID), on OpenSSL alone:
// generation, the raw uncompressed point form browsers use (65 bytes, 0x04 || x || y), PEM for
// the key file, and ECDH.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace sb::server::push {

class P256Key {
 public:
  P256Key();
  ~P256Key();
  P256Key(const P256Key&);
  P256Key& operator=(const P256Key&);

  static P256Key generate();  // a fresh key pair; !valid() if OpenSSL failed
  // A public key from its 65-byte uncompressed point; !valid() when it is not a point on P-256.
  static P256Key from_public_raw(std::string_view point);
  // A key pair from the 32-byte private scalar and its 65-byte public point (known-answer tests).
  static P256Key from_raw(std::string_view private_scalar, std::string_view public_point);
  // A key pair from PEM text (PKCS#8 or SEC1 private key); !valid() when it is not a P-256 key.
  static P256Key from_private_pem(const std::string& pem);

  bool valid() const { return impl_ != nullptr; }
  bool has_private() const;
  std::string public_raw() const;   // 65 bytes
  std::string private_pem() const;  // PKCS#8 PEM; empty without a private key
  std::string public_pem() const;   // SubjectPublicKeyInfo PEM
  // ECDH with a peer's public key: the 32-byte shared x coordinate, or empty on failure.
  std::string derive(const P256Key& peer) const;

 struct Impl;  // the EVP_PKEY, opaque here

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sb::server::push
