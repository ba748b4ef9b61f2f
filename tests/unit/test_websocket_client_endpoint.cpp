// The client endpoint: the handshake, frames both ways (client frames masked, RFC 6455 section
// 5.3), closes from either side, and the protocol violations a server can commit.

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/websocket/client_endpoint.hpp"
#include "numsequence/websocket/endpoint.hpp"
#include "websocket_frames.hpp"

using namespace numsequence;
using namespace numsequence::test;
using ckind = client_event::kind;
using cstate = client_endpoint_state;

namespace {

constexpr std::string_view rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";

const std::string rfc_101 =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";

const websocket_target target{"127.0.0.1", 8080, "/v1/stream"};

std::string take_output(websocket_client_endpoint& ws) {
  std::string out(ws.output());
  ws.consume_output(out.size());
  return out;
}

std::vector<client_event> drain(websocket_client_endpoint& ws) {
  std::vector<client_event> events;
  while (auto e = ws.next_event())
    events.push_back(std::move(*e));
  return events;
}

// A client endpoint past the handshake, its request written.
struct opened {
  explicit opened(client_endpoint_limits limits = {}) : ws(target, std::string(rfc_key), limits) {
    take_output(ws);
    ws.feed(rfc_101);
    const auto events = drain(ws);
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].what == ckind::open);
    REQUIRE(ws.state() == cstate::open);
  }
  websocket_client_endpoint ws;
};

// One client frame taken apart by RFC 6455 section 5.2: the mask bit, and the payload unmasked.
struct decoded_frame {
  std::uint8_t head = 0;
  bool masked = false;
  std::string payload;
  std::size_t size = 0;  // bytes of the frame
};

decoded_frame decode_client_frame(std::string_view bytes) {
  decoded_frame f;
  REQUIRE(bytes.size() >= 2);
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  f.head = byte(0);
  f.masked = (byte(1) & 0x80) != 0;
  std::uint64_t length = byte(1) & 0x7f;
  std::size_t at = 2;
  if (length == 126) {
    length = (std::uint64_t{byte(2)} << 8) | byte(3);
    at = 4;
  } else if (length == 127) {
    length = 0;
    for (std::size_t i = 0; i < 8; ++i)
      length = (length << 8) | byte(2 + i);
    at = 10;
  }
  std::array<std::uint8_t, 4> key{};
  if (f.masked) {
    for (std::size_t i = 0; i < 4; ++i)
      key[i] = byte(at + i);
    at += 4;
  }
  REQUIRE(bytes.size() >= at + length);
  for (std::size_t i = 0; i < length; ++i)
    f.payload += static_cast<char>(byte(at + i) ^ (f.masked ? key[i % 4] : 0));
  f.size = at + static_cast<std::size_t>(length);
  return f;
}

// The client's answer to a violation: the closed event with `code`, and a close frame
// carrying it as the only output, after which the endpoint is closed (no wait).
void check_client_closed_with(websocket_client_endpoint& ws, std::uint16_t code) {
  const auto events = drain(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].code == code);
  CHECK_FALSE(events[0].by_peer);
  CHECK_FALSE(events[0].reason.empty());
  const auto frame = decode_client_frame(take_output(ws));
  CHECK(frame.head == (fin | op_close));
  CHECK(frame.masked);
  CHECK(frame.payload.substr(0, 2) == close_payload(code));
  CHECK(ws.state() == cstate::closed);
}

}  // namespace

TEST_CASE("client endpoint: the upgrade request is the first output") {
  websocket_client_endpoint ws(target, std::string(rfc_key));
  CHECK(ws.state() == cstate::handshake);
  CHECK(ws.output() == upgrade_request_text(target, rfc_key));
  CHECK_FALSE(ws.send_text("{}"));
}

TEST_CASE("client endpoint: the RFC's 101 opens it, fed whole or byte by byte") {
  for (const bool bytewise : {false, true}) {
    CAPTURE(bytewise);
    websocket_client_endpoint ws(target, std::string(rfc_key));
    take_output(ws);
    if (bytewise) {
      for (const char c : rfc_101)
        ws.feed(std::string_view(&c, 1));
    } else {
      ws.feed(rfc_101);
    }
    const auto events = drain(ws);
    REQUIRE(events.size() == 1);
    CHECK(events[0].what == ckind::open);
    CHECK(ws.state() == cstate::open);
  }
}

