// Fan-out and presence behind interfaces, in the manner of Centrifugo's Broker and
// PresenceManager: the hub keeps the connections of this node and asks a Broker to carry frames
// to every node (this one included) and a PresenceManager for the cluster-wide view of who is
// where. The in-memory implementations below serve one node; a Redis-backed pair (PUBLISH /
// SUBSCRIBE for the broker, hashes with expiring entries for presence) can replace them without
// touching sessions or the protocol. docs/scaling.md describes the contract.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::server {

using Frame = std::shared_ptr<const std::string>;

// One frame on its way to the connections of every node. The frame is serialised once by the
// publisher; a broker that crosses processes sends `frame` bytes as they are.
struct Publication {
  enum class Target : unsigned char { Group, User, Connection };
  // Notices are delivered by the receiving node by their scope (docs/protocol.md, Presence):
  //   None        a message: every addressed connection gets it;
  //   UserLevel   the user's first join / last leave: every member gets it;
  //   ConnLevel   another connection of a user already present: only members that asked for
  //               per-connection notices get it (plus `about_cid` itself for a join).
  enum class Scope : unsigned char { None, UserLevel, ConnLevel };
  Target target = Target::Group;
  Scope scope = Scope::None;
  std::string key;        // group name, user id or connection id
  std::string about_cid;  // notices: the connection the notice is about
  Frame frame;
};

// What a broker hands incoming publications to: the hub of this node.
class BrokerSink {
 public:
  virtual ~BrokerSink() = default;
  virtual void on_publication(const Publication& pub) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  virtual void set_sink(BrokerSink* sink) = 0;
  // Delivers to every node's sink, this node's included. Must not be called with hub locks held
  // (the in-memory broker calls the sink synchronously).
  virtual void publish(const Publication& pub) = 0;
};

// Cluster-wide presence: connections per user, members per group. Every call is atomic; counts
// returned are after the change, so exactly one caller sees a user's first join or last leave.
class PresenceManager {
 public:
  virtual ~PresenceManager() = default;
  // Registers a connection; false (and nothing registered) when the user already has
  // `max_per_user` connections (0: no cap).
  virtual bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) = 0;
  virtual void remove_connection(const std::string& user, const std::string& cid) = 0;
  virtual bool user_online(const std::string& user) const = 0;
  virtual bool connection_exists(const std::string& cid) const = 0;
  // Returns how many connections of `user` are in `group` after the change.
  virtual std::size_t join(const std::string& group, const std::string& user, const std::string& cid) = 0;
  virtual std::size_t leave(const std::string& group, const std::string& user, const std::string& cid) = 0;
  // (user, cid) of every connection in the group; nullopt when the group does not exist.
  virtual std::optional<std::vector<std::pair<std::string, std::string>>> members(const std::string& group) const = 0;
  // (group, connections) of every group.
  virtual std::vector<std::pair<std::string, std::size_t>> groups() const = 0;
};

// ---- in-memory implementations (one node) ---------------------------------------------------

class MemoryBroker final : public Broker {
 public:
  void set_sink(BrokerSink* sink) override { sink_ = sink; }
  void publish(const Publication& pub) override {
    if (sink_) sink_->on_publication(pub);
  }

 private:
  BrokerSink* sink_ = nullptr;
};

class MemoryPresence final : public PresenceManager {
 public:
  bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) override;
  void remove_connection(const std::string& user, const std::string& cid) override;
  bool user_online(const std::string& user) const override;
  bool connection_exists(const std::string& cid) const override;
  std::size_t join(const std::string& group, const std::string& user, const std::string& cid) override;
  std::size_t leave(const std::string& group, const std::string& user, const std::string& cid) override;
  std::optional<std::vector<std::pair<std::string, std::string>>> members(const std::string& group) const override;
  std::vector<std::pair<std::string, std::size_t>> groups() const override;

 private:
  struct Group {
    std::unordered_map<std::string, std::string> members;  // cid -> user
    std::unordered_map<std::string, std::size_t> per_user;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> users_;     // user -> connections
  std::unordered_map<std::string, std::string> conns_;     // cid -> user
  std::unordered_map<std::string, Group> groups_;
};

}  // namespace sb::server
