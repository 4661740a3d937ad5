// Where the client is in each stream it receives from (docs/protocol.md, Recovery): the joined
// group's and the user's private stream. Frames seen before are dropped by offset, the position
// goes to the server on reconnect, and the server's answer says whether the gap was filled.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../protocol/frames.hpp"

namespace sb::client {

// The notice code and text of a recovery the server could not make.
inline constexpr const char* kRecoveryFailedCode = "RECOVERY_FAILED";
inline constexpr const char* kRecoveryFailedText = "Messages sent while disconnected could not be recovered.";

// The server's {"offset":N,"epoch":"E","recovered":bool?} (a join ok's data, a welcome's
// data.stream), as JSON text; nullopt when `obj` is not one (a server without streams).
struct StreamAnswer {
  protocol::StreamPosition top;
  std::optional<bool> recovered;
};
std::optional<StreamAnswer> stream_answer(std::string_view obj);

// One stream: its name (group or user id) and the last {epoch, offset} received from it.
class StreamCursor {
 public:
  // Follows stream `name`, forgetting the position when it was another stream's.
  void track(std::string_view name);
  // A frame at (epoch, offset) of the tracked stream: false when it was delivered already (same
  // epoch, offset not past the last). Offset 0 (none given) is always new and moves nothing.
  bool accept(std::string_view epoch, std::uint64_t offset);
  // The server's answer to a subscription, with `asked`: whether this subscription sent since().
  // Returns true when it asked to recover and the server could not; the position then starts
  // afresh at the server's top, as it does when nothing was asked.
  bool settle(const StreamAnswer& answer, bool asked);
  // The position to send on reconnect, or null when there is none.
  const protocol::StreamPosition* since() const { return pos_ ? &*pos_ : nullptr; }
  const std::string& name() const { return name_; }
  void reset();

 private:
  std::string name_;
  std::optional<protocol::StreamPosition> pos_;
};

}  // namespace sb::client
