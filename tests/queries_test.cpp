// Filtering, ordering, scoping and paging rules of the users and groups queries, over a real
// MemoryPresence (its ordered indexes) without sockets.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "protocol/frames.hpp"
#include "server/auth.hpp"
#include "server/queries.hpp"

using namespace sb::server;
using nlohmann::json;
using V = std::vector<std::string>;

namespace {
// `n` connections of distinct users in `group`.
void add(PresenceManager& p, const std::string& group, int n) {
  for (int i = 0; i < n; ++i) p.join(group, group + "-user" + std::to_string(i), "cid:" + group + std::to_string(i));
}
void remove_group(PresenceManager& p, const std::string& group, int n) {
  for (int i = 0; i < n; ++i) p.leave(group, group + "-user" + std::to_string(i), "cid:" + group + std::to_string(i));
}

// A presence that counts the index entries the queries read from it.
struct CountingPresence : PresenceManager {
  MemoryPresence inner;
  mutable std::size_t read = 0;
  bool add_connection(const std::string& u, const std::string& c, std::size_t m) override { return inner.add_connection(u, c, m); }
  void remove_connection(const std::string& u, const std::string& c) override { inner.remove_connection(u, c); }
  bool user_online(const std::string& u) const override { return inner.user_online(u); }
  bool connection_exists(const std::string& c) const override { return inner.connection_exists(c); }
  std::size_t join(const std::string& g, const std::string& u, const std::string& c) override { return inner.join(g, u, c); }
  std::size_t leave(const std::string& g, const std::string& u, const std::string& c) override { return inner.leave(g, u, c); }
  std::vector<MemberKey> members(const std::string& g, const KeyRange<MemberKey>& r, std::size_t n) const override {
    auto v = inner.members(g, r, n);
    read += v.size();
    return v;
  }
  std::vector<GroupEntry> groups_by_name(const KeyRange<std::string>& r, std::size_t n) const override {
    auto v = inner.groups_by_name(r, n);
    read += v.size();
    return v;
  }
  std::vector<GroupEntry> groups_by_count(const KeyRange<CountKey>& r, std::size_t n) const override {
    auto v = inner.groups_by_count(r, n);
    read += v.size();
    return v;
  }
};

class Queries : public ::testing::Test {
 protected:
  Queries() {
    for (auto& [g, n] : std::vector<std::pair<std::string, int>>{{"beta", 3}, {"alpha", 1}, {"delta", 10}, {"gamma", 3}, {"epsilon", 7}})
      add(presence, g, n);
  }
  json groups(json req, const GroupScope& scope = std::nullopt, QueryLimits q = {}) {
    json data;
    auto r = query_groups(req, presence, scope, {}, q, data);
    EXPECT_TRUE(r.ok) << req.dump() << ": " << r.message;
    return data;
  }
  // Pages through a query to its end: the names in order; each reply frame checked against the cap.
  V all_pages(json req, const GroupScope& scope, QueryLimits q, int* pages = nullptr) {
    V out;
    int n = 0;
    for (json start; n < 10000; ++n) {
      if (!start.is_null()) req["start"] = start;
      json data;
      auto r = query_groups(req, presence, scope, {}, q, data);
      EXPECT_TRUE(r.ok) << r.message;
      if (!r.ok) break;
      EXPECT_LE(sb::protocol::ok_frame(9223372036854775807LL, data).size(), q.max_reply_bytes);
      for (auto& g : data["list"]) out.push_back(g["group"]);
      if (data["endOfList"] == true) {
        EXPECT_EQ(data["startKey"], "end");
        ++n;
        break;
      }
      start = data["startKey"];
    }
    if (pages) *pages = n;
    return out;
  }
  MemoryPresence presence;
};

V names(const json& data) {
  V n;
  for (auto& g : data["list"]) n.push_back(g.contains("group") ? g["group"] : g["cid"]);
  return n;
}

std::string long_name(int i) {
  char head[16];
  std::snprintf(head, sizeof head, "g%05d-", i);
  return head + std::string(120 - 7, 'x');
}
}  // namespace

