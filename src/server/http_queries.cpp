#include "http_queries.hpp"

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>

#include "http_session.hpp"
#include "queries.hpp"
#include "server_context.hpp"

namespace sb::server {

namespace p = sb::protocol;

namespace {
HttpQueryAnswer reply(unsigned status, std::string body) {
  HttpQueryAnswer a;
  a.status = status;
  a.body = std::move(body);
  return a;
}
HttpQueryAnswer failure(unsigned status, p::Error code, std::string_view message) {
  return reply(status, nlohmann::json{{"code", p::to_string(code)}, {"message", message}}.dump());
}
HttpQueryAnswer answer(ServerContext& ctx, std::string_view method, std::string_view path,
                       std::string_view authorization, const std::string& body);

unsigned status_of(p::Error code) {
  switch (code) {
    case p::Error::Forbidden: return 403;
    case p::Error::Unauthorized: return 401;
    case p::Error::Unavailable: return 503;
    default: return 400;
  }
}
}  // namespace

bool HttpQueryBudgets::available(const std::string& user, double rate, double burst) {
  std::lock_guard lock(mu_);
  if (budgets_.size() >= kMaxUsers && !budgets_.count(user)) budgets_.clear();
  return budgets_.try_emplace(user, rate, burst).first->second.available();
}

void HttpQueryBudgets::charge(const std::string& user, std::size_t bytes) {
  std::lock_guard lock(mu_);
  if (auto it = budgets_.find(user); it != budgets_.end()) it->second.charge(bytes);
}

bool is_http_query_path(std::string_view path) { return path == "/realtime/users" || path == "/realtime/groups"; }

HttpQueryAnswer http_query(ServerContext& ctx, std::string_view method, std::string_view path,
                           std::string_view origin, std::string_view host, std::string_view authorization,
                           const std::string& body) {
  std::string allow = !origin.empty() && origin_allowed(ctx.config, origin, host) ? std::string(origin) : std::string();
  HttpQueryAnswer a = answer(ctx, method, path, authorization, body);
  a.allow_origin = std::move(allow);
  return a;
}

namespace {
HttpQueryAnswer answer(ServerContext& ctx, std::string_view method, std::string_view path,
                       std::string_view authorization, const std::string& body) {
  if (method == "OPTIONS") {
    HttpQueryAnswer a = reply(204, {});
    a.preflight = true;
    return a;
  }
  if (method != "POST") return failure(405, p::Error::InvalidRequest, "Use POST.");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer))
    return failure(401, p::Error::Unauthorized, "A bearer token is required.");
  Identity id = ctx.auth.verify(std::string(authorization.substr(kBearer.size())));
  if (!id.ok) return failure(401, p::Error::Unauthorized, id.error);
  if (!ctx.http_budgets.available(id.user, ctx.config.reply_rate_bytes, ctx.config.reply_burst_bytes)) {
    ctx.metrics.rate_limited.fetch_add(1, std::memory_order_relaxed);
    return failure(429, p::Error::RateLimited, "Too many query reply bytes for this user: retry later.");
  }
  nlohmann::json request = body.empty() ? nlohmann::json::object() : nlohmann::json::parse(body, nullptr, false);
  if (!request.is_object()) return failure(400, p::Error::InvalidRequest, "The body must be a JSON object.");
  QueryLimits limits{ctx.config.max_reply_bytes, ctx.config.max_query_scan};
  nlohmann::json data;
  HubResult r;
  try {
    if (path == "/realtime/users") {
      auto g = request.find("group");
      if (g == request.end() || !g->is_string() || !p::valid_name(g->get_ref<const std::string&>(), ctx.config.limits.max_name_bytes))
        return failure(400, p::Error::InvalidParameter, "\"group\" must be a valid group name.");
      r = query_users(request, g->get<std::string>(), ctx.hub.presence(), id.groups, ctx.config.limits, limits, data);
    } else {
      r = query_groups(request, ctx.hub.presence(), id.groups, ctx.config.limits, limits, data);
    }
  } catch (const BackendUnavailable& e) {  // Redis down (docs/scaling.md): as the socket query answers
    r = HubResult::fail(p::Error::Unavailable, std::string("The cluster backend is unavailable (") + e.what() + ").");
  }
  if (!r.ok) return failure(status_of(r.code), r.code, r.message);
  HttpQueryAnswer a = reply(200, data.dump());
  ctx.http_budgets.charge(id.user, a.body.size());
  return a;
}
}  // namespace

}  // namespace sb::server
