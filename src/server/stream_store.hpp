// Streams (docs/protocol.md, Streams and recovery): every group and every user's private stream
// numbers its messages (offset 1, 2, ...) within an epoch, keeps a bounded history of them and
// remembers the idempotency keys of their publishers. A StreamStore assigns the offsets and
// hands each frame to the broker in offset order, so that every node delivers a stream in that
// order: in memory (memory_streams.hpp) or in Redis (redis_streams.hpp).
#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "../protocol/frames.hpp"
#include "broker.hpp"

namespace sb::server {

struct StreamOptions {
  std::size_t history_size = 1000;                // entries kept per stream (0: none)
  std::chrono::seconds history_ttl{300};          // an entry older than this is gone
  std::chrono::seconds idempotency_ttl{120};      // how long a (user, key) is remembered
  std::size_t max_keys_per_user = 1024;           // more: the oldest are forgotten (in memory)
  std::size_t max_replay_bytes = 2 << 20;         // a longer replay fails (recovered: false)
  // In memory: a dropped stream's {epoch, top} is kept this long, for at most this many streams
  // (the oldest forgotten first), so that a client coming back finds the same epoch.
  std::chrono::seconds tombstone_ttl{24 * 3600};
  std::size_t max_tombstones = 100000;
};

// One publication to a stream: the stream is pub.target (Group or User) and pub.key.
struct StreamPublish {
  Publication pub;              // the store sets pub.frame = parts.at(offset, epoch)
  protocol::StreamFrame parts;
  std::string user;             // the publisher, whose idempotency keys are checked
  std::string idempotency_key;  // empty: none
};

struct PublishOutcome {
  BackendStatus status;         // not ok: nothing was published (and the key not remembered)
  bool duplicate = false;       // the key was seen: nothing was published
};

// A stream's top, and with `since`, what came after it.
struct StreamRead {
  protocol::StreamPosition top;
  std::optional<bool> recovered;  // set when a position was given
  std::vector<Frame> frames;      // recovered: the frames after the position, in order
};

class StreamStore {
 public:
  virtual ~StreamStore() = default;
  // Assigns the stream's next offset, records the frame in its history and publishes it: all
  // publications of one stream reach every node in offset order. Must not be called with hub
  // locks held (the in-memory store calls the broker, which calls the hub, synchronously).
  virtual PublishOutcome publish(StreamPublish& req, Broker& broker) = 0;
  // The stream's top (made, with a fresh epoch, if the stream is new). With `since`: the frames
  // after it when the epoch matches and the history still holds all of them in at most
  // max_replay_bytes; otherwise recovered is false and no frames come. Throws BackendUnavailable.
  virtual StreamRead read(Publication::Target target, const std::string& key,
                          const std::optional<protocol::StreamPosition>& since) = 0;
};

// A fresh epoch: 16 random hex digits.
std::string new_epoch();

}  // namespace sb::server
