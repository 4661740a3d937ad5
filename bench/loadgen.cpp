// sb-loadgen: the native load generator behind `npm run bench` (docs/benchmarks.md).
//
// One process, one thread, one io_context, many WebSocket connections (Boost.Beast). It drives
// every system through the same scenarios; only the framing differs, through a small adapter:
//   sb    Switchboard's protocol, frames built and read with src/protocol (sb_protocol)
//   sio   Socket.IO v5 over Engine.IO v4 on a raw WebSocket (?EIO=4&transport=websocket)
//   json  the tiny JSON protocol of bench/peers/uws.mjs and bench/peers/ws.mjs
//   core  Switchboard through the client core itself (src/client on src/native's Beast
//         transport, what the browser runs as wasm): private scenario only
// Every payload carries the send time (steady clock, ns since the generator started), so
// publish->receive latency is measured with one clock. Every loop is bounded in count and time.
//
// Scenarios (--scenario):
//   fanout   G groups of S members (+ one group of B), publishers at a paced aggregate rate,
//            stepped up until delivery falls behind; then a latency run at --lat-rate
//   private  P pairs of users sending each other private messages: same steps and latency run
//   idle     N authenticated idle connections: connect time, server RSS per connection
//   blast    one sender sends --count private messages to user --to at --rate (browser scenario)
// Results: one JSON object on stdout. Progress on stderr.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "native/beast_transport.hpp"
#include "protocol/frames.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace p = sb::protocol;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

const Clock::time_point g_t0 = Clock::now();
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - g_t0).count();
}
inline double now_s() { return now_ns() / 1e9; }

// ---- options ----------------------------------------------------------------------------------
struct Options {
  std::string proto = "sb", scenario = "fanout", host = "127.0.0.1", secret = "bench-secret";
  unsigned short port = 8080;
  std::vector<unsigned short> ports;  // --port a,b,c: several nodes, connection i on ports[i % n]
  int server_pid = 0;
  std::vector<int> node_pids;  // --node-pids: every node's CPU (default: server_pid's)
  int redis_pid = 0;           // --redis-pid: Redis's CPU, reported apart
  int groups = 100, group_size = 50, big_group = 1000;  // fanout
  int pairs = 1000;                                      // private
  int conns = 10000;                                     // idle
  int inflight = 256;                                    // concurrent connection attempts
  double step_start = 10000, step_factor = 1.5, step_max = 4e6, step_secs = 2.0;
  double lat_rate = 0, lat_secs = 4.0;                   // deliveries/s; 0: half the saturation
  double sat_threshold = 0.9;                            // achieved/target below this: saturated
  std::string to = "browser";                            // blast: recipient user
  long count = 50000;                                    // blast
  double rate = 100000;                                  // blast, messages/s
  double max_secs = 150;                                 // hard bound for the whole run
};

// ---- HS256 JWT (OpenSSL HMAC) -----------------------------------------------------------------
std::string b64url(const unsigned char* d, std::size_t n) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = d[i] << 16 | d[i + 1] << 8 | d[i + 2];
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63]; out += t[v >> 6 & 63]; out += t[v & 63];
  }
  if (n - i == 1) {
    unsigned v = d[i] << 16;
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63];
  } else if (n - i == 2) {
    unsigned v = d[i] << 16 | d[i + 1] << 8;
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63]; out += t[v >> 6 & 63];
  }
  return out;
}
std::string b64url(std::string_view s) { return b64url(reinterpret_cast<const unsigned char*>(s.data()), s.size()); }

std::string sign_jwt(const std::string& secret, const std::string& user) {
  long now = static_cast<long>(std::time(nullptr));
  std::string head = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string body = b64url(json{{"sub", user}, {"iat", now}, {"exp", now + 3600}}.dump());
  std::string input = head + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(mac, len);
}

