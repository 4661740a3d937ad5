#include "private_file.hpp"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sb::server {

NewFile write_new_private_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  if (auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir, ec);
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                 ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  bool linked = written && ::link(tmp.c_str(), path.c_str()) == 0;
  bool exists = !linked && errno == EEXIST;
  ::unlink(tmp.c_str());
  return linked ? NewFile::Written : exists ? NewFile::Exists : NewFile::Failed;
}

}  // namespace sb::server
