// The offline queue (docs/api.md, Offline queue): calls made while the connection is down wait
// here in call order, bounded by count and by framed bytes, and go out after the rejoin. Posts
// a lost connection left unanswered come back to its front and are sent again with the same
// idempotency key, so the server delivers them at most once.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "platform.hpp"
#include "result.hpp"

namespace sb::protocol { struct ServerFrame; }

namespace sb::client {

using BuildFrame = std::function<std::string(std::int64_t id)>;
using OnOk = std::function<Result(const protocol::ServerFrame&)>;

struct Outgoing {
  BuildFrame build;
  Reply done;
  OnOk on_ok;
  bool resend = false;     // a keyed post: sent again when the connection drops before its reply
  std::size_t bytes = 0;   // its frame's size, counted against the byte bound
  std::uint64_t seq = 0;   // the outbox's handle, for the wait timer
  TimerId timer = 0;
};

class Outbox {
 public:
  // Whether a call of `bytes` framed bytes may join the calls waiting.
  bool fits(std::size_t bytes, std::size_t max_count, std::size_t max_bytes) const {
    return items_.size() < max_count && bytes <= max_bytes && bytes_ <= max_bytes - bytes;
  }
  // A fresh handle for a call about to wait (its timer refers to it).
  std::uint64_t next_seq() { return next_seq_++; }
  void push_back(Outgoing item);
  // Puts calls already accepted (posts a lost connection left unanswered, in the order they
  // were sent; or calls a flush could not send) ahead of every waiting one, in their order.
  // The bounds do not apply to them. Those before index `from` in `items` are left out.
  void put_back(std::vector<Outgoing> items, std::size_t from = 0);
  // Takes out the call with handle `seq`, if it still waits (its wait timed out).
  std::optional<Outgoing> remove(std::uint64_t seq);
  std::vector<Outgoing> take_all();
  std::size_t size() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::uint64_t next_seq_ = 1;
  std::size_t bytes_ = 0;
  std::vector<Outgoing> items_;  // a vector, not a deque: the wasm module is smaller
};

// Idempotency keys (docs/protocol.md): a random prefix per client and a counter, within the
// server's 1..64 characters of [A-Za-z0-9_-].
class KeyMaker {
 public:
  std::string next(Host& host);

 private:
  std::string prefix_;
  std::uint64_t count_ = 0;
};

}  // namespace sb::client
