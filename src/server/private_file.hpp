// Files holding secrets the server makes on first start (the dev secret, the VAPID key).
#pragma once
#include <string>

namespace sb::server {

enum class NewFile { Written, Exists, Failed };

// Creates `path` (and its folder) holding `text`, mode 0600, unless it exists. Written whole to a
// temporary file, then linked into place (link fails if the name exists): two servers starting
// at once end up sharing the first one's file (Exists: read it back).
NewFile write_new_private_file(const std::string& path, const std::string& text);

}  // namespace sb::server
