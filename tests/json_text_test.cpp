// The client's JSON reader (src/protocol/json_text.hpp), checked against nlohmann/json, the
// parser the server uses: the same texts must be accepted and the same values read.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "protocol/json_text.hpp"

namespace jt = sb::protocol::json_text;
using nlohmann::json;

namespace {
const char* const kTexts[] = {
    "{}", "[]", "0", "-0", "1.5e3", "-12.25E-2", "true", "false", "null", "\"\"", " {\"a\" : [1, 2, {\"b\":null}] } ",
    "\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\"", "{\"a\":1,\"a\":2}", "[[[[[]]]]]", "{\"k\":\"v\",\"n\":{\"m\":[true,false]}}",
    // invalid
    "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", ".5", "1e", "-", "+1", "tru",
    "nul", "\"abc", "\"\\x\"", "\"\\u12g4\"", "[1 2]", "{\"a\":1}x", "{} {}", "\"a\nb\"", "'a'", "[", "]", "{\"a\":[}",
    "NaN", "Infinity", "1 2", "1e308", "2e308", "-1e400", "1e-400", "\"\\ud800\"",
};
}  // namespace

TEST(JsonText, AcceptsWhatNlohmannAccepts) {
  for (const char* t : kTexts) EXPECT_EQ(jt::valid(t), json::accept(t)) << t;
}

// Random ASCII texts built from JSON's own tokens, most of them broken somewhere.
TEST(JsonText, AgreesWithNlohmannOnRandomTexts) {
  static const char* const kTokens[] = {"{", "}", "[", "]", ",", ":", "\"a\"", "\"\\n\"", "\"\\u0041\"", "1", "-2.5e1",
                                        "0", "true", "null", " ", "\"", "\\", "x", "01", "1.", "e5", "e308",
                                        "\"\\ud83d", "\\ude00\""};
  std::mt19937 rng(12);
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    for (int n = rng() % 12; n >= 0; --n) text += kTokens[rng() % std::size(kTokens)];
    bool ours = jt::valid(text);
    ASSERT_EQ(ours, json::accept(text)) << text;
    valid += ours;
  }
  EXPECT_GT(valid, 1000);  // the generator reaches valid texts too
}

TEST(JsonText, ObjectMembersAreReadInOrderWithKeysDecoded) {
  jt::ObjectReader r(R"( {"op":"ok" , "id":7,"d\u0061ta":{"x":[1,"}"]},"msg":"a,\"b\""} )");
  std::vector<std::pair<std::string, std::string>> got;
  std::string_view k, v;
  while (r.next(k, v)) got.emplace_back(k, v);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"op", "\"ok\""}, {"id", "7"}, {"data", R"({"x":[1,"}"]})"}, {"msg", R"("a,\"b\"")"}}));
  for (const char* bad : {"[1]", "{\"a\":1,}", "{\"a\":1} x", "{\"a\" 1}", "{\"a\":[}", "\"s\"", ""}) {
    jt::ObjectReader b(bad);
    while (b.next(k, v)) {
    }
    EXPECT_FALSE(b.ok()) << bad;
  }
  jt::ObjectReader empty(" { } ");
  EXPECT_FALSE(empty.next(k, v));
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(jt::member("{}", "a"), "");
  EXPECT_EQ(jt::member(R"({"a":1,"a":2})", "a"), "2");  // the last one, as a tree would keep
  EXPECT_EQ(jt::member(R"({"a":1,)", "a"), "");         // not a valid object: nothing
  EXPECT_EQ(jt::member(R"({"b":1})", "a"), "");
}

TEST(JsonText, ScalarsDecodeAsNlohmannReadsThem) {
  std::string s;
  for (const char* lit : {R"("plain")", R"("\u00e9\ud83d\ude00")", R"("\b\f\n\r\t\"\\\/")"}) {
    ASSERT_TRUE(jt::get_string(lit, s)) << lit;
    EXPECT_EQ(s, json::parse(lit).get<std::string>()) << lit;
  }
  // Lone or misordered surrogates are not JSON text (RFC 8259 leaves it open; nlohmann refuses).
  for (const char* lit : {R"("\ud800x")", R"("\udc00")", R"("\ud800\u0041")", R"("\ud800")"}) {
    EXPECT_FALSE(jt::get_string(lit, s)) << lit;
    EXPECT_EQ(jt::valid(lit), json::accept(lit)) << lit;
  }
  EXPECT_FALSE(jt::get_string("12", s));
  long long n = 0;
  EXPECT_TRUE(jt::get_int("-9007199254740993", n));
  EXPECT_EQ(n, -9007199254740993LL);
  EXPECT_FALSE(jt::get_int("1.0", n));
  EXPECT_FALSE(jt::get_int("1e3", n));
  EXPECT_FALSE(jt::get_int("\"1\"", n));
  EXPECT_FALSE(jt::get_int("99999999999999999999", n));  // out of range
  double d = 0;
  for (const char* num : {"0", "-1", "3600", "2.5", "1e3", "-12.25E-2", "0.001"}) {
    ASSERT_TRUE(jt::get_number(num, d)) << num;
    EXPECT_NEAR(d, json::parse(num).get<double>(), 1e-12) << num;
  }
  EXPECT_FALSE(jt::get_number("true", d));
  for (const char* t : {"true", "1", "-0.5", "\"x\"", "{}", "[]"}) EXPECT_TRUE(jt::truthy(t)) << t;
  for (const char* f : {"false", "0", "-0", "0.0", "\"\"", "null", ""}) EXPECT_FALSE(jt::truthy(f)) << f;
}

TEST(JsonText, DeepNestingIsRefusedNotFollowed) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_FALSE(jt::valid(deep));  // and no stack overflow
  std::string ok(jt::kMaxDepth - 1, '[');
  ok += std::string(jt::kMaxDepth - 1, ']');
  EXPECT_TRUE(jt::valid(ok));
}

TEST(JsonText, MembersAreCopiedCompactedWithoutTheSkippedKeys) {
  std::string out;
  jt::append_members(out, R"({ "op" : "x", "group" : "g", "start" : { "a" : [ 1 , 2 ] } })", {"op"});
  EXPECT_EQ(out, R"(,"group":"g","start":{"a":[1,2]})");
}

// A string with bytes that are not UTF-8 is not JSON (nlohmann refuses it too): a server frame
// carrying one must not reach the app as event text (fuzz/regressions/server_frame-invalid-utf8-*).
TEST(JsonText, InvalidUtf8InAStringIsRefused) {
  EXPECT_FALSE(sb::protocol::json_text::valid("\"not valid \xC7JSON\""));
  EXPECT_FALSE(sb::protocol::json_text::valid("\"cut \xE2\x82\""));
  EXPECT_FALSE(sb::protocol::json_text::valid("{\"k\":\"\xFF\"}"));
  EXPECT_TRUE(sb::protocol::json_text::valid("\"\xE2\x82\xAC \xF0\x9F\x98\x80\""));
}
