#include "ws_frame.hpp"

#include <algorithm>
#include <cstring>

#include "../protocol/utf8.hpp"

namespace sb::server::ws {

std::size_t encode_header(Opcode op, std::uint64_t n, char* out) {
  out[0] = static_cast<char>(0x80 | op);
  if (n < 126) {
    out[1] = static_cast<char>(n);
    return 2;
  }
  if (n <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n);
    return 4;
  }
  out[1] = 127;
  for (int k = 0; k < 8; ++k) out[2 + k] = static_cast<char>(n >> (56 - 8 * k));
  return 10;
}

std::string control_frame(Opcode op, std::string_view payload) {
  payload = payload.substr(0, 125);
  char hdr[kMaxHeader];
  std::string f(hdr, encode_header(op, payload.size(), hdr));
  f.append(payload);
  return f;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  payload.append(sb::protocol::utf8_prefix(reason, 123));
  return control_frame(kClose, payload);
}

bool valid_close_code(std::uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

std::uint16_t close_code_of(ReadFail f) {
  switch (f) {
    case ReadFail::BadData: return 1007;
    case ReadFail::TooBig: return 1009;
    default: return 1002;
  }
}

bool Utf8Stream::feed(const char* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      while (i + 8 <= n) {  // ASCII, eight bytes at a time
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        if (v & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i == n) break;
      auto c = static_cast<std::uint8_t>(p[i++]);
      if (c < 0x80) continue;
      // RFC 3629's table: the first byte fixes the length and the range of the second byte
      // (no overlongs, no surrogates, nothing above U+10FFFF).
      lo_ = 0x80, hi_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) need_ = 1;
      else if (c == 0xE0) need_ = 2, lo_ = 0xA0;
      else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need_ = 2;
      else if (c == 0xED) need_ = 2, hi_ = 0x9F;
      else if (c == 0xF0) need_ = 3, lo_ = 0x90;
      else if (c >= 0xF1 && c <= 0xF3) need_ = 3;
      else if (c == 0xF4) need_ = 3, hi_ = 0x8F;
      else return false;
    } else {
      auto c = static_cast<std::uint8_t>(p[i++]);
      if (c < lo_ || c > hi_) return false;
      --need_;
      lo_ = 0x80, hi_ = 0xBF;
    }
  }
  return true;
}

void FrameReader::unmask(char* p, std::size_t n) {
  std::size_t k = 0;
  for (; k < n && mask_pos_ != 0; ++k, mask_pos_ = (mask_pos_ + 1) & 3) p[k] ^= mask_[mask_pos_];
  std::uint32_t m32;
  std::memcpy(&m32, mask_, 4);
  const std::uint64_t m64 = (std::uint64_t{m32} << 32) | m32;
  for (; k + 8 <= n; k += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + k, 8);
    v ^= m64;
    std::memcpy(p + k, &v, 8);
  }
  for (; k < n; ++k, mask_pos_ = (mask_pos_ + 1) & 3) p[k] ^= mask_[mask_pos_];
}

namespace {
// The checks that the first two header bytes allow, before the length and mask arrive.
ReadFail check_head(std::uint8_t b0, std::uint8_t b1, std::uint8_t open_message) {
  const std::uint8_t op = b0 & 0x0F, len7 = b1 & 0x7F;
  if (b0 & 0x70) return ReadFail::Protocol;     // RSV1-3: no extension was negotiated
  if (!(b1 & 0x80)) return ReadFail::Protocol;  // client frames must be masked (§5.1)
  if (op >= 8) {
    if (op > kPong || !(b0 & 0x80) || len7 > 125) return ReadFail::Protocol;  // §5.5
  } else {
    if (op > kBinary) return ReadFail::Protocol;                               // reserved opcodes
    if ((op == kContinuation) != (open_message != 0)) return ReadFail::Protocol;  // §5.4
  }
  return ReadFail::None;
}
std::size_t header_size(std::uint8_t b1) {
  const std::uint8_t len7 = b1 & 0x7F;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}
}  // namespace

