// RFC 8291 message encryption for Web Push: the "aes128gcm" content coding of RFC 8188 with keys
// from ECDH (P-256) and HKDF-SHA256 over the subscription's p256dh key and auth secret. One
// record, so the payload must fit in it (at most kMaxPlaintext bytes).
#pragma once
#include <string>
#include <string_view>

#include "p256.hpp"

namespace sb::server::push {

inline constexpr std::size_t kRecordSize = 4096;
// One record holds rs - 16 (tag) - 1 (delimiter) bytes; RFC 8291 §4 asks senders to stay within
// 3993 so that a push service's 4096-byte limit fits the whole body with its 86-byte header.
inline constexpr std::size_t kMaxPlaintext = 3993;

struct EceInput {
  std::string_view plaintext;
  std::string_view ua_public;    // the subscription's p256dh: 65 bytes
  std::string_view auth_secret;  // the subscription's auth: 16 bytes
  // Known-answer tests fix these; otherwise a fresh ephemeral key and a random salt are used.
  const P256Key* as_key = nullptr;
  std::string_view salt;  // 16 bytes
};

// The request body (header || ciphertext), or empty with `error` set.
std::string ece_encrypt(const EceInput& in, std::string& error);

// HKDF-SHA256 (RFC 5869), extract and expand, through OpenSSL's EVP_KDF.
std::string hkdf_sha256(std::string_view salt, std::string_view ikm, std::string_view info, std::size_t length);

}  // namespace sb::server::push
