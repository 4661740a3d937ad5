// The server's own RFC 6455 reader (ws::FrameReader, every byte a client sends after the upgrade)
// and its upgrade answer (ws::answer_upgrade). The input:
//   byte 0: bit 7 set: the rest is an HTTP request for answer_upgrade (bit 6: echo a subprotocol);
//           otherwise bits 0-3 pick the soft limit, bits 4-5 the hard limit, bit 6 trim() between reads
//   byte 1: n (low 3 bits), then n bytes: the sizes of the reads, used in turn (0: an empty read)
//   the rest: the client's bytes.
// Each read is copied into a buffer of exactly its size (ASan sees any overread). The events must
// be the same as when the whole input is one read; the same verdict; nothing delivered after a
// close or a failure, even when more bytes are fed; messages within the soft limit, text valid UTF-8.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <boost/beast/http.hpp>

#include "fuzz_check.hpp"
#include "protocol/utf8.hpp"
#include "server/ws_frame.hpp"
#include "server/ws_handshake.hpp"

namespace ws = sb::server::ws;
namespace http = boost::beast::http;

namespace {

struct Recorder : ws::FrameSink {
  std::size_t soft, hard;
  bool stopped = false;  // a close was delivered or feed() failed: nothing may follow
  std::vector<std::string> events;
  Recorder(std::size_t s, std::size_t h) : soft(s), hard(h) {}

  void add(std::string e) {
    SB_FUZZ_CHECK(!stopped, "nothing is delivered after a close or a failure");
    events.push_back(std::move(e));
  }
  void on_message(bool text, std::string_view p) override {
    SB_FUZZ_CHECK(p.size() <= soft, "a delivered message is within the soft limit");
    if (text) SB_FUZZ_CHECK(sb::protocol::valid_utf8(p), "a text message is valid UTF-8");
    add((text ? "T:" : "B:") + std::string(p));  // reads every byte of the view
  }
  void on_oversized(bool text) override {
    SB_FUZZ_CHECK(soft < hard, "a message over the soft limit but not over the hard one");
    add(text ? "T!" : "B!");
  }
  void on_ping(std::string_view p) override {
    SB_FUZZ_CHECK(p.size() <= 125, "a ping payload is at most 125 bytes");
    add("ping:" + std::string(p));
  }
  void on_close(std::uint16_t code, std::string_view p) override {
    SB_FUZZ_CHECK(p.size() <= 125 && p.size() != 1, "a close payload is empty or 2-125 bytes");
    SB_FUZZ_CHECK(code == 0 ? p.empty() : ws::valid_close_code(code), "a close code is none or valid");
    if (p.size() >= 2) SB_FUZZ_CHECK(sb::protocol::valid_utf8(p.substr(2)), "a close reason is valid UTF-8");
    add("close:" + std::to_string(code) + ":" + std::string(p));
    stopped = true;
  }
};

struct Outcome {
  std::vector<std::string> events;
  ws::ReadFail fail = ws::ReadFail::None;
  bool closed = false;
  bool operator==(const Outcome& o) const { return events == o.events && fail == o.fail && closed == o.closed; }
};

// Feeds `stream` in reads of the given sizes (in turn; the last read takes what is left), each
// copied into a buffer of exactly its size. Keeps feeding after a failure or a close: the reader
// must deliver nothing more and repeat its verdict.
Outcome read_stream(std::string_view stream, const std::vector<std::size_t>& sizes, std::size_t soft,
                    std::size_t hard, bool trim) {
  ws::FrameReader reader(soft, hard);
  Recorder sink(soft, hard);
  Outcome out;
  std::size_t at = 0, k = 0;
  do {
    std::size_t n = std::min(stream.size() - at, sizes[k++ % sizes.size()]);
    if (k > sizes.size() && n == 0) n = std::min<std::size_t>(stream.size() - at, 1);  // progress
    std::unique_ptr<char[]> buf(new char[n]);
    std::memcpy(buf.get(), stream.data() + at, n);
    at += n;
    const bool was_closed = reader.closed();
    auto f = reader.feed(buf.get(), n, sink);
    if (out.fail != ws::ReadFail::None) {
      SB_FUZZ_CHECK(f == out.fail, "after a failure, feed repeats the verdict");
    } else if (f != ws::ReadFail::None) {
      out.fail = f;
      sink.stopped = true;
    }
    if (was_closed) SB_FUZZ_CHECK(reader.closed() && f == ws::ReadFail::None, "a closed reader stays closed");
    if (f == ws::ReadFail::None && sink.stopped && out.fail == ws::ReadFail::None)
      SB_FUZZ_CHECK(reader.closed(), "a close was delivered: the reader says closed");
    if (trim) reader.trim();
  } while (at < stream.size());
  out.events = std::move(sink.events);
  out.closed = reader.closed();
  if (out.closed) SB_FUZZ_CHECK(out.fail == ws::ReadFail::None, "closed only by a valid close frame");
  return out;
}

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n)));
  return out;
}

