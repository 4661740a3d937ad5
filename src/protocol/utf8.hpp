// UTF-8 checks for bytes that did not come through a JSON parser (URLs, headers, token claims
// on the way to JSON), and cutting text without splitting a character.
#pragma once
#include <cstddef>
#include <string_view>

namespace sb::protocol {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when there is none.
constexpr std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c == 0xE0) lo = 0xA0;
  else if (c == 0xED) hi = 0x9F;       // no surrogates
  else if (c == 0xF0) lo = 0x90;
  else if (c == 0xF4) hi = 0x8F;       // nothing above U+10FFFF
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

constexpr bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// The longest prefix of valid UTF-8 `s` that is at most `max_bytes` long and ends on a character
// boundary (a WebSocket close reason is at most 123 bytes, and must stay valid UTF-8).
constexpr std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace sb::protocol
