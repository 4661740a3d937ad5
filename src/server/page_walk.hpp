// One page of an ordered presence index (queries.cpp): visits key ranges in walk order from a
// start key, keeps the entries a filter lets through, and stops at the page's item limit, at its
// byte cap, or after examining `max_scan` entries. A request costs O(ranges · log N + limit +
// max_scan) whatever the size of the index, and a page ends exactly where it stopped: its resume
// key, sent back as the next page's start, continues with the first entry not yet examined.
#pragma once
#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker.hpp"

namespace sb::server {

// ---- ranges ----------------------------------------------------------------------------------
// The tighter of two lower (or upper) bounds; an absent bound is unbounded.
template <class K>
std::optional<Bound<K>> tighter_lo(const std::optional<Bound<K>>& a, const std::optional<Bound<K>>& b) {
  if (!a) return b;
  if (!b) return a;
  if (a->key < b->key) return b;
  if (b->key < a->key) return a;
  return Bound<K>{a->key, a->inclusive && b->inclusive};
}
template <class K>
std::optional<Bound<K>> tighter_hi(const std::optional<Bound<K>>& a, const std::optional<Bound<K>>& b) {
  if (!a) return b;
  if (!b) return a;
  if (a->key < b->key) return a;
  if (b->key < a->key) return b;
  return Bound<K>{a->key, a->inclusive && b->inclusive};
}

template <class K>
bool range_empty(const KeyRange<K>& r) {
  return r.lo && r.hi && (r.hi->key < r.lo->key || (!(r.lo->key < r.hi->key) && !(r.lo->inclusive && r.hi->inclusive)));
}

// The keys in both ranges; nullopt when none can be.
template <class K>
std::optional<KeyRange<K>> intersect(const KeyRange<K>& a, const KeyRange<K>& b) {
  KeyRange<K> r;
  r.lo = tighter_lo(a.lo, b.lo);
  r.hi = tighter_hi(a.hi, b.hi);
  if (range_empty(r)) return std::nullopt;
  return r;
}

// ---- the walk --------------------------------------------------------------------------------
struct PageLimits {
  std::size_t limit = 100;         // items in the page
  std::size_t max_bytes = 65536;   // serialised items, commas between them included
  std::size_t max_scan = 4096;     // index entries examined (at least 1)
};

// How to read and show one index. E is an entry as presence returns it, K its key.
template <class K, class E>
struct IndexReader {
  std::function<std::vector<E>(const KeyRange<K>&, std::size_t)> fetch;  // at most n entries of a range
  std::function<K(const E&)> key;
  std::function<bool(const E&)> keep;              // empty: keep every entry
  std::function<nlohmann::json(const E&)> render;  // the list item
};

template <class K>
struct Page {
  nlohmann::json items = nlohmann::json::array();
  bool end = true;          // nothing left after this page
  std::optional<K> resume;  // when !end: the last key examined; the next page starts after it
};

// Walks `ranges` (in any order, overlapping or not) in the direction `ascending`, starting after
// `after` when given. Each key is visited once: ranges are taken in walk order (by lower bound
// upwards, by upper bound downwards) and each is cut at the cursor, the last key examined.
template <class K, class E>
Page<K> walk_page(std::vector<KeyRange<K>> ranges, bool ascending, std::optional<K> after,
                  const IndexReader<K, E>& index, const PageLimits& lim) {
  std::stable_sort(ranges.begin(), ranges.end(), [ascending](const KeyRange<K>& a, const KeyRange<K>& b) {
    if (ascending) return !a.lo ? b.lo.has_value() : b.lo && a.lo->key < b.lo->key;
    return !a.hi ? b.hi.has_value() : b.hi && b.hi->key < a.hi->key;
  });
  Page<K> page;
  std::optional<K>& cursor = after;
  std::size_t scanned = 0, bytes = 0;
  bool full = false;
  auto stop = [&] {  // something follows: the next page starts after the cursor
    page.end = false;
    page.resume = cursor;
    return std::move(page);
  };
  for (auto range : ranges) {
    range.ascending = ascending;
    while (true) {
      KeyRange<K> r = range;
      if (cursor) {  // only what follows the cursor
        if (ascending) r.lo = tighter_lo(r.lo, std::optional<Bound<K>>(Bound<K>{*cursor, false}));
        else r.hi = tighter_hi(r.hi, std::optional<Bound<K>>(Bound<K>{*cursor, false}));
        if (range_empty(r)) break;
      }
      // One more than may be examined, to learn whether anything follows the scan bound.
      std::size_t want = full ? 0 : lim.limit - page.items.size();
      std::size_t n = std::min(lim.max_scan - scanned + 1, std::max<std::size_t>(want + 1, 64));
      auto batch = index.fetch(r, n);
      for (const E& e : batch) {
        if (scanned == lim.max_scan) return stop();
        if (!index.keep || index.keep(e)) {
          if (full) return stop();  // a further item exists
          nlohmann::json item = index.render(e);
          std::size_t size = item.dump().size() + (page.items.empty() ? 0 : 1);
          if (!page.items.empty() && bytes + size > lim.max_bytes) return stop();  // continue with it
          page.items.push_back(std::move(item));
          bytes += size;
          full = page.items.size() >= lim.limit;
        }
        ++scanned;
        cursor = index.key(e);
      }
      if (batch.size() < n) break;  // this range is done
    }
  }
  return page;
}

}  // namespace sb::server
