// Fan-out and presence behind interfaces, in the manner of Centrifugo's Broker and
// PresenceManager: the hub keeps the connections of this node and asks a Broker to carry frames
// to every node (this one included) and a PresenceManager for the cluster-wide view of who is
// where. The in-memory implementations below serve one node; the Redis pair (redis_broker.hpp,
// redis_presence.hpp) serves several without touching sessions or the protocol. docs/scaling.md
// describes the contract.
//
// Failures: a broker call returns a BackendStatus; a presence call throws BackendUnavailable
// (presence returns values, and its ordered reads run deep inside page_walk.hpp; an exception
// carries the failure out without a status in every signature, and costs the in-memory pair
// nothing since it never throws). The hub and the queries turn both into UNAVAILABLE.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
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
  //   Disconnect  control, not a frame: every addressed connection is closed by the server
  //               (close code 4005; the server API's /api/disconnect). `frame` is empty.
  enum class Scope : unsigned char { None, UserLevel, ConnLevel, Disconnect };
  Target target = Target::Group;
  Scope scope = Scope::None;
  std::string key;        // group name, user id or connection id
  std::string about_cid;  // notices: the connection the notice is about
  Frame frame;
};

// The outcome of a broker call: ok, or the backend cannot be reached (UNAVAILABLE).
struct BackendStatus {
  bool ok = true;
  std::string why;
  static BackendStatus unavailable(std::string w) { return {false, std::move(w)}; }
};
// What a presence call throws when its backend cannot answer.
struct BackendUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One connection of this node as presence knows it (for re-registering after an outage).
struct LocalConnection {
  std::string user, cid;
  std::optional<std::string> group;
};

// What a broker hands incoming publications to: the hub of this node.
class BrokerSink {
 public:
  virtual ~BrokerSink() = default;
  virtual void on_publication(const Publication& pub) = 0;
  // Every connection of this node and its group.
  virtual std::vector<LocalConnection> local_connections() const = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Called with nullptr before the sink goes; no call to the old sink runs after it returns.
  virtual void set_sink(BrokerSink* sink) = 0;
  // Delivers to every node's sink that subscribed to the publication's channel, this node's
  // included. Must not be called with hub locks held (the in-memory broker calls the sink
  // synchronously). At most once: a failed status means no node got it.
  virtual BackendStatus publish(const Publication& pub) = 0;
  // Channel subscriptions of this node, counted: the hub subscribes once per local member of a
  // group (and per local connection for its user and cid); the broker subscribes the node on a
  // channel's first count and unsubscribes it on its last, so a node hears only the groups it
  // has members in. subscribe() returns once publications made after it reach this node; on
  // failure nothing was counted. Must not be called with hub locks held.
  virtual BackendStatus subscribe(Publication::Target, const std::string& key) { return {}; }
  virtual void unsubscribe(Publication::Target, const std::string& key) {}
  virtual bool healthy() const { return true; }  // false: the backend is unreachable now
};

// Keys of the ordered indexes presence keeps for the users and groups queries. Strings compare
// bytewise (UTF-8 in code point order), tuples field by field.
struct MemberKey {  // a group's connections, by (user, cid)
  std::string user, cid;
};
struct CountKey {  // groups by (connections, name)
  std::size_t count = 0;
  std::string name;
};
struct GroupEntry {
  std::string name;
  std::size_t count = 0;  // connections in the group
};
inline bool operator<(const MemberKey& a, const MemberKey& b) { return std::tie(a.user, a.cid) < std::tie(b.user, b.cid); }
inline bool operator==(const MemberKey& a, const MemberKey& b) { return a.user == b.user && a.cid == b.cid; }
inline bool operator<(const CountKey& a, const CountKey& b) { return std::tie(a.count, a.name) < std::tie(b.count, b.name); }
inline bool operator==(const CountKey& a, const CountKey& b) { return a.count == b.count && a.name == b.name; }

template <class K>
struct Bound {
  K key;
  bool inclusive = true;
};
// A slice of an index: the keys between lo and hi (absent: unbounded), read upwards or downwards.
template <class K>
struct KeyRange {
  std::optional<Bound<K>> lo, hi;
  bool ascending = true;
};

// Cluster-wide presence: connections per user, members per group. Every call is atomic; counts
// returned are after the change, so exactly one caller sees a user's first join or last leave.
// Every call may throw BackendUnavailable.
class PresenceManager {
 public:
  virtual ~PresenceManager() = default;
  // The hub, which presence asks for the node's connections when it must register them again
  // (a backend restarted empty) and hands notices about connections of dead nodes to.
  virtual void set_sink(BrokerSink* sink) {}
  virtual bool healthy() const { return true; }
  // Registers a connection; false (and nothing registered) when the user already has
  // `max_per_user` connections (0: no cap).
  virtual bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) = 0;
  virtual void remove_connection(const std::string& user, const std::string& cid) = 0;
  virtual bool user_online(const std::string& user) const = 0;
  virtual bool connection_exists(const std::string& cid) const = 0;
  // Returns how many connections of `user` are in `group` after the change.
  virtual std::size_t join(const std::string& group, const std::string& user, const std::string& cid) = 0;
  virtual std::size_t leave(const std::string& group, const std::string& user, const std::string& cid) = 0;

  // Ordered reads for the queries (queries.hpp pages over them): at most `n` entries of `range`
  // in its direction, each call O(log N + n), never a whole snapshot. A Redis implementation
  // answers them with one sorted set per index (ZRANGEBYLEX / ZREVRANGEBYLEX ... LIMIT 0 n over
  // members encoded so that byte order is key order, e.g. user "\0" cid, or a zero-padded count
  // followed by the name).
  // A group's connections ordered by (user, cid); empty when the group does not exist.
  virtual std::vector<MemberKey> members(const std::string& group, const KeyRange<MemberKey>& range,
                                         std::size_t n) const = 0;
  // Groups ordered by name.
  virtual std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& range, std::size_t n) const = 0;
  // Groups ordered by (connections, name).
  virtual std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const = 0;
};

// ---- in-memory implementations (one node) ---------------------------------------------------

class MemoryBroker final : public Broker {
 public:
  void set_sink(BrokerSink* sink) override { sink_ = sink; }
  BackendStatus publish(const Publication& pub) override {
    if (sink_) sink_->on_publication(pub);
    return {};
  }

 private:
  BrokerSink* sink_ = nullptr;
};

// Presence in a few ordered containers under one mutex. A join or leave costs O(log N) (the
// group's member set and the count index), a paged read O(log N + n).
class MemoryPresence final : public PresenceManager {
 public:
  bool add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) override;
  void remove_connection(const std::string& user, const std::string& cid) override;
  bool user_online(const std::string& user) const override;
  bool connection_exists(const std::string& cid) const override;
  std::size_t join(const std::string& group, const std::string& user, const std::string& cid) override;
  std::size_t leave(const std::string& group, const std::string& user, const std::string& cid) override;
  std::vector<MemberKey> members(const std::string& group, const KeyRange<MemberKey>& range,
                                 std::size_t n) const override;
  std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& range, std::size_t n) const override;
  std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const override;

 private:
  struct Group {
    std::set<MemberKey> members;                            // by (user, cid)
    std::unordered_map<std::string, std::size_t> per_user;  // user -> connections here
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> users_;  // user -> connections
  std::unordered_map<std::string, std::string> conns_;  // cid -> user
  std::map<std::string, Group> groups_;                 // by name
  // (connections, name) of every group; the names point into groups_' keys, which are stable.
  std::set<std::pair<std::size_t, std::string_view>> by_count_;
};

}  // namespace sb::server