TEST_F(Queries, GroupsListsAllByNameByDefault) {
  auto d = groups(json::object());
  EXPECT_EQ(names(d), (V{"alpha", "beta", "delta", "epsilon", "gamma"}));
  EXPECT_EQ(d["endOfList"], true);
  EXPECT_EQ(d["startKey"], "end");
  EXPECT_EQ(d["list"][0]["number_of_users"], 1);
}

TEST_F(Queries, GroupsEveryConditionOnCounts) {
  auto by = [&](const char* cond, json v) {
    return names(groups({{"searchFor", "number_of_users"}, {"value", v}, {"condition", cond}}));
  };
  EXPECT_EQ(by(">", 3), (V{"epsilon", "delta"}));
  EXPECT_EQ(by("gt", 3), (V{"epsilon", "delta"}));
  EXPECT_EQ(by(">=", 3), (V{"beta", "gamma", "epsilon", "delta"}));
  EXPECT_EQ(by("=", 3), (V{"beta", "gamma"}));
  EXPECT_EQ(by("eq", 3), (V{"beta", "gamma"}));
  EXPECT_EQ(by("<", 3), (V{"alpha"}));
  EXPECT_EQ(by("lte", 3), (V{"alpha", "beta", "gamma"}));
  EXPECT_EQ(by("!=", 3), (V{"alpha", "epsilon", "delta"}));
  EXPECT_EQ(by("ne", 10), (V{"alpha", "beta", "gamma", "epsilon"}));
  EXPECT_EQ(names(groups({{"searchFor", "number_of_users"}, {"value", 3}, {"range", 7}})),
            (V{"beta", "gamma", "epsilon"}));
  // Counts are whole numbers; odd values are compared as numbers, not rejected.
  EXPECT_EQ(by(">", 2.5), (V{"beta", "gamma", "epsilon", "delta"}));
  EXPECT_EQ(by("<", 3.5), (V{"alpha", "beta", "gamma"}));
  EXPECT_EQ(by("=", 2.5), V{});
  EXPECT_EQ(by("!=", 2.5).size(), 5u);
  EXPECT_EQ(by("<", -1), V{});
  EXPECT_EQ(by(">=", -5).size(), 5u);
  EXPECT_EQ(by("<=", 1e300).size(), 5u);
  EXPECT_EQ(by(">", 1e300), V{});
  EXPECT_EQ(by("<", 18446744073709551615ull).size(), 5u);
  EXPECT_EQ(names(groups({{"searchFor", "number_of_users"}, {"value", 7}, {"range", 3}})), V{});
}

TEST_F(Queries, GroupsConditionsOnNames) {
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}})), (V{"delta"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}, {"condition", ">"}})), (V{"epsilon", "gamma"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}, {"condition", "<="}})), (V{"alpha", "beta", "delta"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}, {"condition", "!="}, {"ascending", false}})),
            (V{"gamma", "epsilon", "beta", "alpha"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "b"}, {"range", "e"}})), (V{"beta", "delta"}));
  EXPECT_EQ(names(groups({{"ascending", false}})), (V{"gamma", "epsilon", "delta", "beta", "alpha"}));
}

TEST_F(Queries, GroupsPagesWithStartKeys) {
  auto p1 = groups({{"limit", 2}});
  EXPECT_EQ(names(p1), (V{"alpha", "beta"}));
  EXPECT_EQ(p1["endOfList"], false);
  auto p2 = groups({{"limit", 2}, {"start", p1["startKey"]}});
  EXPECT_EQ(names(p2), (V{"delta", "epsilon"}));
  auto p3 = groups({{"limit", 2}, {"start", p2["startKey"]}});
  EXPECT_EQ(names(p3), (V{"gamma"}));
  EXPECT_EQ(p3["endOfList"], true);
  // A page that ends exactly at the last group says so.
  auto exact = groups({{"limit", 5}});
  EXPECT_EQ(exact["endOfList"], true);
  // Descending by count, paged: ties are ordered by name.
  json q{{"searchFor", "number_of_users"}, {"value", 0}, {"condition", ">"}, {"ascending", false}, {"limit", 3}};
  auto d1 = groups(q);
  EXPECT_EQ(names(d1), (V{"delta", "epsilon", "gamma"}));
  EXPECT_EQ(d1["startKey"], (json{{"number_of_users", 3}, {"group", "gamma"}}));
  q["start"] = d1["startKey"];
  auto d2 = groups(q);
  EXPECT_EQ(names(d2), (V{"beta", "alpha"}));
}

