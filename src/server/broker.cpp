#include "broker.hpp"

namespace sb::server {

bool MemoryPresence::add_connection(const std::string& user, const std::string& cid, std::size_t max_per_user) {
  std::lock_guard lock(mu_);
  auto& n = users_[user];
  if (max_per_user && n >= max_per_user) {
    if (n == 0) users_.erase(user);
    return false;
  }
  ++n;
  conns_[cid] = user;
  return true;
}

void MemoryPresence::remove_connection(const std::string& user, const std::string& cid) {
  std::lock_guard lock(mu_);
  if (conns_.erase(cid) == 0) return;
  auto it = users_.find(user);
  if (it != users_.end() && --it->second == 0) users_.erase(it);
}

bool MemoryPresence::user_online(const std::string& user) const {
  std::lock_guard lock(mu_);
  return users_.count(user) != 0;
}

bool MemoryPresence::connection_exists(const std::string& cid) const {
  std::lock_guard lock(mu_);
  return conns_.count(cid) != 0;
}

std::size_t MemoryPresence::join(const std::string& group, const std::string& user, const std::string& cid) {
  std::lock_guard lock(mu_);
  auto [git, fresh] = groups_.try_emplace(group);
  Group& g = git->second;
  if (!g.members.insert(MemberKey{user, cid}).second) return g.per_user[user];
  if (!fresh) by_count_.erase({g.members.size() - 1, git->first});
  by_count_.emplace(g.members.size(), git->first);
  return ++g.per_user[user];
}

std::size_t MemoryPresence::leave(const std::string& group, const std::string& user, const std::string& cid) {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return 0;
  Group& g = git->second;
  auto u = g.per_user.find(user);
  if (!g.members.erase(MemberKey{user, cid})) return u == g.per_user.end() ? 0 : u->second;
  std::size_t left = 0;
  if (u != g.per_user.end()) {
    left = --u->second;
    if (left == 0) g.per_user.erase(u);
  }
  by_count_.erase({g.members.size() + 1, git->first});  // before the name it points to can go
  if (g.members.empty()) groups_.erase(git);
  else by_count_.emplace(g.members.size(), git->first);
  return left;
}

namespace {
// Calls emit(entry) for at most n entries of an ordered container within `r`, in its direction:
// two binary searches, then a walk. `conv` turns a range key into the container's key type.
template <class C, class K, class Conv, class Emit>
void walk(const C& c, const KeyRange<K>& r, std::size_t n, Conv conv, Emit emit) {
  if (n == 0) return;
  auto less = c.key_comp();
  if (r.lo && r.hi) {
    auto lo = conv(r.lo->key), hi = conv(r.hi->key);
    if (less(hi, lo) || (!less(lo, hi) && !(r.lo->inclusive && r.hi->inclusive))) return;  // empty
  }
  auto first = !r.lo ? c.begin() : r.lo->inclusive ? c.lower_bound(conv(r.lo->key)) : c.upper_bound(conv(r.lo->key));
  auto last = !r.hi ? c.end() : r.hi->inclusive ? c.upper_bound(conv(r.hi->key)) : c.lower_bound(conv(r.hi->key));
  if (r.ascending) {
    for (auto it = first; it != last && n; ++it, --n) emit(*it);
  } else {
    for (auto it = last; it != first && n; --n) emit(*--it);
  }
}
}  // namespace

std::vector<MemberKey> MemoryPresence::members(const std::string& group, const KeyRange<MemberKey>& range,
                                               std::size_t n) const {
  std::lock_guard lock(mu_);
  std::vector<MemberKey> out;
  auto git = groups_.find(group);
  if (git == groups_.end()) return out;
  walk(git->second.members, range, n, [](const MemberKey& k) -> const MemberKey& { return k; },
       [&](const MemberKey& m) { out.push_back(m); });
  return out;
}

std::vector<GroupEntry> MemoryPresence::groups_by_name(const KeyRange<std::string>& range, std::size_t n) const {
  std::lock_guard lock(mu_);
  std::vector<GroupEntry> out;
  walk(groups_, range, n, [](const std::string& k) -> const std::string& { return k; },
       [&](const auto& g) { out.push_back(GroupEntry{g.first, g.second.members.size()}); });
  return out;
}

std::vector<GroupEntry> MemoryPresence::groups_by_count(const KeyRange<CountKey>& range, std::size_t n) const {
  std::lock_guard lock(mu_);
  std::vector<GroupEntry> out;
  walk(by_count_, range, n, [](const CountKey& k) { return std::pair<std::size_t, std::string_view>(k.count, k.name); },
       [&](const auto& e) { out.push_back(GroupEntry{std::string(e.second), e.first}); });
  return out;
}

}  // namespace sb::server