// ---- /proc readings of the server under test --------------------------------------------------
double proc_cpu_s(int pid) {  // utime + stime, seconds
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // field 3 is the state
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
long proc_rss_kb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}
std::vector<int> comma_ints(const std::string& list) {  // "1,2,3"
  std::vector<int> out;
  for (std::size_t i = 0, j; i < list.size(); i = j + 1) {
    j = std::min(list.find(',', i), list.size());
    out.push_back(std::stoi(list.substr(i, j - i)));
  }
  return out;
}
double nodes_cpu_s(const Options& o) {
  if (o.node_pids.empty()) return proc_cpu_s(o.server_pid);
  double t = 0;
  for (int pid : o.node_pids) t += proc_cpu_s(pid);
  return t;
}
double self_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ---- protocol adapters --------------------------------------------------------------------------
enum class Proto { Sb, Sio, Json, Core };

inline bool starts(std::string_view t, std::string_view prefix) { return t.substr(0, prefix.size()) == prefix; }

// The send timestamp: `"ts":<digits>` inside the payload. Same scan for every protocol.
inline std::int64_t find_ts(std::string_view t) {
  auto pos = t.find("\"ts\":");
  if (pos == std::string_view::npos) return -1;
  std::int64_t v = -1;
  auto b = t.data() + pos + 5;
  std::from_chars(b, t.data() + t.size(), v);
  return v;
}

std::string payload(std::int64_t seq) {
  // ~80 bytes of user payload: a timestamp, a sequence number and some text.
  std::string s = "{\"ts\":";
  s += std::to_string(now_ns());
  s += ",\"n\":";
  s += std::to_string(seq);
  s += ",\"text\":\"the quick brown fox jumps over the lazy dog\"}";
  return s;
}

struct Gen;

struct Stats {
  std::uint64_t delivered = 0, acks = 0, errors = 0, closed = 0, ready = 0, failed = 0;
  std::uint64_t sent = 0, skipped = 0, other = 0;
  std::int64_t rec_from = -1, rec_to = -1;  // record latency of messages sent in [from, to)
  std::vector<std::uint32_t> lat_ns_sampled;  // latency in units of 100 ns
  std::string first_error;
};

struct Conn : std::enable_shared_from_this<Conn> {
  Gen& g;
  int idx;
  std::string user;
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buf;
  std::deque<std::string> outq;
  bool writing = false, ready = false, dead = false;
  std::int64_t next_id = 1;
  int acks_wanted = 0;

  Conn(Gen& g, int idx, std::string user, net::io_context& ioc);
  void start();
  void fail(const char* where, const beast::error_code& ec);
  void read();
  void on_text(std::string_view t);
  void on_frame(std::string_view t);
  void delivery(std::string_view t);
  void send(std::string s);
  void write_next();
  void join(const std::string& group);
  void publish(const std::string& group, std::int64_t seq);
  void private_to(const std::string& to, std::int64_t seq);
};

struct Gen {
  Options o;
  Proto proto;
  net::io_context ioc{1};
  std::vector<std::shared_ptr<Conn>> conns;
  Stats st;
  std::size_t next_start = 0;
  std::vector<std::string> tokens;

  void record(std::int64_t ts) {
    ++st.delivered;
    if (ts >= st.rec_from && ts < st.rec_to && st.lat_ns_sampled.size() < 40'000'000) {
      auto d = (now_ns() - ts) / 100;
      st.lat_ns_sampled.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(d, UINT32_MAX)));
    }
  }
  void started_one_done() {
    if (next_start < conns.size()) conns[next_start++]->start();
  }
};

Conn::Conn(Gen& g, int idx, std::string user, net::io_context& ioc) : g(g), idx(idx), user(std::move(user)), ws(ioc) {}

void Conn::fail(const char* where, const beast::error_code& ec) {
  if (dead) return;
  dead = true;
  if (ready) ++g.st.closed;
  else {
    ++g.st.failed;
    g.started_one_done();
  }
  if (g.st.first_error.empty()) g.st.first_error = std::string(where) + ": " + ec.message();
}

