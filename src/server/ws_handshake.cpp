#include "ws_handshake.hpp"

#include <sstream>

#include <boost/beast/core/static_string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/error.hpp>

namespace sb::server::ws {

namespace beast = boost::beast;
namespace http = beast::http;
using beast::websocket::error;

namespace {
HandshakeAnswer refuse(const http::request<http::string_body>& req, http::status status, error e) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "switchboard");
  if (status == http::status::upgrade_required) res.set(http::field::sec_websocket_version, "13");
  res.body() = beast::websocket::make_error_code(e).message();
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  return {false, os.str()};
}
}  // namespace

HandshakeAnswer answer_upgrade(const http::request<http::string_body>& req, std::string_view subprotocol) {
  auto bad = [&](error e) { return refuse(req, http::status::bad_request, e); };
  if (req.version() != 11) return bad(error::bad_http_version);
  if (req.method() != http::verb::get) return bad(error::bad_method);
  if (!req.count(http::field::host)) return bad(error::no_host);
  auto conn = req.find(http::field::connection);
  if (conn == req.end()) return bad(error::no_connection);
  if (!http::token_list{conn->value()}.exists("upgrade")) return bad(error::no_connection_upgrade);
  auto upg = req.find(http::field::upgrade);
  if (upg == req.end()) return bad(error::no_upgrade);
  if (!http::token_list{upg->value()}.exists("websocket")) return bad(error::no_upgrade_websocket);
  auto key = req.find(http::field::sec_websocket_key);
  if (key == req.end()) return bad(error::no_sec_key);
  if (key->value().empty() || key->value().size() > beast::websocket::detail::sec_ws_key_type::static_capacity)
    return bad(error::bad_sec_key);
  auto version = req.find(http::field::sec_websocket_version);
  if (version == req.end()) return bad(error::no_sec_version);
  if (version->value() != "13") return refuse(req, http::status::upgrade_required, error::bad_sec_version);

  beast::websocket::detail::sec_ws_accept_type accept;
  beast::websocket::detail::make_sec_ws_accept(accept, key->value());
  std::string res = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: ";
  res.append(accept.data(), accept.size());
  res += "\r\nServer: switchboard\r\n";
  if (!subprotocol.empty()) {
    res += "Sec-WebSocket-Protocol: ";
    res += subprotocol;
    res += "\r\n";
  }
  res += "\r\n";
  return {true, std::move(res)};
}

}  // namespace sb::server::ws
