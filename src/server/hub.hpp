// The hub: the connections of this node, which group each is in, and delivery of frames to them.
// Fan-out and presence go through a Broker and a PresenceManager (broker.hpp), in memory by
// default, so that a multi-node implementation can be put behind the same hub. Thread-safe;
// sessions on any I/O thread call it. Frames are serialised once and shared by every recipient.
#pragma once
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../protocol/errors.hpp"
#include "broker.hpp"

namespace sb::server {

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
  static HubResult fail(protocol::Error c, std::string m) { return {false, c, std::move(m)}; }
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
  Hub(std::unique_ptr<Broker> broker, std::unique_ptr<PresenceManager> presence);
  ~Hub() override;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Registers a connection. Fails with FORBIDDEN when its user already has `max_per_user`
  // connections (0: no cap), UNAVAILABLE when the backend cannot be reached; then nothing was
  // registered.
  HubResult attach(const std::shared_ptr<Peer>& peer, std::size_t max_per_user = 0);
  void detach(Peer& peer);  // the connection is gone: USER_DISCONNECTED if it was in a group
  HubResult join(Peer& peer, const std::optional<std::string>& group,
                 NoticeMode mode = NoticeMode::User);  // nullopt: leave
  HubResult post_group(Peer& peer, const std::string& group, std::string_view payload_json);
  HubResult post_private(Peer& peer, const std::string& user, std::string_view payload_json);

  // The server API (server_api.hpp): messages from the server's own identity `sender`, with no
  // connection behind them, to a group's members or to every connection of a user, on every
  // node; and the close (4005) of every connection of a user, on every node.
  HubResult publish_group_as_server(const std::string& sender, const std::string& group, std::string_view payload_json);
  HubResult publish_user_as_server(const std::string& sender, const std::string& user, std::string_view payload_json);
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

 private:
  struct Conn {
    std::shared_ptr<Peer> peer;
    std::optional<std::string> group;
  };
  struct Member {
    Peer* peer;
    NoticeMode mode;
  };
  void on_publication(const Publication& pub) override;
  std::vector<LocalConnection> local_connections() const override;
  // Removes the connection from its local group (under the lock); returns the group it was in.
  std::optional<std::string> leave_local_locked(Conn& c);
  void forget_local(Peer& peer);  // the local half of detach
  BackendStatus announce_leave(Peer& peer, const std::string& group, const char* code);

  std::unique_ptr<Broker> broker_;
  std::unique_ptr<PresenceManager> presence_;
  mutable std::shared_mutex mu_;
  std::unordered_map<Peer*, Conn> conns_;
  std::unordered_map<std::string, std::vector<Peer*>> users_;
  std::unordered_map<std::string, Peer*> by_cid_;
  std::unordered_map<std::string, std::vector<Member>> groups_;  // local members only
};

}  // namespace sb::server
