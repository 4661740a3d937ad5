// The `users` and `groups` queries: validation, filtering, ordering and paging over a snapshot
// of the hub. Pure functions, so their rules are unit-tested without sockets.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../protocol/limits.hpp"
#include "hub.hpp"

namespace sb::server {

constexpr int kDefaultPageLimit = 100;
constexpr int kMaxPageLimit = 1000;

struct Member {
  std::string user_id, cid;
};
struct GroupInfo {
  std::string group;
  std::size_t number_of_users = 0;  // connections, as Skapi counts
};

// Each returns ok with `data` = {list, startKey, endOfList}, or a typed error.
HubResult query_users(const nlohmann::json& request, std::vector<Member> members,
                      const protocol::Limits& limits, nlohmann::json& data);
HubResult query_groups(const nlohmann::json& request, std::vector<GroupInfo> groups,
                       const protocol::Limits& limits, nlohmann::json& data);

}  // namespace sb::server
