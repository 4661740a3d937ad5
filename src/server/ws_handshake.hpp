// The WebSocket opening handshake's answer (RFC 6455 §4.2), checked as Beast's accept() checks
// it: the session writes it through its own send path, so the socket is ours from the start.
#pragma once
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

namespace sb::server::ws {

struct HandshakeAnswer {
  bool ok = false;       // a 101 response; otherwise an HTTP error to send before closing
  std::string response;  // the whole response, head and body
};

// `subprotocol`, when not empty, is echoed in Sec-WebSocket-Protocol.
HandshakeAnswer answer_upgrade(const boost::beast::http::request<boost::beast::http::string_body>& req,
                               std::string_view subprotocol);

}  // namespace sb::server::ws