void Conn::start() {
  auto self = shared_from_this();
  unsigned short port = g.o.ports.empty() ? g.o.port : g.o.ports[idx % g.o.ports.size()];
  tcp::endpoint ep(net::ip::make_address(g.o.host), port);
  ws.next_layer().async_connect(ep, [self, port](beast::error_code ec) {
    if (ec) return self->fail("connect", ec);
    self->ws.next_layer().set_option(tcp::no_delay(true), ec);
    self->ws.read_message_max(1 << 24);
    self->ws.auto_fragment(false);
    std::string target;
    const std::string& tok = self->g.tokens[self->idx];
    switch (self->g.proto) {
      case Proto::Sb: target = "/realtime?token=" + tok; break;
      case Proto::Sio: target = "/socket.io/?EIO=4&transport=websocket"; break;
      case Proto::Json: target = "/?token=" + tok; break;
      case Proto::Core: break;
    }
    std::string host = self->g.o.host + ":" + std::to_string(port);
    self->ws.async_handshake(host, target, [self](beast::error_code ec) {
      if (ec) return self->fail("handshake", ec);
      self->ws.text(true);
      self->read();
    });
  });
}

void Conn::read() {
  ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) return self->fail("read", ec);
    auto d = self->buf.cdata();
    self->on_text(std::string_view(static_cast<const char*>(d.data()), d.size()));
    self->buf.consume(self->buf.size());
    self->read();
  });
}

void Conn::delivery(std::string_view t) {
  if (g.proto == Proto::Sb) {
    // Switchboard's own reader: split the envelope from the raw payload (src/protocol).
    static thread_local std::string envelope;
    std::string_view pl;
    if (p::split_payload(t, envelope, pl)) return g.record(find_ts(pl));
  }
  g.record(find_ts(t));
}

void Conn::on_text(std::string_view message) {
  if (g.proto == Proto::Sb) {  // Switchboard may batch several frames into one message
    p::for_each_frame(message, [this](std::string_view t, std::size_t, std::size_t) { on_frame(t); });
    return;
  }
  on_frame(message);
}

void Conn::on_frame(std::string_view t) {
  auto mark_ready = [this] {
    if (!ready) {
      ready = true;
      ++g.st.ready;
      g.started_one_done();
    }
  };
  switch (g.proto) {
    case Proto::Sb:
      if (starts(t, R"({"op":"message")") || starts(t, R"({"op":"private")")) return delivery(t);
      if (starts(t, R"({"op":"ok")")) { ++g.st.acks; --acks_wanted; return; }
      if (starts(t, R"({"op":"notice")")) { ++g.st.other; return; }
      if (starts(t, R"({"op":"welcome")")) return mark_ready();
      break;
    case Proto::Sio:
      if (starts(t, "42[")) return delivery(t);
      if (t == "2") return send("3");
      if (starts(t, "43")) { ++g.st.acks; --acks_wanted; return; }
      if (starts(t, "0{")) return send("40{\"token\":\"" + g.tokens[idx] + "\"}");
      if (starts(t, "40")) return mark_ready();
      break;
    case Proto::Core: break;
    case Proto::Json:
      if (starts(t, R"({"t":"msg")") || starts(t, R"({"t":"prv")")) return delivery(t);
      if (starts(t, R"({"t":"ok")")) { ++g.st.acks; --acks_wanted; return; }
      if (starts(t, R"({"t":"welcome")")) return mark_ready();
      break;
  }
  ++g.st.errors;
  if (g.st.first_error.empty()) g.st.first_error = "unexpected frame: " + std::string(t.substr(0, 200));
}

void Conn::send(std::string s) {
  if (dead) return;
  outq.push_back(std::move(s));
  if (!writing) write_next();
}

void Conn::write_next() {
  if (outq.empty() || dead) {
    writing = false;
    return;
  }
  writing = true;
  ws.async_write(net::buffer(outq.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->outq.pop_front();
    if (ec) {
      self->writing = false;
      return self->fail("write", ec);
    }
    self->write_next();
  });
}

void Conn::join(const std::string& group) {
  ++acks_wanted;
  std::int64_t id = next_id++;
  switch (g.proto) {
    case Proto::Sb: send(p::join_frame(id, group)); break;
    case Proto::Sio: send("42" + std::to_string(id) + "[\"join\"," + p::json_string(group) + "]"); break;
    case Proto::Json: send("{\"t\":\"join\",\"g\":" + p::json_string(group) + "}"); break;
    case Proto::Core: break;
  }
}

