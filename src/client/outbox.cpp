#include "outbox.hpp"

#include <algorithm>

namespace sb::client {

void Outbox::push_back(Outgoing item) {
  bytes_ += item.bytes;
  items_.push_back(std::move(item));
}

void Outbox::put_back(std::vector<Outgoing> items, std::size_t from) {
  std::vector<Outgoing> all;
  all.reserve(items.size() - from + items_.size());
  for (std::size_t i = from; i < items.size(); ++i) {
    bytes_ += items[i].bytes;
    all.push_back(std::move(items[i]));
  }
  for (auto& x : items_) all.push_back(std::move(x));
  items_ = std::move(all);
}

std::optional<Outgoing> Outbox::remove(std::uint64_t seq) {
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Outgoing& x) { return x.seq == seq; });
  if (it == items_.end()) return std::nullopt;
  Outgoing out = std::move(*it);
  items_.erase(it);
  bytes_ -= out.bytes;
  return out;
}

std::vector<Outgoing> Outbox::take_all() {
  auto out = std::move(items_);
  items_.clear();
  bytes_ = 0;
  return out;
}

std::string KeyMaker::next(Host& host) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (prefix_.empty())  // 16 characters of 6 random bits: collisions between clients are negligible
    for (int i = 0; i < 16; ++i) prefix_.push_back(kAlphabet[static_cast<int>(host.random_unit() * 64) & 63]);
  std::string key = prefix_;  // fixed length: the counter needs no separator
  std::uint64_t n = ++count_;
  do key.push_back(kAlphabet[n % 64]); while (n /= 64);
  return key;
}

}  // namespace sb::client
