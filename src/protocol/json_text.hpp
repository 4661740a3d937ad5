// A small JSON reader that builds no tree: it validates and skips values, walks an object's
// members as raw text, and decodes the few scalars the client needs. The client core reads every
// server frame with it, so the wasm module carries no general JSON library (nlohmann/json stays
// on the server). Writing is append_json_string / append_compact_json (frames.hpp).
#pragma once
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sb::protocol::json_text {

// Deeper nesting than this is refused, so a hostile text cannot exhaust the stack.
inline constexpr int kMaxDepth = 256;

// Skips whitespace from `pos`; returns the position of the next other character (or size).
std::size_t skip_ws(std::string_view s, std::size_t pos);
// Checks the one JSON value that starts at `pos` (after whitespace) and returns the position just
// past it, or npos when it is not valid JSON.
std::size_t skip_value(std::string_view s, std::size_t pos);
// True when `text` is exactly one JSON value, with optional whitespace around it.
bool valid(std::string_view text);

// The members of a JSON object, in order, each key decoded and each value as its raw text:
//   ObjectReader r(text); std::string_view k, v; while (r.next(k, v)) ...; if (!r.ok()) ...
// Every value is checked as it is passed. A key stays valid until the next call.
class ObjectReader {
 public:
  explicit ObjectReader(std::string_view text);
  bool next(std::string_view& key, std::string_view& value);
  bool ok() const { return ok_; }  // after next() returned false: the whole object was valid

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  bool ok_ = true, done_ = false, first_ = true;
  std::string key_;  // a key that needed unescaping
};

// The raw value of member `key` of object `obj` (the last one, as a parser building a tree would
// keep), or an empty view when `obj` is not a valid object or has no such member.
std::string_view member(std::string_view obj, std::string_view key);

// Kinds of a raw value (as returned by ObjectReader / member(); no surrounding whitespace).
inline bool is_object(std::string_view v) { return !v.empty() && v.front() == '{'; }
inline bool is_array(std::string_view v) { return !v.empty() && v.front() == '['; }
inline bool is_string(std::string_view v) { return !v.empty() && v.front() == '"'; }
inline bool is_null(std::string_view v) { return v == "null"; }
inline bool is_number(std::string_view v) { return !v.empty() && (v.front() == '-' || (v.front() >= '0' && v.front() <= '9')); }
// An integer literal (no fraction, no exponent), as nlohmann's is_number_integer.
bool is_integer(std::string_view v);
// JavaScript's truthiness of the value (`!!value`).
bool truthy(std::string_view v);

// Decoders; false when the value is not of that kind (or out of range).
bool get_string(std::string_view v, std::string& out);
// get_string for a value that ObjectReader or member() returned (already checked): no second scan.
bool get_checked_string(std::string_view v, std::string& out);
bool get_int(std::string_view v, long long& out);  // integer literals only
bool get_number(std::string_view v, double& out);

}  // namespace sb::protocol::json_text

namespace sb::protocol::json_text {

// Appends the members of the JSON object `obj` to `out`, each as `,"key":value` with the value
// compacted, leaving out the keys in `skip`. `obj` must be a valid object (`valid()`).
void append_members(std::string& out, std::string_view obj, std::initializer_list<std::string_view> skip = {});

}  // namespace sb::protocol::json_text
