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
  emscripten_websocket_set_onclose_callback(s, this, &BrowserTransport::on_close);
  emscripten_websocket_set_onerror_callback(s, this, &BrowserTransport::on_error);
  // Text frames reach the core through post.js's hook (receive() below), not through Emscripten's
  // onmessage callback, which would copy each whole message into the heap: message events are
  // built from the frame's own JS string, and the core reads only their envelope. (The server
  // sends no binary frames; the core would ignore them.)
  EM_ASM({ Module['sbHook']($0, $1, $2); }, s, this, handlers_);
}

namespace {
int g_frame_kind = 0;  // set by frame_event() while receive() runs
}  // namespace

void BrowserTransport::frame_event(int kind) { g_frame_kind = kind; }

int BrowserTransport::receive(std::string_view text, bool whole) {
  if (!core_) return 0;
  g_frame_kind = 0;
  if (whole) core_->on_transport_text(text);
  else if (!core_->on_transport_head(text)) return -1;
  return g_frame_kind;
}

extern "C" EMSCRIPTEN_KEEPALIVE int sb_receive(BrowserTransport* t, const char* text, int size, int whole) {
  return t->receive(std::string_view(text, static_cast<std::size_t>(size)), whole != 0);
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
// (`WS.sockets[socket]`), leaking the JS object: drop the entry ourselves.
void BrowserTransport::release() {
  if (!socket_) return;
  emscripten_websocket_delete(socket_);
  EM_ASM({ WS.sockets[$0] = null; }, socket_);
  socket_ = 0;
}

int BrowserTransport::on_open(int, const EmscriptenWebSocketOpenEvent* e, void* p) {
  auto* self = static_cast<BrowserTransport*>(p);
  if (e->socket == self->socket_ && self->core_) self->core_->on_transport_open();
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