TEST_F(Queries, AStartKeyWhoseGroupIsGoneStillPositionsTheNextPage) {
  auto p1 = groups({{"limit", 2}});
  ASSERT_EQ(names(p1), (V{"alpha", "beta"}));
  remove_group(presence, "beta", 3);
  EXPECT_EQ(names(groups({{"limit", 2}, {"start", p1["startKey"]}})), (V{"delta", "epsilon"}));
}

TEST_F(Queries, BadQueriesAreInvalidParameter) {
  for (json bad : {json{{"limit", 0}}, json{{"limit", 1001}}, json{{"limit", "x"}}, json{{"searchFor", "size"}},
                   json{{"searchFor", "number_of_users"}, {"value", "3"}}, json{{"searchFor", "group"}, {"value", 3}},
                   json{{"value", 1}, {"searchFor", "number_of_users"}, {"condition", "~"}}, json{{"ascending", 1}},
                   json{{"start", "abc"}}, json{{"start", json::object()}}, json{{"start", {{"group", 5}}}},
                   json{{"searchFor", "number_of_users"}, {"start", {{"group", "a"}}}},
                   json{{"searchFor", "number_of_users"}, {"start", {{"group", "a"}, {"number_of_users", -1}}}},
                   json{{"searchFor", "number_of_users"}, {"start", {{"group", "a"}, {"number_of_users", 1.5}}}}}) {
    json data;
    auto r = query_groups(bad, presence, std::nullopt, {}, {}, data);
    EXPECT_FALSE(r.ok) << bad.dump();
    EXPECT_EQ(r.code, sb::protocol::Error::InvalidParameter) << bad.dump();
  }
  for (json bad : {json{{"start", {{"user_id", "a"}}}}, json{{"user_id", ""}}, json{{"user_id", 3}}}) {
    json data;
    auto r = query_users(bad, "beta", presence, std::nullopt, {}, {}, data);
    EXPECT_EQ(r.code, sb::protocol::Error::InvalidParameter) << bad.dump();
  }
}

TEST(QueriesUsers, SortedFilteredAndPaged) {
  MemoryPresence p;
  for (auto& [u, c] : std::vector<std::pair<std::string, std::string>>{
           {"bob", "cid:2"}, {"alice", "cid:9"}, {"bob", "cid:1"}, {"carol", "cid:3"}, {"bob2", "cid:0"}, {"bo", "cid:8"}})
    p.join("g", u, c);
  auto users = [&](json req) {
    json d;
    auto r = query_users(req, "g", p, std::nullopt, {}, {}, d);
    EXPECT_TRUE(r.ok) << r.message;
    return d;
  };
  auto d = users({{"limit", 2}});
  EXPECT_EQ(names(d), (V{"cid:9", "cid:8"}));
  auto d2 = users({{"limit", 3}, {"start", d["startKey"]}});
  EXPECT_EQ(names(d2), (V{"cid:1", "cid:2", "cid:0"}));
  auto d3 = users({{"limit", 3}, {"start", d2["startKey"]}});
  EXPECT_EQ(names(d3), (V{"cid:3"}));
  EXPECT_EQ(d3["endOfList"], true);
  auto only_bob = users({{"user_id", "bob"}});  // not "bo", not "bob2"
  EXPECT_EQ(names(only_bob), (V{"cid:1", "cid:2"}));
  EXPECT_EQ(only_bob["list"][0]["user_id"], "bob");
  auto bob_down = users({{"user_id", "bob"}, {"ascending", false}, {"limit", 1}});
  EXPECT_EQ(names(bob_down), V{"cid:2"});
  EXPECT_EQ(names(users({{"user_id", "bob"}, {"ascending", false}, {"start", bob_down["startKey"]}})), V{"cid:1"});
  EXPECT_EQ(users({{"user_id", "nobody"}})["list"].size(), 0u);
  json none;
  ASSERT_TRUE(query_users(json::object(), "missing", p, std::nullopt, {}, {}, none).ok);
  EXPECT_EQ(none["list"].size(), 0u);
  EXPECT_EQ(none["endOfList"], true);
}

