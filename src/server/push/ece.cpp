#include "ece.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace sb::server::push {

std::string hkdf_sha256(std::string_view salt, std::string_view ikm, std::string_view info, std::size_t length) {
  std::string out(length, '\0');
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  bool ok = ctx && EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), length, params) == 1;
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return ok ? out : std::string();
}

namespace {
std::string aes128gcm_seal(std::string_view key, std::string_view nonce, std::string_view plain) {
  std::string out(plain.size() + 16, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, o + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + plain.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? out : std::string();
}

std::string with_nul(std::string_view label) { return std::string(label) + '\0'; }
}  // namespace

std::string ece_encrypt(const EceInput& in, std::string& error) {
  if (in.plaintext.size() > kMaxPlaintext) return error = "payload too large for one push record", std::string();
  if (in.auth_secret.size() != 16) return error = "auth secret must be 16 bytes", std::string();
  P256Key ua = P256Key::from_public_raw(in.ua_public);
  if (!ua.valid()) return error = "p256dh is not a P-256 public key", std::string();
  P256Key ephemeral = in.as_key ? *in.as_key : P256Key::generate();
  std::string salt(in.salt);
  if (salt.empty()) {
    salt.resize(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) return error = "RAND_bytes failed", std::string();
  }
  if (salt.size() != 16) return error = "salt must be 16 bytes", std::string();
  const std::string as_public = ephemeral.public_raw();
  const std::string ecdh = ephemeral.derive(ua);
  if (as_public.empty() || ecdh.empty()) return error = "ECDH failed", std::string();

  // RFC 8291 §3.4: IKM from the ECDH secret and the auth secret, bound to both public keys.
  std::string key_info = with_nul("WebPush: info") + std::string(in.ua_public) + as_public;
  std::string ikm = hkdf_sha256(in.auth_secret, ecdh, key_info, 32);
  // RFC 8188 §2.2-2.3: the content key and nonce from the salt.
  std::string cek = hkdf_sha256(salt, ikm, with_nul("Content-Encoding: aes128gcm"), 16);
  std::string nonce = hkdf_sha256(salt, ikm, with_nul("Content-Encoding: nonce"), 12);
  if (ikm.empty() || cek.empty() || nonce.empty()) return error = "HKDF failed", std::string();

  std::string padded(in.plaintext);
  padded += '\x02';  // delimiter of the last (only) record, no padding
  std::string sealed = aes128gcm_seal(cek, nonce, padded);
  if (sealed.empty()) return error = "AES-128-GCM failed", std::string();

  // RFC 8188 §2.1 header: salt, record size (uint32 big endian), key id length, key id.
  std::string body = salt;
  for (int shift = 24; shift >= 0; shift -= 8) body += static_cast<char>((kRecordSize >> shift) & 0xff);
  body += static_cast<char>(as_public.size());
  body += as_public;
  body += sealed;
  return body;
}

}  // namespace sb::server::push