TEST_CASE("client endpoint: a wrong accept value ends it with the status and the reason") {
  websocket_client_endpoint ws(target, std::string(rfc_key));
  take_output(ws);
  ws.feed(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
  const auto events = drain(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].code == close_code::abnormal);
  CHECK(events[0].http_status == 101);
  CHECK(events[0].reason.find("Sec-WebSocket-Accept") != std::string::npos);
  CHECK(ws.state() == cstate::closed);
  CHECK(ws.output().empty());
}

TEST_CASE("client endpoint: a 404 ends it with the status and the body's start") {
  websocket_client_endpoint ws(target, std::string(rfc_key));
  take_output(ws);
  ws.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n");
  const auto events = drain(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].http_status == 404);
  CHECK(events[0].reason ==
        "the server answered 404 Not Found instead of switching to WebSocket: not here");
  CHECK(ws.state() == cstate::closed);
}

TEST_CASE("client endpoint: the end of stream during the handshake ends it") {
  websocket_client_endpoint ws(target, std::string(rfc_key));
  take_output(ws);
  ws.feed("HTTP/1.1 101 Switching");
  ws.end_of_stream();
  const auto events = drain(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].reason == "the server closed the connection during the WebSocket handshake");
  CHECK(ws.state() == cstate::closed);
}

TEST_CASE("client endpoint: a text frame sent is masked and reads back at a server endpoint") {
  opened c;
  const std::string request = R"({"id":1,"sequence":"fibonacci","n":10})";
  REQUIRE(c.ws.send_text(request));
  const std::string bytes = take_output(c.ws);
  const auto frame = decode_client_frame(bytes);
  CHECK(frame.head == (fin | op_text));
  CHECK(frame.masked);
  CHECK(frame.payload == request);
  CHECK(frame.size == bytes.size());
  // The masked bytes differ from the text: the mask is applied, not all zeros.
  CHECK(bytes.find(request) == std::string::npos);

  websocket_endpoint server;
  server.feed(bytes);
  CHECK(texts(drain_events(server)) == std::vector<std::string>{request});
}

TEST_CASE("client endpoint: a long message takes the 16-bit length form, masked") {
  opened c;
  const std::string request(300, 'a');
  REQUIRE(c.ws.send_text(request));
  const auto frame = decode_client_frame(take_output(c.ws));
  CHECK(frame.masked);
  CHECK(frame.payload == request);
}

TEST_CASE("client endpoint: server frames arrive as text events, whole or byte by byte") {
  websocket_endpoint server;
  const std::string answer = R"({"id":1,"from":0,"numbers":[0,1,1,2,3]})";
  REQUIRE(server.send_text(answer));
  const std::string bytes = take_output(server);
  for (const bool bytewise : {false, true}) {
    CAPTURE(bytewise);
    opened c;
    if (bytewise) {
      for (const char b : bytes)
        c.ws.feed(std::string_view(&b, 1));
    } else {
      c.ws.feed(bytes);
    }
    const auto events = drain(c.ws);
    REQUIRE(events.size() == 1);
    CHECK(events[0].what == ckind::text);
    CHECK(events[0].text == answer);
  }
}

TEST_CASE("client endpoint: frames right behind the 101 are read with it") {
  websocket_client_endpoint ws(target, std::string(rfc_key));
  take_output(ws);
  ws.feed(rfc_101 + server_frame(op_text, "one") + server_frame(op_text, "two"));
  const auto events = drain(ws);
  REQUIRE(events.size() == 3);
  CHECK(events[0].what == ckind::open);
  CHECK(events[1].text == "one");
  CHECK(events[2].text == "two");
}

TEST_CASE("client endpoint: a fragmented server message is one event") {
  opened c;
  std::string bytes;
  bytes += static_cast<char>(op_text);  // FIN clear
  bytes += static_cast<char>(3);
  bytes += "abc";
  bytes += static_cast<char>(fin | op_continuation);
  bytes += static_cast<char>(3);
  bytes += "def";
  c.ws.feed(bytes);
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].text == "abcdef");
}

TEST_CASE("client endpoint: a ping is answered with a masked pong") {
  opened c;
  c.ws.feed(server_frame(op_ping, "are you there"));
  CHECK(drain(c.ws).empty());
  const auto pong = decode_client_frame(take_output(c.ws));
  CHECK(pong.head == (fin | op_pong));
  CHECK(pong.masked);
  CHECK(pong.payload == "are you there");
}

