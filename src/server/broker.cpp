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
  auto& g = groups_[group];
  if (!g.members.emplace(cid, user).second) return g.per_user[user];
  return ++g.per_user[user];
}

std::size_t MemoryPresence::leave(const std::string& group, const std::string& user, const std::string& cid) {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return 0;
  auto& g = git->second;
  std::size_t left = 0;
  if (g.members.erase(cid)) {
    auto u = g.per_user.find(user);
    if (u != g.per_user.end()) {
      left = --u->second;
      if (left == 0) g.per_user.erase(u);
    }
  } else if (auto u = g.per_user.find(user); u != g.per_user.end()) {
    left = u->second;
  }
  if (g.members.empty()) groups_.erase(git);
  return left;
}

std::optional<std::vector<std::pair<std::string, std::string>>> MemoryPresence::members(
    const std::string& group) const {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(git->second.members.size());
  for (auto& [cid, user] : git->second.members) out.emplace_back(user, cid);
  return out;
}

std::vector<std::pair<std::string, std::size_t>> MemoryPresence::groups() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::size_t>> out;
  out.reserve(groups_.size());
  for (auto& [name, g] : groups_) out.emplace_back(name, g.members.size());
  return out;
}

}  // namespace sb::server
