// --ice-servers: the STUN/TURN servers the server hands every client in its welcome, used by
// connectRTC when the app gives none (docs/operations.md, "ICE servers").
#pragma once
#include <string>

namespace sb::server {

// `text`: a JSON array of RTCIceServer objects ({"urls": string|[string], "username"?,
// "credential"?}) or of URL strings, or a comma-separated list of URLs. URLs must start with
// stun:, stuns:, turn: or turns:. On success `json_out` is a JSON array of RTCIceServer objects
// (empty text: "" — no servers); on failure `error` says why.
bool parse_ice_servers(const std::string& text, std::string& json_out, std::string& error);

}  // namespace sb::server
