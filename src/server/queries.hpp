// The `users` and `groups` queries: validation, scoping by the token's groups claim, and paging
// over presence's ordered indexes (page_walk.hpp). A reply is capped in items, in bytes and in
// index entries examined, so a request never costs more than one bounded page.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../protocol/limits.hpp"
#include "broker.hpp"
#include "hub.hpp"

namespace sb::server {

constexpr int kDefaultPageLimit = 100;
constexpr int kMaxPageLimit = 1000;
constexpr std::size_t kMinReplyBytes = 4096;  // room for the envelope and the largest item

struct QueryLimits {
  std::size_t max_reply_bytes = 64 * 1024;  // the whole reply frame (Config::max_reply_bytes)
  std::size_t max_scan = 4096;              // index entries one request may examine
};

// The token's "groups" claim: the groups the asker may see (nullopt: every group).
using GroupScope = std::optional<std::vector<std::string>>;

// Each returns ok with `data` = {list, startKey, endOfList}, or a typed error: INVALID_PARAMETER
// for a bad field, FORBIDDEN for `users` on a group outside the scope. `groups` lists only
// groups inside the scope.
HubResult query_users(const nlohmann::json& request, const std::string& group, const PresenceManager& presence,
                      const GroupScope& scope, const protocol::Limits& limits, const QueryLimits& qlimits,
                      nlohmann::json& data);
HubResult query_groups(const nlohmann::json& request, const PresenceManager& presence, const GroupScope& scope,
                       const protocol::Limits& limits, const QueryLimits& qlimits, nlohmann::json& data);

// The part of the name index a groups claim entry permits: "x" is [x, x], "p*" every name that
// starts with p, "*" everything.
KeyRange<std::string> claim_range(const std::string& pattern);

}  // namespace sb::server
