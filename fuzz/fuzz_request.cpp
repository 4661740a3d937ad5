// The server's request parser (protocol::parse_request) on arbitrary bytes, default Limits: no
// crash or UB, a refusal always says why, and what it accepts has the shape the server relies on
// (valid names, a payload that is one JSON value).
#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "protocol/frames.hpp"

using namespace sb::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sb::fuzz::bytes(data, size);
  {
    StreamPosition pos;  // the connect URL's since=, from the same bytes
    if (parse_stream_position(text, pos))
      SB_FUZZ_CHECK(valid_stream_token(pos.epoch) && text.substr(text.rfind('.') + 1) == std::to_string(pos.offset),
                    "since=: a valid epoch and the offset's own digits");
  }
  const Limits limits;
  Request req;
  RequestError err;
  if (!parse_request(text, limits, req, err)) {
    SB_FUZZ_CHECK(!err.message.empty(), "a refused frame gets an error message");
    SB_FUZZ_CHECK(text.size() <= limits.max_frame_bytes || err.code == Error::TooLarge,
                  "an oversized frame is refused as TOO_LARGE");
    return 0;
  }
  SB_FUZZ_CHECK(text.size() <= limits.max_frame_bytes, "no frame over max_frame_bytes is accepted");
  auto name_ok = [&](const std::string& s) { return valid_name(s, limits.max_name_bytes); };
  switch (req.op) {
    case Op::Join:
      SB_FUZZ_CHECK(!req.group || name_ok(*req.group), "join: a valid group or none");
      break;
    case Op::Post:
    case Op::Users:
      SB_FUZZ_CHECK(req.group && name_ok(*req.group), "post/users: a valid group");
      break;
    case Op::Private:
      SB_FUZZ_CHECK(name_ok(req.user), "private: a valid user id");
      break;
    case Op::Rtc:
      SB_FUZZ_CHECK(name_ok(req.cid), "rtc: a valid cid");
      SB_FUZZ_CHECK(nlohmann::json::parse(req.payload, nullptr, false).is_object(), "rtc: msg is an object");
      break;
    case Op::Groups:
    case Op::Auth:  // the token's shape only; the server verifies it (fuzz_token)
    case Op::Ping:
    case Op::Vapid:
    case Op::Subscribe:
    case Op::Unsubscribe:
    case Op::Push:
      break;
  }
  // Stream fields (docs/protocol.md, Streams and recovery): the server stores and echoes them.
  SB_FUZZ_CHECK(req.key.empty() || ((req.op == Op::Post || req.op == Op::Private) && valid_stream_token(req.key)),
                "a key only on post/private, 1..64 of [A-Za-z0-9_-]");
  SB_FUZZ_CHECK(!req.since || (req.op == Op::Join && valid_stream_token(req.since->epoch)),
                "since only on join, with a valid epoch");
  if (req.notification) {
    // What the push service will encrypt and send: Skapi's size rule holds for every accepted one.
    SB_FUZZ_CHECK(req.op == Op::Post || req.op == Op::Private, "a notification only on post/private");
    SB_FUZZ_CHECK(!req.notification->title.empty() && !req.notification->body.empty(), "a notification has a title and a body");
    SB_FUZZ_CHECK(nlohmann::json({{"title", req.notification->title}, {"body", req.notification->body}}).dump().size() <=
                      limits.max_notification_bytes,
                  "an accepted notification is within max_notification_bytes");
  }
  if (req.op == Op::Post || req.op == Op::Private) {
    // The server splices this text into every recipient's frame as it is.
    SB_FUZZ_CHECK(nlohmann::json::accept(req.payload), "post/private: the payload is one JSON value");
    // Batched server messages are split on '\n' (docs/protocol.md): a raw newline in a payload
    // would cut a frame in two at every recipient.
    SB_FUZZ_CHECK(req.payload.find_first_of("\r\n") == std::string::npos,
                  "post/private: the kept payload holds no raw CR or LF");
  }
  // Every frame is one JSON object (docs/protocol.md); limits.hpp's valid_name counts on the JSON
  // parser having checked the names' UTF-8. The fast path for post/private must not be laxer.
  SB_FUZZ_CHECK(nlohmann::json::accept(text), "an accepted frame is valid JSON");
  return 0;
}
