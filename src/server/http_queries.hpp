// getRealtimeUsers / getRealtimeGroups over HTTP, for clients with no socket open (Skapi's are
// HTTP queries that work before and without a connection). POST /realtime/users and
// /realtime/groups with `Authorization: Bearer <token>` and the query frame's fields as a JSON
// body; the answer is the socket reply's `data` ({list, startKey, endOfList}), or
// {code, message} with 400/401/403. Same validation, limits and groups-claim scoping as the
// socket queries (queries.hpp).
#pragma once
#include <string>
#include <string_view>

namespace sb::server {

struct ServerContext;

struct HttpQueryAnswer {
  unsigned status = 200;
  std::string body;  // JSON
};

bool is_http_query_path(std::string_view path);
HttpQueryAnswer http_query(ServerContext& ctx, std::string_view path, std::string_view authorization,
                           const std::string& body);

}  // namespace sb::server
