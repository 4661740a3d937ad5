// The WebSocket side of Web Push (docs/protocol.md, Notifications): the vapid / subscribe /
// unsubscribe / push requests, and the push that follows a post or private message carrying a
// notification. Called by WsSession; `svc` is null when push is disabled.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "../../protocol/frames.hpp"
#include "../auth.hpp"
#include "../hub.hpp"
#include "push_service.hpp"

namespace sb::server::push {

// vapid, subscribe, unsubscribe, push. `data` is the ok reply's data (vapid, push), else null.
HubResult handle_request(PushService* svc, const protocol::Request& req, const Identity& who,
                         const protocol::Limits& limits, nlohmann::json& data);

// After hub.post_private: a recipient with no connection gets the notification pushed (and the
// sender an ok rather than RECIPIENT_OFFLINE); with config.always a connected one gets it too.
HubResult after_private(PushService* svc, const std::string& recipient, const protocol::Notification& n,
                        HubResult delivered);

// After hub.post_group: every member of a group is connected, so only config.always pushes, to
// each member user other than the sender (at most `max_users` of them).
void after_group(PushService* svc, const PresenceManager& presence, const std::string& group,
                 const std::string& sender, const protocol::Notification& n, std::size_t max_users = 1000);

}  // namespace sb::server::push