void Conn::publish(const std::string& group, std::int64_t seq) {
  ++g.st.sent;
  switch (g.proto) {
    case Proto::Sb: ++acks_wanted; send(p::post_frame(next_id++, group, payload(seq))); break;
    case Proto::Sio: send("42[\"pub\"," + p::json_string(group) + "," + payload(seq) + "]"); break;
    case Proto::Json: send("{\"t\":\"pub\",\"g\":" + p::json_string(group) + ",\"m\":" + payload(seq) + "}"); break;
    case Proto::Core: break;
  }
}

void Conn::private_to(const std::string& to, std::int64_t seq) {
  ++g.st.sent;
  switch (g.proto) {
    case Proto::Sb: ++acks_wanted; send(p::private_frame(next_id++, to, payload(seq))); break;
    case Proto::Sio: send("42[\"priv\"," + p::json_string(to) + "," + payload(seq) + "]"); break;
    case Proto::Json: send("{\"t\":\"priv\",\"u\":" + p::json_string(to) + ",\"m\":" + payload(seq) + "}"); break;
    case Proto::Core: break;
  }
}

// ---- the controller (a coroutine on the same io_context) ---------------------------------------
net::awaitable<void> sleep_for(double secs) {
  net::steady_timer t(co_await net::this_coro::executor);
  t.expires_after(std::chrono::microseconds(static_cast<long>(secs * 1e6)));
  co_await t.async_wait(net::use_awaitable);
}

template <class Pred>
net::awaitable<bool> wait_until(Pred pred, double timeout) {
  double end = now_s() + timeout;
  while (!pred()) {
    if (now_s() > end) co_return false;
    co_await sleep_for(0.005);
  }
  co_return true;
}

// Waits until no delivery has arrived for `quiet` seconds (or `timeout`).
net::awaitable<void> drain(Gen& g, double quiet, double timeout) {
  double end = now_s() + timeout;
  std::uint64_t last = g.st.delivered + g.st.other;
  double last_change = now_s();
  while (now_s() < end) {
    co_await sleep_for(0.02);
    auto cur = g.st.delivered + g.st.other;
    if (cur != last) {
      last = cur;
      last_change = now_s();
    } else if (now_s() - last_change >= quiet) {
      break;
    }
  }
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
  std::size_t n = 0;
};
Percentiles percentiles(std::vector<std::uint32_t>& v) {
  Percentiles r;
  r.n = v.size();
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))] / 10.0; };
  r.p50 = at(0.50);
  r.p99 = at(0.99);
  r.p999 = at(0.999);
  r.max = v.back() / 10.0;
  return r;
}

net::awaitable<void> connect_all(Gen& g, json& out) {
  double t0 = now_s();
  std::size_t n = g.conns.size();
  for (int i = 0; i < g.o.inflight && g.next_start < n; ++i) g.conns[g.next_start++]->start();
  bool ok = co_await wait_until([&] { return g.st.ready + g.st.failed >= n; }, 120);
  double secs = now_s() - t0;
  out["connections"] = n;
  out["connected"] = g.st.ready;
  out["connect_failed"] = g.st.failed;
  out["connect_s"] = secs;
  out["connect_timed_out"] = !ok;
  std::cerr << "  connected " << g.st.ready << "/" << n << " in " << secs << " s\n";
}

// A paced publishing run: `publish_one(k)` sends the k-th message; `fanout` deliveries are
// expected per message. Counts deliveries received during the window.
struct RunResult {
  double target = 0, achieved = 0, secs = 0, server_cpu_s = 0, gen_cpu_s = 0, redis_cpu_s = 0;
  std::uint64_t delivered = 0, sent = 0, skipped = 0;
};

net::awaitable<RunResult> paced(Gen& g, double delivered_rate, double fanout, double secs,
                                std::function<bool(std::uint64_t)> publish_one) {
  RunResult r;
  r.target = delivered_rate;
  double pub_rate = delivered_rate / fanout;
  auto d0 = g.st.delivered;
  auto s0 = g.st.sent, k0 = g.st.skipped;
  double cpu0 = nodes_cpu_s(g.o), gcpu0 = self_cpu_s(), rcpu0 = proc_cpu_s(g.o.redis_pid);
  double t0 = now_s();
  std::uint64_t k = 0;
  while (true) {
    double el = now_s() - t0;
    if (el >= secs) break;
    auto due = static_cast<std::uint64_t>(pub_rate * el);
    int burst = 0;
    while (k < due && burst < 20000) {
      if (!publish_one(k)) ++g.st.skipped;
      ++k;
      ++burst;
    }
    co_await sleep_for(0.001);
  }
  r.secs = now_s() - t0;
  r.delivered = g.st.delivered - d0;
  r.sent = g.st.sent - s0;
  r.skipped = g.st.skipped - k0;
  r.achieved = r.delivered / r.secs;
  r.server_cpu_s = nodes_cpu_s(g.o) - cpu0;
  r.redis_cpu_s = proc_cpu_s(g.o.redis_pid) - rcpu0;
  r.gen_cpu_s = self_cpu_s() - gcpu0;
  co_return r;
}

