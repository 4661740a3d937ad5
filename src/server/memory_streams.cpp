#include "memory_streams.hpp"

#include <algorithm>
#include <random>

namespace sb::server {

std::string new_epoch() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string e(16, '0');
  for (char& c : e) {
    c = hex[v & 15];
    v >>= 4;
  }
  return e;
}

MemoryStreams::MemoryStreams(StreamOptions opts, std::function<Clock::time_point()> now)
    : opts_(opts), now_(std::move(now)) {}

std::shared_ptr<MemoryStreams::Stream> MemoryStreams::stream(Publication::Target target, const std::string& key) {
  std::string id(1, target == Publication::Target::Group ? 'g' : 'u');
  id += key;
  std::lock_guard lock(map_mu_);
  auto& s = streams_[id];
  if (s) return s;
  s = std::make_shared<Stream>();
  auto t = tombs_.find(id);
  if (t == tombs_.end()) {
    s->epoch = new_epoch();
  } else {  // dropped earlier: go on with its epoch and offsets
    s->epoch = std::move(t->second.epoch);
    s->top = t->second.top;
    tombs_.erase(t);
  }
  return s;
}

void MemoryStreams::pop_tomb_locked() {
  auto t = tombs_.find(tomb_order_.front().id);
  if (t != tombs_.end() && t->second.seq == tomb_order_.front().seq) tombs_.erase(t);
  tomb_order_.pop_front();
}

// The oldest tombstones make room (max_tombstones), then this one is added. O(1) amortised.
void MemoryStreams::bury_locked(const std::string& id, const Stream& s, Clock::time_point now) {
  if (opts_.max_tombstones == 0) return;
  while (tomb_order_.size() >= opts_.max_tombstones) pop_tomb_locked();
  const std::uint64_t seq = ++tomb_seq_;
  tombs_[id] = Tombstone{s.epoch, s.top, seq};
  tomb_order_.push_back(TombOrder{id, seq, now});
}

void MemoryStreams::expire_locked(Stream& s, Clock::time_point now) const {
  while (!s.ring.empty() && (s.ring.size() > opts_.history_size || now - s.ring.front().at >= opts_.history_ttl))
    s.ring.pop_front();
}

// At most once per second (or per ttl, if shorter): streams with nothing left to recover and no
// member go, and so do users whose keys all expired. O(streams + users) per sweep.
void MemoryStreams::maybe_sweep(Clock::time_point now) {
  auto due = next_sweep_.load(std::memory_order_relaxed);
  if (now.time_since_epoch().count() < due) return;  // the common case: no lock
  auto next = (now + std::min<Clock::duration>(std::chrono::seconds(1), opts_.history_ttl)).time_since_epoch().count();
  if (!next_sweep_.compare_exchange_strong(due, next)) return;  // another thread sweeps
  std::vector<std::shared_ptr<Stream>> doomed;  // destroyed outside the lock
  {
    std::lock_guard lock(map_mu_);
    while (!tomb_order_.empty() && now - tomb_order_.front().dropped >= opts_.tombstone_ttl) pop_tomb_locked();
    for (auto it = streams_.begin(); it != streams_.end();) {
      bool drop = false;
      if (it->second.use_count() == 1) {  // nobody is publishing to it or reading it now
        std::lock_guard s(it->second->mu);
        expire_locked(*it->second, now);
        auto target = it->first[0] == 'g' ? Publication::Target::Group : Publication::Target::User;
        drop = it->second->ring.empty() && !(in_use_ && in_use_(target, it->first.substr(1)));
      }
      if (drop) {
        bury_locked(it->first, *it->second, now);
        doomed.push_back(std::move(it->second));
        it = streams_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::lock_guard lock(keys_mu_);
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& k = it->second;
    while (!k.order.empty() && k.order.front().second <= now) {
      k.keys.erase(k.order.front().first);
      k.order.pop_front();
    }
    it = k.order.empty() ? keys_.erase(it) : std::next(it);
  }
}

// False when the user's key is still remembered (a repeat).
bool MemoryStreams::remember_key(const std::string& user, const std::string& key, Clock::time_point now) {
  std::lock_guard lock(keys_mu_);
  auto& k = keys_[user];
  while (!k.order.empty() && (k.order.front().second <= now || k.order.size() >= opts_.max_keys_per_user)) {
    k.keys.erase(k.order.front().first);
    k.order.pop_front();
  }
  if (!k.keys.insert(key).second) return false;
  k.order.emplace_back(key, now + opts_.idempotency_ttl);
  return true;
}

void MemoryStreams::forget_key(const std::string& user, const std::string& key) {
  std::lock_guard lock(keys_mu_);
  auto it = keys_.find(user);
  if (it == keys_.end() || !it->second.keys.erase(key)) return;
  auto& order = it->second.order;
  order.erase(std::find_if(order.begin(), order.end(), [&](const auto& e) { return e.first == key; }));
}

PublishOutcome MemoryStreams::publish(StreamPublish& req, Broker& broker) {
  const auto now = now_();
  maybe_sweep(now);
  PublishOutcome out;
  if (!req.idempotency_key.empty() && opts_.idempotency_ttl.count() > 0 &&
      !remember_key(req.user, req.idempotency_key, now)) {
    out.duplicate = true;
    return out;
  }
  auto s = stream(req.pub.target, req.pub.key);
  std::lock_guard lock(s->mu);
  const std::uint64_t offset = s->top + 1;
  req.pub.frame = std::make_shared<const std::string>(req.parts.at(offset, s->epoch));
  out.status = broker.publish(req.pub);
  if (!out.status.ok) {  // nothing went out: the offset and the key are not used
    if (!req.idempotency_key.empty()) forget_key(req.user, req.idempotency_key);
    return out;
  }
  s->top = offset;
  if (opts_.history_size > 0) s->ring.push_back(Entry{offset, now, req.pub.frame});
  expire_locked(*s, now);
  return out;
}

StreamRead MemoryStreams::read(Publication::Target target, const std::string& key,
                               const std::optional<protocol::StreamPosition>& since) {
  const auto now = now_();
  maybe_sweep(now);
  auto s = stream(target, key);
  std::lock_guard lock(s->mu);
  expire_locked(*s, now);
  StreamRead out;
  out.top = {s->top, s->epoch};
  if (!since) return out;
  out.recovered = false;
  if (since->epoch != s->epoch || since->offset > s->top) return out;
  if (since->offset < s->top && (s->ring.empty() || s->ring.front().offset > since->offset + 1)) return out;
  std::size_t bytes = 0;
  for (const Entry& e : s->ring) {
    if (e.offset <= since->offset) continue;
    if ((bytes += e.frame->size()) > opts_.max_replay_bytes) {
      out.frames.clear();
      return out;
    }
    out.frames.push_back(e.frame);
  }
  out.recovered = true;
  return out;
}

std::size_t MemoryStreams::stream_count() const {
  std::lock_guard lock(map_mu_);
  return streams_.size();
}

}  // namespace sb::server
