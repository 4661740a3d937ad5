#include "jwt.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

namespace sb::server::jwt {

namespace {
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey read_pem(const std::string& pem, bool is_private) {
  if (pem.empty()) return nullptr;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return nullptr;
  EVP_PKEY* k = is_private ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                           : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return Pkey(k);
}

constexpr std::size_t kEs256Half = 32;  // P-256: r and s are 32 bytes each in the JOSE form
}  // namespace

struct Key::Impl {
  const EVP_MD* md = nullptr;
  bool hmac = false;
  bool ecdsa = false;
  std::string secret;
  Pkey public_key, private_key;
};

Key::Key() = default;
Key::~Key() = default;
Key::Key(const Key&) = default;
Key& Key::operator=(const Key&) = default;

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 == 1) return false;
  out.reserve(in.size() * 3 / 4);
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
    buf = ((buf << 6) | static_cast<unsigned>(v)) & 0xffffu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  // The bits left over must be zero, so that one value has exactly one encoding.
  return (buf & ((1u << bits) - 1)) == 0;
}

std::string base64url_encode(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = ((buf << 8) | c) & 0xffffu;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(tbl[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(tbl[(buf << (6 - bits)) & 63]);
  return out;
}

std::string Key::load(const std::string& algorithm, const std::string& secret, const std::string& public_pem,
                      const std::string& private_pem, Key& out) {
  auto impl = std::make_shared<Impl>();
  if (algorithm == "HS256") impl->md = EVP_sha256();
  else if (algorithm == "HS384") impl->md = EVP_sha384();
  else if (algorithm == "HS512") impl->md = EVP_sha512();
  else if (algorithm == "RS256" || algorithm == "ES256") impl->md = EVP_sha256();
  else return "unknown JWT algorithm \"" + algorithm + "\" (use HS256, HS384, HS512, RS256 or ES256)";
  out.algorithm_ = algorithm;
  if (algorithm[0] == 'H') {
    if (secret.empty()) return algorithm + " needs a secret (--jwt-secret)";
    impl->hmac = true;
    impl->secret = secret;
    out.impl_ = std::move(impl);
    return {};
  }
  const int want = algorithm == "RS256" ? EVP_PKEY_RSA : EVP_PKEY_EC;
  const char* want_name = want == EVP_PKEY_RSA ? "an RSA" : "an EC (P-256)";
  impl->ecdsa = want == EVP_PKEY_EC;
  if (public_pem.empty()) return algorithm + " needs a public key (--jwt-public-key)";
  impl->public_key = read_pem(public_pem, false);
  if (!impl->public_key) return "the JWT public key is not a PEM public key";
  if (EVP_PKEY_base_id(impl->public_key.get()) != want) return algorithm + " needs " + want_name + " public key";
  if (impl->ecdsa && EVP_PKEY_get_bits(impl->public_key.get()) != 256) return "ES256 needs a P-256 key";
  if (!private_pem.empty()) {
    impl->private_key = read_pem(private_pem, true);
    if (!impl->private_key) return "the JWT private key is not a PEM private key";
    if (EVP_PKEY_base_id(impl->private_key.get()) != want) return algorithm + " needs " + want_name + " private key";
  }
  out.impl_ = std::move(impl);
  return {};
}

bool Key::can_sign() const { return impl_ && (impl_->hmac || impl_->private_key); }

namespace {
std::string hmac(const EVP_MD* md, const std::string& secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), mac, &len))
    return {};
  return std::string(reinterpret_cast<char*>(mac), len);
}

// JOSE's ES256 signature is r||s, 32 bytes each; OpenSSL speaks DER.
std::string jose_to_der(std::string_view sig) {
  if (sig.size() != 2 * kEs256Half) return {};
  ECDSA_SIG* s = ECDSA_SIG_new();
  if (!s) return {};
  auto* bytes = reinterpret_cast<const unsigned char*>(sig.data());
  BIGNUM* r = BN_bin2bn(bytes, kEs256Half, nullptr);
  BIGNUM* ss = BN_bin2bn(bytes + kEs256Half, kEs256Half, nullptr);
  std::string der;
  if (r && ss && ECDSA_SIG_set0(s, r, ss)) {
    unsigned char* out = nullptr;
    int n = i2d_ECDSA_SIG(s, &out);
    if (n > 0) der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
  } else {
    BN_free(r);
    BN_free(ss);
  }
  ECDSA_SIG_free(s);
  return der;
}

std::string der_to_jose(const std::string& der) {
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!s) return {};
  std::string out(2 * kEs256Half, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(s), o, kEs256Half) == kEs256Half &&
            BN_bn2binpad(ECDSA_SIG_get0_s(s), o + kEs256Half, kEs256Half) == kEs256Half;
  ECDSA_SIG_free(s);
  return ok ? out : std::string();
}
}  // namespace

bool Key::verify(std::string_view signing_input, std::string_view signature) const {
  if (!impl_ || signature.empty()) return false;
  if (impl_->hmac) {
    std::string mac = hmac(impl_->md, impl_->secret, signing_input);
    return !mac.empty() && mac.size() == signature.size() &&
           CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
  }
  std::string der;
  if (impl_->ecdsa) {
    der = jose_to_der(signature);
    if (der.empty()) return false;
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, impl_->md, nullptr, impl_->public_key.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string Key::sign(std::string_view signing_input) const {
  if (!can_sign()) return {};
  if (impl_->hmac) return hmac(impl_->md, impl_->secret, signing_input);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return {};
  std::string sig;
  std::size_t len = 0;
  auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSignInit(ctx, nullptr, impl_->md, nullptr, impl_->private_key.get()) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, data, signing_input.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data, signing_input.size()) == 1)
      sig.resize(len);
    else
      sig.clear();
  }
  EVP_MD_CTX_free(ctx);
  return impl_->ecdsa && !sig.empty() ? der_to_jose(sig) : sig;
}

}  // namespace sb::server::jwt
