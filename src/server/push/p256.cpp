#include "p256.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

namespace sb::server::push {

struct P256Key::Impl {
  EVP_PKEY* key = nullptr;
  explicit Impl(EVP_PKEY* k) : key(k) {}
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {
constexpr std::size_t kPointBytes = 65, kScalarBytes = 32;

bool is_p256(EVP_PKEY* k) {
  char name[64] = {0};
  return k && EVP_PKEY_base_id(k) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, nullptr) == 1 &&
         std::string_view(name) == "prime256v1";
}

// EVP_PKEY_fromdata over the given parameters; nullptr when OpenSSL refuses them.
EVP_PKEY* from_params(std::string_view point, std::string_view scalar) {
  EVP_PKEY* out = nullptr;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* priv = scalar.empty() ? nullptr
                                : BN_bin2bn(reinterpret_cast<const unsigned char*>(scalar.data()),
                                            static_cast<int>(scalar.size()), nullptr);
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  bool ok = bld && ctx && (scalar.empty() || priv) &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1 &&
            (!priv || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) == 1) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) == 1;
  if (!ok && out) {
    EVP_PKEY_free(out);
    out = nullptr;
  }
  // fromdata checks the encoding, not that the point is on the curve: ask explicitly.
  if (out) {
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, out, nullptr);
    if (!check || EVP_PKEY_public_check(check) != 1) {
      EVP_PKEY_free(out);
      out = nullptr;
    }
    EVP_PKEY_CTX_free(check);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  BN_clear_free(priv);
  OSSL_PARAM_BLD_free(bld);
  return out;
}

std::shared_ptr<const P256Key::Impl> wrap(EVP_PKEY* k) {
  if (!k) return nullptr;
  return std::make_shared<const P256Key::Impl>(k);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s = n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
  BIO_free(bio);
  return s;
}
}  // namespace

P256Key::P256Key() = default;
P256Key::~P256Key() = default;
P256Key::P256Key(const P256Key&) = default;
P256Key& P256Key::operator=(const P256Key&) = default;

P256Key P256Key::generate() {
  P256Key k;
  k.impl_ = wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return k;
}

P256Key P256Key::from_public_raw(std::string_view point) {
  P256Key k;
  if (point.size() == kPointBytes && point[0] == 0x04) k.impl_ = wrap(from_params(point, {}));
  return k;
}

P256Key P256Key::from_raw(std::string_view scalar, std::string_view point) {
  P256Key k;
  if (point.size() == kPointBytes && scalar.size() == kScalarBytes) k.impl_ = wrap(from_params(point, scalar));
  return k;
}

P256Key P256Key::from_private_pem(const std::string& pem) {
  P256Key k;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return k;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!is_p256(key)) {
    EVP_PKEY_free(key);
    return k;
  }
  k.impl_ = wrap(key);
  return k;
}

bool P256Key::has_private() const {
  BIGNUM* d = nullptr;
  bool has = impl_ && EVP_PKEY_get_bn_param(impl_->key, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1;
  BN_clear_free(d);
  return has;
}

std::string P256Key::public_raw() const {
  if (!impl_) return {};
  unsigned char buf[kPointBytes];
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(impl_->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf, &len) != 1 ||
      len != kPointBytes)
    return {};
  return std::string(reinterpret_cast<char*>(buf), len);
}

std::string P256Key::private_pem() const {
  if (!impl_ || !has_private()) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, impl_->key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return {};
  }
  return bio_text(bio);
}

std::string P256Key::public_pem() const {
  if (!impl_) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PUBKEY(bio, impl_->key) != 1) {
    BIO_free(bio);
    return {};
  }
  return bio_text(bio);
}

std::string P256Key::derive(const P256Key& peer) const {
  if (!impl_ || !peer.impl_) return {};
  std::string secret;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->key, nullptr);
  std::size_t len = 0;
  if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer.impl_->key) == 1 &&
      EVP_PKEY_derive(ctx, nullptr, &len) == 1) {
    secret.resize(len);
    if (EVP_PKEY_derive(ctx, reinterpret_cast<unsigned char*>(secret.data()), &len) == 1) secret.resize(len);
    else secret.clear();
  }
  EVP_PKEY_CTX_free(ctx);
  return secret;
}

}  // namespace sb::server::push
