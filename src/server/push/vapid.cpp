#include "vapid.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "../auth.hpp"
#include "../private_file.hpp"

namespace sb::server::push {


bool Vapid::load_or_create(const std::string& path, const std::string& subject, std::string& error) {
  if (path.empty()) return use(P256Key::generate(), subject, error);
  std::string pem;
  if (!read_file(path, pem)) {
    P256Key fresh = P256Key::generate();
    if (!fresh.valid()) return error = "cannot make a VAPID key", false;
    // Exists: another server made it meanwhile; its key is read below.
    if (write_new_private_file(path, fresh.private_pem()) == NewFile::Failed)
      return error = "cannot write the VAPID key file " + path, false;
    if (!read_file(path, pem)) return error = "cannot read " + path, false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return error = path + " is readable by others: chmod 600 it", false;
  if (!use_pem(pem, subject, error)) return error = path + ": " + error, false;
  return true;
}

bool Vapid::use_pem(const std::string& pem, const std::string& subject, std::string& error) {
  P256Key key = P256Key::from_private_pem(pem);
  if (!key.valid() || !key.has_private()) return error = "not a P-256 private key (PEM)", false;
  return use(key, subject, error);
}

bool Vapid::use(const P256Key& key, const std::string& subject, std::string& error) {
  if (!key.valid() || !key.has_private()) return error = "no VAPID key", false;
  std::string problem = jwt::Key::load("ES256", "", key.public_pem(), key.private_pem(), signer_);
  if (!problem.empty()) return error = "VAPID key: " + problem, false;
  key_ = key;
  subject_ = subject;
  public_b64_ = jwt::base64url_encode(key.public_raw());
  return true;
}

std::string Vapid::origin_of(const std::string& url) {
  static constexpr std::string_view kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return {};
  auto end = url.find_first_of("/?#", kScheme.size());
  std::string authority = url.substr(kScheme.size(), end == std::string::npos ? std::string::npos : end - kScheme.size());
  if (authority.empty() || authority.find('@') != std::string::npos) return {};
  return std::string(kScheme) + authority;
}

std::string Vapid::authorization(const std::string& endpoint, std::chrono::system_clock::time_point now) const {
  std::string aud = origin_of(endpoint);
  if (aud.empty()) return {};
  // RFC 8292 §2: exp at most 24 hours ahead; 12 leaves room for clock skew at the push service.
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 12 * 3600;
  nlohmann::json claims = {{"aud", aud}, {"exp", exp}, {"sub", subject_}};
  std::string input = jwt::base64url_encode(R"({"typ":"JWT","alg":"ES256"})") + "." +
                      jwt::base64url_encode(claims.dump());
  std::string sig = signer_.sign(input);
  if (sig.empty()) return {};
  return "vapid t=" + input + "." + jwt::base64url_encode(sig) + ", k=" + public_b64_;
}

}  // namespace sb::server::push
