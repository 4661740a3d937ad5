#include "json_text.hpp"

#include "utf8.hpp"

#include <charconv>

#include "frames.hpp"

namespace sb::protocol::json_text {

namespace {
constexpr std::size_t npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char h) { return is_digit(h) || ((h | 0x20) >= 'a' && (h | 0x20) <= 'f'); }

unsigned hex4(std::string_view s) {
  unsigned v = 0;
  for (char h : s) v = v * 16 + (is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
  return v;
}

// The code unit of `\uXXXX` at s[pos] == '\\', or -1 when it is not one.
long escaped_unit(std::string_view s, std::size_t pos) {
  if (pos + 6 > s.size() || s[pos] != '\\' || s[pos + 1] != 'u') return -1;
  for (std::size_t i = pos + 2; i < pos + 6; ++i)
    if (!is_hex(s[i])) return -1;
  return static_cast<long>(hex4(s.substr(pos + 2, 4)));
}

// Past a string literal starting at s[pos] == '"', or npos. Raw control characters, bad escapes
// unpaired surrogates and invalid UTF-8 (which nlohmann refuses too) are refused.
std::size_t skip_string(std::string_view s, std::size_t pos) {
  for (++pos; pos < s.size(); ++pos) {
    auto c = static_cast<unsigned char>(s[pos]);
    if (c == '"') return pos + 1;
    if (c < 0x20) return npos;
    if (c >= 0x80) {  // a multi-byte character: whole and well-formed, or the text is not JSON
      std::size_t n = utf8_sequence(s, pos);
      if (n == 0) return npos;
      pos += n - 1;
      continue;
    }
    if (c != '\\') continue;
    if (pos + 1 >= s.size()) return npos;
    switch (s[pos + 1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': ++pos; break;
      case 'u': {
        long u = escaped_unit(s, pos);
        if (u < 0 || (u >= 0xDC00 && u < 0xE000)) return npos;
        pos += 5;
        if (u >= 0xD800 && u < 0xDC00) {  // a high surrogate: a low one must follow
          long lo = escaped_unit(s, pos + 1);
          if (lo < 0xDC00 || lo >= 0xE000) return npos;
          pos += 6;
        }
        break;
      }
      default: return npos;
    }
  }
  return npos;
}

std::size_t skip_digits(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_digit(s[pos])) ++pos;
  return pos;
}

double to_double(std::string_view v);

// Past a number, or npos; like nlohmann, one too large for a double is refused.
std::size_t skip_number(std::string_view s, std::size_t pos) {
  std::size_t start = pos;
  if (pos < s.size() && s[pos] == '-') ++pos;
  if (pos >= s.size() || !is_digit(s[pos])) return npos;
  pos = s[pos] == '0' ? pos + 1 : skip_digits(s, pos);
  if (pos < s.size() && s[pos] == '.') {
    std::size_t d = skip_digits(s, pos + 1);
    if (d == pos + 1) return npos;
    pos = d;
  }
  if (pos < s.size() && (s[pos] | 0x20) == 'e') {
    ++pos;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
    std::size_t d = skip_digits(s, pos);
    if (d == pos) return npos;
    pos = d;
  }
  if (pos - start > 300 || s.substr(start, pos - start).find_first_of("eE") != std::string_view::npos) {
    double x = to_double(s.substr(start, pos - start));
    if (x - x != 0) return npos;  // inf
  }
  return pos;
}

// The value of a checked number literal. Enough precision for timeouts and counts; no strtod
// (it would pull long-double formatting code into the wasm module).
double to_double(std::string_view v) {
  std::size_t i = 0;
  bool neg = v[0] == '-';
  if (neg) ++i;
  double x = 0;
  for (; i < v.size() && is_digit(v[i]); ++i) x = x * 10 + (v[i] - '0');
  if (i < v.size() && v[i] == '.')
    for (double scale = 0.1; ++i < v.size() && is_digit(v[i]); scale /= 10) x += (v[i] - '0') * scale;
  if (i < v.size()) {  // exponent
    ++i;
    bool eneg = v[i] == '-';
    if (v[i] == '-' || v[i] == '+') ++i;
    int e = 0;
    for (; i < v.size(); ++i) e = e < 10000 ? e * 10 + (v[i] - '0') : e;
    for (; e > 0 && x != 0 && x - x == 0; --e) x = eneg ? x / 10 : x * 10;
  }
  return neg ? -x : x;
}

std::size_t skip_literal(std::string_view s, std::size_t pos, std::string_view word) {
  return s.compare(pos, word.size(), word) == 0 ? pos + word.size() : npos;
}

std::size_t skip_at(std::string_view s, std::size_t pos, int depth);

// Past the object or array whose opening bracket is at pos.
std::size_t skip_container(std::string_view s, std::size_t pos, int depth) {
  if (depth >= kMaxDepth) return npos;
  bool object = s[pos] == '{';
  char close = object ? '}' : ']';
  pos = skip_ws(s, pos + 1);
  if (pos < s.size() && s[pos] == close) return pos + 1;
  while (true) {
    if (object) {
      if (pos >= s.size() || s[pos] != '"' || (pos = skip_string(s, pos)) == npos) return npos;
      pos = skip_ws(s, pos);
      if (pos >= s.size() || s[pos] != ':') return npos;
      pos = skip_ws(s, pos + 1);
    }
    if ((pos = skip_at(s, pos, depth + 1)) == npos) return npos;
    pos = skip_ws(s, pos);
    if (pos >= s.size()) return npos;
    if (s[pos] == close) return pos + 1;
    if (s[pos] != ',') return npos;
    pos = skip_ws(s, pos + 1);
  }
}

// Past the value starting exactly at pos.
std::size_t skip_at(std::string_view s, std::size_t pos, int depth) {
  if (pos >= s.size()) return npos;
  switch (s[pos]) {
    case '{': case '[': return skip_container(s, pos, depth);
    case '"': return skip_string(s, pos);
    case 't': return skip_literal(s, pos, "true");
    case 'f': return skip_literal(s, pos, "false");
    case 'n': return skip_literal(s, pos, "null");
    default: return skip_number(s, pos);
  }
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the checked literal `v` (quotes included; surrogates come in pairs).
void decode_string(std::string_view v, std::string& out) {
  out.clear();
  for (std::size_t i = 1; i + 1 < v.size(); ++i) {
    char c = v[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    switch (v[++i]) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        unsigned cp = hex4(v.substr(i + 1, 4));
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(v.substr(i + 3, 4)) - 0xDC00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(v[i]);  // " \ /
    }
  }
}
}  // namespace

std::size_t skip_ws(std::string_view s, std::size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) ++pos;
  return pos;
}

std::size_t skip_value(std::string_view s, std::size_t pos) { return skip_at(s, skip_ws(s, pos), 0); }

bool valid(std::string_view text) {
  std::size_t end = skip_value(text, 0);
  return end != npos && skip_ws(text, end) == text.size();
}

ObjectReader::ObjectReader(std::string_view text) : s_(text) {
  pos_ = skip_ws(s_, 0);
  if (pos_ >= s_.size() || s_[pos_] != '{') ok_ = false, done_ = true;
  else pos_ = skip_ws(s_, pos_ + 1);
}

bool ObjectReader::next(std::string_view& key, std::string_view& value) {
  if (done_) return false;
  auto fail = [this] { return ok_ = false, done_ = true, false; };
  if (pos_ < s_.size() && s_[pos_] == '}' && first_) {  // {}
    done_ = true;
    ok_ = skip_ws(s_, pos_ + 1) == s_.size();
    return false;
  }
  first_ = false;
  if (pos_ >= s_.size() || s_[pos_] != '"') return fail();
  std::size_t kend = skip_string(s_, pos_);
  if (kend == npos) return fail();
  key = s_.substr(pos_ + 1, kend - pos_ - 2);
  if (key.find('\\') != std::string_view::npos) {
    decode_string(s_.substr(pos_, kend - pos_), key_);
    key = key_;
  }
  pos_ = skip_ws(s_, kend);
  if (pos_ >= s_.size() || s_[pos_] != ':') return fail();
  std::size_t vstart = skip_ws(s_, pos_ + 1);
  std::size_t vend = skip_at(s_, vstart, 1);
  if (vend == npos) return fail();
  value = s_.substr(vstart, vend - vstart);
  pos_ = skip_ws(s_, vend);
  if (pos_ < s_.size() && s_[pos_] == ',') {
    pos_ = skip_ws(s_, pos_ + 1);
    if (pos_ < s_.size() && s_[pos_] == '}') return fail();  // a trailing comma
  } else if (pos_ < s_.size() && s_[pos_] == '}') {
    done_ = true;
    if (skip_ws(s_, pos_ + 1) != s_.size()) return fail();
  } else {
    return fail();
  }
  return true;
}

std::string_view member(std::string_view obj, std::string_view key) {
  ObjectReader r(obj);
  std::string_view k, v, found;
  while (r.next(k, v))
    if (k == key) found = v;
  return r.ok() ? found : std::string_view();
}

bool is_integer(std::string_view v) {
  return is_number(v) && v.find_first_of(".eE") == std::string_view::npos;
}

bool truthy(std::string_view v) {
  if (v.empty() || v == "false" || v == "null" || v == "\"\"") return false;
  if (is_number(v)) {
    double d = 0;
    return get_number(v, d) && d != 0;
  }
  return true;
}

bool get_string(std::string_view v, std::string& out) {
  return is_string(v) && skip_string(v, 0) == v.size() && get_checked_string(v, out);
}

bool get_checked_string(std::string_view v, std::string& out) {
  if (!is_string(v)) return false;
  if (v.find('\\') == std::string_view::npos) out.assign(v.substr(1, v.size() - 2));
  else decode_string(v, out);
  return true;
}

bool get_int(std::string_view v, long long& out) {
  if (!is_integer(v)) return false;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size();
}

bool get_number(std::string_view v, double& out) {
  if (v.empty() || skip_number(v, 0) != v.size()) return false;
  out = to_double(v);
  return true;
}

void append_members(std::string& out, std::string_view obj, std::initializer_list<std::string_view> skip) {
  ObjectReader r(obj);
  std::string_view k, v;
  while (r.next(k, v)) {
    bool keep = true;
    for (auto s : skip) keep = keep && k != s;
    if (!keep) continue;
    out.push_back(',');
    append_json_string(out, k);
    out.push_back(':');
    append_compact_json(out, v);
  }
}

}  // namespace sb::protocol::json_text
