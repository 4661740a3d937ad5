#include "metrics.hpp"

#include <mutex>

#include "server_context.hpp"
#include "ws_session.hpp"

namespace sb::server {

namespace {
void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}
void value(std::string& out, const char* name, std::uint64_t v, const char* labels = nullptr);

// A metric with one unlabelled sample.
void single(std::string& out, const char* name, const char* type, const char* help, std::uint64_t v) {
  metric(out, name, type, help);
  value(out, name, v);
}

void value(std::string& out, const char* name, std::uint64_t v, const char* labels) {
  out += name;
  if (labels) out += labels;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}
}  // namespace

std::string render_metrics(ServerContext& ctx) {
  auto& m = ctx.metrics;
  std::string out;
  out.reserve(4096);
  std::uint64_t buffered = 0, sessions = 0;
  {
    std::lock_guard lock(ctx.sessions_mu);
    sessions = ctx.sessions.size();
    for (auto& s : ctx.sessions) buffered += s->buffered();
  }
  single(out, "switchboard_connections", "gauge", "Open, authenticated WebSocket connections.", ctx.hub.connection_count());
  single(out, "switchboard_sessions", "gauge", "WebSocket sessions, refused ones still closing included.", sessions);
  single(out, "switchboard_users", "gauge", "Distinct users with at least one connection.", ctx.hub.user_count());
  single(out, "switchboard_groups", "gauge", "Groups with at least one member.", ctx.hub.group_count());
  single(out, "switchboard_outgoing_buffered_bytes", "gauge", "Bytes queued for writing, all connections.", buffered);
  single(out, "switchboard_connections_total", "counter", "Connections accepted and welcomed.", m.connections_total.load());
  single(out, "switchboard_messages_in_total", "counter", "WebSocket messages received from clients.", m.messages_in.load());
  single(out, "switchboard_bytes_in_total", "counter", "Payload bytes of messages received from clients.", m.bytes_in.load());
  single(out, "switchboard_messages_out_total", "counter", "Frames written to clients (a batch of several frames is one WebSocket message).", m.messages_out.load());
  single(out, "switchboard_bytes_out_total", "counter", "Payload bytes of messages written to clients.", m.bytes_out.load());
  metric(out, "switchboard_errors_total", "counter", "Error replies by code.");
  for (std::size_t i = 0; i < m.errors.size(); ++i) {
    auto code = protocol::to_string(static_cast<protocol::Error>(i));
    std::string labels = "{code=\"" + std::string(code) + "\"}";
    value(out, "switchboard_errors_total", m.errors[i].load(), labels.c_str());
  }
  metric(out, "switchboard_disconnects_total", "counter", "Ended WebSocket sessions by reason.");
  for (std::size_t i = 0; i < m.disconnects.size(); ++i) {
    std::string labels = std::string("{reason=\"") + to_string(static_cast<Disconnect>(i)) + "\"}";
    value(out, "switchboard_disconnects_total", m.disconnects[i].load(), labels.c_str());
  }
  metric(out, "switchboard_slow_consumer_cutoffs_total", "counter",
         "Connections cut off because their outgoing buffer went over the limit.");
  value(out, "switchboard_slow_consumer_cutoffs_total", m.slow_consumer_cutoffs.load());
  single(out, "switchboard_handler_errors_total", "counter",
         "Request handlers that threw; each closed only its own connection (logged at error level).", m.handler_errors.load());
  single(out, "switchboard_accept_errors_total", "counter",
         "Failed accepts (e.g. out of file descriptors); the listener backs off, then retries.", m.accept_errors.load());
  single(out, "switchboard_refused_full_total", "counter",
         "Connections refused with 503 because --max-connections were open.", m.refused_full.load());
  single(out, "switchboard_rate_limited_total", "counter", "Requests dropped by the per-connection rate limit.", m.rate_limited.load());
  if (ctx.push) ctx.push->render_metrics(out);
  single(out, "switchboard_backend_up", "gauge", "1 when the cluster backend (Redis) is reachable and this node registered; 0: degraded.",
         ctx.hub.backend_healthy() ? 1 : 0);
  if (ctx.redis) {
    single(out, "switchboard_redis_reconnects_total", "counter", "Redis connection attempts after a loss or failure.", ctx.redis->reconnects());
    single(out, "switchboard_redis_reaped_total", "counter", "Group memberships of dead nodes this node removed and announced.", ctx.redis->reaped());
  }
  return out;
}

}  // namespace sb::server
