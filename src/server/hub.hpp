// The hub: the connections of this node, which group each is in, and delivery of frames to them.
// Fan-out and presence go through a Broker and a PresenceManager (broker.hpp), in memory by
// default, so that a multi-node implementation can be put behind the same hub. Thread-safe;
// sessions on any I/O thread call it. Frames are serialised once and shared by every recipient.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../protocol/errors.hpp"
#include "broker.hpp"
#include "stream_store.hpp"

namespace sb::server {

struct HeldNotice;  // notice_round.hpp

// One authenticated connection, as the hub sees it. deliver() must be thread-safe and must not
// call back into the hub.
class Peer {
 public:
  Peer(std::string user, std::string cid) : user_(std::move(user)), cid_(std::move(cid)) {}
  virtual ~Peer() = default;
  virtual void deliver(const Frame& frame) = 0;
  // Closes the connection with 4005 (POST /api/disconnect). Same rules as deliver().
  virtual void close_by_server() {}
  const std::string& user() const { return user_; }
  const std::string& cid() const { return cid_; }

 private:
  const std::string user_, cid_;
};

// The outcome of a hub operation: ok, or a typed error for the requester.
struct HubResult {
  bool ok = true;
  protocol::Error code = protocol::Error::Internal;
  std::string message;
  nlohmann::json data;  // ok: the reply's data, when it has one
  static HubResult fail(protocol::Error c, std::string m) { return {false, c, std::move(m), {}}; }
};

// Which presence notices a member of a group receives (docs/protocol.md, Presence).
enum class NoticeMode : unsigned char {
  User,        // default: a user's first join and last leave
  Connection,  // every connection's join and leave
};

class Hub : private BrokerSink {
 public:
  // In-memory broker and presence: one node.
  Hub();
  // `streams`: null: in memory with default options (memory_streams.hpp).
  Hub(std::unique_ptr<Broker> broker, std::unique_ptr<PresenceManager> presence,
      std::unique_ptr<StreamStore> streams = nullptr);
  ~Hub() override;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Registers a connection. Fails with FORBIDDEN when its user already has `max_per_user`
  // connections (0: no cap), UNAVAILABLE when the backend cannot be reached; then nothing was
  // registered.
  // `hold_user_stream`: the user's private frames wait for open_user_stream (which must follow).
  HubResult attach(const std::shared_ptr<Peer>& peer, std::size_t max_per_user = 0, bool hold_user_stream = false);
  // The private stream of a connection attached with hold_user_stream: calls `welcome` with the
  // stream's position ({offset, epoch, recovered?}; null when the backend failed), then delivers
  // the frames missed since `since`, then what arrived meanwhile, in offset order.
  void open_user_stream(Peer& peer, const std::optional<protocol::StreamPosition>& since,
                        const std::function<void(const nlohmann::json& stream)>& welcome);
  void detach(Peer& peer);  // the connection is gone: USER_DISCONNECTED if it was in a group
  // nullopt: leave. A join replies data {offset, epoch} of the group's stream; with `since`,
  // the frames after it are delivered first (before any live one) and data has `recovered`.
  HubResult join(Peer& peer, const std::optional<std::string>& group, NoticeMode mode = NoticeMode::User,
                 const std::optional<protocol::StreamPosition>& since = std::nullopt);
  // `key`: idempotency key (empty: none); a repeat replies data {duplicate: true}.
  HubResult post_group(Peer& peer, const std::string& group, std::string_view payload_json,
                       const std::string& key = {});
  HubResult post_private(Peer& peer, const std::string& user, std::string_view payload_json,
                         const std::string& key = {});
  // Every publication to a stream goes through here (offset, history, idempotency by
  // `publisher`'s key): target Group or User, `key` the group name or user id.
  HubResult publish_to_stream(Publication::Target target, const std::string& key, protocol::StreamFrame parts,
                              const std::string& publisher, const std::string& idempotency_key);

  // The server API (server_api.hpp): messages from the server's own identity `sender`, with no
  // connection behind them, to a group's members or to every connection of a user, on every
  // node; and the close (4005) of every connection of a user, on every node.
  // Through publish_to_stream, like a connection's post: offsets, history and `key` hold alike.
  HubResult publish_group_as_server(const std::string& sender, const std::string& group, std::string_view payload_json,
                                    const std::string& key = {});
  HubResult publish_user_as_server(const std::string& sender, const std::string& user, std::string_view payload_json,
                                   const std::string& key = {});
  HubResult disconnect_user(const std::string& user);

  // Relays WebRTC signalling to one connection, addressed by its cid.
  HubResult relay_rtc(Peer& peer, const std::string& cid, std::string_view payload_json);

  // The cluster-wide view the users/groups queries page over (queries.hpp).
  const PresenceManager& presence() const { return *presence_; }
  std::optional<std::string> group_of(Peer& peer) const;

  // This node's connections, users and groups.
  std::size_t connection_count() const;
  std::size_t user_count() const;
  std::size_t group_count() const;
  // False while the cluster backend (Redis) is unreachable (/healthz, /metrics).
  bool backend_healthy() const { return broker_->healthy() && presence_->healthy(); }

  // For NoticeRound (notice_round.hpp): delivers a group's notices held over a loop turn, each
  // member the ones it would have got one by one, as one frame.
  void deliver_held(const std::string& group, const std::vector<HeldNotice>& notices);

 private:
  struct Conn {
    std::shared_ptr<Peer> peer;
    std::optional<std::string> group;
  };
  struct Member {
    Peer* peer;
    NoticeMode mode;
    std::uint64_t since;  // notice_seq_ when it joined: held notices numbered after it are its
  };
  void on_publication(const Publication& pub) override;
  std::vector<LocalConnection> local_connections() const override;
  // Removes the connection from its local group (under the lock); returns the group it was in.
  std::optional<std::string> leave_local_locked(Conn& c);
  void forget_local(Peer& peer);  // the local half of detach
  BackendStatus announce_leave(Peer& peer, const std::string& group, const char* code);
  // Recovery: while a connection's stream is held, its live frames of that stream wait here;
  // release() delivers the replay, then those with a higher offset (and any without one);
  // with `read` null it drops them (the join or the connection failed).
  void hold_locked(Peer& peer, Publication::Target target, const std::string& key);
  bool held(Peer* peer, const Publication& pub);
  void release(Peer& peer, Publication::Target target, const StreamRead* read);
  HubResult rejoin_position(const std::string& group);
  bool stream_in_use(Publication::Target target, const std::string& key) const;

  std::unique_ptr<Broker> broker_;
  std::unique_ptr<PresenceManager> presence_;
  mutable std::shared_mutex mu_;
  std::unordered_map<Peer*, Conn> conns_;
  std::unordered_map<std::string, std::vector<Peer*>> users_;
  std::unordered_map<std::string, Peer*> by_cid_;
  std::unordered_map<std::string, std::vector<Member>> groups_;  // local members only
  std::atomic<std::uint64_t> notice_seq_{0};  // numbers notices held by a NoticeRound
  std::unique_ptr<StreamStore> streams_;
  struct Held {
    std::string key;
    std::vector<Frame> frames;
  };
  std::mutex hold_mu_;  // after mu_ when both are taken
  std::map<std::pair<Peer*, Publication::Target>, Held> held_;
  std::atomic<std::size_t> holds_{0};  // held_.size(), read without the lock on every delivery
};

}  // namespace sb::server
