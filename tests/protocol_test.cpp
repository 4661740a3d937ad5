#include <gtest/gtest.h>

#include <random>

#include "protocol/frames.hpp"

using namespace sb::protocol;

namespace {
Request parse_ok(const std::string& text) {
  Request r;
  RequestError e;
  EXPECT_TRUE(parse_request(text, Limits{}, r, e)) << text << " -> " << e.message;
  return r;
}
RequestError parse_err(const std::string& text, Limits limits = {}) {
  Request r;
  RequestError e;
  EXPECT_FALSE(parse_request(text, limits, r, e)) << text;
  return e;
}
}  // namespace

TEST(Protocol, ClientFramesRoundTrip) {
  auto j = parse_ok(join_frame(7, std::string("room")));
  EXPECT_EQ(j.op, Op::Join);
  EXPECT_EQ(j.id, 7);
  EXPECT_EQ(j.group, "room");
  auto leave = parse_ok(join_frame(8, std::nullopt));
  EXPECT_FALSE(leave.group.has_value());
  auto p = parse_ok(post_frame(9, "room", R"({"a":[1,2]})"));
  EXPECT_EQ(p.op, Op::Post);
  EXPECT_EQ(p.payload, R"({"a":[1,2]})");
  auto d = parse_ok(private_frame(10, "bob", "\"hi\""));
  EXPECT_EQ(d.op, Op::Private);
  EXPECT_EQ(d.user, "bob");
  EXPECT_EQ(d.payload, "\"hi\"");
  EXPECT_EQ(parse_ok(ping_frame(11)).op, Op::Ping);
}

TEST(Protocol, PayloadsThatSkapiDropsSurvive) {
  for (std::string payload : {"0", "\"\"", "false", "null", "\"100%\"", "\"%E0%A4%A\"", "\"한국어 ✓ 😀\""}) {
    auto p = parse_ok(post_frame(1, "g", payload));
    EXPECT_EQ(nlohmann::json::parse(p.payload), nlohmann::json::parse(payload));
    std::string frame = group_message_frame("g", "alice", "cid:1", p.payload);
    ServerFrame f;
    ASSERT_TRUE(parse_server_frame(frame, f));
    EXPECT_EQ(f.op, "message");
    EXPECT_EQ(nlohmann::json::parse(f.payload), nlohmann::json::parse(payload));
  }
}

TEST(Protocol, EnvelopeStringsCannotForgeThePayloadSplit) {
  std::string group = "a\",\"msg\":\"evil";  // a group name holding the payload key's text
  std::string frame = group_message_frame(group, "u,\"msg\":1", "cid:x", "[1]");
  ServerFrame f;
  ASSERT_TRUE(parse_server_frame(frame, f));
  EXPECT_EQ(f.group, group);
  EXPECT_EQ(f.sender, "u,\"msg\":1");
  EXPECT_EQ(f.payload, "[1]");
}

TEST(Protocol, RejectsBadFramesWithTypedErrors) {
  EXPECT_EQ(parse_err("{").code, Error::InvalidRequest);
  EXPECT_EQ(parse_err("[1,2]").code, Error::InvalidRequest);
  EXPECT_EQ(parse_err(R"({"op":"join"})").code, Error::InvalidRequest);  // no id
  auto unknown = parse_err(R"({"op":"dance","id":3})");
  EXPECT_EQ(unknown.code, Error::InvalidRequest);
  EXPECT_EQ(unknown.id, 3);
  EXPECT_EQ(parse_err(R"({"op":"join","id":1,"group":5})").code, Error::InvalidRequest);
  EXPECT_EQ(parse_err(R"({"op":"join","id":1,"group":"a\nb"})").code, Error::InvalidParameter);
  EXPECT_EQ(parse_err(R"({"op":"join","id":1,"group":")" + std::string(129, 'x') + "\"}").code,
            Error::InvalidParameter);
  EXPECT_EQ(parse_err(R"({"op":"post","id":1,"group":"g"})").code, Error::InvalidRequest);  // no msg
  EXPECT_EQ(parse_err(R"({"op":"private","id":1,"msg":1})").code, Error::InvalidRequest);   // no user
  Limits small;
  small.max_frame_bytes = 16;
  EXPECT_EQ(parse_err(post_frame(1, "g", "\"0123456789\""), small).code, Error::TooLarge);
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(parse_err(post_frame(1, "g", deep)).code, Error::TooDeep);
  EXPECT_EQ(parse_err("{\"op\":\"join\",\"id\":1,\"group\":\"\xff\"}").code, Error::InvalidRequest);  // bad UTF-8
}

