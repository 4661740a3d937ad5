// RFC 6455 conformance of the server's own framing, modelled on the Autobahn TestSuite's case
// list (1 framing, 2 ping/pong, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close,
// 9 limits). The real server process; a raw TCP client that writes every frame itself, so that
// it can send what no WebSocket library would.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server_process.hpp"
#include "ws_client.hpp"

using namespace sb::testing;
using nlohmann::json;

namespace {

enum : std::uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// A client frame: masked, with a chosen FIN, RSV bits, opcode and (optionally wrong) length form.
std::string frame(std::uint8_t op, const std::string& payload, bool fin = true, std::uint8_t rsv = 0,
                  bool masked = true, int len_form = 0 /* 0: shortest, 16 or 64: forced */) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | op));
  const std::uint8_t m = masked ? 0x80 : 0;
  const std::uint64_t n = payload.size();
  if (len_form == 0 && n < 126) {
    f.push_back(static_cast<char>(m | n));
  } else if ((len_form == 0 && n <= 0xFFFF) || len_form == 16) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(m | 127));
    for (int k = 7; k >= 0; --k) f.push_back(static_cast<char>(n >> (8 * k)));
  }
  const char key[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
  if (!masked) return f + payload;
  f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return f;
}

std::string close_payload(std::uint16_t code, const std::string& reason = "") {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)} + reason;
}

std::string ping_request(int id) { return json{{"op", "ping"}, {"id", id}}.dump(); }

struct ServerFrame {
  bool fin = false;
  std::uint8_t rsv = 0, op = 0;
  bool masked = false;
  std::string payload;
};

// One raw connection. Every wait is bounded; `closed()` is true once the server ended TCP.
class RawWs {
 public:
  ~RawWs() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(unsigned short port, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    write("GET /realtime?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!fill()) return false;
    auto end = buf_.find("\r\n\r\n") + 4;
    head_ = buf_.substr(0, end);
    buf_.erase(0, end);
    auto welcome = next();
    return welcome && welcome->op == kText && json::parse(welcome->payload)["op"] == "welcome";
  }
  const std::string& head() const { return head_; }
  void write(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may have closed already: what it sent is still readable
      off += static_cast<std::size_t>(n);
    }
  }
  // The next frame from the server, or nullopt after `timeout` or when TCP ended.
  std::optional<ServerFrame> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = parse()) return f;
      if (closed_ || std::chrono::steady_clock::now() >= deadline || !fill(deadline)) return std::nullopt;
    }
  }
  // The next data message, skipping control frames (pongs to our pings).
  std::optional<json> next_json(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    for (;;) {
      auto f = next(timeout);
      if (!f) return std::nullopt;
      if (f->op == kText) return json::parse(f->payload);
    }
  }
  // The server's close frame (skipping anything before it), then the end of TCP.
  std::optional<int> close_code(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    for (;;) {
      auto f = next(timeout);
      if (!f) return std::nullopt;
      if (f->op != kClose) continue;
      last_close_ = *f;
      if (f->payload.size() < 2) return 1005;  // "no status" as a browser reports it
      return (static_cast<std::uint8_t>(f->payload[0]) << 8) | static_cast<std::uint8_t>(f->payload[1]);
    }
  }
  const ServerFrame& last_close() const { return last_close_; }
  // True when the server ends TCP within the timeout (reading and dropping anything else).
  bool ends_tcp(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && fill(deadline)) buf_.clear();
    return closed_;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char b[65536];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(b, static_cast<std::size_t>(n));
    return true;
  }
  std::optional<ServerFrame> parse() {
    if (buf_.size() < 2) return std::nullopt;
    auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(buf_[i]); };
    ServerFrame f;
    f.fin = at(0) & 0x80;
    f.rsv = (at(0) >> 4) & 7;
    f.op = at(0) & 0x0F;
    f.masked = at(1) & 0x80;
    std::uint64_t n = at(1) & 0x7F;
    std::size_t h = 2;
    if (n == 126) {
      if (buf_.size() < 4) return std::nullopt;
      n = (at(2) << 8) | at(3);
      h = 4;
    } else if (n == 127) {
      if (buf_.size() < 10) return std::nullopt;
      n = 0;
      for (int k = 0; k < 8; ++k) n = (n << 8) | at(2 + k);
      h = 10;
    }
    if (f.masked) h += 4;
    if (buf_.size() < h + n) return std::nullopt;
    f.payload = buf_.substr(h, n);
    buf_.erase(0, h + n);
    return f;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string buf_, head_;
  ServerFrame last_close_;
};

