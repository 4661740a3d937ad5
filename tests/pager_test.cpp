// Skapi's list paging kept in the client core (src/client/pager.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/pager.hpp"

using nlohmann::json;
using sb::client::Pager;

namespace {
json begin(Pager& p, const json& query, const json& options) {
  return json::parse(p.begin("users", query.dump(), options.dump()));
}
json done(Pager& p, const json& step, const json& data) {
  return json::parse(p.done(step["ticket"].dump(), data.dump()));
}
const json kKey1 = {{"user_id", "b"}, {"cid", "cid:1"}};
}  // namespace

TEST(Pager, FetchMoreContinuesTheSameQueryAndKeepsTheHistory) {
  Pager p;
  json q = {{"group", "g"}};
  auto s1 = begin(p, q, {{"limit", 2}});
  EXPECT_EQ(s1["request"], (json{{"group", "g"}, {"limit", 2}, {"ascending", true}}));
  auto r1 = done(p, s1, {{"list", {1, 2}}, {"startKey", kKey1}, {"endOfList", false}});
  EXPECT_EQ(r1["startKeyHistory"], json::array());
  auto s2 = begin(p, q, {{"limit", 2}, {"fetchMore", true}});
  EXPECT_EQ(s2["request"]["start"], kKey1);
  auto r2 = done(p, s2, {{"list", {3}}, {"startKey", "end"}, {"endOfList", true}});
  EXPECT_EQ(r2["startKeyHistory"], json::array({kKey1.dump()}));
  // Past the end: answered without a request.
  auto s3 = begin(p, q, {{"fetchMore", true}});
  EXPECT_EQ(s3["page"], (json{{"list", json::array()}, {"startKey", "end"}, {"endOfList", true},
                              {"startKeyHistory", json::array({kKey1.dump()})}}));
  // Another query, or the other direction, has its own cursor.
  EXPECT_FALSE(begin(p, {{"group", "h"}}, {{"fetchMore", true}})["request"].contains("start"));
  EXPECT_FALSE(begin(p, q, {{"fetchMore", true}, {"ascending", false}})["request"].contains("start"));
  // Without fetchMore the query starts over.
  EXPECT_FALSE(begin(p, q, json::object())["request"].contains("start"));
}

TEST(Pager, AStartKeyMayBeAnObjectOrItsJsonText) {
  Pager p;
  EXPECT_EQ(begin(p, json::object(), {{"startKey", kKey1}})["request"]["start"], kKey1);
  EXPECT_EQ(begin(p, json::object(), {{"startKey", kKey1.dump()}})["request"]["start"], kKey1);
  EXPECT_EQ(begin(p, json::object(), {{"startKey", "{nope"}})["error"]["code"], "INVALID_PARAMETER");
}

TEST(Pager, LimitsAreChecked) {
  Pager p;
  for (const json& bad : {json(0), json(1001), json(2.5), json("10")})
    EXPECT_EQ(begin(p, json::object(), {{"limit", bad}})["error"]["code"], "INVALID_PARAMETER") << bad;
  EXPECT_EQ(begin(p, json::object(), {{"limit", 1000}})["request"]["limit"], 1000);
  EXPECT_EQ(begin(p, json::object(), nullptr)["request"]["limit"], 100);
}
