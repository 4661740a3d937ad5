// Streams in Redis (stream_store.hpp, redis_stream_scripts.hpp): one script per publication
// checks the idempotency key, takes the next offset, appends the frame to the stream's history
// (a Redis Stream trimmed to --history-size) and PUBLISHes it on the stream's channel, all on the
// shard of that channel, so every node receives a stream's frames in offset order. The history
// outlives any node: a client that reconnects to another node, or to a restarted one, recovers.
#pragma once
#include <memory>

#include "redis_engine.hpp"
#include "stream_store.hpp"

namespace sb::server {

class RedisStreams final : public StreamStore {
 public:
  RedisStreams(std::shared_ptr<RedisEngine> engine, StreamOptions opts);
  // `broker` is not used: the script publishes.
  PublishOutcome publish(StreamPublish& req, Broker& broker) override;
  StreamRead read(Publication::Target target, const std::string& key,
                  const std::optional<protocol::StreamPosition>& since) override;

 private:
  std::shared_ptr<RedisEngine> engine_;
  StreamOptions opts_;
};

}  // namespace sb::server