TEST(Protocol, EmptyGroupMeansLeave) {
  EXPECT_FALSE(parse_ok(R"({"op":"join","id":1,"group":""})").group.has_value());
  EXPECT_FALSE(parse_ok(R"({"op":"join","id":1,"group":null})").group.has_value());
}

TEST(Protocol, JsonStringEscapes) {
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(nlohmann::json::parse(json_string("é ✓")).get<std::string>(), "é ✓");
}

TEST(Protocol, DepthCountsOnlyStructure) {
  EXPECT_EQ(json_depth(R"({"a":"[[[[{{{{"})", 32), 1);
  EXPECT_EQ(json_depth(R"([[["\"]"]]])", 32), 3);
}

TEST(Protocol, ServerFramesParse) {
  ServerFrame w;
  ASSERT_TRUE(parse_server_frame(welcome_frame("cid:ab", "alice", Limits{}), w));
  EXPECT_EQ(w.op, "welcome");
  EXPECT_EQ(w.cid, "cid:ab");
  EXPECT_EQ(w.user, "alice");
  EXPECT_EQ(nlohmann::json::parse(w.data)["max_frame_bytes"], 65536);
  ServerFrame e;
  ASSERT_TRUE(parse_server_frame(error_frame(4, Error::NotJoined, "nope"), e));
  EXPECT_EQ(e.id, 4);
  EXPECT_EQ(e.code, "NOT_JOINED");
  ServerFrame n;
  ASSERT_TRUE(parse_server_frame(notice_frame("USER_LEFT", "g", "bob", "cid:1"), n));
  EXPECT_EQ(n.code, "USER_LEFT");
  EXPECT_EQ(n.sender, "bob");
  EXPECT_FALSE(parse_server_frame("not json", n));
}

TEST(Protocol, MessageFramesParseTheSameOnTheFastAndTheFullPath) {
  // Plain strings take the scanner, escaped ones the JSON parser: both must agree.
  for (std::string sender : {"alice", "김철수 ✓", "quote\"d", "tab\tback\\slash"}) {
    for (bool priv : {false, true}) {
      std::string frame = priv ? private_message_frame(sender, "cid:1", "room", R"({"a":"%"})")
                               : group_message_frame("room", sender, "cid:1", R"({"a":"%"})");
      ServerFrame f;
      ASSERT_TRUE(parse_server_frame(frame, f)) << frame;
      EXPECT_EQ(f.op, priv ? "private" : "message");
      EXPECT_EQ(f.sender, sender);
      EXPECT_EQ(f.sender_cid, "cid:1");
      EXPECT_EQ(f.group, "room");
      EXPECT_EQ(f.payload, R"({"a":"%"})");
    }
  }
  ServerFrame f;
  EXPECT_FALSE(parse_server_frame(R"({"op":"message","group":"g")", f));  // truncated
}

TEST(Protocol, MessageRequestsParseTheSameOnTheFastAndTheFullPath) {
  // Our own layout takes the scanner; reordered keys, escapes and spaces take the JSON parser.
  const std::string payload = R"({"a":[1,"x\"y"],"b":null})";
  for (std::string frame : {post_frame(5, "room", payload), std::string(R"({"id":5,"op":"post","msg":)") + payload + R"(,"group":"room"})",
                            std::string(R"({"op":"post","id":5,"group":"ro\u006fm","msg":)") + payload + "}",
                            std::string(R"({"op":"post","id":5,"group":"room","msg": )") + payload + " }"}) {
    auto r = parse_ok(frame);
    EXPECT_EQ(r.op, Op::Post) << frame;
    EXPECT_EQ(r.id, 5) << frame;
    EXPECT_EQ(r.group, "room") << frame;
    EXPECT_EQ(nlohmann::json::parse(r.payload), nlohmann::json::parse(payload)) << frame;
  }
  auto p = parse_ok(private_frame(-3, "bob", "0"));
  EXPECT_EQ(p.op, Op::Private);
  EXPECT_EQ(p.id, -3);
  EXPECT_EQ(p.user, "bob");
  EXPECT_EQ(p.payload, "0");
  // Broken payloads and names in our own layout still get the full parse's typed errors.
  EXPECT_EQ(parse_err(R"({"op":"post","id":1,"group":"g","msg":{"a":})").code, Error::InvalidRequest);
  EXPECT_EQ(parse_err(R"({"op":"post","id":1,"group":"g","msg":})").code, Error::InvalidRequest);
  EXPECT_EQ(parse_err(R"({"op":"post","id":1,"group":"","msg":1})").code, Error::InvalidParameter);
  EXPECT_EQ(parse_err("{\"op\":\"private\",\"id\":1,\"user\":\"b\",\"msg\":\"\xff\"}").code, Error::InvalidRequest);
}

namespace {
// Random JSON text with every kind of whitespace between tokens and every escape inside strings:
// what a hostile sender may legally put in "msg".
struct JsonGen {
  std::mt19937 rng;
  int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
  std::string ws() {
    static const char* kinds[] = {"", " ", "\n", "\r\n", "\t", " \n\t\r ", "\n\n"};
    return kinds[pick(7)];
  }
  std::string str() {
    static const char* parts[] = {"a", "\\n", "\\r", "\\t", "\\b", "\\f", "\\/", "\\\\", "\\\"", "\\u0000", "\\u000a",
                                  "\\u2028", "\\ud83d\\ude00", "é", "😀", "\u2028", "}", "]", ",", ":", "\\u0022op\\u0022",
                                  "{\\\"op\\\":\\\"message\\\",\\\"sender\\\":\\\"admin\\\"}", "%", "%ff"};
    std::string s = "\"";
    for (int i = pick(6); i > 0; --i) s += parts[pick(24)];
    return s + "\"";
  }
  std::string value(int depth) {
    int k = depth > 4 ? pick(4) : pick(6);
    switch (k) {
      case 0: return str();
      case 1: { static const char* n[] = {"0", "-1", "3.25", "1e9", "-2.5E-3", "12345678901234567890"}; return n[pick(6)]; }
      case 2: { static const char* l[] = {"true", "false", "null"}; return l[pick(3)]; }
      case 3: return str();
      case 4: {
        std::string s = "[" + ws();
        for (int i = pick(4), first = 1; i > 0; --i, first = 0) s += (first ? "" : "," + ws()) + value(depth + 1) + ws();
        return s + "]";
      }
      default: {
        std::string s = "{" + ws();
        for (int i = pick(4), first = 1; i > 0; --i, first = 0)
          s += (first ? "" : "," + ws()) + str() + ws() + ":" + ws() + value(depth + 1) + ws();
        return s + "}";
      }
    }
  }
};
}  // namespace

// The attack review's injection: a payload with raw newlines must not let its sender write a
// frame of its own into another member's batch. Every payload arrives as the value it was, and
// the sender fields a client reads only ever come from the server.
TEST(Protocol, PayloadsCannotInjectFramesIntoABatch) {
  JsonGen gen{std::mt19937(20261130)};
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> payloads;
    std::string batch;
    for (int i = 0; i < 3; ++i) {
      std::string payload = gen.ws() + gen.value(0) + gen.ws();
      auto expected = nlohmann::json::parse(payload);
      bool priv = gen.pick(2);
      std::string text = priv ? private_frame(round, "bob", payload) : post_frame(round, "room", payload);
      Request r;
      RequestError e;
      ASSERT_TRUE(parse_request(text, Limits{}, r, e)) << text << ": " << e.message;
      EXPECT_EQ(r.payload.find_first_of("\n\r"), std::string::npos) << payload;
      EXPECT_EQ(nlohmann::json::parse(r.payload), expected);
      if (!batch.empty()) batch += '\n';
      batch += priv ? private_message_frame("mallory", "cid:m", "room", r.payload)
                    : group_message_frame("room", "mallory", "cid:m", r.payload);
      payloads.push_back(payload);
    }
    std::size_t seen = 0;
    for_each_frame(batch, [&](std::string_view frame, std::size_t, std::size_t count) {
      EXPECT_EQ(count, payloads.size());
      ServerFrame f;
      ASSERT_TRUE(parse_server_frame(frame, f)) << frame;
      ASSERT_LT(seen, payloads.size());
      EXPECT_EQ(f.sender, "mallory");
      EXPECT_EQ(f.sender_cid, "cid:m");
      EXPECT_EQ(nlohmann::json::parse(f.payload), nlohmann::json::parse(payloads[seen]));
      ++seen;
    });
    EXPECT_EQ(seen, payloads.size());
  }
}

TEST(Protocol, TheReviewedInjectionIsJustAnArray) {
  std::string attack =
      "{\"op\":\"post\",\"id\":2,\"group\":\"room\",\"msg\":[0,\n{\"op\":\"message\",\"group\":\"room\","
      "\"sender\":\"admin\",\"sender_cid\":\"cid:0\",\"msg\":\"pwned\"}\n]}";
  Request r = parse_ok(attack);
  std::string batch = group_message_frame("room", "mallory", "cid:m", r.payload) + "\n" + ok_frame(2);
  std::vector<std::string> ops, senders;
  for_each_frame(batch, [&](std::string_view frame, std::size_t, std::size_t) {
    ServerFrame f;
    ASSERT_TRUE(parse_server_frame(frame, f)) << frame;
    ops.push_back(f.op);
    senders.push_back(f.sender);
  });
  EXPECT_EQ(ops, (std::vector<std::string>{"message", "ok"}));
  EXPECT_EQ(senders[0], "mallory");
}

// Found by fuzz_request: the post/private fast path must accept nothing the JSON grammar refuses.
TEST(Protocol, TheFastPathAcceptsOnlyJson) {
  for (std::string bad : {R"({"op":"post","id":02,"group":"g","msg":1})", R"({"op":"post","id":-01,"group":"g","msg":1})",
                          R"({"op":"post","id":1"group":"g","msg":1})", "{\"op\":\"post\",\"id\":1,\"group\":\"caf\xff\",\"msg\":1}",
                          "{\"op\":\"private\",\"id\":1,\"user\":\"\xed\xa0\x80\",\"msg\":1}"}) {
    Request r;
    RequestError e;
    EXPECT_FALSE(parse_request(bad, Limits{}, r, e)) << bad;
    EXPECT_FALSE(nlohmann::json::accept(bad)) << bad;
  }
  EXPECT_EQ(parse_ok(R"({"op":"post","id":0,"group":"g","msg":1})").id, 0);
  EXPECT_EQ(parse_ok(R"({"op":"post","id":-10,"group":"g","msg":1})").id, -10);
}

TEST(Protocol, AuthFramesCarryTheTokenAsAString) {
  auto a = parse_ok(auth_frame(12, "h.p.s\"\\"));
  EXPECT_EQ(a.op, Op::Auth);
  EXPECT_EQ(a.id, 12);
  EXPECT_EQ(a.token, "h.p.s\"\\");
  EXPECT_EQ(parse_ok(R"({"op":"auth","id":1,"token":""})").token, "");  // the server's verify() refuses it
  for (const char* bad : {R"({"op":"auth","id":1})", R"({"op":"auth","id":1,"token":7})",
                          R"({"op":"auth","id":1,"token":null})", R"({"op":"auth","id":1,"token":["x"]})"}) {
    auto e = parse_err(bad);
    EXPECT_EQ(e.code, Error::InvalidRequest) << bad;
    EXPECT_EQ(e.id, 1) << bad;
  }
}

TEST(Protocol, WelcomeCarriesExpiresInOnlyWhenTheTokenExpires) {
  ServerFrame f;
  ASSERT_TRUE(parse_server_frame(welcome_frame("cid:1", "alice", Limits{}, 3600), f));
  EXPECT_EQ(nlohmann::json::parse(f.data)["expires_in"], 3600);
  EXPECT_EQ(nlohmann::json::parse(f.data)["max_frame_bytes"], Limits{}.max_frame_bytes);
  ServerFrame g;
  ASSERT_TRUE(parse_server_frame(welcome_frame("cid:1", "alice", Limits{}), g));
  EXPECT_FALSE(nlohmann::json::parse(g.data).contains("expires_in"));
  EXPECT_FALSE(close_is_fatal(close_code::TokenExpired));
  EXPECT_EQ(close_code::TokenExpired, 4002);
}

// Found by fuzz_request: nlohmann's parser reads a raw NUL as the end of its input, so a payload
// "1<NUL><anything>" passed as JSON and its bytes went to every member. A NUL is never JSON.
TEST(Protocol, RawNulBytesAreRefusedAnywhere) {
  using namespace std::string_literals;
  for (std::string bad : {R"({"op":"post","id":2,"group":"g","msg":3)"s + '\0' + "\x01junk}",
                          R"({"op":"join","id":1,"group":"g"})"s + '\0' + "junk",
                          R"({"op":"private","id":1,"user":"u","msg":{"a":1})"s + '\0' + "}"}) {
    Request r;
    RequestError e;
    EXPECT_FALSE(parse_request(bad, Limits{}, r, e));
    EXPECT_EQ(e.code, Error::InvalidRequest);
  }
}