class Rfc6455 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--port", "0", "--dev-login", "--threads", "1", "--log-level", "error",
                                 "--max-frame-bytes", "70000"},
                                "");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0); }
  std::unique_ptr<RawWs> open(const std::string& user = "alice") {
    auto [status, body] = http_get(server_->port(), "/dev/token?user=" + user);
    EXPECT_EQ(status, 200) << body;
    auto c = std::make_unique<RawWs>();
    EXPECT_TRUE(c->connect(server_->port(), json::parse(body)["token"]));
    return c;
  }
  // The connection still serves requests.
  static void expect_serves(RawWs& c, int id) {
    c.write(frame(kText, ping_request(id)));
    auto r = c.next_json();
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["op"], "ok");
    EXPECT_EQ((*r)["id"], id);
  }
  static void expect_failed_with(RawWs& c, int code) {
    EXPECT_EQ(c.close_code(), code);
    EXPECT_TRUE(c.ends_tcp());
  }
  static ServerProcess* server_;
};
ServerProcess* Rfc6455::server_ = nullptr;

// ---- 1. Framing ---------------------------------------------------------------------------

TEST_F(Rfc6455, HandshakeAnswersWithTheAcceptKeyAndServerFramesAreUnmaskedFinalText) {
  auto c = open();
  EXPECT_NE(c->head().find("101 Switching Protocols"), std::string::npos) << c->head();
  // RFC 6455 §1.3's own example key and answer.
  EXPECT_NE(c->head().find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << c->head();
  c->write(frame(kText, ping_request(1)));
  auto f = c->next();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->fin);
  EXPECT_EQ(f->rsv, 0);
  EXPECT_EQ(f->op, kText);
  EXPECT_FALSE(f->masked);
  EXPECT_EQ(json::parse(f->payload)["id"], 1);
}

TEST_F(Rfc6455, TextMessagesOfEveryLengthFormAreRead) {
  auto c = open();
  int id = 0;
  // 7-bit, 16-bit and 64-bit length forms, at their edges (JSON padded with spaces).
  for (std::size_t size : {std::size_t{30}, std::size_t{125}, std::size_t{126}, std::size_t{65535}, std::size_t{65536},
                           std::size_t{69000}}) {
    std::string req = ping_request(++id);
    req.append(size - req.size(), ' ');
    c->write(frame(kText, req));
    auto r = c->next_json();
    ASSERT_TRUE(r) << size;
    EXPECT_EQ((*r)["id"], id) << size;
  }
  // An empty text message is not JSON: a typed error, and the connection stays.
  c->write(frame(kText, ""));
  auto e = c->next_json();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["op"], "error");
  expect_serves(*c, 99);
}

TEST_F(Rfc6455, AFrameDribbledInOneByteAtATimeIsRead) {
  auto c = open();
  std::string f = frame(kText, ping_request(7)) + frame(kPing, "hi");
  for (char b : f) c->write(std::string(1, b));
  // The reply and the pong, in either order (a control frame may go between messages).
  bool replied = false, ponged = false;
  for (int i = 0; i < 2; ++i) {
    auto f = c->next();
    ASSERT_TRUE(f);
    if (f->op == kPong) {
      EXPECT_EQ(f->payload, "hi");
      ponged = true;
    } else {
      EXPECT_EQ(json::parse(f->payload)["id"], 7);
      replied = true;
    }
  }
  EXPECT_TRUE(replied && ponged);
}

