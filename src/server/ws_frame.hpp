// RFC 6455 framing for the server's own send path and reader: server frames are unmasked, so a
// header is a few bytes in front of text that is shared by every recipient; client frames are
// parsed incrementally from whatever the socket gave, unmasked in place.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::server::ws {

enum Opcode : std::uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

constexpr std::size_t kMaxHeader = 10;  // a server frame header: 2 + 8 length bytes, no mask

// Writes the header of an unfragmented, unmasked frame into `out`; returns its length.
std::size_t encode_header(Opcode op, std::uint64_t payload_size, char* out);
// A whole control frame (payload at most 125 bytes, cut if longer).
std::string control_frame(Opcode op, std::string_view payload);
// A close frame with a code and a reason (cut to 123 bytes on a character boundary).
std::string close_frame(std::uint16_t code, std::string_view reason);
// Close codes a peer may send (RFC 6455 §7.4, IANA registry): 1000-1003, 1007-1014, 3000-4999.
bool valid_close_code(std::uint16_t code);

// UTF-8 validation across fragments: fails on the first byte that cannot continue a valid text.
class Utf8Stream {
 public:
  bool feed(const char* p, std::size_t n);
  bool complete() const { return need_ == 0; }
  void reset() { need_ = 0; lo_ = 0x80; hi_ = 0xBF; }

 private:
  std::uint8_t need_ = 0, lo_ = 0x80, hi_ = 0xBF;
};

// Why the reader gave up on a connection; each maps to the close code it is failed with.
enum class ReadFail : std::uint8_t {
  None,
  Protocol,  // 1002: bad header, reserved bits/opcodes, unmasked, bad fragmentation, bad close
  BadData,   // 1007: invalid UTF-8 in a text message or a close reason
  TooBig,    // 1009: a message over the hard cap
};
std::uint16_t close_code_of(ReadFail f);

// What the reader found. Payload views are valid during the call only.
class FrameSink {
 public:
  virtual void on_message(bool text, std::string_view payload) = 0;
  virtual void on_oversized(bool text) = 0;  // over the soft limit: read, validated, dropped
  virtual void on_ping(std::string_view payload) = 0;
  // A valid close frame (code 0: none given). The reader reads nothing after it.
  virtual void on_close(std::uint16_t code, std::string_view payload) = 0;

 protected:
  ~FrameSink() = default;
};

// The incremental reader of client frames. A message above `soft_max` bytes is read and
// validated but not kept; one above `hard_max` fails the connection.
class FrameReader {
 public:
  FrameReader(std::size_t soft_max, std::size_t hard_max) : soft_(soft_max), hard_(hard_max) {}
  // Parses `data` (unmasked in place). Stops after a close frame or at the first failure; both
  // are final: later calls read nothing and return None after a close, the failure after one.
  ReadFail feed(char* data, std::size_t n, FrameSink& sink);
  bool closed() const { return closed_; }
  // Gives back a message buffer that grew for a burst (the reader keeps nothing between messages).
  void trim();

 private:
  ReadFail parse(char* data, std::size_t n, FrameSink& sink);
  ReadFail start_frame(FrameSink& sink);
  ReadFail end_frame(FrameSink& sink);
  void unmask(char* p, std::size_t n);

  std::size_t soft_, hard_;
  std::string msg_;   // a message split over frames or reads; empty otherwise
  std::string ctl_;   // a control frame's payload split over reads
  std::uint64_t left_ = 0;       // payload bytes left in the current frame
  std::uint64_t msg_size_ = 0;   // of the message being read
  std::uint8_t hdr_[14];
  std::uint8_t hdr_len_ = 0;
  std::uint8_t mask_[4];
  std::uint8_t mask_pos_ = 0;
  std::uint8_t op_ = 0;          // of the current frame
  std::uint8_t msg_op_ = 0;      // kText/kBinary while a data message is open
  bool fin_ = false;
  bool in_frame_ = false;        // the header is read, the payload is not (all of it)
  bool discard_ = false;         // the open message is over soft_
  bool closed_ = false;
  ReadFail failed_ = ReadFail::None;
  Utf8Stream utf8_;
};

}  // namespace sb::server::ws
