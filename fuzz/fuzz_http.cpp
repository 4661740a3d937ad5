// The hand-written parsing on the HTTP path: query_param, origin_allowed, resolve_static's path
// handling and the Sec-WebSocket-Protocol split (token_from_subprotocols). The input is six
// lines, each missing one empty:
//   request target (path?query) | query parameter name | Origin | Host |
//   allowed origins, space-separated | Sec-WebSocket-Protocol
// resolve_static serves from a temporary root holding a few files, next to a file outside it; any
// body it returns must be one of the root's files.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "fuzz_check.hpp"
#include "server/config.hpp"
#include "server/http_session.hpp"
#include "server/static_files.hpp"

namespace fs = std::filesystem;
using namespace sb::server;

namespace {
struct Site {
  fs::path base, root;            // base holds root/ and a file outside it
  std::set<std::string> bodies;   // the contents of every file under root
  Site() {
    std::string tmpl = (fs::temp_directory_path() / "sb-fuzz-http-XXXXXX").string();
    SB_FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "a temporary directory");
    base = tmpl;
    root = base / "root";
    fs::create_directories(root / "sub");
    fs::create_directories(base / "root.old");
    put(base / "secret.txt", "outside the root: secret.txt");
    put(base / "root.old" / "index.html", "outside the root: root.old/index.html");
    for (auto rel : {"index.html", "app.js", "style.css", "sub/index.html", "sub/data.json"})
      bodies.insert(put(root / rel, std::string("under the root: ") + rel));
    // Symlinks: one out of the root (never served), one inside it (served).
    fs::create_symlink(base / "secret.txt", root / "leak.txt");
    fs::create_directory_symlink(base, root / "up");
    fs::create_symlink(root / "app.js", root / "sub" / "alias.js");
  }
  ~Site() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  static std::string put(const fs::path& p, const std::string& body) {
    std::ofstream(p, std::ios::binary) << body;
    return body;
  }
};

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto sp = s.find(' ');
    if (sp != 0) out.emplace_back(s.substr(0, sp));
    s.remove_prefix(sp == std::string_view::npos ? s.size() : sp + 1);
  }
  return out;
}

void check_static(const Site& site, std::string_view target) {
  for (std::string_view prefix : {"/", "/switchboard/"}) {
    auto f = resolve_static(site.root.string(), prefix, target);
    if (!f) continue;
    std::ifstream in(f->path, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SB_FUZZ_CHECK(site.bodies.count(body), "resolve_static serves only files under its root");
  }
}

void check_query(std::string_view target, std::string_view name) {
  auto value = query_param(target, name);
  if (target.find('?') == std::string_view::npos) SB_FUZZ_CHECK(value.empty(), "no query, no value");
  SB_FUZZ_CHECK(value.size() <= target.size(), "a decoded value is never longer than the target");
  query_param(target, "token");
  query_param(target, "user");
}

// Adding rules never refuses what was allowed: dev_login adds loopback, entries add origins,
// "*" adds everything.
void check_origins(std::string_view origin, std::string_view host, std::string_view allowed) {
  Config none, listed, dev, star;
  listed.allowed_origins = words(allowed);
  dev.allowed_origins = star.allowed_origins = listed.allowed_origins;
  dev.dev_login = true;
  star.allowed_origins.push_back("*");
  bool a_none = origin_allowed(none, origin, host), a_listed = origin_allowed(listed, origin, host);
  bool a_dev = origin_allowed(dev, origin, host), a_star = origin_allowed(star, origin, host);
  if (origin.empty()) SB_FUZZ_CHECK(a_none, "no Origin (not a browser) is allowed");
  SB_FUZZ_CHECK(!a_none || a_listed, "allowed_origins entries only add origins");
  SB_FUZZ_CHECK(!a_listed || (a_dev && a_star), "dev_login and \"*\" only add origins");
}

void check_subprotocols(std::string_view header) {
  static const std::string kUnset = "<from the query>";
  std::string token = kUnset, sub;
  token_from_subprotocols(header, token, sub);
  SB_FUZZ_CHECK(sub.empty() || sub == "switchboard", "the only subprotocol echoed is switchboard");
  if (sub == "switchboard") SB_FUZZ_CHECK(header.find("switchboard") != std::string_view::npos, "offered");
  if (token != kUnset) {
    SB_FUZZ_CHECK(header.find("token." + token) != std::string_view::npos, "the token comes from a token. item");
    SB_FUZZ_CHECK(token.find(',') == std::string::npos, "a token is one item");
    SB_FUZZ_CHECK(token.empty() || token.back() != ' ', "items are trimmed");
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Site site;
  std::string_view in = sb::fuzz::bytes(data, size);
  auto target = sb::fuzz::take_line(in);
  auto name = sb::fuzz::take_line(in);
  auto origin = sb::fuzz::take_line(in);
  auto host = sb::fuzz::take_line(in);
  auto allowed = sb::fuzz::take_line(in);
  auto protocols = sb::fuzz::take_line(in);

  check_query(target, name);
  check_static(site, target);
  check_origins(origin, host, allowed);
  check_subprotocols(protocols);
  return 0;
}
