#include "hub.hpp"

#include <algorithm>
#include <mutex>

#include "../protocol/frames.hpp"
#include "memory_streams.hpp"
#include "notice_round.hpp"

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

Hub::Hub(std::unique_ptr<Broker> broker, std::unique_ptr<PresenceManager> presence,
         std::unique_ptr<StreamStore> streams)
    : broker_(std::move(broker)), presence_(std::move(presence)), streams_(std::move(streams)) {
  if (!streams_) streams_ = std::make_unique<MemoryStreams>(StreamOptions{});
  if (auto* memory = dynamic_cast<MemoryStreams*>(streams_.get()))
    memory->set_in_use([this](Target t, const std::string& key) { return stream_in_use(t, key); });
  broker_->set_sink(this);
  presence_->set_sink(this);
}

Hub::~Hub() {
  if (auto* round = NoticeRound::current()) round->forget(this);
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
HubResult Hub::attach(const std::shared_ptr<Peer>& peer, std::size_t max_per_user, bool hold_user_stream) {
  {
    std::unique_lock lock(mu_);
    if (hold_user_stream) hold_locked(*peer, Target::User, peer->user());
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
  if (!r.ok) {
    forget_local(*peer);
    release(*peer, Target::User, nullptr);
  }
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
  release(peer, Target::Group, nullptr);  // a session that ends mid-join or mid-welcome
  release(peer, Target::User, nullptr);
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
HubResult Hub::join(Peer& peer, const std::optional<std::string>& group, NoticeMode mode,
                    const std::optional<p::StreamPosition>& since) {
  // A member leaving its group (or changing its notice mode) first gets the group's notices
  // held so far, under the rules it had (notice_round.hpp).
  if (auto* round = NoticeRound::current(); round && round->holds(this))
    if (auto now = group_of(peer)) round->release(this, *now);
  std::optional<std::string> old;
  {
    std::unique_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it == conns_.end()) return HubResult::fail(p::Error::Internal, "Connection is not attached.");
    Conn& c = it->second;
    if (c.group == group) {
      if (!group) return {};
      for (auto& m : groups_[*group])  // same group: only the notice mode may change
        if (m.peer == &peer) m.mode = mode;
      lock.unlock();
      return rejoin_position(*group);
    }
    old = leave_local_locked(c);
    if (group) {
      hold_locked(peer, Target::Group, *group);  // live frames wait for the replay (release)
      groups_[*group].push_back(Member{&peer, mode, notice_seq_.load(std::memory_order_relaxed)});
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
  StreamRead position;  // read once subscribed: what it misses comes live (and waits in the hold)
  if (st.ok) {
    try {
      position = streams_->read(Target::Group, *group, since);
      here = presence_->join(*group, peer.user(), peer.cid());
    } catch (const BackendUnavailable& e) {
      st = BackendStatus::unavailable(e.what());
      broker_->unsubscribe(Target::Group, *group);
    }
  }
  if (!st.ok) {
    {
      std::unique_lock lock(mu_);
      auto it = conns_.find(&peer);
      if (it != conns_.end() && it->second.group == group) leave_local_locked(it->second);
    }
    release(peer, Target::Group, nullptr);
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
  release(peer, Target::Group, &position);
  HubResult r;
  r.data = {{"offset", position.top.offset}, {"epoch", position.top.epoch}};
  if (position.recovered) r.data["recovered"] = *position.recovered;
  return r;
}

// Already a member: nothing was missed, the client gets its starting point again.
HubResult Hub::rejoin_position(const std::string& group) {
  HubResult r;
  try {
    auto top = streams_->read(Target::Group, group, std::nullopt).top;
    r.data = {{"offset", top.offset}, {"epoch", top.epoch}};
  } catch (const BackendUnavailable& e) {
    return unavailable(e.what());
  }
  return r;
}

void Hub::open_user_stream(Peer& peer, const std::optional<p::StreamPosition>& since,
                           const std::function<void(const nlohmann::json& stream)>& welcome) {
  std::optional<StreamRead> position;
  nlohmann::json stream;
  try {
    position = streams_->read(Target::User, peer.user(), since);
    stream = {{"offset", position->top.offset}, {"epoch", position->top.epoch}};
    if (position->recovered) stream["recovered"] = *position->recovered;
  } catch (const BackendUnavailable&) {
  }
  welcome(stream);
  static const StreamRead kNoReplay{};  // the backend failed: what came meanwhile, as it is
  release(peer, Target::User, position ? &*position : &kNoReplay);
}

void Hub::hold_locked(Peer& peer, Target target, const std::string& key) {
  std::lock_guard lock(hold_mu_);
  auto [it, fresh] = held_.try_emplace({&peer, target});
  it->second.key = key;
  it->second.frames.clear();
  if (fresh) holds_.fetch_add(1, std::memory_order_relaxed);
}

bool Hub::held(Peer* peer, const Publication& pub) {
  if (holds_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(hold_mu_);
  auto it = held_.find({peer, pub.target});
  if (it == held_.end() || it->second.key != pub.key) return false;
  it->second.frames.push_back(pub.frame);
  return true;
}

// Under hold_mu_, so that a live frame that comes meanwhile waits for these (held() is checked
// under the same lock).
void Hub::release(Peer& peer, Target target, const StreamRead* read) {
  std::lock_guard lock(hold_mu_);
  auto it = held_.find({&peer, target});
  if (it == held_.end()) return;
  if (read) {
    for (const Frame& f : read->frames) peer.deliver(f);
    for (const Frame& f : it->second.frames) {
      auto offset = p::frame_offset(*f);
      // what the replay or the starting point already covers (same epoch: the stream is one)
      if (offset && *offset <= read->top.offset) continue;
      peer.deliver(f);
    }
  }
  held_.erase(it);
  holds_.fetch_sub(1, std::memory_order_relaxed);
}

bool Hub::stream_in_use(Target target, const std::string& key) const {
  std::shared_lock lock(mu_);
  return target == Target::Group ? groups_.count(key) > 0 : users_.count(key) > 0;
}

HubResult Hub::post_group(Peer& peer, const std::string& group, std::string_view payload_json,
                          const std::string& key) {
  {
    std::shared_lock lock(mu_);
    auto it = conns_.find(&peer);
    if (it == conns_.end() || it->second.group != group)
      return HubResult::fail(p::Error::NotJoined, "User has not joined to the recipient group. Run joinRealtime({ group: \"" + group + "\" })");
  }
  return publish_to_stream(Target::Group, group, p::group_message_parts(group, peer.user(), peer.cid(), payload_json),
                           peer.user(), key);
}

HubResult Hub::publish_to_stream(Target target, const std::string& key, p::StreamFrame parts,
                                 const std::string& publisher, const std::string& idempotency_key) {
  StreamPublish req;
  req.pub.target = target;
  req.pub.key = key;
  req.parts = std::move(parts);
  req.user = publisher;
  req.idempotency_key = idempotency_key;
  PublishOutcome out = streams_->publish(req, *broker_);
  if (!out.status.ok) return unavailable(out.status.why);
  HubResult r;
  if (out.duplicate) r.data = {{"duplicate", true}};
  return r;
}

HubResult Hub::post_private(Peer& peer, const std::string& user, std::string_view payload_json,
                            const std::string& key) {
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
  return publish_to_stream(Target::User, user, p::private_message_parts(peer.user(), peer.cid(), group, payload_json),
                           peer.user(), key);
}

// The server API's publications: to a stream like a connection's post, only with no connection
// as the sender; a disconnect is a control publication to the user's channel (no stream).
HubResult Hub::publish_group_as_server(const std::string& sender, const std::string& group,
                                       std::string_view payload_json, const std::string& key) {
  return publish_to_stream(Target::Group, group, p::server_message_parts("message", group, sender, payload_json), sender,
                           key);
}

HubResult Hub::publish_user_as_server(const std::string& sender, const std::string& user,
                                      std::string_view payload_json, const std::string& key) {
  return publish_to_stream(Target::User, user, p::server_message_parts("private", "", sender, payload_json), sender, key);
}

HubResult Hub::disconnect_user(const std::string& user) {
  Publication pub;
  pub.target = Target::User;
  pub.scope = Scope::Disconnect;
  pub.key = user;
  pub.frame = std::make_shared<const std::string>();
  if (auto st = broker_->publish(pub); !st.ok) return unavailable(st.why);
  return {};
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
  if (pub.target == Target::Group)
    if (auto* round = NoticeRound::current()) {
      if (pub.scope != Scope::None)  // a notice: held until the end of the loop turn
        return round->hold(this, pub, notice_seq_.fetch_add(1, std::memory_order_relaxed) + 1);
      round->release(this, pub.key);  // a message: the group's notices go first
    }
  std::shared_lock lock(mu_);
  switch (pub.target) {
    case Target::Group: {
      auto git = groups_.find(pub.key);
      if (git == groups_.end()) return;
      if (pub.scope != Scope::ConnLevel) {
        for (const Member& m : git->second)
          if (!held(m.peer, pub)) m.peer->deliver(pub.frame);
      } else {
        for (const Member& m : git->second)
          if ((m.mode == NoticeMode::Connection || m.peer->cid() == pub.about_cid) && !held(m.peer, pub))
            m.peer->deliver(pub.frame);
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
      for (Peer* r : u->second)
        if (!held(r, pub)) r->deliver(pub.frame);
      return;
    }
    case Target::Connection: {
      auto c = by_cid_.find(pub.key);
      if (c != by_cid_.end()) c->second->deliver(pub.frame);
      return;
    }
  }
}

namespace {
// The notices of `held` from `first` on that `take` selects, as one frame: '\n'-joined
// (docs/protocol.md, batching), or the notice's own frame when only one is taken.
template <class Take>
Frame join_notices(const std::vector<HeldNotice>& held, std::size_t first, Take take) {
  const HeldNotice* only = nullptr;
  std::size_t count = 0, bytes = 0;
  for (std::size_t i = first; i < held.size(); ++i)
    if (take(held[i])) {
      only = &held[i];
      ++count;
      bytes += held[i].frame->size() + 1;
    }
  if (count <= 1) return only ? only->frame : nullptr;
  std::string out;
  out.reserve(bytes);
  for (std::size_t i = first; i < held.size(); ++i)
    if (take(held[i])) {
      if (!out.empty()) out += '\n';
      out += *held[i].frame;
    }
  return std::make_shared<const std::string>(std::move(out));
}
}  // namespace

// The per-member rules of on_publication, applied to a turn's notices at once. Members that get
// the same notices share one frame: those that joined before the turn (the many) get one of two
// frames (per-user or per-connection mode); members that joined during the turn start later in
// the list, and a per-user member that is itself the subject of a per-connection notice gets its
// own. Notices are in seq order (one thread numbered them as it held them).
void Hub::deliver_held(const std::string& group, const std::vector<HeldNotice>& held) {
  if (held.empty()) return;
  std::vector<std::size_t> conn_level;  // indices of per-connection notices
  for (std::size_t i = 0; i < held.size(); ++i)
    if (held[i].scope == Scope::ConnLevel) conn_level.push_back(i);
  std::vector<Frame> all(held.size()), per_user(held.size());  // by first index, built once
  std::vector<bool> built_all(held.size()), built_user(held.size());
  std::shared_lock lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return;
  for (const Member& m : git->second) {
    auto from = std::upper_bound(held.begin(), held.end(), m.since,
                                 [](std::uint64_t s, const HeldNotice& n) { return s < n.seq; });
    if (from == held.end()) continue;
    std::size_t first = static_cast<std::size_t>(from - held.begin());
    Frame f;
    if (m.mode == NoticeMode::Connection) {
      if (!built_all[first]) {
        all[first] = join_notices(held, first, [](const HeldNotice&) { return true; });
        built_all[first] = true;
      }
      f = all[first];
    } else {
      const std::string& cid = m.peer->cid();
      bool subject = std::any_of(conn_level.begin(), conn_level.end(),
                                 [&](std::size_t i) { return i >= first && held[i].about_cid == cid; });
      if (subject) {
        f = join_notices(held, first, [&](const HeldNotice& n) { return n.scope != Scope::ConnLevel || n.about_cid == cid; });
      } else {
        if (!built_user[first]) {
          per_user[first] = join_notices(held, first, [](const HeldNotice& n) { return n.scope != Scope::ConnLevel; });
          built_user[first] = true;
        }
        f = per_user[first];
      }
    }
    if (f) m.peer->deliver(f);
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
