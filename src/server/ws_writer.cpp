// WsSession's send path: a bounded queue per connection, drained by non-blocking writev on the
// socket once per loop turn. See ws_session.hpp.
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include "log.hpp"
#include "notice_round.hpp"
#include "ws_session.hpp"

namespace sb::server {

namespace p = sb::protocol;
namespace net = boost::asio;

namespace {
// Connections of this thread's loop that got frames in this round (run_io_thread).
thread_local std::vector<std::shared_ptr<WsSession>>* t_round = nullptr;
thread_local net::execution_context* t_loop = nullptr;
// One outgoing WebSocket message holds at most this much of a batch (a single larger frame
// still goes alone), so a backlog reaches a browser in digestible pieces.
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
constexpr char kFrameSeparator = '\n';
constexpr int kMaxIov = 256;  // per sendmsg; a longer batch takes several
}  // namespace

// Called from any thread. The byte count is checked here so a flood from many publishers is
// refused before it is queued.
void WsSession::deliver(const Frame& frame) {
  if (cut_off_.load(std::memory_order_relaxed)) return;
  auto total = buffered_.fetch_add(frame->size(), std::memory_order_relaxed) + frame->size();
  if (total > ctx_.config.max_buffered_bytes) {
    buffered_.fetch_sub(frame->size(), std::memory_order_relaxed);
    if (!cut_off_.exchange(true)) {
      ctx_.metrics.slow_consumer_cutoffs.fetch_add(1, std::memory_order_relaxed);
      net::post(socket_.get_executor(), [self = shared_from_this()] {
        log::warn("slow_consumer").kv("cid", self->cid()).kv("user", self->user())
            .kv("buffered", static_cast<unsigned long long>(self->buffered()));
        self->close_with(p::close_code::SlowConsumer, "Slow consumer: outgoing buffer over the limit.",
                         Disconnect::SlowConsumer);
      });
    }
    return;
  }
  bool schedule;
  {
    std::lock_guard lock(out_mu_);
    pending_.push_back(frame);
    schedule = !flush_due_;
    flush_due_ = true;
  }
  if (schedule) schedule_flush();
}

void WsSession::send_control(std::string bytes) {
  control_.push_back(std::move(bytes));
  schedule_flush();
}

// On this connection's own loop: flushed at the end of the round. From anywhere else: handed to
// that loop, which adds it to its round.
void WsSession::schedule_flush() {
  if (t_round && t_loop == &socket_.get_executor().context()) {
    t_round->push_back(shared_from_this());
    return;
  }
  net::post(socket_.get_executor(), net::bind_allocator(net::recycling_allocator<void>(), [self = shared_from_this()] {
              if (t_round) t_round->push_back(self);
              else self->flush();
            }));
}

constexpr std::size_t kRoundHandlers = 64;

void run_io_thread(net::io_context& ioc) {
  std::vector<std::shared_ptr<WsSession>> round, flushing;
  t_round = &round;
  t_loop = &ioc;
  NoticeRound notices;  // presence notices of a round go out as one frame per member
  while (!ioc.stopped()) {
    // A round is bounded, so that a steady stream of input cannot hold back the flushes.
    std::size_t ran = 0;
    try {
      while (ran < kRoundHandlers && ioc.poll_one()) ++ran;
      if (ran == 0 && round.empty()) ioc.run_one();  // nothing ready: wait for the next event
      notices.end_turn();  // before the flushes below, so that they carry the notices
      flushing.swap(round);
      for (auto& s : flushing) s->flush();  // may schedule again (into `round`): next round
    } catch (const std::exception& e) {
      // The last line of defence: session handlers catch their own (with their cid); whatever
      // still gets here is logged and the loop goes on serving everyone else.
      log::error("io_exception").kv("what", e.what());
    }
    flushing.clear();
  }
  t_round = nullptr;
  t_loop = nullptr;
}

// Writes units (a control frame, or a batch of frames as one message) until the queue is empty
// or the kernel's buffer is full.
void WsSession::flush() {
  if (finished_ || write_waiting_) return;
  const int fd = socket_.native_handle();
  iovec iov[kMaxIov];
  for (;;) {
    if (unit_size_ == 0 && !next_unit()) return;
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = static_cast<std::size_t>(gather(iov, kMaxIov));
    ssize_t n = ::sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_writable();
      return finish(Disconnect::ConnectionLost);  // the reader would see it too
    }
    unit_sent_ += static_cast<std::size_t>(n);
    if (unit_sent_ == unit_size_) unit_written();
  }
}

