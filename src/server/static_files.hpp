// Static files: the demo page at / and the built npm package at /switchboard/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::server {

struct StaticFile {
  std::string path;  // resolved: symlinks followed, and checked to lie under the root
  std::string content_type;
};

// Maps a request path to a regular file under `root` (after stripping `prefix`). A path ending
// in '/' serves index.html. Refused: parent segments, backslashes, NULs, and anything whose
// resolved path (symlinks followed) is outside the resolved root. The caller streams the file
// (http::file_body), so nothing is read whole per request.
std::optional<StaticFile> resolve_static(const std::string& root, std::string_view prefix, std::string_view path);

std::string_view mime_type(std::string_view path);

}  // namespace sb::server