json run_json(const RunResult& r) {
  return json{{"target", r.target}, {"achieved", r.achieved}, {"secs", r.secs}, {"delivered", r.delivered},
              {"sent", r.sent}, {"skipped", r.skipped}, {"server_cpu_s", r.server_cpu_s},
              {"gen_cpu_frac", r.gen_cpu_s / r.secs}, {"redis_cpu_s", r.redis_cpu_s}};
}

// Steps the rate up until delivery falls behind, then runs at lat_rate and records latency.
net::awaitable<void> load_scenario(Gen& g, json& out, double fanout,
                                   std::function<bool(std::uint64_t)> publish_one) {
  json steps = json::array();
  double best = 0;
  double deadline = now_s() + g.o.max_secs * 0.6;
  for (double rate = g.o.step_start; rate <= g.o.step_max && now_s() < deadline; rate *= g.o.step_factor) {
    g.st.lat_ns_sampled.clear();
    g.st.rec_from = now_ns();
    g.st.rec_to = g.st.rec_from + static_cast<std::int64_t>(g.o.step_secs * 1e9);
    auto r = co_await paced(g, rate, fanout, g.o.step_secs, publish_one);
    auto pc = percentiles(g.st.lat_ns_sampled);
    json s = run_json(r);
    s["p50_us"] = pc.p50;
    s["p99_us"] = pc.p99;
    steps.push_back(s);
    best = std::max(best, r.achieved);
    std::cerr << "  step " << rate << "/s: achieved " << r.achieved << "/s p50 " << pc.p50 << " us p99 "
              << pc.p99 << " us, server cpu " << r.server_cpu_s / r.secs << ", gen cpu " << r.gen_cpu_s / r.secs
              << (r.skipped ? ", skipped sends " + std::to_string(r.skipped) : std::string()) << "\n";
    bool saturated = r.achieved < g.o.sat_threshold * rate || pc.p99 > 200000 || r.skipped > r.sent / 100;
    co_await drain(g, 0.3, 10);
    if (saturated) break;
    if (g.st.closed) break;
  }
  out["steps"] = steps;
  out["saturation"] = best;

  double lat_rate = g.o.lat_rate > 0 ? g.o.lat_rate : best / 2;
  g.st.lat_ns_sampled.clear();
  double warm = 0.5;
  g.st.rec_from = now_ns() + static_cast<std::int64_t>(warm * 1e9);
  g.st.rec_to = now_ns() + static_cast<std::int64_t>(g.o.lat_secs * 1e9);
  auto r = co_await paced(g, lat_rate, fanout, g.o.lat_secs, publish_one);
  co_await drain(g, 0.3, 10);
  auto pc = percentiles(g.st.lat_ns_sampled);
  json l = run_json(r);
  l["rate"] = lat_rate;
  l["samples"] = pc.n;
  l["p50_us"] = pc.p50;
  l["p99_us"] = pc.p99;
  l["p999_us"] = pc.p999;
  l["max_us"] = pc.max;
  l["server_cpu_us_per_msg"] = r.delivered ? r.server_cpu_s * 1e6 / r.delivered : 0;
  l["redis_cpu_us_per_msg"] = r.delivered ? r.redis_cpu_s * 1e6 / r.delivered : 0;
  out["latency"] = l;
  std::cerr << "  latency at " << lat_rate << "/s: p50 " << pc.p50 << " p99 " << pc.p99 << " p99.9 " << pc.p999
            << " us; server " << l["server_cpu_us_per_msg"].get<double>() << " us cpu/msg\n";
}

