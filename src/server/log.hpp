// Structured logs: one logfmt line per event on stderr,
//   ts=2024-05-01T12:00:00.123Z level=info event=conn_open cid=cid:… user=alice
// Never log tokens or message bodies: callers pass ids, codes and counts only.
#pragma once
#include <atomic>
#include <string>
#include <string_view>

namespace sb::server::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

// "debug", "info", "warn", "error", "off"; false for anything else.
bool parse_level(std::string_view name, Level& out);
void set_level(Level level);
bool enabled(Level level);

// Builds one line and writes it (in one write) when it goes out of scope.
class Line {
 public:
  Line(Level level, std::string_view event);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, long long value);
  Line& kv(std::string_view key, unsigned long long value);
  Line& kv(std::string_view key, int value) { return kv(key, static_cast<long long>(value)); }
  Line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<unsigned long long>(value)); }
  Line& kv(std::string_view key, unsigned long value) { return kv(key, static_cast<unsigned long long>(value)); }
  Line& kv(std::string_view key, long value) { return kv(key, static_cast<long long>(value)); }
  Line& kv(std::string_view key, bool value) { return kv(key, value ? "true" : "false"); }

 private:
  bool on_;
  std::string text_;
};

inline Line debug(std::string_view event) { return Line(Level::Debug, event); }
inline Line info(std::string_view event) { return Line(Level::Info, event); }
inline Line warn(std::string_view event) { return Line(Level::Warn, event); }
inline Line error(std::string_view event) { return Line(Level::Error, event); }

}  // namespace sb::server::log
