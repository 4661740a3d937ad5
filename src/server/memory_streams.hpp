// Streams of one node (stream_store.hpp): per stream a mutex, an epoch made when the stream is
// first used, the last offset and a ring of the last `history_size` frames. The mutex covers the
// offset assignment and the synchronous delivery through the in-memory broker, so every local
// member gets a stream's frames in offset order. A stream with an empty history and no member
// (asked of the hub through `in_use`) is dropped, leaving a tombstone {epoch, top} from which it
// is made again with the same epoch and top (bounded: StreamOptions::max_tombstones, oldest out
// first, and tombstone_ttl); only a stream without one starts a new epoch. Idle keys are swept.
#pragma once
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "stream_store.hpp"

namespace sb::server {

class MemoryStreams final : public StreamStore {
 public:
  using Clock = std::chrono::steady_clock;
  using InUse = std::function<bool(Publication::Target, const std::string& key)>;
  explicit MemoryStreams(StreamOptions opts, std::function<Clock::time_point()> now = Clock::now);

  // Set once, before any call: whether a stream still has members (the hub's answer).
  void set_in_use(InUse in_use) { in_use_ = std::move(in_use); }
  PublishOutcome publish(StreamPublish& req, Broker& broker) override;
  StreamRead read(Publication::Target target, const std::string& key,
                  const std::optional<protocol::StreamPosition>& since) override;
  std::size_t stream_count() const;

 private:
  struct Entry {
    std::uint64_t offset;
    Clock::time_point at;
    Frame frame;
  };
  struct Stream {
    std::mutex mu;
    std::string epoch;
    std::uint64_t top = 0;
    std::deque<Entry> ring;
  };
  struct Tombstone {
    std::string epoch;
    std::uint64_t top;
    std::uint64_t seq;  // the entry in tomb_order_ that is this one's (older entries are stale)
  };
  struct TombOrder {
    std::string id;
    std::uint64_t seq;
    Clock::time_point dropped;
  };
  struct UserKeys {
    std::deque<std::pair<std::string, Clock::time_point>> order;  // by expiry (the ttl is fixed)
    std::unordered_set<std::string> keys;
  };
  std::shared_ptr<Stream> stream(Publication::Target target, const std::string& key);
  void expire_locked(Stream& s, Clock::time_point now) const;
  bool remember_key(const std::string& user, const std::string& key, Clock::time_point now);
  void forget_key(const std::string& user, const std::string& key);
  void maybe_sweep(Clock::time_point now);
  void bury_locked(const std::string& id, const Stream& s, Clock::time_point now);
  void pop_tomb_locked();

  const StreamOptions opts_;
  const std::function<Clock::time_point()> now_;
  InUse in_use_;
  mutable std::mutex map_mu_;  // streams_
  std::unordered_map<std::string, std::shared_ptr<Stream>> streams_;  // 'g'|'u' + key
  // Under map_mu_: dropped streams by id, and their drops oldest first. A stream made again
  // takes its tombstone out of tombs_ only; its entry in tomb_order_ stays, stale, until it
  // reaches the front (it counts against max_tombstones, which bounds both).
  std::unordered_map<std::string, Tombstone> tombs_;
  std::deque<TombOrder> tomb_order_;
  std::uint64_t tomb_seq_ = 0;
  std::atomic<Clock::rep> next_sweep_{0};  // time_since_epoch of the next sweep
  std::mutex keys_mu_;
  std::unordered_map<std::string, UserKeys> keys_;  // by user
};

}  // namespace sb::server
