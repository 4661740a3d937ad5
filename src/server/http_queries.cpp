#include "http_queries.hpp"

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>

#include "queries.hpp"
#include "server_context.hpp"

namespace sb::server {

namespace p = sb::protocol;

namespace {
HttpQueryAnswer failure(unsigned status, p::Error code, std::string_view message) {
  return {status, nlohmann::json{{"code", p::to_string(code)}, {"message", message}}.dump()};
}
unsigned status_of(p::Error code) {
  switch (code) {
    case p::Error::Forbidden: return 403;
    case p::Error::Unauthorized: return 401;
    default: return 400;
  }
}
}  // namespace

bool is_http_query_path(std::string_view path) { return path == "/realtime/users" || path == "/realtime/groups"; }

HttpQueryAnswer http_query(ServerContext& ctx, std::string_view path, std::string_view authorization,
                           const std::string& body) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer))
    return failure(401, p::Error::Unauthorized, "A bearer token is required.");
  Identity id = ctx.auth.verify(std::string(authorization.substr(kBearer.size())));
  if (!id.ok) return failure(401, p::Error::Unauthorized, id.error);
  nlohmann::json request = body.empty() ? nlohmann::json::object() : nlohmann::json::parse(body, nullptr, false);
  if (!request.is_object()) return failure(400, p::Error::InvalidRequest, "The body must be a JSON object.");
  QueryLimits limits{ctx.config.max_reply_bytes, ctx.config.max_query_scan};
  nlohmann::json data;
  HubResult r;
  if (path == "/realtime/users") {
    auto g = request.find("group");
    if (g == request.end() || !g->is_string() || !p::valid_name(g->get_ref<const std::string&>(), ctx.config.limits.max_name_bytes))
      return failure(400, p::Error::InvalidParameter, "\"group\" must be a valid group name.");
    r = query_users(request, g->get<std::string>(), ctx.hub.presence(), id.groups, ctx.config.limits, limits, data);
  } else {
    r = query_groups(request, ctx.hub.presence(), id.groups, ctx.config.limits, limits, data);
  }
  if (!r.ok) return failure(status_of(r.code), r.code, r.message);
  return {200, data.dump()};
}

}  // namespace sb::server