TEST_F(Rfc6455, ManyMessagesInOneWriteAreEachAnswered) {
  auto c = open();
  std::string burst;
  for (int i = 1; i <= 200; ++i) burst += frame(kText, ping_request(i));
  c->write(burst);
  // Replies may come batched, '\n'-separated, in fewer WebSocket messages (docs/protocol.md).
  int next_id = 1;
  while (next_id <= 200) {
    auto f = c->next();
    ASSERT_TRUE(f) << "after id " << next_id - 1;
    std::size_t start = 0;
    while (start <= f->payload.size()) {
      auto end = f->payload.find('\n', start);
      if (end == std::string::npos) end = f->payload.size();
      EXPECT_EQ(json::parse(f->payload.substr(start, end - start))["id"], next_id++);
      start = end + 1;
    }
  }
}

TEST_F(Rfc6455, BinaryMessagesGetATypedErrorAndTheConnectionStays) {
  auto c = open();
  c->write(frame(kBinary, std::string("\x00\xff\x10", 3)));
  auto e = c->next_json();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"], "NOT_SUPPORTED");
  expect_serves(*c, 2);
}

// ---- 2. Ping / pong -----------------------------------------------------------------------

TEST_F(Rfc6455, PingsAreAnsweredWithTheirPayloadInOrder) {
  auto c = open();
  c->write(frame(kPing, ""));
  auto p0 = c->next();
  ASSERT_TRUE(p0);
  EXPECT_EQ(p0->op, kPong);
  EXPECT_EQ(p0->payload, "");
  std::string binary(125, '\0');
  for (int i = 0; i < 125; ++i) binary[i] = static_cast<char>(0xFE - i);
  c->write(frame(kPing, binary));
  auto p1 = c->next();
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->op, kPong);
  EXPECT_EQ(p1->payload, binary);
  std::string many;
  for (int i = 0; i < 10; ++i) many += frame(kPing, "p" + std::to_string(i));
  c->write(many);
  for (int i = 0; i < 10; ++i) {
    auto p = c->next();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->op, kPong);
    EXPECT_EQ(p->payload, "p" + std::to_string(i));
  }
  expect_serves(*c, 3);
}

TEST_F(Rfc6455, UnsolicitedPongsAreIgnored) {
  auto c = open();
  c->write(frame(kPong, "") + frame(kPong, "unsolicited"));
  expect_serves(*c, 4);
}

TEST_F(Rfc6455, APingOver125BytesFailsTheConnection) {
  auto c = open();
  c->write(frame(kPing, std::string(126, 'x')));
  expect_failed_with(*c, 1002);
}

TEST_F(Rfc6455, AFragmentedPingFailsTheConnection) {
  auto c = open();
  c->write(frame(kPing, "a", false));
  expect_failed_with(*c, 1002);
}

// ---- 3. Reserved bits ---------------------------------------------------------------------

TEST_F(Rfc6455, ReservedBitsFailTheConnectionAfterWhatCameBefore) {
  for (std::uint8_t rsv : {1, 2, 3, 4, 5, 6, 7}) {
    auto c = open();
    // A good request, then the bad frame in the same write: the first is answered (3.2).
    c->write(frame(kText, ping_request(rsv)) + frame(kText, ping_request(100), true, rsv));
    auto r = c->next_json();
    ASSERT_TRUE(r) << int(rsv);
    EXPECT_EQ((*r)["id"], rsv);
    expect_failed_with(*c, 1002);
  }
  auto c = open();
  c->write(frame(kPing, "", true, 4));
  expect_failed_with(*c, 1002);
}

// ---- 4. Opcodes ---------------------------------------------------------------------------

TEST_F(Rfc6455, ReservedOpcodesFailTheConnection) {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    auto c = open();
    c->write(frame(op, op >= 8 ? "" : "payload"));
    EXPECT_EQ(c->close_code(), 1002) << int(op);
    EXPECT_TRUE(c->ends_tcp()) << int(op);
  }
}

// ---- 5. Fragmentation ---------------------------------------------------------------------

