#include "vapid.hpp"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../auth.hpp"

namespace sb::server::push {

namespace {
// Written whole to a temporary file, then linked into place: two servers starting at once with
// the same file end up with the first one's key.
bool write_new_file(const std::string& path, const std::string& text, std::string& error) {
  std::error_code ec;
  if (auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir, ec);
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                 ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  bool linked = written && ::link(tmp.c_str(), path.c_str()) == 0;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked || (written && link_errno == EEXIST)) return true;  // EEXIST: the other server's key is read back
  error = "cannot write the VAPID key file " + path;
  return false;
}
}  // namespace

bool Vapid::load_or_create(const std::string& path, const std::string& subject, std::string& error) {
  if (path.empty()) return use(P256Key::generate(), subject, error);
  std::string pem;
  if (!read_file(path, pem)) {
    P256Key fresh = P256Key::generate();
    if (!fresh.valid() || !write_new_file(path, fresh.private_pem(), error)) {
      if (error.empty()) error = "cannot make a VAPID key";
      return false;
    }
    if (!read_file(path, pem)) return error = "cannot read " + path, false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return error = path + " is readable by others: chmod 600 it", false;
  P256Key key = P256Key::from_private_pem(pem);
  if (!key.valid() || !key.has_private()) return error = path + " does not hold a P-256 private key (PEM)", false;
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
