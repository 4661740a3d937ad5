#include "hub.hpp"

#include <algorithm>
#include <mutex>

#include "../protocol/frames.hpp"

namespace sb::server {

namespace p = sb::protocol;

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

void Hub::attach(const std::shared_ptr<Peer>& peer) {
  std::unique_lock lock(mu_);
  conns_[peer.get()] = Conn{peer, std::nullopt};
  users_[peer->user()].push_back(peer.get());
  by_cid_[peer->cid()] = peer.get();
}

void Hub::detach(Peer& peer) {
  std::unique_lock lock(mu_);
  auto it = conns_.find(&peer);
  if (it == conns_.end()) return;
  leave_locked(it->second, "USER_DISCONNECTED");
  auto u = users_.find(peer.user());
  if (u != users_.end()) {
    erase_one(u->second, &peer);
    if (u->second.empty()) users_.erase(u);
  }
  by_cid_.erase(peer.cid());
  conns_.erase(it);
}

void Hub::broadcast_locked(const Group& g, const Frame& f) {
  for (Peer* m : g.members) m->deliver(f);
}

// Presence is per user: the group hears that a user left when the user's last connection in
// it goes.
void Hub::leave_locked(Conn& c, const char* code) {
  if (!c.group) return;
  auto git = groups_.find(*c.group);
  c.group.reset();
  if (git == groups_.end()) return;
  Group& g = git->second;
  Peer& peer = *c.peer;
  erase_one(g.members, &peer);
  if (--g.per_user[peer.user()] <= 0) {
    g.per_user.erase(peer.user());
    if (!g.members.empty())
      broadcast_locked(g, std::make_shared<const std::string>(
                              p::notice_frame(code, git->first, peer.user(), peer.cid())));
  }
  if (g.members.empty()) groups_.erase(git);
}

HubResult Hub::join(Peer& peer, const std::optional<std::string>& group) {
  std::unique_lock lock(mu_);
  auto it = conns_.find(&peer);
  if (it == conns_.end()) return HubResult::fail(p::Error::Internal, "Connection is not attached.");
  Conn& c = it->second;
  if (c.group == group) return {};
  leave_locked(c, "USER_LEFT");
  if (!group) return {};
  auto [git, created] = groups_.try_emplace(*group);
  Group& g = git->second;
  g.members.push_back(&peer);
  c.group = group;
  auto notice = std::make_shared<const std::string>(
      p::notice_frame("USER_JOINED", *group, peer.user(), peer.cid()));
  if (++g.per_user[peer.user()] == 1) broadcast_locked(g, notice);
  else peer.deliver(notice);  // the user was already here: only this connection learns of it
  return {};
}

HubResult Hub::post_group(Peer& peer, const std::string& group, std::string_view payload_json) {
  std::shared_lock lock(mu_);
  auto it = conns_.find(&peer);
  if (it == conns_.end() || it->second.group != group)
    return HubResult::fail(p::Error::NotJoined, "User has not joined to the recipient group. Run joinRealtime({ group: \"" + group + "\" })");
  auto git = groups_.find(group);
  if (git == groups_.end()) return HubResult::fail(p::Error::Internal, "Group vanished.");
  broadcast_locked(git->second, std::make_shared<const std::string>(p::group_message_frame(
                                    group, peer.user(), peer.cid(), payload_json)));
  return {};
}

HubResult Hub::post_private(Peer& peer, const std::string& user, std::string_view payload_json) {
  std::shared_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return HubResult::fail(p::Error::RecipientOffline, "Recipient is not connected.");
  auto c = conns_.find(&peer);
  std::string_view group = (c != conns_.end() && c->second.group) ? std::string_view(*c->second.group)
                                                                   : std::string_view();
  auto frame = std::make_shared<const std::string>(
      p::private_message_frame(peer.user(), peer.cid(), group, payload_json));
  for (Peer* r : u->second) r->deliver(frame);
  return {};
}

HubResult Hub::relay_rtc(Peer& peer, const std::string& cid, std::string_view payload_json) {
  std::shared_lock lock(mu_);
  auto it = by_cid_.find(cid);
  if (it == by_cid_.end()) return HubResult::fail(p::Error::RecipientOffline, "No connection " + cid + ".");
  it->second->deliver(std::make_shared<const std::string>(p::rtc_event_frame(peer.user(), peer.cid(), payload_json)));
  return {};
}

std::optional<std::vector<std::pair<std::string, std::string>>> Hub::members(const std::string& group) const {
  std::shared_lock lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(git->second.members.size());
  for (Peer* m : git->second.members) out.emplace_back(m->user(), m->cid());
  return out;
}

std::vector<std::pair<std::string, std::size_t>> Hub::groups() const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<std::string, std::size_t>> out;
  out.reserve(groups_.size());
  for (auto& [name, g] : groups_) out.emplace_back(name, g.members.size());
  return out;
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
