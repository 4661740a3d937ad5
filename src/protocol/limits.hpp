// Limits shared by both sides. The server's values are configurable (see docs/operations.md) and
// are announced to the client in the welcome frame; the defaults live here once.
#pragma once
#include <cstddef>
#include <string_view>

#include "utf8.hpp"

namespace sb::protocol {

struct Limits {
  std::size_t max_frame_bytes = 64 * 1024;  // one incoming WebSocket message
  int max_depth = 32;                       // JSON nesting of a frame, payload included
  std::size_t max_name_bytes = 128;         // group names and user ids
  std::size_t max_notification_bytes = 3 * 1024;
};

// Group names and user ids: 1..max bytes of valid UTF-8, no control characters. Anything else
// printable is allowed, so existing Skapi apps keep their names. The encoding is checked here
// too, because names also arrive through URLs and tokens, not only through the JSON parser.
inline bool valid_name(std::string_view s, std::size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return valid_utf8(s);
}

}  // namespace sb::protocol
