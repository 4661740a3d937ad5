// The server API for app backends (docs/operations.md, Server API), in the manner of
// Centrifugo's server API and Socket.IO's emitter: an app's own server publishes to a group or a
// user, closes a user's connections, and reads a group's members, over plain HTTP:
//   POST /api/publish     {"group": "...", "message": <JSON>} or {"user": "...", "message": ...}
//   POST /api/disconnect  {"user": "..."}
//   GET  /api/presence?group=...[&user_id=&limit=&ascending=&start=]
// with "Authorization: apikey <key>" (Config::api_key; the API answers 404 while no key is set).
// Answers are JSON: the result with 200, or {"code","message"} with 400, 401, 404, 405, 413 or
// 503. Requests are held to the limits a client's frames are (names, nesting, message size).
#pragma once
#include <string>
#include <string_view>

namespace sb::server {

struct Config;
struct ServerContext;

struct ServerApiAnswer {
  unsigned status = 200;
  std::string body;  // JSON
};

bool is_server_api_path(std::string_view path);
// The largest request body the API reads (Config::api_max_body_bytes, or its default).
std::size_t server_api_body_cap(const Config& cfg);
// `target` is the request target (path and query); `body` the request body.
ServerApiAnswer server_api(ServerContext& ctx, std::string_view method, std::string_view target,
                           std::string_view authorization, const std::string& body);
// The 413 answer for a body over server_api_body_cap (the HTTP parser stops reading it).
ServerApiAnswer server_api_too_large(const Config& cfg);

}  // namespace sb::server