ReadFail FrameReader::start_frame(FrameSink&) {
  fin_ = hdr_[0] & 0x80;
  op_ = hdr_[0] & 0x0F;
  std::uint64_t len = hdr_[1] & 0x7F;
  std::size_t at = 2;
  if (len == 126) {
    len = (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
    if (len < 126) return ReadFail::Protocol;  // lengths use the shortest form (§5.2)
    at = 4;
  } else if (len == 127) {
    len = 0;
    for (int k = 0; k < 8; ++k) len = (len << 8) | hdr_[2 + k];
    if ((len >> 63) || len <= 0xFFFF) return ReadFail::Protocol;
    at = 10;
  }
  std::memcpy(mask_, hdr_ + at, 4);
  mask_pos_ = 0;
  hdr_len_ = 0;
  in_frame_ = true;
  left_ = len;
  if (op_ >= 8) {
    ctl_.clear();
    return ReadFail::None;
  }
  if (op_ != kContinuation) {
    msg_op_ = op_;
    msg_size_ = 0;
    discard_ = false;
    utf8_.reset();
  }
  if (len > hard_ - msg_size_) return ReadFail::TooBig;  // msg_size_ <= hard_ always
  msg_size_ += len;
  if (msg_size_ > soft_ && !discard_) {
    discard_ = true;
    std::string().swap(msg_);
  }
  return ReadFail::None;
}

ReadFail FrameReader::end_frame(FrameSink& sink) {
  in_frame_ = false;
  if (op_ >= 8) {
    if (op_ == kPing) {
      sink.on_ping(ctl_);
    } else if (op_ == kClose) {
      if (ctl_.size() == 1) return ReadFail::Protocol;
      std::uint16_t code = 0;
      if (ctl_.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(ctl_[0]) << 8) | static_cast<std::uint8_t>(ctl_[1]));
        if (!valid_close_code(code)) return ReadFail::Protocol;
        if (!sb::protocol::valid_utf8(std::string_view(ctl_).substr(2))) return ReadFail::BadData;
      }
      closed_ = true;
      sink.on_close(code, ctl_);
    }
    return ReadFail::None;  // a pong needs nothing (any bytes count as liveness)
  }
  if (!fin_) return ReadFail::None;
  const bool text = msg_op_ == kText;
  msg_op_ = 0;
  if (text && !utf8_.complete()) return ReadFail::BadData;
  if (discard_) {
    discard_ = false;
    sink.on_oversized(text);
  } else {
    sink.on_message(text, msg_);
  }
  msg_.clear();
  return ReadFail::None;
}

// A failure leaves the reader in the middle of a bad header or frame: nothing after it is read.
ReadFail FrameReader::feed(char* data, std::size_t n, FrameSink& sink) {
  if (failed_ == ReadFail::None) failed_ = parse(data, n, sink);
  return failed_;
}

ReadFail FrameReader::parse(char* data, std::size_t n, FrameSink& sink) {
  std::size_t i = 0;
  while (i < n && !closed_) {
    if (!in_frame_) {
      if (hdr_len_ < 2) {
        hdr_[hdr_len_++] = static_cast<std::uint8_t>(data[i++]);
        if (hdr_len_ < 2) continue;
        if (auto f = check_head(hdr_[0], hdr_[1], msg_op_); f != ReadFail::None) return f;
      }
      const std::size_t need = header_size(hdr_[1]);
      const std::size_t take = std::min(need - hdr_len_, n - i);
      std::memcpy(hdr_ + hdr_len_, data + i, take);
      hdr_len_ = static_cast<std::uint8_t>(hdr_len_ + take);
      i += take;
      if (hdr_len_ < need) return ReadFail::None;
      if (auto f = start_frame(sink); f != ReadFail::None) return f;
      // The common case: a whole unfragmented message in what was read; no copy.
      if (fin_ && (op_ == kText || op_ == kBinary) && !discard_ && left_ <= n - i) {
        char* p = data + i;
        const auto len = static_cast<std::size_t>(left_);
        unmask(p, len);
        if (op_ == kText && !(utf8_.feed(p, len) && utf8_.complete())) return ReadFail::BadData;
        i += len;
        left_ = 0;
        in_frame_ = false;
        msg_op_ = 0;
        sink.on_message(op_ == kText, std::string_view(p, len));
        continue;
      }
      if (left_ == 0) {
        if (auto f = end_frame(sink); f != ReadFail::None) return f;
        continue;
      }
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - i));
    char* p = data + i;
    unmask(p, take);
    i += take;
    left_ -= take;
    if (op_ >= 8) {
      ctl_.append(p, take);
    } else {
      if (msg_op_ == kText && !utf8_.feed(p, take)) return ReadFail::BadData;
      if (!discard_) msg_.append(p, take);
    }
    if (left_ == 0)
      if (auto f = end_frame(sink); f != ReadFail::None) return f;
  }
  return ReadFail::None;
}

void FrameReader::trim() {
  if (msg_.empty() && msg_.capacity() > 15) std::string().swap(msg_);
  if (ctl_.capacity() > 15 && !in_frame_) std::string().swap(ctl_);
}

}  // namespace sb::server::ws