TEST(QueriesScope, ClaimRangesMatchGroupAllowed) {
  std::vector<std::string> patterns{"lobby", "team-*", "*", "a\xff*", "\xff\xff*", "x*"};
  std::vector<std::string> names{"lobby",  "lobbyist", "lobb",   "team-",   "team-red", "team",  "teamx", "team.",
                                 "a",      "a\xff",     "a\xff!", "b",       "\xff\xff", "\xff",  "x",     "y",
                                 "lobby\x01"};
  for (auto& pat : patterns) {
    auto r = claim_range(pat);
    for (auto& n : names) {
      bool in_range = (!r.lo || !(n < r.lo->key)) && (!r.lo || r.lo->inclusive || r.lo->key != n) &&
                      (!r.hi || !(r.hi->key < n)) && (!r.hi || r.hi->inclusive || r.hi->key != n);
      EXPECT_EQ(in_range, Authenticator::group_allowed({pat}, n)) << pat << " / " << n;
    }
  }
}

TEST_F(Queries, ScopeShowsOnlyPermittedGroupsInEveryOrder) {
  add(presence, "team-red", 2);
  add(presence, "team-blue", 4);
  add(presence, "team", 1);
  add(presence, "teams", 3);
  GroupScope scope = std::vector<std::string>{"team-*", "alpha", "team-red", "t*"};  // overlapping on purpose
  EXPECT_EQ(names(groups(json::object(), scope)), (V{"alpha", "team", "team-blue", "team-red", "teams"}));
  EXPECT_EQ(names(groups({{"ascending", false}}, scope)), (V{"teams", "team-red", "team-blue", "team", "alpha"}));
  GroupScope narrow = std::vector<std::string>{"team-*", "alpha"};
  EXPECT_EQ(names(groups(json::object(), narrow)), (V{"alpha", "team-blue", "team-red"}));
  EXPECT_EQ(names(groups({{"searchFor", "number_of_users"}, {"value", 1}, {"condition", ">="}}, narrow)),
            (V{"alpha", "team-red", "team-blue"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "beta"}}, narrow)), V{});
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "team-c"}, {"condition", "<"}}, narrow)),
            (V{"alpha", "team-blue"}));
  EXPECT_EQ(names(groups(json::object(), std::vector<std::string>{})), V{});  // an empty claim: nothing
  auto p1 = groups({{"limit", 2}}, narrow);
  EXPECT_EQ(p1["endOfList"], false);
  auto p2 = groups({{"limit", 2}, {"start", p1["startKey"]}}, narrow);
  EXPECT_EQ(names(p2), V{"team-red"});
  EXPECT_EQ(p2["endOfList"], true);
  json forbidden;
  auto r = query_users(json::object(), "beta", presence, narrow, {}, {}, forbidden);
  EXPECT_EQ(r.code, sb::protocol::Error::Forbidden);
  EXPECT_TRUE(query_users(json::object(), "team-red", presence, narrow, {}, {}, forbidden).ok);
}

