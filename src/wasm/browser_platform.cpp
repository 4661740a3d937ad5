#include "browser_platform.hpp"

#include <emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>

namespace sb::wasm {

// ---- transport ------------------------------------------------------------------------------
BrowserTransport::~BrowserTransport() { release(); }

void BrowserTransport::open(const std::string& url) {
  release();
  EmscriptenWebSocketCreateAttributes attr;
  emscripten_websocket_init_create_attributes(&attr);
  attr.url = url.c_str();
  attr.protocols = nullptr;
  attr.createOnMainThread = EM_TRUE;
  int s = emscripten_websocket_new(&attr);
  if (s <= 0) {
    if (core_) core_->on_transport_close(1006, "WebSocket is not supported here");
    return;
  }
  socket_ = s;
  emscripten_websocket_set_onopen_callback(s, this, &BrowserTransport::on_open);
  emscripten_websocket_set_onmessage_callback(s, this, &BrowserTransport::on_message);
  emscripten_websocket_set_onclose_callback(s, this, &BrowserTransport::on_close);
  emscripten_websocket_set_onerror_callback(s, this, &BrowserTransport::on_error);
  // Keep the frame's JS string while it is handled, so events that copy it whole (Event::
  // from_frame) reach the app through one JSON.parse instead of field-by-field UTF-8 decoding.
  EM_ASM({
    var socket = WS.sockets[$0];
    var inner = socket.onmessage;
    socket.onmessage = function(e) {
      Module['sbFrame'] = e.data;
      try { inner(e); } finally { Module['sbFrame'] = null; }
    };
  }, s);
}

void BrowserTransport::send(const std::string& text) {
  if (socket_) emscripten_websocket_send_utf8_text(socket_, text.c_str());
}

void BrowserTransport::close(int code, const std::string& reason) {
  if (!socket_) return;
  emscripten_websocket_close(socket_, static_cast<unsigned short>(code), reason.c_str());
  release();
}

// emscripten_websocket_delete in 3.1.6 unhooks the handlers but deletes the wrong key
// (`WS.sockets[socket]`), leaking the JS object: drop the entry ourselves. And since a new
// socket's id is `WS.sockets.length`, the array would still grow by one slot per connection
// forever (a page reconnecting for days): trim the empty slots at its end, so ids are reused
// and the array stays as long as the sockets alive. Reuse is safe: a deleted socket's handlers
// are unhooked, so nothing of the old socket can arrive under its id.
void BrowserTransport::release() {
  if (!socket_) return;
  emscripten_websocket_delete(socket_);
  EM_ASM({
    var s = WS.sockets;
    s[$0] = null;
    while (s.length > 1 && !s[s.length - 1]) s.length--;
  }, socket_);
  socket_ = 0;
}

int BrowserTransport::on_open(int, const EmscriptenWebSocketOpenEvent* e, void* p) {
  auto* self = static_cast<BrowserTransport*>(p);
  if (e->socket == self->socket_ && self->core_) self->core_->on_transport_open();
  return EM_TRUE;
}

// The event's buffer is freed when this returns; the core consumes it synchronously. Text
// frames count a trailing NUL in numBytes.
int BrowserTransport::on_message(int, const EmscriptenWebSocketMessageEvent* e, void* p) {
  auto* self = static_cast<BrowserTransport*>(p);
  if (e->socket != self->socket_ || !self->core_ || !e->isText || e->numBytes == 0) return EM_TRUE;
  self->core_->on_transport_text(std::string_view(reinterpret_cast<const char*>(e->data), e->numBytes - 1));
  return EM_TRUE;
}

int BrowserTransport::on_error(int, const EmscriptenWebSocketErrorEvent* e, void* p) {
  auto* self = static_cast<BrowserTransport*>(p);
  if (e->socket == self->socket_ && self->core_) self->core_->on_transport_error();
  return EM_TRUE;
}

int BrowserTransport::on_close(int, const EmscriptenWebSocketCloseEvent* e, void* p) {
  auto* self = static_cast<BrowserTransport*>(p);
  if (e->socket != self->socket_) return EM_TRUE;
  self->release();
  if (self->core_) self->core_->on_transport_close(e->code, e->reason);
  return EM_TRUE;
}

// ---- clock ----------------------------------------------------------------------------------
namespace {
struct Fired {
  BrowserClock* clock;
  client::TimerId id;
};
}  // namespace

BrowserClock::~BrowserClock() {
  for (auto& [id, e] : timers_) {
    emscripten_clear_timeout(e.handle);
    delete static_cast<Fired*>(e.arg);
  }
}

double BrowserClock::now_ms() { return emscripten_get_now(); }

client::TimerId BrowserClock::start(double delay_ms, std::function<void()> fn) {
  client::TimerId id = next_++;
  auto* arg = new Fired{this, id};
  long handle = emscripten_set_timeout(&BrowserClock::fire, delay_ms, arg);
  timers_[id] = Entry{std::move(fn), handle, arg};
  return id;
}

void BrowserClock::cancel(client::TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  emscripten_clear_timeout(it->second.handle);
  delete static_cast<Fired*>(it->second.arg);
  timers_.erase(it);
}

void BrowserClock::fire(void* arg) {
  auto* f = static_cast<Fired*>(arg);
  BrowserClock* clock = f->clock;
  auto it = clock->timers_.find(f->id);
  delete f;
  if (it == clock->timers_.end()) return;
  auto fn = std::move(it->second.fn);
  clock->timers_.erase(it);
  fn();
}

}  // namespace sb::wasm
