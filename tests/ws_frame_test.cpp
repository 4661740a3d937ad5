// ws::FrameReader's own logic: whatever way the bytes are cut into reads, the reader finds the
// same messages, control frames and failures (rfc6455_test.cpp covers the wire end to end).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "protocol/utf8.hpp"
#include "server/ws_frame.hpp"

namespace ws = sb::server::ws;

namespace {

struct Recorder : ws::FrameSink {
  std::vector<std::string> events;
  void on_message(bool text, std::string_view p) override { events.push_back((text ? "T:" : "B:") + std::string(p)); }
  void on_oversized(bool text) override { events.push_back(text ? "T!" : "B!"); }
  void on_ping(std::string_view p) override { events.push_back("ping:" + std::string(p)); }
  void on_close(std::uint16_t code, std::string_view) override { events.push_back("close:" + std::to_string(code)); }
};

std::string client_frame(std::uint8_t b0, const std::string& payload, std::mt19937& rng) {
  std::string f(1, static_cast<char>(b0));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f += {static_cast<char>(0x80 | 126), static_cast<char>(n >> 8), static_cast<char>(n)};
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int k = 7; k >= 0; --k) f.push_back(static_cast<char>(n >> (8 * k)));
  }
  char key[4];
  for (auto& k : key) k = static_cast<char>(rng());
  f.append(key, 4);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return f;
}

// Feeds `bytes` in pieces of random sizes (1..max_piece); returns the events and the failure.
std::pair<std::vector<std::string>, ws::ReadFail> read_in_pieces(std::string bytes, std::size_t max_piece,
                                                                 std::mt19937& rng, std::size_t soft = 1000,
                                                                 std::size_t hard = 100000) {
  ws::FrameReader reader(soft, hard);
  Recorder sink;
  std::size_t at = 0;
  while (at < bytes.size() && !reader.closed()) {
    std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + rng() % max_piece);
    auto f = reader.feed(bytes.data() + at, n, sink);
    if (f != ws::ReadFail::None) return {sink.events, f};
    reader.trim();
    at += n;
  }
  return {sink.events, ws::ReadFail::None};
}

TEST(WsFrameReader, FindsTheSameMessagesHoweverTheBytesAreCut) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::string wire;
    std::vector<std::string> expected;
    for (int m = 0; m < 8; ++m) {
      // A text message of random size (some over the soft limit), split into random fragments
      // with pings and pongs between them.
      std::size_t size = rng() % 3 == 0 ? rng() % 70000 : rng() % 300;
      std::string text;
      for (std::size_t i = 0; i < size; ++i) text.push_back(static_cast<char>('a' + rng() % 26));
      if (size > 3 && rng() % 2) text.replace(size / 2, 3, "\xe2\x82\xac");  // a 3-byte character, maybe cut
      std::size_t at = 0;
      bool first = true;
      do {
        std::size_t n = std::min(text.size() - at, static_cast<std::size_t>(rng() % (size + 1)));
        bool fin = at + n == text.size();
        wire += client_frame(static_cast<std::uint8_t>((fin ? 0x80 : 0) | (first ? ws::kText : ws::kContinuation)),
                             text.substr(at, n), rng);
        at += n;
        first = false;
        if (!fin && rng() % 3 == 0) {
          std::string p = "p" + std::to_string(round * 100 + m);
          wire += client_frame(0x80 | ws::kPing, p, rng);
          expected.push_back("ping:" + p);
        }
        if (!fin && rng() % 5 == 0) wire += client_frame(0x80 | ws::kPong, "", rng);
      } while (at < text.size());
      expected.push_back(size > 1000 ? "T!" : "T:" + text);
    }
    wire += client_frame(0x80 | ws::kClose, std::string("\x03\xe8", 2), rng);
    wire += client_frame(0x80 | ws::kText, "after the close: never read", rng);
    expected.push_back("close:1000");
    for (std::size_t max_piece : {std::size_t{1}, std::size_t{7}, std::size_t{1500}, wire.size()}) {
      auto [events, fail] = read_in_pieces(wire, max_piece, rng);
      EXPECT_EQ(fail, ws::ReadFail::None) << "round " << round << " piece " << max_piece;
      ASSERT_EQ(events, expected) << "round " << round << " piece " << max_piece;
    }
  }
}

