// WebSocket opening handshake: the accept value (RFC 6455's own example), the 101 response,
// and each malformed request refused with its status, reason and extra headers.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/websocket/excerpt.hpp"
#include "numsequence/websocket/handshake.hpp"

using namespace numsequence;

namespace {

// RFC 6455 section 1.3's sample key.
constexpr std::string_view rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";

upgrade_request good_request() {
  return {"GET", "HTTP/1.1", "websocket", "Upgrade", "13", rfc_key};
}

using header_list = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("websocket handshake: the accept value of RFC 6455's example key") {
  CHECK(websocket_accept(rfc_key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  // Python: base64.b64encode(hashlib.sha1(key + GUID).digest())
  CHECK(websocket_accept("AQIDBAUGBwgJCgsMDQ4PEA==") == "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
}

TEST_CASE("websocket handshake: a valid request gets the exact 101 response") {
  const auto r = accept_upgrade(good_request());
  CHECK(r.accepted());
  CHECK(r.status == 101);
  CHECK(r.response ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "\r\n");
  CHECK(r.reason.empty());
  CHECK(r.headers.empty());
}

TEST_CASE("websocket handshake: tokens are matched in lists, without case, around spaces") {
  // Browsers send "keep-alive, Upgrade" (Firefox); case varies between clients.
  const std::vector<std::pair<std::string_view, std::string_view>> rows = {
      {"websocket", "Upgrade"},
      {"WebSocket", "upgrade"},
      {"WEBSOCKET", "keep-alive, Upgrade"},
      {"h2c, websocket", "Upgrade,keep-alive"},
      {" \twebsocket\t ", "  UPGRADE  "},
      {"foo,,websocket", "a , upgrade ,b"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.first);
    CAPTURE(row.second);
    auto req = good_request();
    req.upgrade = row.first;
    req.connection = row.second;
    CHECK(accept_upgrade(req).status == 101);
  }
  CHECK(header_has_token("a, b ,c", "B"));
  CHECK_FALSE(header_has_token("websockets", "websocket"));
  CHECK_FALSE(header_has_token("websocket/13", "websocket"));
  CHECK_FALSE(header_has_token("", "upgrade"));
  CHECK_FALSE(header_has_token(",,", "upgrade"));
}

TEST_CASE("websocket handshake: surrounding spaces of the version and the key are ignored") {
  auto req = good_request();
  req.ws_version = " 13 ";
  req.ws_key = "\t dGhlIHNhbXBsZSBub25jZQ== ";
  const auto r = accept_upgrade(req);
  REQUIRE(r.status == 101);
  CHECK(r.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
        std::string::npos);
}

TEST_CASE("websocket handshake: HTTP version given with or without its prefix") {
  auto req = good_request();
  req.http_version = "1.1";
  CHECK(accept_upgrade(req).status == 101);
}

TEST_CASE("websocket handshake: each malformed request gets 400 and a reason naming the field") {
  struct row {
    upgrade_request req;
    std::string_view reason;
  };
  const std::string_view k = rfc_key;
  const std::vector<row> rows = {
      {{"GET", "HTTP/1.0", "websocket", "Upgrade", "13", k},
       "a WebSocket upgrade needs HTTP/1.1, got \"HTTP/1.0\""},
      {{"GET", "HTTP/2", "websocket", "Upgrade", "13", k},
       "a WebSocket upgrade needs HTTP/1.1, got \"HTTP/2\""},
      {{"GET", "HTTP/1.1", "", "Upgrade", "13", k}, "missing Upgrade header (list \"websocket\")"},
      {{"GET", "HTTP/1.1", "h2c", "Upgrade", "13", k},
       "Upgrade header must list \"websocket\", got \"h2c\""},
      {{"GET", "HTTP/1.1", "websocket", "", "13", k},
       "missing Connection header (list \"Upgrade\")"},
      {{"GET", "HTTP/1.1", "websocket", "keep-alive", "13", k},
       "Connection header must list \"Upgrade\", got \"keep-alive\""},
      {{"GET", "HTTP/1.1", "websocket", "Upgrade", "", k},
       "missing Sec-WebSocket-Version header (be 13)"},
      {{"GET", "HTTP/1.1", "websocket", "Upgrade", "13", ""},
       "missing Sec-WebSocket-Key header (be the base64 encoding of 16 bytes)"},
      {{"GET", "HTTP/1.1", "websocket", "Upgrade", "13", "abc"},
       "Sec-WebSocket-Key header must be the base64 encoding of 16 bytes, got \"abc\""},
  };
  for (const auto& r : rows) {
    CAPTURE(r.reason);
    const auto got = accept_upgrade(r.req);
    CHECK(got.status == 400);
    CHECK_FALSE(got.accepted());
    CHECK(got.reason == r.reason);
    CHECK(got.response.empty());
    CHECK(got.headers.empty());
  }
}

TEST_CASE("websocket handshake: keys that are not base64 of exactly 16 bytes are refused") {
  const std::vector<std::string_view> keys = {
      "dGhlIHNhbXBsZSBub25jZQ=",    // 23 characters
      "dGhlIHNhbXBsZSBub25jZQ===",  // 25 characters
      "dGhlIHNhbXBsZSBub25jZQ",     // no padding
      "dGhlIHNhbXBsZSBub25jZQAA",   // 18 bytes, not 16
      "dGhlIHNhbXBsZSBub25j====",   // 15 bytes, padding where data belongs
      "dGhl=HNhbXBsZSBub25jZQ==",   // '=' inside
      "dGhlIHNhbXBsZSBub25jZ-==",   // base64url, not base64
      "dGhlIHNhbXBs ZSBub25jZQ==",  // a space inside
      "dGhlIHNhbXBsZSBub25jZQ=A",   // padding not at the end
  };
  for (const auto key : keys) {
    CAPTURE(key);
    auto req = good_request();
    req.ws_key = key;
    const auto r = accept_upgrade(req);
    CHECK(r.status == 400);
    CHECK(r.reason.find("Sec-WebSocket-Key") != std::string::npos);
  }
}

TEST_CASE("websocket handshake: another method gets 405 with Allow GET") {
  auto req = good_request();
  req.method = "POST";
  const auto r = accept_upgrade(req);
  CHECK(r.status == 405);
  CHECK(r.reason == "a WebSocket upgrade must be a GET request, got \"POST\"");
  CHECK(r.headers == header_list{{"Allow", "GET"}});
  req.method = "get";  // methods are case-sensitive (RFC 9110 section 9.1)
  CHECK(accept_upgrade(req).status == 405);
}

TEST_CASE("websocket handshake: another version gets 426 naming version 13") {
  for (const std::string_view v : {"8", "12", "14", "13, 8", "013"}) {
    CAPTURE(v);
    auto req = good_request();
    req.ws_version = v;
    const auto r = accept_upgrade(req);
    CHECK(r.status == 426);
    CHECK(r.reason ==
          "Sec-WebSocket-Version header must be 13 (the only version this server "
          "speaks), got \"" +
              std::string(v) + "\"");
    CHECK(r.headers == header_list{{"Sec-WebSocket-Version", "13"}, {"Upgrade", "websocket"}});
  }
}

TEST_CASE("websocket handshake: a long or binary header value is quoted in part, printable") {
  auto req = good_request();
  const std::string long_upgrade(1000, 'x');
  req.upgrade = long_upgrade;
  auto r = accept_upgrade(req);
  CHECK(r.reason == "Upgrade header must list \"websocket\", got \"" + std::string(40, 'x') +
                        "... (1000 characters)\"");
  req = good_request();
  req.connection = "a\r\n\x01\xff";
  r = accept_upgrade(req);
  CHECK(r.reason == "Connection header must list \"Upgrade\", got \"a????\"");
}

TEST_CASE("websocket excerpt: short texts whole, long ones cut with their length") {
  CHECK(excerpt("1.5") == "1.5");
  CHECK(excerpt("") == "");
  CHECK(excerpt(std::string(40, '9')) == std::string(40, '9'));
  CHECK(excerpt(std::string(41, '9')) == std::string(40, '9') + "... (41 characters)");
  CHECK(excerpt(std::string(100000, '7')) == std::string(40, '7') + "... (100000 characters)");
  CHECK(excerpt("abcdef", 3) == "abc... (6 characters)");
  CHECK(excerpt("a\tb\x7f") == "a?b?");
}

TEST_CASE("websocket excerpt: UTF-8 is never cut inside a character, and counted in characters") {
  // "é" is 2 bytes (c3 a9): a cut at 3 bytes keeps one whole "é".
  CHECK(excerpt("\xc3\xa9\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9... (3 characters)");
  CHECK(excerpt("\xc3\xa9\xc3\xa9", 4) == "\xc3\xa9\xc3\xa9");
  CHECK(excerpt("\xc3\xa9z", 2, excerpt_bytes::ascii) == "??... (3 characters)");
}
