// The hub: who is connected, who is in which group, and fan-out of frames to them.
// Thread-safe; sessions on any I/O thread call it. Frames are serialised once and shared by
// every recipient.
#pragma once
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../protocol/errors.hpp"

namespace sb::server {

using Frame = std::shared_ptr<const std::string>;

// One authenticated connection, as the hub sees it. deliver() must be thread-safe and must not
// call back into the hub.
class Peer {
 public:
  Peer(std::string user, std::string cid) : user_(std::move(user)), cid_(std::move(cid)) {}
  virtual ~Peer() = default;
  virtual void deliver(const Frame& frame) = 0;
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

class Hub {
 public:
  void attach(const std::shared_ptr<Peer>& peer);
  void detach(Peer& peer);  // the connection is gone: USER_DISCONNECTED if it was in a group
  HubResult join(Peer& peer, const std::optional<std::string>& group);  // nullopt: leave
  HubResult post_group(Peer& peer, const std::string& group, std::string_view payload_json);
  HubResult post_private(Peer& peer, const std::string& user, std::string_view payload_json);

  // Relays WebRTC signalling to one connection, addressed by its cid.
  HubResult relay_rtc(Peer& peer, const std::string& cid, std::string_view payload_json);

  // Snapshots for the users/groups queries (queries.hpp). Empty optional: no such group.
  std::optional<std::vector<std::pair<std::string, std::string>>> members(const std::string& group) const;
  std::vector<std::pair<std::string, std::size_t>> groups() const;
  std::optional<std::string> group_of(Peer& peer) const;

  std::size_t connection_count() const;
  std::size_t user_count() const;
  std::size_t group_count() const;

 private:
  struct Conn {
    std::shared_ptr<Peer> peer;
    std::optional<std::string> group;
  };
  struct Group {
    std::vector<Peer*> members;
    std::unordered_map<std::string, int> per_user;  // connections of each user in the group
  };
  void leave_locked(Conn& c, const char* code);
  void broadcast_locked(const Group& g, const Frame& f);

  mutable std::shared_mutex mu_;
  std::unordered_map<Peer*, Conn> conns_;
  std::unordered_map<std::string, std::vector<Peer*>> users_;
  std::unordered_map<std::string, Peer*> by_cid_;
  std::unordered_map<std::string, Group> groups_;
};

}  // namespace sb::server