net::awaitable<void> scenario(Gen& g, json& out) {
  auto& o = g.o;
  out["proto"] = o.proto;
  out["scenario"] = o.scenario;
  long rss0 = proc_rss_kb(o.server_pid);
  out["server_rss0_kb"] = rss0;

  if (o.scenario == "fanout") {
    // users u0..; groups g0..g{G-1} of S members, then "big" of B members.
    std::vector<std::string> names;
    std::vector<std::vector<int>> members;
    int idx = 0;
    for (int gi = 0; gi < o.groups; ++gi) {
      names.push_back("g" + std::to_string(gi));
      members.emplace_back();
      for (int m = 0; m < o.group_size; ++m) members.back().push_back(idx++);
    }
    if (o.big_group > 0) {
      names.push_back("big");
      members.emplace_back();
      for (int m = 0; m < o.big_group; ++m) members.back().push_back(idx++);
    }
    for (int i = 0; i < idx; ++i) g.conns.push_back(std::make_shared<Conn>(g, i, "u" + std::to_string(i), g.ioc));
    for (auto& c : g.conns) g.tokens.push_back(sign_jwt(o.secret, c->user));
    co_await connect_all(g, out);
    double tj = now_s(), cpu_j = nodes_cpu_s(o);
    for (std::size_t gi = 0; gi < names.size(); ++gi)
      for (int m : members[gi]) g.conns[m]->join(names[gi]);
    bool joined = co_await wait_until([&] { return g.st.acks >= static_cast<std::uint64_t>(idx) - g.st.failed; }, 60);
    co_await drain(g, 0.3, 20);  // presence notices
    out["join_s"] = now_s() - tj;
    out["join_server_cpu_s"] = nodes_cpu_s(o) - cpu_j;  // presence notices included
    out["join_notices"] = g.st.other;
    out["joined"] = joined;
    std::cerr << "  joined " << g.st.acks << " in " << now_s() - tj << " s, server cpu " << nodes_cpu_s(o) - cpu_j
              << " s, " << g.st.other << " notices\n";
    double fanout = static_cast<double>(idx) / names.size();
    out["deliveries_per_publish"] = fanout;
    co_await load_scenario(g, out, fanout, [&](std::uint64_t k) {
      std::size_t gi = k % names.size();
      auto& mem = members[gi];
      auto& c = g.conns[mem[(k / names.size()) % mem.size()]];
      if (c->dead || c->outq.size() > 256) return false;
      c->publish(names[gi], static_cast<std::int64_t>(k));
      return true;
    });
  } else if (o.scenario == "private" && g.proto == Proto::Core) {
    // The same pairs through the client core: connect, post and receive are the core's own
    // (its request ids, replies, event building); the generator only paces and counts.
    struct CoreConn {
      std::string user;
      std::unique_ptr<sb::native::NativeClient> nc;
      int waiting = 0;  // posts without a reply yet
      bool open = false, failed = false;
    };
    int n = o.pairs * 2;
    std::vector<CoreConn> cc(n);
    const std::string url = "ws://" + o.host + ":" + std::to_string(o.port) + "/realtime";
    double t0 = now_s();
    std::size_t next = 0, settled = 0;
    std::function<void()> start_next = [&] {
      if (next >= cc.size()) return;
      auto& c = cc[next++];
      c.nc->core().connect(url, [&](const sb::client::Result& r) {
        ++settled;
        (r.ok ? c.open : c.failed) = true;
        if (r.ok) ++g.st.ready;
        else ++g.st.failed;
        if (!r.ok && g.st.first_error.empty()) g.st.first_error = "core connect: " + r.code + " " + r.message;
        start_next();
      });
    };
    for (int i = 0; i < n; ++i) {
      cc[i].user = "p" + std::to_string(i);
      std::string tok = sign_jwt(o.secret, cc[i].user);
      cc[i].nc = std::make_unique<sb::native::NativeClient>(
          g.ioc, [tok] { return tok; },
          [&g](const sb::client::Event& e) {
            if (e.type == "private") g.record(find_ts(e.message_json));
            else if (e.type == "error" || e.type == "close") {
              ++g.st.errors;
              if (g.st.first_error.empty()) g.st.first_error = e.type + ": " + e.message_json.substr(0, 120);
            }
          });
    }
    for (int i = 0; i < g.o.inflight; ++i) start_next();
    co_await wait_until([&] { return settled >= cc.size(); }, 120);
    out["connections"] = n;
    out["connected"] = g.st.ready;
    out["connect_failed"] = g.st.failed;
    out["connect_s"] = now_s() - t0;
    std::cerr << "  core: connected " << g.st.ready << "/" << n << " in " << now_s() - t0 << " s\n";
    co_await load_scenario(g, out, 1.0, [&](std::uint64_t k) {
      std::size_t pair = k % o.pairs;
      std::size_t dir = (k / o.pairs) % 2;
      auto& c = cc[2 * pair + dir];
      if (!c.open || c.waiting > 256) return false;
      ++g.st.sent;
      ++c.waiting;
      c.nc->core().post(payload(static_cast<std::int64_t>(k)), cc[2 * pair + 1 - dir].user, [&g, &c](const sb::client::Result& r) {
        --c.waiting;
        if (r.ok) ++g.st.acks;
        else if (++g.st.errors, g.st.first_error.empty()) g.st.first_error = "core post: " + r.code + " " + r.message;
      });
      return true;
    });
    // The generator _exits right after the report: leave the clients (and their sockets) be.
    for (auto& c : cc) (void)c.nc.release();
  } else if (o.scenario == "private") {
    int n = o.pairs * 2;
    for (int i = 0; i < n; ++i) g.conns.push_back(std::make_shared<Conn>(g, i, "p" + std::to_string(i), g.ioc));
    for (auto& c : g.conns) g.tokens.push_back(sign_jwt(o.secret, c->user));
    co_await connect_all(g, out);
    co_await load_scenario(g, out, 1.0, [&](std::uint64_t k) {
      std::size_t pair = k % o.pairs;
      std::size_t dir = (k / o.pairs) % 2;
      auto& c = g.conns[2 * pair + dir];
      if (c->dead || c->outq.size() > 256) return false;
      c->private_to(g.conns[2 * pair + 1 - dir]->user, static_cast<std::int64_t>(k));
      return true;
    });
  } else if (o.scenario == "idle") {
    for (int i = 0; i < o.conns; ++i) g.conns.push_back(std::make_shared<Conn>(g, i, "i" + std::to_string(i), g.ioc));
    double ts0 = now_s();
    for (auto& c : g.conns) g.tokens.push_back(sign_jwt(o.secret, c->user));
    out["token_sign_s"] = now_s() - ts0;
    co_await connect_all(g, out);
    co_await sleep_for(2.0);  // let the server settle (and a GC run)
    long rss1 = proc_rss_kb(o.server_pid);
    out["server_rss1_kb"] = rss1;
    out["rss_per_conn_kb"] = g.st.ready ? static_cast<double>(rss1 - rss0) / g.st.ready : 0;
    double c0 = proc_cpu_s(o.server_pid);
    co_await sleep_for(2.0);
    out["idle_server_cpu_frac"] = (proc_cpu_s(o.server_pid) - c0) / 2.0;
    std::cerr << "  rss " << rss0 << " -> " << rss1 << " kB: " << out["rss_per_conn_kb"].get<double>()
              << " kB/conn\n";
  } else if (o.scenario == "blast") {
    // Private messages to user --to (no echo to the sender, one delivery each).
    g.conns.push_back(std::make_shared<Conn>(g, 0, "blaster", g.ioc));
    g.tokens.push_back(sign_jwt(o.secret, "blaster"));
    co_await connect_all(g, out);
    auto& c = g.conns[0];
    double t0 = now_s();
    long k = 0;
    while (k < o.count && now_s() - t0 < 60 && !c->dead) {
      auto due = std::min<long>(o.count, static_cast<long>(o.rate * (now_s() - t0)));
      while (k < due && c->outq.size() < 512) c->private_to(o.to, k++);
      co_await sleep_for(0.001);
    }
    out["sent"] = k;
    out["send_s"] = now_s() - t0;
    // Exit only once the server has read everything (acks for Switchboard), so closing the
    // socket cannot reset a connection with data still queued.
    co_await wait_until([&] { return c->outq.empty() && c->acks_wanted <= 0; }, 30);
    co_await sleep_for(g.proto == Proto::Sb ? 0.1 : 1.0);
  }
  out["errors"] = g.st.errors;
  out["closed"] = g.st.closed;
  out["first_error"] = g.st.first_error;
  out["gen_cpu_s"] = self_cpu_s();
}

