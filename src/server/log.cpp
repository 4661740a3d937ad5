#include "log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sb::server::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};

const char* name_of(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    case Level::Off: return "off";
  }
  return "info";
}

// logfmt value: bare when it is plain, else quoted with \" \\ and control characters escaped.
void append_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      plain = false;
      break;
    }
  if (plain) {
    out += v;
    return;
  }
  out.push_back('"');
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}
}  // namespace

bool parse_level(std::string_view name, Level& out) {
  for (Level l : {Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Off})
    if (name == name_of(l)) {
      out = l;
      return true;
    }
  return false;
}

void set_level(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool enabled(Level level) {
  return level != Level::Off && static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

Line::Line(Level level, std::string_view event) : on_(enabled(level)) {
  if (!on_) return;
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  text_.reserve(160);
  text_ += "ts=";
  text_ += ts;
  text_ += " level=";
  text_ += name_of(level);
  text_ += " event=";
  append_value(text_, event);
}

Line& Line::kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  text_.push_back(' ');
  text_ += key;
  text_.push_back('=');
  append_value(text_, value);
  return *this;
}

Line& Line::kv(std::string_view key, long long value) { return on_ ? kv(key, std::to_string(value)) : *this; }
Line& Line::kv(std::string_view key, unsigned long long value) { return on_ ? kv(key, std::to_string(value)) : *this; }

Line::~Line() {
  if (!on_) return;
  text_.push_back('\n');
  // One write(2) per line, so lines from different threads do not interleave.
  const char* p = text_.data();
  std::size_t left = text_.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace sb::server::log
