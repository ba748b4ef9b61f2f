// The client side of the opening handshake: the request's exact bytes, the key, and the
// checks of the server's response (RFC 6455 section 4.1), whole, byte by byte and refused.

#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/http/request_parser.hpp"
#include "numsequence/websocket/client_handshake.hpp"
#include "numsequence/websocket/handshake.hpp"

using namespace numsequence;
using status = upgrade_response_reader::status;

namespace {

// RFC 6455 section 1.3's example: this key is answered with this accept value.
constexpr std::string_view rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view rfc_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const std::string rfc_101 =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";

struct read_outcome {
  status state = status::incomplete;
  std::size_t used = 0;
  int http_status = 0;
  std::string reason;
};

read_outcome read_all(std::string_view response, bool then_eof = false) {
  upgrade_response_reader r{std::string(rfc_key)};
  read_outcome out;
  out.used = r.feed(response);
  if (then_eof)
    r.end_of_stream();
  out.state = r.state();
  out.http_status = r.http_status();
  out.reason = r.reason();
  return out;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

TEST_CASE("client handshake: the upgrade request is a GET with the key and version 13") {
  CHECK(upgrade_request_text({"127.0.0.1", 8080, "/v1/stream"}, rfc_key) ==
        "GET /v1/stream HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n");
}

TEST_CASE("client handshake: the Host header brackets an IPv6 address and omits port 80") {
  const auto host_line = [](const websocket_target& t) {
    const std::string text = upgrade_request_text(t, rfc_key);
    const auto at = text.find("Host: ");
    return text.substr(at, text.find("\r\n", at) - at);
  };
  CHECK(host_line({"::1", 8080, "/v1/stream"}) == "Host: [::1]:8080");
  CHECK(host_line({"example.org", 80, "/v1/stream"}) == "Host: example.org");
  CHECK(host_line({"localhost", 1, "/"}) == "Host: localhost:1");
}

TEST_CASE("client handshake: the request is accepted by the library's server side") {
  const std::string key = make_websocket_key();
  request_parser parser;
  const auto parsed = parser.consume(upgrade_request_text({"127.0.0.1", 8080, "/v1/stream"}, key));
  REQUIRE(parsed.what == parse_result::kind::request);
  const http_request& req = parser.request();
  CHECK(req.path == "/v1/stream");
  CHECK(req.upgrade);
  const auto answer = accept_upgrade({"GET", "HTTP/1.1", req.upgrade_protocols, req.connection,
                                      req.sec_websocket_version, req.sec_websocket_key});
  CHECK(answer.status == 101);
  upgrade_response_reader reader(key);
  CHECK(reader.feed(answer.response) == answer.response.size());
  CHECK(reader.state() == status::accepted);
}

TEST_CASE("client handshake: a key is base64 of 16 bytes and each one is new") {
  const std::string a = make_websocket_key();
  const std::string b = make_websocket_key();
  CHECK(a != b);
  for (const std::string& key : {a, b}) {
    REQUIRE(key.size() == 24);
    CHECK(key.substr(22) == "==");
    std::array<unsigned char, 18> decoded{};
    CHECK(EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()), 24) ==
          18);
  }
}

TEST_CASE("client handshake: the RFC's 101 is accepted, whole or fed byte by byte") {
  const auto whole = read_all(rfc_101);
  CHECK(whole.state == status::accepted);
  CHECK(whole.used == rfc_101.size());
  CHECK(whole.http_status == 101);

  upgrade_response_reader r{std::string(rfc_key)};
  for (std::size_t i = 0; i < rfc_101.size(); ++i) {
    CAPTURE(i);
    REQUIRE(r.state() == status::incomplete);
    CHECK(r.feed(std::string_view(rfc_101).substr(i, 1)) == 1);
  }
  CHECK(r.state() == status::accepted);
}

TEST_CASE("client handshake: bytes after the 101 are left for the WebSocket") {
  const std::string frames = "\x81\x02hi";
  const auto out = read_all(rfc_101 + frames);
  CHECK(out.state == status::accepted);
  CHECK(out.used == rfc_101.size());
}

TEST_CASE("client handshake: header names and tokens are compared without case") {
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "upgrade: WebSocket\r\n"
      "CONNECTION: keep-alive, upgrade\r\n"
      "sec-websocket-accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n"
      "\r\n";
  CHECK(read_all(response).state == status::accepted);
}

