// getRealtimeUsers / getRealtimeGroups over HTTP, for clients with no socket open (Skapi's are
// HTTP queries that work before and without a connection). POST /realtime/users and
// /realtime/groups with `Authorization: Bearer <token>` and the query frame's fields as a JSON
// body; the answer is the socket reply's `data` ({list, startKey, endOfList}), or
// {code, message} with 400/401/403. Same validation, limits and groups-claim scoping as the
// socket queries (queries.hpp).
#pragma once
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "byte_budget.hpp"

namespace sb::server {

struct ServerContext;

// The reply-byte budget of the socket queries (Config::reply_rate_bytes / reply_burst_bytes),
// kept per user for HTTP: a user's HTTP list replies cost what one connection's may.
class HttpQueryBudgets {
 public:
  // Whether `user` may be answered now; if so, `charge` is called with the reply's size.
  bool available(const std::string& user, double rate, double burst);
  void charge(const std::string& user, std::size_t bytes);

 private:
  static constexpr std::size_t kMaxUsers = 100000;  // beyond this the table starts over (all full)
  std::mutex mu_;
  std::unordered_map<std::string, ByteBudget> budgets_;
};

struct HttpQueryAnswer {
  unsigned status = 200;
  std::string body;          // JSON (empty for a preflight)
  std::string allow_origin;  // CORS: the request's Origin when the WebSocket would accept it
  bool preflight = false;    // an OPTIONS request: answer with the allowed method and headers
};

bool is_http_query_path(std::string_view path);
// `method` is the request's; POST runs the query, OPTIONS is a CORS preflight, anything else 405.
// Cross-origin pages may call these endpoints from the origins that may open the WebSocket
// (origin_allowed: same origin, --allowed-origins, loopback with --dev-login).
HttpQueryAnswer http_query(ServerContext& ctx, std::string_view method, std::string_view path,
                           std::string_view origin, std::string_view host, std::string_view authorization,
                           const std::string& body);

}  // namespace sb::server
