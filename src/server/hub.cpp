#include "hub.hpp"

#include <algorithm>
#include <mutex>

#include "../protocol/frames.hpp"

namespace sb::server {

namespace p = sb::protocol;
using Scope = Publication::Scope;
using Target = Publication::Target;

namespace {
template <class T>
void erase_one(std::vector<T>& v, const T& x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}
}  // namespace

Hub::Hub() : Hub(std::make_unique<MemoryBroker>(), std::make_unique<MemoryPresence>()) {}

Hub::Hub(std::unique_ptr<Broker> broker, std::unique_ptr<PresenceManager> presence)
    : broker_(std::move(broker)), presence_(std::move(presence)) {
  broker_->set_sink(this);
  presence_->set_sink(this);
}

Hub::~Hub() {
  presence_->set_sink(nullptr);
  broker_->set_sink(nullptr);
}

namespace {
HubResult unavailable(const std::string& why) {
  return HubResult::fail(p::Error::Unavailable, "The cluster backend is unavailable (" + why + "); try again later.");
}
}  // namespace

// Local first (so that nothing published to the user or cid is missed), then the channels, then
// cluster-wide presence; a failure undoes what was done.
HubResult Hub::attach(const std::shared_ptr<Peer>& peer, std::size_t max_per_user) {
  {
    std::unique_lock lock(mu_);
    conns_[peer.get()] = Conn{peer, std::nullopt};
    users_[peer->user()].push_back(peer.get());
    by_cid_[peer->cid()] = peer.get();
  }
  BackendStatus st = broker_->subscribe(Target::User, peer->user());
  if (st.ok) {
    st = broker_->subscribe(Target::Connection, peer->cid());
    if (!st.ok) broker_->unsubscribe(Target::User, peer->user());
  }
  HubResult r;
  if (!st.ok) {
    r = unavailable(st.why);
  } else {
    try {
      if (!presence_->add_connection(peer->user(), peer->cid(), max_per_user))
        r = HubResult::fail(p::Error::Forbidden, "Too many connections for this user.");
    } catch (const BackendUnavailable& e) {
      r = unavailable(e.what());
    }
    if (!r.ok) {
      broker_->unsubscribe(Target::Connection, peer->cid());
      broker_->unsubscribe(Target::User, peer->user());
    }
  }
  if (!r.ok) forget_local(*peer);
  // Redis may have come back meanwhile and been handed this connection by the node's
  // re-registration (which reads the local connections): take it out again.
  if (!r.ok && r.code == p::Error::Unavailable) try {
      presence_->remove_connection(peer->user(), peer->cid());
    } catch (const BackendUnavailable&) {
    }
  return r;
}

void Hub::forget_local(Peer& peer) {
  std::unique_lock lock(mu_);
  auto it = conns_.find(&peer);
  if (it == conns_.end()) return;
  auto u = users_.find(peer.user());
  if (u != users_.end()) {
    erase_one(u->second, &peer);
    if (u->second.empty()) users_.erase(u);
  }
  by_cid_.erase(peer.cid());
  conns_.erase(it);
}

// The connection is gone whatever the backend says: presence a backend could not hear of is
// made right when the node registers again (docs/scaling.md).
void Hub::detach(Peer& peer) {
  std::optional<std::string> old;
  {
    std::unique_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it == conns_.end()) return;
    old = leave_local_locked(it->second);
  }
  forget_local(peer);
  if (old) {
    announce_leave(peer, *old, "USER_DISCONNECTED");
    broker_->unsubscribe(Target::Group, *old);
  }
  try {
    presence_->remove_connection(peer.user(), peer.cid());
  } catch (const BackendUnavailable&) {
  }
  broker_->unsubscribe(Target::Connection, peer.cid());
  broker_->unsubscribe(Target::User, peer.user());
}

std::optional<std::string> Hub::leave_local_locked(Conn& c) {
  if (!c.group) return std::nullopt;
  std::optional<std::string> old = std::move(c.group);
  c.group.reset();
  auto git = groups_.find(*old);
  if (git != groups_.end()) {
    auto& members = git->second;
    auto m = std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.peer == c.peer.get(); });
    if (m != members.end()) {
      *m = members.back();
      members.pop_back();
    }
    if (members.empty()) groups_.erase(git);
  }
  return old;
}

