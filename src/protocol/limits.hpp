// Limits shared by both sides. The server's values are configurable (see docs/operations.md) and
// are announced to the client in the welcome frame; the defaults live here once.
#pragma once
#include <cstddef>
#include <string_view>

namespace sb::protocol {

struct Limits {
  std::size_t max_frame_bytes = 64 * 1024;  // one incoming WebSocket message
  int max_depth = 32;                       // JSON nesting of a frame, payload included
  std::size_t max_name_bytes = 128;         // group names and user ids
  std::size_t max_notification_bytes = 3 * 1024;
};

// Group names and user ids: 1..max bytes of UTF-8 (the JSON parser has already checked the
// encoding), no control characters. Anything else printable is allowed, so existing Skapi apps
// keep their names.
inline bool valid_name(std::string_view s, std::size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace sb::protocol