TEST_F(Rfc6455, FragmentedMessagesAreReassembledWithControlFramesBetween) {
  auto c = open();
  std::string req = ping_request(5);
  c->write(frame(kText, req.substr(0, 4), false) + frame(kPing, "mid") + frame(kCont, req.substr(4, 5), false) +
           frame(kPong, "x") + frame(kCont, req.substr(9), true));
  auto pong = c->next();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->op, kPong);  // answered while the message was still open
  EXPECT_EQ(pong->payload, "mid");
  auto r = c->next_json();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["id"], 5);
  // One byte per fragment, each in its own write.
  req = ping_request(6);
  for (std::size_t i = 0; i < req.size(); ++i)
    c->write(frame(i == 0 ? kText : kCont, req.substr(i, 1), i + 1 == req.size()));
  r = c->next_json();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["id"], 6);
  // Empty fragments count too.
  req = ping_request(8);
  c->write(frame(kText, "", false) + frame(kCont, req, false) + frame(kCont, "", true));
  r = c->next_json();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["id"], 8);
}

TEST_F(Rfc6455, AContinuationWithoutAStartFailsTheConnection) {
  auto c = open();
  c->write(frame(kCont, "orphan", true));
  expect_failed_with(*c, 1002);
  auto d = open();
  d->write(frame(kCont, "orphan", false));
  expect_failed_with(*d, 1002);
}

TEST_F(Rfc6455, ANewMessageInsideAFragmentedOneFailsTheConnection) {
  auto c = open();
  c->write(frame(kText, "{\"op\":", false) + frame(kText, "\"ping\"}", true));
  expect_failed_with(*c, 1002);
}

// ---- 6. UTF-8 -----------------------------------------------------------------------------

TEST_F(Rfc6455, ValidUtf8IsAcceptedAlsoWhenSplitAcrossFragments) {
  auto c = open();
  // "κόσμε" and a 4-byte character, cut inside each multi-byte sequence.
  std::string req = R"({"op":"ping","id":9,"x":"κόσμε 𝄞"})";
  std::string text;
  for (std::size_t i = 0; i < req.size(); i += 3)
    c->write(frame(i == 0 ? kText : kCont, req.substr(i, 3), i + 3 >= req.size()));
  auto r = c->next_json();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["id"], 9);
}

TEST_F(Rfc6455, InvalidUtf8FailsTheConnectionWith1007) {
  const std::vector<std::string> bad = {
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, 3 bytes
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xff",              // never valid
      "\xe2\x82",          // truncated at the end of the message
  };
  for (const auto& b : bad) {
    auto c = open();
    c->write(frame(kText, "{\"op\":\"ping\",\"id\":1,\"x\":\"" + b));
    EXPECT_EQ(c->close_code(), 1007) << json(b.size()).dump();
    EXPECT_TRUE(c->ends_tcp());
  }
}

TEST_F(Rfc6455, InvalidUtf8InAnUnfinishedFragmentFailsFast) {
  auto c = open();
  // The message never finishes: the server must not wait for its end to fail it (6.4.x).
  c->write(frame(kText, "{\"x\":\"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", false));
  expect_failed_with(*c, 1007);
}

TEST_F(Rfc6455, InvalidUtf8SplitAcrossFragmentsFailsTheConnection) {
  auto c = open();
  // Each fragment alone could start or end a valid sequence; together they are a surrogate.
  c->write(frame(kText, "{\"x\":\"\xed", false) + frame(kCont, "\xa0", false) + frame(kCont, "\x80\"}", true));
  expect_failed_with(*c, 1007);
}

// ---- 7. Close handshake -------------------------------------------------------------------

TEST_F(Rfc6455, AClientCloseIsEchoedAndTheServerEndsTcp) {
  auto c = open();
  c->write(frame(kClose, close_payload(1000, "bye")));
  EXPECT_EQ(c->close_code(), 1000);
  EXPECT_TRUE(c->ends_tcp());
  auto d = open();
  d->write(frame(kClose, ""));  // no code: the answer carries none (or a plain 1000)
  auto code = d->close_code();
  EXPECT_TRUE(code == 1005 || code == 1000) << (code ? *code : -1);
  EXPECT_TRUE(d->ends_tcp());
}

