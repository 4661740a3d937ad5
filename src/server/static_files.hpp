// Static files: the demo page at / and the built npm package at /switchboard/.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb::server {

struct StaticFile {
  std::string body;
  std::string content_type;
};

// Maps a request path to a file under `root` (after stripping `prefix`), refusing any path that
// would escape it. A path ending in '/' serves index.html.
std::optional<StaticFile> load_static(const std::string& root, std::string_view prefix,
                                      std::string_view path);

std::string_view mime_type(std::string_view path);

}  // namespace sb::server
