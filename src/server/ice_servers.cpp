#include "ice_servers.hpp"

#include <nlohmann/json.hpp>

namespace sb::server {

using nlohmann::json;

namespace {
bool ice_url(const json& u) {
  if (!u.is_string()) return false;
  const std::string& s = u.get_ref<const std::string&>();
  if (s.size() > 1024) return false;
  for (const char* scheme : {"stun:", "stuns:", "turn:", "turns:"})
    if (s.rfind(scheme, 0) == 0 && s.size() > std::char_traits<char>::length(scheme)) return true;
  return false;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}
}  // namespace

bool parse_ice_servers(const std::string& text, std::string& json_out, std::string& error) {
  std::string t = trim(text);
  json_out.clear();
  if (t.empty()) return true;
  json list = json::array();
  if (t.front() == '[') {
    json in = json::parse(t, nullptr, false);
    if (in.is_discarded() || !in.is_array()) {
      error = "not a JSON array";
      return false;
    }
    for (auto& s : in) {
      if (s.is_string()) s = json{{"urls", s}};
      if (!s.is_object() || !s.contains("urls")) {
        error = "each server must be a URL or an object with \"urls\"";
        return false;
      }
      json out = json::object();
      for (auto& [k, v] : s.items()) {
        if (k == "urls") {
          bool ok = v.is_array() ? !v.empty() : ice_url(v);
          if (v.is_array())
            for (auto& u : v) ok = ok && ice_url(u);
          if (!ok) {
            error = "\"urls\" must be stun:, stuns:, turn: or turns: URLs";
            return false;
          }
        } else if (k == "username" || k == "credential") {
          if (!v.is_string()) {
            error = "\"" + k + "\" must be a string";
            return false;
          }
        } else {
          error = "unknown field \"" + k + "\" (urls, username, credential)";
          return false;
        }
        out[k] = v;
      }
      list.push_back(std::move(out));
    }
  } else {
    std::size_t start = 0;
    while (start <= t.size()) {
      std::size_t comma = t.find(',', start);
      std::string url = trim(t.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!ice_url(json(url))) {
        error = "\"" + url + "\" is not a stun:, stuns:, turn: or turns: URL";
        return false;
      }
      list.push_back(json{{"urls", url}});
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  json_out = list.dump();
  return true;
}

}  // namespace sb::server
