// Filtering, ordering and paging rules of the users and groups queries.
#include <gtest/gtest.h>

#include "server/queries.hpp"

using namespace sb::server;
using nlohmann::json;

namespace {
std::vector<GroupInfo> sample_groups() {
  return {{"beta", 3}, {"alpha", 1}, {"delta", 10}, {"gamma", 3}, {"epsilon", 7}};
}
std::vector<std::string> names(const json& data) {
  std::vector<std::string> n;
  for (auto& g : data["list"]) n.push_back(g.contains("group") ? g["group"] : g["cid"]);
  return n;
}
json groups(json req) {
  json data;
  auto r = query_groups(req, sample_groups(), {}, data);
  EXPECT_TRUE(r.ok) << req.dump() << ": " << r.message;
  return data;
}
}  // namespace

TEST(Queries, GroupsListsAllByNameByDefault) {
  auto d = groups(json::object());
  EXPECT_EQ(names(d), (std::vector<std::string>{"alpha", "beta", "delta", "epsilon", "gamma"}));
  EXPECT_EQ(d["endOfList"], true);
  EXPECT_EQ(d["startKey"], "end");
  EXPECT_EQ(d["list"][0]["number_of_users"], 1);
}

TEST(Queries, GroupsEveryConditionOnCounts) {
  auto by = [](const char* cond, int v) {
    return names(groups({{"searchFor", "number_of_users"}, {"value", v}, {"condition", cond}}));
  };
  using V = std::vector<std::string>;
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
}

TEST(Queries, GroupsConditionsOnNames) {
  using V = std::vector<std::string>;
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}})), (V{"delta"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "delta"}, {"condition", ">"}})), (V{"epsilon", "gamma"}));
  EXPECT_EQ(names(groups({{"searchFor", "group"}, {"value", "b"}, {"range", "e"}})), (V{"beta", "delta"}));
  EXPECT_EQ(names(groups({{"ascending", false}})), (V{"gamma", "epsilon", "delta", "beta", "alpha"}));
}

TEST(Queries, GroupsPagesWithStartKeys) {
  auto p1 = groups({{"limit", 2}});
  EXPECT_EQ(names(p1), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(p1["endOfList"], false);
  auto p2 = groups({{"limit", 2}, {"start", p1["startKey"]}});
  EXPECT_EQ(names(p2), (std::vector<std::string>{"delta", "epsilon"}));
  auto p3 = groups({{"limit", 2}, {"start", p2["startKey"]}});
  EXPECT_EQ(names(p3), (std::vector<std::string>{"gamma"}));
  EXPECT_EQ(p3["endOfList"], true);
  // Descending by count, paged: ties are ordered by name.
  auto d1 = groups({{"searchFor", "number_of_users"}, {"value", 0}, {"condition", ">"}, {"ascending", false}, {"limit", 3}});
  EXPECT_EQ(names(d1), (std::vector<std::string>{"delta", "epsilon", "gamma"}));
  auto d2 = groups({{"searchFor", "number_of_users"}, {"value", 0}, {"condition", ">"}, {"ascending", false}, {"limit", 3}, {"start", d1["startKey"]}});
  EXPECT_EQ(names(d2), (std::vector<std::string>{"beta", "alpha"}));
}

TEST(Queries, BadQueriesAreInvalidParameter) {
  for (json bad : {json{{"limit", 0}}, json{{"limit", 1001}}, json{{"limit", "x"}}, json{{"searchFor", "size"}},
                   json{{"searchFor", "number_of_users"}, {"value", "3"}}, json{{"searchFor", "group"}, {"value", 3}},
                   json{{"value", 1}, {"searchFor", "number_of_users"}, {"condition", "~"}}, json{{"ascending", 1}},
                   json{{"start", "abc"}}}) {
    json data;
    auto r = query_groups(bad, sample_groups(), {}, data);
    EXPECT_FALSE(r.ok) << bad.dump();
    EXPECT_EQ(r.code, sb::protocol::Error::InvalidParameter) << bad.dump();
  }
}

TEST(Queries, UsersSortedFilteredAndPaged) {
  std::vector<Member> m{{"bob", "cid:2"}, {"alice", "cid:9"}, {"bob", "cid:1"}, {"carol", "cid:3"}};
  json d;
  ASSERT_TRUE(query_users({{"limit", 2}}, m, {}, d).ok);
  EXPECT_EQ(names(d), (std::vector<std::string>{"cid:9", "cid:1"}));
  json d2;
  ASSERT_TRUE(query_users({{"limit", 2}, {"start", d["startKey"]}}, m, {}, d2).ok);
  EXPECT_EQ(names(d2), (std::vector<std::string>{"cid:2", "cid:3"}));
  EXPECT_EQ(d2["endOfList"], true);
  json only_bob;
  ASSERT_TRUE(query_users({{"user_id", "bob"}}, m, {}, only_bob).ok);
  EXPECT_EQ(names(only_bob), (std::vector<std::string>{"cid:1", "cid:2"}));
  EXPECT_EQ(only_bob["list"][0]["user_id"], "bob");
}