// The scan bound: a restricted asker listing by count examines at most max_scan entries per page
// (the others are skipped, not sorted), gets partial pages with endOfList false, and the pages
// together hold every permitted group once.
TEST_F(Queries, ScanBoundGivesPartialPagesThatStillCoverEverything) {
  V expected;
  for (int i = 0; i < 300; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "g%03d", i);
    add(presence, name, 1 + i % 4);
  }
  GroupScope scope = std::vector<std::string>{"g1*"};
  QueryLimits q;
  q.max_scan = 7;
  json req{{"searchFor", "number_of_users"}, {"value", 0}, {"condition", ">"}, {"limit", 1000}};
  int pages = 0;
  V got = all_pages(req, scope, q, &pages);
  QueryLimits unbounded;
  unbounded.max_scan = 1'000'000;
  V all = all_pages(req, scope, unbounded);
  EXPECT_EQ(all.size(), 100u);  // g100..g199
  EXPECT_EQ(got, all);
  EXPECT_GE(pages, 305 / 7);
  // The first page stopped at the bound, with what it found so far.
  json data;
  ASSERT_TRUE(query_groups(req, presence, scope, {}, q, data).ok);
  EXPECT_EQ(data["endOfList"], false);
  EXPECT_LT(data["list"].size(), 7u + 1);
}

TEST_F(Queries, PagesStopAtTheByteCapAndContinueExactly) {
  std::set<std::string> expected{"alpha", "beta", "gamma", "delta", "epsilon"};
  for (int i = 0; i < 200; ++i) {
    add(presence, long_name(i), 1 + i % 5);
    expected.insert(long_name(i));
  }
  QueryLimits q;
  q.max_reply_bytes = kMinReplyBytes;
  for (json req : {json{{"limit", 1000}}, json{{"limit", 1000}, {"ascending", false}},
                   json{{"limit", 1000}, {"searchFor", "number_of_users"}, {"value", 1}, {"condition", ">="}}}) {
    int pages = 0;
    V got = all_pages(req, std::nullopt, q, &pages);
    EXPECT_EQ(got.size(), expected.size()) << req.dump();
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expected) << req.dump();
    EXPECT_GE(pages, 200 * 150 / 4096) << req.dump();
  }
}

// The cost claim: a page reads O(limit) entries from presence, not the whole index.
TEST(QueriesCost, APageReadsAboutItsLimitFromPresence) {
  CountingPresence p;
  for (int i = 0; i < 20000; ++i) p.join("g" + std::to_string(i), "u" + std::to_string(i), "cid:" + std::to_string(i));
  for (int i = 0; i < 5000; ++i) p.join("big", "m" + std::to_string(i), "cid:m" + std::to_string(i));
  auto cost = [&](json req, bool users = false) {
    p.read = 0;
    json data;
    auto r = users ? query_users(req, "big", p, std::nullopt, {}, {}, data)
                   : query_groups(req, p, std::nullopt, {}, {}, data);
    EXPECT_TRUE(r.ok) << r.message;
    EXPECT_EQ(data["list"].size(), 10u) << req.dump();
    return p.read;
  };
  EXPECT_LE(cost({{"limit", 10}}), 64u);
  EXPECT_LE(cost({{"limit", 10}, {"start", {{"group", "g5"}}}, {"ascending", false}}), 64u);
  EXPECT_LE(cost({{"limit", 10}, {"searchFor", "number_of_users"}, {"value", 1}, {"condition", ">="}}), 64u);
  EXPECT_LE(cost({{"limit", 10}, {"searchFor", "number_of_users"}, {"value", 2}, {"condition", "!="}}), 64u);
  EXPECT_LE(cost({{"limit", 10}}, true), 64u);
  // A restricted asker listing by count reads at most the scan bound (plus one to see past it).
  p.read = 0;
  json data;
  QueryLimits q;
  ASSERT_TRUE(query_groups({{"searchFor", "number_of_users"}, {"value", 0}, {"condition", ">"}}, p,
                           std::vector<std::string>{"nothing-*"}, {}, q, data).ok);
  EXPECT_LE(p.read, q.max_scan + 1);
  EXPECT_EQ(data["endOfList"], false);
}