TEST_CASE("client handshake: a 101 that fails a check is refused with the reason") {
  struct row {
    std::string response;
    std::string_view reason_part;
  };
  const std::string accept_line = "Sec-WebSocket-Accept: " + std::string(rfc_accept) + "\r\n";
  const std::vector<row> rows = {
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
       "Sec-WebSocket-Accept is \"AAAAAAAAAAAAAAAAAAAAAAAAAAA=\", expected "
       "\"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\""},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       "Sec-WebSocket-Accept is \"\""},
      {"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n" + accept_line + "\r\n",
       "no \"Upgrade: websocket\" header"},
      {"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" + accept_line + "\r\n",
       "no \"Upgrade: websocket\" header (got \"h2c\")"},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" + accept_line + "\r\n",
       "no \"Connection: Upgrade\" header"},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + accept_line +
           "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
       "an extension that was not offered: \"permessage-deflate\""},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + accept_line +
           "Sec-WebSocket-Protocol: chat\r\n\r\n",
       "a subprotocol that was not offered: \"chat\""},
  };
  for (const auto& row : rows) {
    CAPTURE(row.response);
    const auto out = read_all(row.response);
    CHECK(out.state == status::refused);
    CHECK(out.http_status == 101);
    CHECK_MESSAGE(contains(out.reason, row.reason_part), out.reason);
  }
}

TEST_CASE("client handshake: another status is refused with its status line and body") {
  const auto not_found = read_all(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n"
      "{\"error\":\"no route /v1/strem\"}\n");
  CHECK(not_found.state == status::refused);
  CHECK(not_found.http_status == 404);
  CHECK(not_found.reason ==
        "the server answered 404 Not Found instead of switching to WebSocket: "
        "{\"error\":\"no route /v1/strem\"}");

  const auto busy = read_all("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  CHECK(busy.state == status::refused);
  CHECK(busy.reason ==
        "the server answered 503 Service Unavailable instead of switching to WebSocket");
}

TEST_CASE("client handshake: a refusal's body is waited for only up to its kept start") {
  // Content-Length promises far more than is sent: the start is enough for the message.
  const std::string body(upgrade_response_reader::kept_body, 'x');
  const auto out = read_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n" + body);
  CHECK(out.state == status::refused);
  CHECK(out.http_status == 400);
  CHECK(contains(out.reason, "400 Bad Request instead of switching to WebSocket: xxxx"));
}

TEST_CASE("client handshake: a body delimited by the close is refused at the end of stream") {
  const std::string head = "HTTP/1.0 426 Upgrade Required\r\n\r\nversion 13 only";
  CHECK(read_all(head).state == status::incomplete);
  const auto out = read_all(head, true);
  CHECK(out.state == status::refused);
  CHECK(out.reason ==
        "the server answered 426 Upgrade Required instead of switching to WebSocket: "
        "version 13 only");
}

TEST_CASE("client handshake: malformed, endless or cut-short responses are refused") {
  const auto malformed = read_all("HTTP/1.1 abc OK\r\n\r\n");
  CHECK(malformed.state == status::refused);
  CHECK(contains(malformed.reason, "malformed HTTP response from the server"));

  const auto not_http = read_all("SSH-2.0-OpenSSH_9.2\r\n");
  CHECK(not_http.state == status::refused);

  const std::string endless = "HTTP/1.1 101 Switching Protocols\r\nX-Filler: " +
                              std::string(upgrade_response_reader::max_head, 'a');
  const auto long_head = read_all(endless);
  CHECK(long_head.state == status::refused);
  CHECK(long_head.used == upgrade_response_reader::max_head);
  CHECK(long_head.reason == "the server's response head is longer than 16384 bytes");

  const auto cut = read_all("HTTP/1.1 101 Switching Protocols\r\nUpgr", true);
  CHECK(cut.state == status::refused);
  CHECK(cut.reason == "the server closed the connection during the WebSocket handshake");
}

TEST_CASE("client handshake: nothing is taken once the response is decided") {
  upgrade_response_reader r{std::string(rfc_key)};
  REQUIRE(r.feed(rfc_101) == rfc_101.size());
  CHECK(r.feed("HTTP/1.1 200 OK\r\n\r\n") == 0);
  CHECK(r.state() == status::accepted);
}
