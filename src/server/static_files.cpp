#include "static_files.hpp"

#include <filesystem>
#include <algorithm>

namespace sb::server {

std::string_view mime_type(std::string_view path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "wasm") return "application/wasm";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "ts") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<StaticFile> resolve_static(const std::string& root, std::string_view prefix, std::string_view path) {
  if (root.empty() || path.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto q = path.find_first_of("?#");
  std::string rel(path.substr(prefix.size(), q == std::string_view::npos ? std::string_view::npos
                                                                           : q - prefix.size()));
  // No parent segments, no backslashes, no NULs: the path must stay under root.
  if (rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos ||
      rel.find('\0') != std::string::npos)
    return std::nullopt;
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  // Resolve both, symlinks included, and require the file to be inside the root: a symlink in
  // the served folder must not publish /etc/passwd.
  std::error_code ec;
  auto base = std::filesystem::canonical(root, ec);
  if (ec) return std::nullopt;
  auto full = std::filesystem::canonical(base / rel, ec);
  if (ec || !std::filesystem::is_regular_file(full, ec)) return std::nullopt;
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end() || f == full.end()) return std::nullopt;
  return StaticFile{full.string(), std::string(mime_type(full.string()))};
}

}  // namespace sb::server