// Presence is per user: the group hears that a user left when the user's last connection in
// it goes; members in per-connection mode hear of every connection.
BackendStatus Hub::announce_leave(Peer& peer, const std::string& group, const char* code) {
  std::size_t remaining;
  try {
    remaining = presence_->leave(group, peer.user(), peer.cid());
  } catch (const BackendUnavailable& e) {
    return BackendStatus::unavailable(e.what());
  }
  Publication pub;
  pub.target = Target::Group;
  pub.scope = remaining == 0 ? Scope::UserLevel : Scope::ConnLevel;
  pub.key = group;
  pub.about_cid = peer.cid();
  pub.frame = std::make_shared<const std::string>(p::notice_frame(code, group, peer.user(), peer.cid()));
  return broker_->publish(pub);
}

// A join that fails on the backend leaves the connection in no group (its old group was left).
HubResult Hub::join(Peer& peer, const std::optional<std::string>& group, NoticeMode mode) {
  std::optional<std::string> old;
  {
    std::unique_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it == conns_.end()) return HubResult::fail(p::Error::Internal, "Connection is not attached.");
    Conn& c = it->second;
    if (c.group == group) {
      if (group)  // same group: only the notice mode may change
        for (auto& m : groups_[*group])
          if (m.peer == &peer) m.mode = mode;
      return {};
    }
    old = leave_local_locked(c);
    if (group) {
      groups_[*group].push_back(Member{&peer, mode});
      c.group = group;
    }
  }
  if (old) {
    announce_leave(peer, *old, "USER_LEFT");  // a leave always takes effect locally
    broker_->unsubscribe(Target::Group, *old);
  }
  if (!group) return {};
  BackendStatus st = broker_->subscribe(Target::Group, *group);
  std::size_t here = 0;
  if (st.ok) {
    try {
      here = presence_->join(*group, peer.user(), peer.cid());
    } catch (const BackendUnavailable& e) {
      st = BackendStatus::unavailable(e.what());
      broker_->unsubscribe(Target::Group, *group);
    }
  }
  if (!st.ok) {
    std::unique_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it != conns_.end() && it->second.group == group) leave_local_locked(it->second);
    return unavailable(st.why);
  }
  // USER_JOINED goes to the whole group (the joiner included) for a user's first connection;
  // a further connection of the same user gets the notice itself and the others hear nothing new.
  Publication pub;
  pub.target = Target::Group;
  pub.scope = here <= 1 ? Scope::UserLevel : Scope::ConnLevel;
  pub.key = *group;
  pub.about_cid = peer.cid();
  pub.frame = std::make_shared<const std::string>(p::notice_frame("USER_JOINED", *group, peer.user(), peer.cid()));
  broker_->publish(pub);  // the join took effect even if its notice is lost
  return {};
}

HubResult Hub::post_group(Peer& peer, const std::string& group, std::string_view payload_json) {
  {
    std::shared_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it == conns_.end() || it->second.group != group)
      return HubResult::fail(p::Error::NotJoined, "User has not joined to the recipient group. Run joinRealtime({ group: \"" + group + "\" })");
  }
  Publication pub;
  pub.target = Target::Group;
  pub.key = group;
  pub.frame = std::make_shared<const std::string>(p::group_message_frame(group, peer.user(), peer.cid(), payload_json));
  if (auto st = broker_->publish(pub); !st.ok) return unavailable(st.why);
  return {};
}

HubResult Hub::post_private(Peer& peer, const std::string& user, std::string_view payload_json) {
  try {
    if (!presence_->user_online(user)) return HubResult::fail(p::Error::RecipientOffline, "Recipient is not connected.");
  } catch (const BackendUnavailable& e) {
    return unavailable(e.what());
  }
  std::string group;
  {
    std::shared_lock lock(mu_);
    auto c = conns_.find(&peer);
    if (c != conns_.end() && c->second.group) group = *c->second.group;
  }
  Publication pub;
  pub.target = Target::User;
  pub.key = user;
  pub.frame = std::make_shared<const std::string>(p::private_message_frame(peer.user(), peer.cid(), group, payload_json));
  if (auto st = broker_->publish(pub); !st.ok) return unavailable(st.why);
  return {};
}