bool WsSession::next_unit() {
  unit_sent_ = 0;
  if (!control_.empty()) {
    unit_control_ = true;
    unit_size_ = control_.front().size();
    return true;
  }
  unit_control_ = false;
  std::lock_guard lock(out_mu_);
  if (closing_) {  // nothing goes after a close frame
    for (auto& f : pending_) buffered_.fetch_sub(f->size(), std::memory_order_relaxed);
    pending_.clear();
  }
  if (pending_.empty()) {
    flush_due_ = false;
    return false;
  }
  std::size_t n = 0, bytes = 0;
  while (n < pending_.size() && (n == 0 || bytes + pending_[n]->size() < kMaxBatchBytes)) bytes += pending_[n++]->size();
  if (n == pending_.size()) {
    batch_.swap(pending_);  // the usual case: all of it; both keep their capacity
  } else {
    batch_.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + n));
    pending_.erase(pending_.begin(), pending_.begin() + n);
  }
  batch_bytes_ = bytes;
  const std::size_t payload = bytes + n - 1;  // frames and the separators between them
  header_len_ = static_cast<std::uint8_t>(ws::encode_header(ws::kText, payload, header_));
  unit_size_ = header_len_ + payload;
  return true;
}

// The unwritten rest of the current unit as iovecs (at most `max`; the rest goes next call).
int WsSession::gather(iovec* iov, int max) const {
  std::size_t skip = unit_sent_;
  int k = 0;
  auto add = [&](const char* data, std::size_t len) {
    if (skip >= len) {
      skip -= len;
      return true;
    }
    iov[k].iov_base = const_cast<char*>(data + skip);
    iov[k].iov_len = len - skip;
    skip = 0;
    return ++k < max;
  };
  if (unit_control_) {
    add(control_.front().data(), control_.front().size());
    return k;
  }
  if (!add(header_, header_len_)) return k;
  for (std::size_t j = 0; j < batch_.size(); ++j) {
    if (j && !add(&kFrameSeparator, 1)) return k;
    if (!add(batch_[j]->data(), batch_[j]->size())) return k;
  }
  return k;
}

void WsSession::unit_written() {
  unit_size_ = 0;
  if (unit_control_) {
    control_.erase(control_.begin());
    if (control_.empty()) {
      std::vector<std::string>().swap(control_);
      if (closing_ && !close_sent_) after_close_sent();  // the close frame is always the last
    }
    return;
  }
  buffered_.fetch_sub(batch_bytes_, std::memory_order_relaxed);
  ctx_.metrics.messages_out.fetch_add(batch_.size(), std::memory_order_relaxed);
  ctx_.metrics.bytes_out.fetch_add(batch_bytes_, std::memory_order_relaxed);
  batch_.clear();
  if (batch_.capacity() > 64) std::vector<Frame>().swap(batch_);  // a burst is over: give it back
}

void WsSession::wait_writable() {
  write_waiting_ = true;
  socket_.async_wait(tcp::socket::wait_write,
                     net::bind_allocator(net::recycling_allocator<void>(), [self = shared_from_this()](beast::error_code ec) {
                       self->write_waiting_ = false;
                       if (!ec) self->flush();
                     }));
}

// Closing or failed: what is still queued will not be sent.
void WsSession::drop_queued() {
  std::lock_guard lock(out_mu_);
  for (auto& f : pending_) buffered_.fetch_sub(f->size(), std::memory_order_relaxed);
  std::vector<Frame>().swap(pending_);
  flush_due_ = false;
}

// Our close frame is out: when the peer's came already (or the stream failed), the closing
// handshake is complete and we end TCP first (RFC 6455 §7.1.1); otherwise we wait for it.
void WsSession::after_close_sent() {
  close_sent_ = true;
  if (peer_closed_) ::shutdown(socket_.native_handle(), SHUT_WR);
}

}  // namespace sb::server
