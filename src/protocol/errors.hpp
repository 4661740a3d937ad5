// Error codes and WebSocket close codes: the one list both sides use (see docs/protocol.md).
#pragma once
#include <string_view>

namespace sb::protocol {

// Typed error codes carried in {"op":"error","code":...} replies and in client-side rejections.
// Skapi's own codes (INVALID_REQUEST, INVALID_PARAMETER, NOT_SUPPORTED) keep their names.
enum class Error {
  InvalidRequest,    // malformed frame, unknown op, wrong field types
  InvalidParameter,  // a field has the right type but a bad value (group name, user id, ...)
  NotJoined,         // posted to a group this connection has not joined
  RecipientOffline,  // private message to a user with no connection
  TooLarge,          // frame or payload over the size limit
  TooDeep,           // JSON nesting deeper than the limit
  RateLimited,       // message rate over the per-connection budget
  Unauthorized,      // missing, expired or bad token
  Forbidden,         // authenticated but not allowed (origin, group claim, connection cap)
  NotConnected,      // client side: no realtime connection
  Timeout,           // client side: no reply in time
  Disconnected,      // client side: the connection dropped before the reply came
  Closed,            // client side: closeRealtime() was called while the request waited
  QueueFull,         // client side: the offline queue is at its bound (count or bytes)
  NotSupported,      // binary frames, features this build does not have
  Unavailable,       // the cluster backend (Redis) cannot be reached: retry later (docs/scaling.md)
  Internal,
};

constexpr std::string_view to_string(Error e) {
  switch (e) {
    case Error::InvalidRequest: return "INVALID_REQUEST";
    case Error::InvalidParameter: return "INVALID_PARAMETER";
    case Error::NotJoined: return "NOT_JOINED";
    case Error::RecipientOffline: return "RECIPIENT_OFFLINE";
    case Error::TooLarge: return "TOO_LARGE";
    case Error::TooDeep: return "TOO_DEEP";
    case Error::RateLimited: return "RATE_LIMITED";
    case Error::Unauthorized: return "UNAUTHORIZED";
    case Error::Forbidden: return "FORBIDDEN";
    case Error::NotConnected: return "NOT_CONNECTED";
    case Error::Timeout: return "TIMEOUT";
    case Error::Disconnected: return "DISCONNECTED";
    case Error::Closed: return "CLOSED";
    case Error::QueueFull: return "QUEUE_FULL";
    case Error::NotSupported: return "NOT_SUPPORTED";
    case Error::Unavailable: return "UNAVAILABLE";
    case Error::Internal: return "INTERNAL";
  }
  return "INTERNAL";
}

// WebSocket close codes the server uses. 4000-4999 are ours.
namespace close_code {
constexpr int Normal = 1000;
constexpr int GoingAway = 1001;       // server shutting down: reconnect (elsewhere)
constexpr int TooBig = 1009;          // frame over the size limit
constexpr int InternalError = 1011;
constexpr int TryAgainLater = 1013;   // the cluster backend is unavailable: reconnect (elsewhere) later
constexpr int Unauthorized = 4001;    // token missing, malformed, expired or badly signed: do not retry
constexpr int TokenExpired = 4002;    // the open connection's token expired: reconnect with a fresh one
constexpr int Forbidden = 4003;       // origin refused or connection cap reached: do not retry
constexpr int DisconnectedByServer = 4005;  // the app's backend closed it (POST /api/disconnect): do not retry
constexpr int SlowConsumer = 4008;    // outgoing buffer over the limit: reconnect
constexpr int IdleTimeout = 4010;     // no pong within the idle timeout: reconnect
}  // namespace close_code

// Close codes after which a client must not reconnect by itself. TokenExpired is not one: the
// client reconnects and its token function gives it a fresh token.
constexpr bool close_is_fatal(int code) {
  return code == close_code::Unauthorized || code == close_code::Forbidden ||
         code == close_code::DisconnectedByServer;
}

}  // namespace sb::protocol