TEST(WsFrameReader, GarbageGivesTheSameVerdictHoweverItIsCut) {
  std::mt19937 rng(777);
  for (int round = 0; round < 2000; ++round) {
    std::string wire;
    // Mostly plausible frames with random header bits, so that the reader gets past byte 2.
    for (int f = 0; f < 4; ++f) {
      std::string payload(rng() % 200, '\0');
      for (auto& c : payload) c = static_cast<char>(rng() % 4 ? 'x' : rng());
      wire += client_frame(static_cast<std::uint8_t>(rng() % 3 ? (0x80 | ws::kText) : rng()), payload, rng);
      if (rng() % 8 == 0) wire.push_back(static_cast<char>(rng()));
    }
    auto whole = read_in_pieces(wire, wire.size(), rng);
    auto bytewise = read_in_pieces(wire, 1, rng);
    auto pieces = read_in_pieces(wire, 13, rng);
    EXPECT_EQ(whole, bytewise) << "round " << round;
    EXPECT_EQ(whole, pieces) << "round " << round;
  }
}

// Found by fuzz_ws_frame (fuzz/regressions/ws_frame-feed-after-failure): a reader fed again after
// a failure went on from the middle of the bad header and delivered a message nobody started.
TEST(WsFrameReader, AFailureIsFinal) {
  std::mt19937 rng(5);
  ws::FrameReader reader(1000, 100000);
  Recorder sink;
  std::string bad = "\x80\x80";  // a final continuation frame with no message open
  EXPECT_EQ(reader.feed(bad.data(), bad.size(), sink), ws::ReadFail::Protocol);
  std::string more = std::string(4, '\0') + client_frame(0x80 | ws::kText, "after the failure", rng);
  EXPECT_EQ(reader.feed(more.data(), more.size(), sink), ws::ReadFail::Protocol);
  EXPECT_EQ(reader.feed(more.data(), 0, sink), ws::ReadFail::Protocol);
  EXPECT_TRUE(sink.events.empty()) << sink.events.front();
}

TEST(WsFrameReader, Utf8StreamMatchesTheWholeStringCheck) {
  std::mt19937 rng(99);
  const std::vector<std::string> parts = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xc0\xaf", "\xed\xa0\x80",
                                          "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\x80"};
  for (int round = 0; round < 5000; ++round) {
    std::string s;
    for (int k = 0, n = 1 + rng() % 6; k < n; ++k) s += parts[rng() % parts.size()];
    ws::Utf8Stream u;
    bool ok = true;
    for (std::size_t at = 0; at < s.size() && ok;) {
      std::size_t n = std::min<std::size_t>(s.size() - at, 1 + rng() % 3);
      ok = u.feed(s.data() + at, n);
      at += n;
    }
    EXPECT_EQ(ok && u.complete(), sb::protocol::valid_utf8(s)) << round;
  }
}

TEST(WsFrameReader, ServerHeadersUseTheShortestLengthForm) {
  char h[ws::kMaxHeader];
  EXPECT_EQ(ws::encode_header(ws::kText, 125, h), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x81);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(ws::encode_header(ws::kText, 126, h), 4u);
  EXPECT_EQ(ws::encode_header(ws::kText, 65535, h), 4u);
  EXPECT_EQ(ws::encode_header(ws::kText, 65536, h), 10u);
  EXPECT_EQ(ws::close_frame(4008, std::string(200, 'r')).size(), 2u + 125u);  // reason cut to 123
}

}  // namespace
