// Shared by the fuzz targets: a check that survives NDEBUG and that libFuzzer records as a crash
// (abort), and the line splitting that keeps multi-field seeds readable text files.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define SB_FUZZ_CHECK(cond, what)                                                          \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fuzz check failed: %s\n  (%s) at %s:%d\n", what, #cond, __FILE__, \
                   __LINE__);                                                              \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace sb::fuzz {

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the text before the next '\n' off the front of `in` (the '\n' is dropped); all of `in`
// when there is none. Missing fields come out empty.
inline std::string_view take_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

}  // namespace sb::fuzz