TEST_F(Rfc6455, ValidCloseCodesAreEchoed) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    auto c = open();
    c->write(frame(kClose, close_payload(static_cast<std::uint16_t>(code), std::string(123, 'r'))));
    EXPECT_EQ(c->close_code(), code);
    EXPECT_TRUE(c->ends_tcp()) << code;
  }
}

TEST_F(Rfc6455, InvalidClosePayloadsFailTheConnection) {
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    auto c = open();
    c->write(frame(kClose, close_payload(static_cast<std::uint16_t>(code))));
    EXPECT_EQ(c->close_code(), 1002) << code;
    EXPECT_TRUE(c->ends_tcp()) << code;
  }
  auto one = open();
  one->write(frame(kClose, "\x03"));  // a one-byte payload
  expect_failed_with(*one, 1002);
  auto reason = open();
  reason->write(frame(kClose, close_payload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")));
  expect_failed_with(*reason, 1007);
  auto large = open();
  large->write(frame(kClose, close_payload(1000, std::string(124, 'r'))));  // 126 bytes: over 125
  expect_failed_with(*large, 1002);
}

TEST_F(Rfc6455, NothingAfterACloseIsServed) {
  auto c = open();
  c->write(frame(kClose, close_payload(1000)) + frame(kText, ping_request(1)) + frame(kPing, "late"));
  auto f = c->next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, kClose);
  EXPECT_FALSE(c->next(std::chrono::milliseconds(300)));  // no reply, no pong: TCP ends
  EXPECT_TRUE(c->ends_tcp());
}

TEST_F(Rfc6455, AClientThatNeverAnswersTheCloseIsDroppedAfterTheGrace) {
  auto c = open();
  c->write(frame(kText, "{", true, 1));  // a failure: the server closes first
  EXPECT_EQ(c->close_code(), 1002);
  EXPECT_TRUE(c->ends_tcp(std::chrono::seconds(10)));  // without our close or FIN
}

// ---- 9. Limits and header forms -----------------------------------------------------------

TEST_F(Rfc6455, UnmaskedClientFramesFailTheConnection) {
  auto c = open();
  c->write(frame(kText, ping_request(1), true, 0, false));
  expect_failed_with(*c, 1002);
}

TEST_F(Rfc6455, NonMinimalLengthsFailTheConnection) {
  auto c = open();
  c->write(frame(kText, ping_request(1), true, 0, true, 16));
  expect_failed_with(*c, 1002);
  auto d = open();
  d->write(frame(kText, ping_request(1), true, 0, true, 64));
  expect_failed_with(*d, 1002);
  auto e = open();
  std::string huge{static_cast<char>(0x81), static_cast<char>(0xFF)};  // 64-bit length with the top bit set
  huge += std::string("\x80\0\0\0\0\0\0\0", 8) + "mask";
  e->write(huge);
  expect_failed_with(*e, 1002);
}

TEST_F(Rfc6455, OversizedMessagesGetTooLargeAndHugeOnesFailFastWith1009) {
  auto c = open();
  // Over --max-frame-bytes (70000), in fragments: read, dropped, a typed error; still served.
  std::string big(80000, ' ');
  c->write(frame(kText, big.substr(0, 40000), false) + frame(kCont, big.substr(40000), true));
  auto e = c->next_json();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"], "TOO_LARGE");
  expect_serves(*c, 11);
  // A header announcing more than the hard cap: failed at once, before any payload comes.
  auto d = open();
  std::string header{static_cast<char>(0x81), static_cast<char>(0xFF)};
  for (int k = 7; k >= 0; --k) header.push_back(static_cast<char>((std::uint64_t{64} << 20) >> (8 * k)));
  d->write(header + "mask");
  expect_failed_with(*d, 1009);
}

TEST_F(Rfc6455, ABadFrameOnOneConnectionLeavesTheOthersAlone) {
  auto good = open("bob");
  auto bad = open("mallory");
  bad->write(frame(kText, "{", true, 7) + frame(kCont, "x"));
  expect_failed_with(*bad, 1002);
  expect_serves(*good, 12);
}

}  // namespace