// The server API's publications: the frame is built here, in one place, and published as a
// connection's post is (same broker, same fan-out), only with no connection as the sender.
namespace {
HubResult publish_as_server(Broker& broker, Target target, const std::string& key, std::string frame,
                            Scope scope = Scope::None) {
  Publication pub;
  pub.target = target;
  pub.scope = scope;
  pub.key = key;
  pub.frame = std::make_shared<const std::string>(std::move(frame));
  if (auto st = broker.publish(pub); !st.ok) return unavailable(st.why);
  return {};
}
}  // namespace

HubResult Hub::publish_group_as_server(const std::string& sender, const std::string& group,
                                       std::string_view payload_json) {
  return publish_as_server(*broker_, Target::Group, group, p::server_message_frame("message", group, sender, payload_json));
}

HubResult Hub::publish_user_as_server(const std::string& sender, const std::string& user,
                                      std::string_view payload_json) {
  return publish_as_server(*broker_, Target::User, user, p::server_message_frame("private", "", sender, payload_json));
}

HubResult Hub::disconnect_user(const std::string& user) {
  return publish_as_server(*broker_, Target::User, user, std::string(), Scope::Disconnect);
}

HubResult Hub::relay_rtc(Peer& peer, const std::string& cid, std::string_view payload_json) {
  try {
    if (!presence_->connection_exists(cid)) return HubResult::fail(p::Error::RecipientOffline, "No connection " + cid + ".");
  } catch (const BackendUnavailable& e) {
    return unavailable(e.what());
  }
  Publication pub;
  pub.target = Target::Connection;
  pub.key = cid;
  pub.frame = std::make_shared<const std::string>(p::rtc_event_frame(peer.user(), peer.cid(), payload_json));
  if (auto st = broker_->publish(pub); !st.ok) return unavailable(st.why);
  return {};
}

std::vector<LocalConnection> Hub::local_connections() const {
  std::shared_lock lock(mu_);
  std::vector<LocalConnection> out;
  out.reserve(conns_.size());
  for (const auto& [peer, c] : conns_) out.push_back(LocalConnection{peer->user(), peer->cid(), c.group});
  return out;
}

// Delivery to this node's connections. One frame, shared by every recipient.
void Hub::on_publication(const Publication& pub) {
  std::shared_lock lock(mu_);
  switch (pub.target) {
    case Target::Group: {
      auto git = groups_.find(pub.key);
      if (git == groups_.end()) return;
      if (pub.scope != Scope::ConnLevel) {
        for (const Member& m : git->second) m.peer->deliver(pub.frame);
      } else {
        for (const Member& m : git->second)
          if (m.mode == NoticeMode::Connection || m.peer->cid() == pub.about_cid) m.peer->deliver(pub.frame);
      }
      return;
    }
    case Target::User: {
      auto u = users_.find(pub.key);
      if (u == users_.end()) return;
      if (pub.scope == Scope::Disconnect) {
        for (Peer* r : u->second) r->close_by_server();
        return;
      }
      for (Peer* r : u->second) r->deliver(pub.frame);
      return;
    }
    case Target::Connection: {
      auto c = by_cid_.find(pub.key);
      if (c != by_cid_.end()) c->second->deliver(pub.frame);
      return;
    }
  }
}

std::optional<std::string> Hub::group_of(Peer& peer) const {
  std::shared_lock lock(mu_);
  auto it = conns_.find(&peer);
  return it == conns_.end() ? std::nullopt : it->second.group;
}

std::size_t Hub::connection_count() const {
  std::shared_lock lock(mu_);
  return conns_.size();
}
std::size_t Hub::user_count() const {
  std::shared_lock lock(mu_);
  return users_.size();
}
std::size_t Hub::group_count() const {
  std::shared_lock lock(mu_);
  return groups_.size();
}

}  // namespace sb::server