void usage() {
  std::cerr << "usage: sb-loadgen --proto sb|sio|json|core --port N --scenario fanout|private|idle|blast\n"
               "  [--server-pid PID] [--node-pids P1,P2] [--redis-pid PID] [--secret S] [--groups G --group-size S --big B] [--pairs P]\n"
               "  [--conns N] [--inflight K] [--step-start R --step-factor F --step-max R --step-secs T]\n"
               "  [--lat-rate R --lat-secs T] [--to USER --count N --rate R] [--max-secs T]\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--proto") o.proto = next();
    else if (a == "--scenario") o.scenario = next();
    else if (a == "--host") o.host = next();
    else if (a == "--port") {
      for (int p : comma_ints(next())) o.ports.push_back(static_cast<unsigned short>(p));
      o.port = o.ports.at(0);
    } else if (a == "--node-pids") o.node_pids = comma_ints(next());
    else if (a == "--redis-pid") o.redis_pid = std::stoi(next());
    else if (a == "--secret") o.secret = next();
    else if (a == "--server-pid") o.server_pid = std::stoi(next());
    else if (a == "--groups") o.groups = std::stoi(next());
    else if (a == "--group-size") o.group_size = std::stoi(next());
    else if (a == "--big") o.big_group = std::stoi(next());
    else if (a == "--pairs") o.pairs = std::stoi(next());
    else if (a == "--conns") o.conns = std::stoi(next());
    else if (a == "--inflight") o.inflight = std::stoi(next());
    else if (a == "--step-start") o.step_start = std::stod(next());
    else if (a == "--step-factor") o.step_factor = std::stod(next());
    else if (a == "--step-max") o.step_max = std::stod(next());
    else if (a == "--step-secs") o.step_secs = std::stod(next());
    else if (a == "--lat-rate") o.lat_rate = std::stod(next());
    else if (a == "--lat-secs") o.lat_secs = std::stod(next());
    else if (a == "--to") o.to = next();
    else if (a == "--count") o.count = std::stol(next());
    else if (a == "--rate") o.rate = std::stod(next());
    else if (a == "--max-secs") o.max_secs = std::stod(next());
    else if (a == "--help" || a == "-h") { usage(); return 0; }
    else { std::cerr << "unknown option " << a << "\n"; usage(); return 2; }
  }
  if (o.host.rfind("127.", 0) != 0 && o.host != "localhost") {
    std::cerr << "sb-loadgen targets loopback only\n";
    return 2;
  }
  Gen g;
  g.o = o;
  if (o.proto == "sb") g.proto = Proto::Sb;
  else if (o.proto == "sio") g.proto = Proto::Sio;
  else if (o.proto == "json") g.proto = Proto::Json;
  else if (o.proto == "core" && o.scenario == "private") g.proto = Proto::Core;
  else { usage(); return 2; }

  json out;
  bool done = false;
  net::co_spawn(g.ioc, [&]() -> net::awaitable<void> {
    co_await scenario(g, out);
    done = true;
    g.ioc.stop();
  }, [&](std::exception_ptr e) {
    if (e) {
      try { std::rethrow_exception(e); } catch (const std::exception& ex) { out["exception"] = ex.what(); }
      g.ioc.stop();
    }
  });
  // Hard bound: whatever happens, stop after max_secs.
  net::steady_timer guard(g.ioc);
  guard.expires_after(std::chrono::seconds(static_cast<long>(o.max_secs)));
  guard.async_wait([&](beast::error_code ec) {
    if (!ec) {
      out["timed_out"] = true;
      g.ioc.stop();
    }
  });
  g.ioc.run();
  if (!done) out["completed"] = false;
  std::cout << out.dump() << std::endl;
  std::fflush(nullptr);
  _exit(0);  // skip closing thousands of sockets one by one
}