TEST_CASE("client endpoint: a server close is reported and echoed, then it is closed") {
  opened c;
  c.ws.feed(server_frame(op_close, close_payload(1001, "server stopping")));
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].by_peer);
  CHECK(events[0].code == 1001);
  CHECK(events[0].reason == "server stopping");
  CHECK(c.ws.state() == cstate::closing);
  const auto echo = decode_client_frame(take_output(c.ws));
  CHECK(echo.head == (fin | op_close));
  CHECK(echo.masked);
  CHECK(echo.payload.substr(0, 2) == close_payload(1001));
  CHECK(c.ws.state() == cstate::closed);
  CHECK_FALSE(c.ws.send_text("{}"));
}

TEST_CASE("client endpoint: a server close without a code is reported as 1005") {
  opened c;
  c.ws.feed(server_frame(op_close, ""));
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == close_code::no_status);
  CHECK(events[0].by_peer);
}

TEST_CASE("client endpoint: its own close waits for the server's, which a server endpoint sends") {
  opened c;
  c.ws.close(close_code::normal, "done");
  const std::string close_frame = take_output(c.ws);
  const auto frame = decode_client_frame(close_frame);
  CHECK(frame.head == (fin | op_close));
  CHECK(frame.payload == close_payload(close_code::normal, "done"));
  CHECK(c.ws.state() == cstate::closing);
  CHECK(drain(c.ws).empty());

  websocket_endpoint server;
  server.feed(close_frame);
  const std::string reply = take_output(server);
  // A text frame still in flight before the server's close is dropped.
  c.ws.feed(server_frame(op_text, "late") + reply);
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].by_peer);
  CHECK(events[0].code == close_code::normal);
  CHECK(c.ws.state() == cstate::closed);
}

TEST_CASE("client endpoint: its own close ends at the end of stream if no close comes") {
  opened c;
  c.ws.close(close_code::normal);
  take_output(c.ws);
  REQUIRE(c.ws.state() == cstate::closing);
  c.ws.end_of_stream();
  CHECK(c.ws.state() == cstate::closed);
}

TEST_CASE("client endpoint: the end of stream while open is an abnormal close") {
  opened c;
  c.ws.end_of_stream();
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == ckind::closed);
  CHECK(events[0].code == close_code::abnormal);
  CHECK_FALSE(events[0].by_peer);
  CHECK(c.ws.state() == cstate::closed);
  CHECK(c.ws.output().empty());
}

TEST_CASE("client endpoint: a masked server frame is closed with 1002") {
  opened c;
  c.ws.feed(client_frame(fin | op_text, "masked"));
  check_client_closed_with(c.ws, close_code::protocol_error);
}

TEST_CASE("client endpoint: invalid UTF-8 from the server is closed with 1007") {
  opened c;
  c.ws.feed(server_frame(op_text, "\xc3\x28"));
  check_client_closed_with(c.ws, close_code::invalid_payload);
}

TEST_CASE("client endpoint: a binary message is closed with 1003") {
  opened c;
  c.ws.feed(server_frame(op_binary, "\x01\x02"));
  check_client_closed_with(c.ws, close_code::unsupported_data);
}

TEST_CASE("client endpoint: a message over max_message is closed with 1009") {
  client_endpoint_limits limits;
  limits.max_message = 100;
  opened c(limits);
  c.ws.feed(server_frame(op_text, std::string(100, 'a')));
  const auto fits = drain(c.ws);
  REQUIRE(fits.size() == 1);
  CHECK(fits[0].text.size() == 100);
  c.ws.feed(server_frame(op_text, std::string(101, 'a')));
  check_client_closed_with(c.ws, close_code::message_too_big);
}

TEST_CASE("client endpoint: a malformed frame header ends it with 1002 and no close frame") {
  opened c;
  // A ping whose length (126) passes the 125 bytes a control frame may carry.
  std::string bytes;
  bytes += static_cast<char>(fin | op_ping);
  bytes += static_cast<char>(126);
  bytes += static_cast<char>(0);
  bytes += static_cast<char>(126);
  bytes += std::string(126, 'p');
  c.ws.feed(bytes);
  const auto events = drain(c.ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == close_code::protocol_error);
  CHECK(c.ws.state() == cstate::closed);
}

TEST_CASE("client endpoint: send_text refuses a message past max_output") {
  client_endpoint_limits limits;
  limits.max_output = 64;
  opened c(limits);
  CHECK(c.ws.send_text(std::string(40, 'a')));
  CHECK_FALSE(c.ws.send_text(std::string(40, 'b')));
  take_output(c.ws);
  CHECK(c.ws.send_text(std::string(40, 'b')));
}