// answer_upgrade on whatever Beast's parser makes of the bytes (what http_session hands it).
void check_handshake(std::string_view bytes, bool with_subprotocol) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(8192);
  parser.body_limit(8192);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (!parser.is_header_done()) return;
  const auto& req = parser.get();
  auto answer = ws::answer_upgrade(req, with_subprotocol ? "switchboard" : "");
  const std::string& res = answer.response;
  auto head_end = res.find("\r\n\r\n");
  SB_FUZZ_CHECK(head_end != std::string::npos, "the answer has a whole head");
  if (!answer.ok) {
    SB_FUZZ_CHECK(res.find(" 400 ") != std::string::npos || res.find(" 426 ") != std::string::npos,
                  "a refusal is a 400 or a 426");
    return;
  }
  SB_FUZZ_CHECK(res.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0, "an acceptance is a 101");
  SB_FUZZ_CHECK(head_end + 4 == res.size(), "a 101 has no body");
  SB_FUZZ_CHECK(req.version() == 11 && req.method() == http::verb::get, "accepted: an HTTP/1.1 GET");
  SB_FUZZ_CHECK(req[http::field::sec_websocket_version] == "13", "accepted: version 13");
  // The accept value, computed independently (RFC 6455 §4.2.2 step 5.4).
  auto key = req[http::field::sec_websocket_key];
  SB_FUZZ_CHECK(!key.empty(), "accepted: a key");
  std::string in(key.data(), key.size());
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  SB_FUZZ_CHECK(res.find("\r\nSec-WebSocket-Accept: " + base64(digest, sizeof digest) + "\r\n") != std::string::npos,
                "the accept value is base64(SHA-1(key + GUID))");
  // Nothing from the request reaches the answer's head but the derived accept value.
  std::size_t lines = 0;
  for (std::size_t p = res.find("\r\n"); p < head_end; p = res.find("\r\n", p + 2)) ++lines;
  SB_FUZZ_CHECK(lines == (with_subprotocol ? 5u : 4u), "the 101 has exactly its own header lines");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  if (mode & 0x80) {
    check_handshake(sb::fuzz::bytes(data + 1, size - 1), mode & 0x40);
    return 0;
  }
  static constexpr std::size_t kSoft[] = {0, 1, 2, 5, 124, 125, 126, 127, 1000, 65535, 65536, 65537, 1 << 20, 16, 3, 200};
  static constexpr std::size_t kHardExtra[] = {0, 1, 300, 1 << 20};
  const std::size_t soft = kSoft[mode & 0x0F];
  const std::size_t hard = (mode & 0x30) == 0x30 && soft > 0 ? soft - 1 : soft + kHardExtra[(mode >> 4) & 3];
  const bool trim = mode & 0x40;
  std::size_t at = 1;
  const std::size_t n = data[at++] & 7;
  std::vector<std::size_t> sizes;
  for (std::size_t k = 0; k < n && at < size; ++k) sizes.push_back(data[at++]);
  if (sizes.empty()) sizes.push_back(1);  // byte by byte
  const std::string_view stream = sb::fuzz::bytes(data + at, size - at);

  auto whole = read_stream(stream, {stream.size()}, soft, hard, trim);
  auto split = read_stream(stream, sizes, soft, hard, trim);
  SB_FUZZ_CHECK(whole == split, "the same bytes cut differently give the same events and verdict");
  return 0;
}
