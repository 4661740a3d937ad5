// The browser side of the client core's platform: a WebSocket through Emscripten's WebSocket
// API, timers through setTimeout. Thin on purpose: the logic lives in src/client.
#pragma once
#include <map>

#include <emscripten/websocket.h>

#include "../client/core.hpp"

namespace sb::wasm {

class BrowserTransport : public client::Transport {
 public:
  ~BrowserTransport() override;
  void bind(client::Core* core) { core_ = core; }
  void set_handlers(int handlers) { handlers_ = handlers; }  // Module.sbHandlers[handlers] (post.js)
  // Text frames arrive through post.js's hook (Module.sbHook), one frame per call, as the
  // envelope alone (`whole` false: Core::on_transport_head) or whole (Core::on_transport_text).
  // Returns the kind of the Event::from_frame the frame made (1 message, 2 private, 0 none),
  // which post.js then builds from the text it holds; -1: the envelope was not enough, send the
  // whole frame.
  int receive(std::string_view text, bool whole);
  static void frame_event(int kind);  // the sink's from_frame events, reported by receive()
  void open(const std::string& url) override;
  void send(const std::string& text) override;
  void close(int code, const std::string& reason) override;
  int socket_id() const { return socket_; }

 private:
  void release();
  static int on_open(int, const EmscriptenWebSocketOpenEvent* e, void* self);
  static int on_close(int, const EmscriptenWebSocketCloseEvent* e, void* self);
  static int on_error(int type, const EmscriptenWebSocketErrorEvent* e, void* user);

  client::Core* core_ = nullptr;
  int socket_ = 0;
  int handlers_ = 0;
};

class BrowserClock : public client::Clock {
 public:
  ~BrowserClock() override;
  double now_ms() override;
  client::TimerId start(double delay_ms, std::function<void()> fn) override;
  void cancel(client::TimerId id) override;

 private:
  struct Entry {
    std::function<void()> fn;
    long handle = 0;
    void* arg = nullptr;  // owned: freed when the timer fires or is cancelled
  };
  static void fire(void* arg);

  client::TimerId next_ = 1;
  std::map<client::TimerId, Entry> timers_;
};

}  // namespace sb::wasm
