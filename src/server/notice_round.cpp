#include "notice_round.hpp"

#include <algorithm>

#include "hub.hpp"

namespace sb::server {

namespace {
thread_local NoticeRound* t_round = nullptr;
}

NoticeRound::NoticeRound() : previous_(t_round) { t_round = this; }

NoticeRound::~NoticeRound() {
  end_turn();
  t_round = previous_;
}

NoticeRound* NoticeRound::current() { return t_round; }

NoticeRound::HubNotices* NoticeRound::find(const Hub* hub) {
  for (auto& h : hubs_)
    if (h.hub == hub) return &h;
  return nullptr;
}

bool NoticeRound::holds(const Hub* hub) const {
  if (held_ == 0) return false;
  return std::any_of(hubs_.begin(), hubs_.end(), [&](const HubNotices& h) { return h.hub == hub && !h.groups.empty(); });
}

void NoticeRound::hold(Hub* hub, const Publication& pub, std::uint64_t seq) {
  HubNotices* h = find(hub);
  if (!h) h = &hubs_.emplace_back(HubNotices{hub, {}});
  h->groups[pub.key].push_back(HeldNotice{seq, pub.scope, pub.about_cid, pub.frame});
  ++held_;
}

void NoticeRound::release(Hub* hub, const std::string& group) {
  if (held_ == 0) return;
  HubNotices* h = find(hub);
  if (!h) return;
  auto it = h->groups.find(group);
  if (it == h->groups.end()) return;
  std::vector<HeldNotice> notices = std::move(it->second);
  h->groups.erase(it);
  held_ -= notices.size();
  hub->deliver_held(group, notices);
}

void NoticeRound::end_turn() {
  if (held_ == 0) return;
  // Delivering holds nothing new (the hub delivers, it does not publish); each group is taken
  // out before its delivery all the same, so that nothing can go out twice.
  for (auto& h : hubs_) {
    while (!h.groups.empty()) {
      auto it = h.groups.begin();
      std::string group = it->first;
      std::vector<HeldNotice> notices = std::move(it->second);
      h.groups.erase(it);
      held_ -= notices.size();
      h.hub->deliver_held(group, notices);
    }
  }
}

void NoticeRound::forget(const Hub* hub) {
  auto it = std::find_if(hubs_.begin(), hubs_.end(), [&](const HubNotices& h) { return h.hub == hub; });
  if (it == hubs_.end()) return;
  for (auto& [group, notices] : it->groups) held_ -= notices.size();
  hubs_.erase(it);
}

}  // namespace sb::server
