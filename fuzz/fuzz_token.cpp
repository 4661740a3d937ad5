// Authenticator::verify with HS256 on tokens the fuzzer makes. The fuzzer does not know the
// secret, so it cannot sign: verify must never accept. An accepted token is an authentication
// bypass, and fails the run.
//
// Each input is tried twice: as the raw token, and as three lines "header JSON\npayload
// JSON\nsignature bytes" that are base64url-encoded and joined with '.', so that mutations of
// the claims reach the claim checks instead of the shape checks. Two configurations: the
// default (exp required), and one with issuer and audience and exp optional.
#include <string>

#include "fuzz_check.hpp"
#include "server/auth.hpp"
#include "server/jwt.hpp"

namespace {
using sb::server::Authenticator;
using sb::server::JwtConfig;

const std::string kSecret = "fuzz-secret-not-in-any-input-7f3c9a1e5b";

JwtConfig config(bool strict) {
  JwtConfig c;
  c.algorithm = "HS256";
  c.secret = kSecret;
  if (strict) {
    c.issuer = "https://issuer.example";
    c.audience = "switchboard";
    c.require_exp = false;
  }
  return c;
}



void expect_refused(const Authenticator& auth, const std::string& token) {
  auto id = auth.verify(token);
  if (!id.ok) {
    SB_FUZZ_CHECK(!id.error.empty(), "a refused token gets a reason");
    return;
  }
  std::fprintf(stderr, "accepted token: %s\nuser: %s\n", token.c_str(), id.user.c_str());
  SB_FUZZ_CHECK(!id.ok, "verify accepted a token not signed with the secret (authentication bypass)");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Authenticator plain(config(false)), strict(config(true));
  std::string_view in = sb::fuzz::bytes(data, size);
  const std::string raw(in);

  auto header = sb::fuzz::take_line(in);
  auto payload = sb::fuzz::take_line(in);
  using sb::server::jwt::base64url_encode;
  const std::string built = base64url_encode(header) + "." + base64url_encode(payload) + "." + base64url_encode(in);

  for (const auto* auth : {&plain, &strict}) {
    expect_refused(*auth, raw);
    expect_refused(*auth, built);
  }
  return 0;
}
