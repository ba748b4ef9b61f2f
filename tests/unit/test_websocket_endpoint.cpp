// websocket_endpoint: client frames built here byte by byte (RFC 6455 section 5.2), fed in
// and split anywhere; the server's bytes compared with frames written out from the RFC.

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/websocket/endpoint.hpp"

using namespace numsequence;
using namespace std::string_literals;
using kind = endpoint_event::kind;

namespace {

constexpr std::uint8_t fin = 0x80;
constexpr std::uint8_t op_continuation = 0x0;
constexpr std::uint8_t op_text = 0x1;
constexpr std::uint8_t op_binary = 0x2;
constexpr std::uint8_t op_close = 0x8;
constexpr std::uint8_t op_ping = 0x9;
constexpr std::uint8_t op_pong = 0xa;

/// A client frame: `head` is the first byte (FIN, RSV, opcode); the payload is masked with
/// `key` unless `masked` is false; the length takes its shortest form unless `length_form`
/// forces 126 (16-bit) or 127 (64-bit).
std::string client_frame(std::uint8_t head, std::string_view payload, bool masked = true,
                         int length_form = 0) {
  static constexpr std::array<std::uint8_t, 4> key{0x37, 0xfa, 0x21, 0x3d};
  std::string f;
  f += static_cast<char>(head);
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  const std::uint64_t n = payload.size();
  if (length_form == 0 && n < 126) {
    f += static_cast<char>(mask_bit | n);
  } else if (length_form != 127 && n < 65536) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((n >> shift) & 0xff);
  }
  if (masked) {
    for (const auto b : key)
      f += static_cast<char>(b);
  }
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ (masked ? key[i % 4] : 0));
  return f;
}

std::string text_frame(std::string_view payload) {
  return client_frame(fin | op_text, payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return p;
}

/// A server frame as RFC 6455 lays it out: unmasked, FIN set, shortest length.
std::string server_frame(std::uint8_t opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(fin | opcode);
  const std::size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n < 65536) {
    f += "\x7e"s;
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += "\x7f"s;
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((n >> shift) & 0xff);
  }
  f += payload;
  return f;
}

std::vector<endpoint_event> drain_events(websocket_endpoint& ws) {
  std::vector<endpoint_event> events;
  while (auto e = ws.next_event())
    events.push_back(std::move(*e));
  return events;
}

std::vector<std::string> texts(const std::vector<endpoint_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.what == kind::text)
      out.push_back(e.text);
  }
  return out;
}

/// Takes all output, as a socket that writes everything would.
std::string take_output(websocket_endpoint& ws) {
  std::string out(ws.output());
  ws.consume_output(out.size());
  return out;
}

/// The one closed event expected after a violation: its code, the close frame as the only
/// output whose first two payload bytes carry that code, and the endpoint done.
void check_closed_with(websocket_endpoint& ws, std::uint16_t code) {
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == kind::closed);
  CHECK(events[0].code == code);
  CHECK_FALSE(events[0].by_peer);
  CHECK_FALSE(events[0].reason.empty());
  CHECK(ws.state() == endpoint_state::closing);
  const std::string out = take_output(ws);
  REQUIRE(out.size() >= 4);
  CHECK(out[0] == static_cast<char>(fin | op_close));
  CHECK(static_cast<std::size_t>(out[1]) == out.size() - 2);
  CHECK(out.substr(2, 2) == close_payload(code));
  CHECK(ws.state() == endpoint_state::closed);
}

}  // namespace

TEST_CASE("websocket endpoint: RFC 6455's masked Hello frame is a text event") {
  websocket_endpoint ws;
  // Section 5.7: "A single-frame masked text message".
  ws.feed("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s);
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == kind::text);
  CHECK(events[0].text == "Hello");
  CHECK(ws.output().empty());
  CHECK(ws.state() == endpoint_state::open);
  // The test's frame builder writes the same bytes.
  CHECK(text_frame("Hello") == "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s);
}

TEST_CASE("websocket endpoint: send_text writes RFC 6455's unmasked Hello frame") {
  websocket_endpoint ws;
  CHECK(ws.send_text("Hello"));
  CHECK(ws.output() == "\x81\x05\x48\x65\x6c\x6c\x6f"s);
  CHECK(ws.output_size() == 7);
}

TEST_CASE("websocket endpoint: send_text uses the 16-bit and 64-bit length forms") {
  websocket_endpoint ws;
  const std::string medium(126, 'm');
  REQUIRE(ws.send_text(medium));
  CHECK(take_output(ws) == "\x81\x7e\x00\x7e"s + medium);
  const std::string large(65536, 'l');
  REQUIRE(ws.send_text(large));
  CHECK(take_output(ws) == "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s + large);
}

TEST_CASE("websocket endpoint: several messages in one feed, and the same fed byte by byte") {
  const std::string stream =
      text_frame("one") + text_frame("") + text_frame("three") + text_frame(std::string(300, 'x'));
  const std::vector<std::string> expected = {"one", "", "three", std::string(300, 'x')};
  websocket_endpoint whole;
  whole.feed(stream);
  CHECK(texts(drain_events(whole)) == expected);

  websocket_endpoint bytewise;
  std::vector<endpoint_event> events;
  for (const char c : stream) {
    bytewise.feed(std::string_view(&c, 1));
    for (auto& e : drain_events(bytewise))
      events.push_back(std::move(e));
  }
  CHECK(texts(events) == expected);
  CHECK(events.size() == expected.size());
}

TEST_CASE("websocket endpoint: a fragmented text message arrives whole, a ping between answered") {
  websocket_endpoint ws;
  // "€" (e2 82 ac) split across fragments: UTF-8 is checked on the message, not per frame.
  ws.feed(client_frame(op_text, "price: \xe2\x82"));
  ws.feed(client_frame(fin | op_ping, "p"));
  CHECK(take_output(ws) == server_frame(op_pong, "p"));
  ws.feed(client_frame(op_continuation, "\xac"));
  CHECK(drain_events(ws).empty());
  ws.feed(client_frame(fin | op_continuation, " 5"));
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].text == "price: \xe2\x82\xac 5");
}

TEST_CASE("websocket endpoint: a ping is answered by a pong with its payload") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_ping, "Hello"));
  // RFC 6455 section 5.7: the unmasked pong carrying "Hello".
  CHECK(take_output(ws) == "\x8a\x05\x48\x65\x6c\x6c\x6f"s);
  ws.feed(client_frame(fin | op_ping, ""));
  CHECK(take_output(ws) == "\x8a\x00"s);
  ws.feed(client_frame(fin | op_ping, std::string(125, 'z')));
  CHECK(take_output(ws) == server_frame(op_pong, std::string(125, 'z')));
  CHECK(drain_events(ws).empty());
  CHECK(ws.state() == endpoint_state::open);
}

TEST_CASE("websocket endpoint: an unsolicited pong is ignored") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_pong, "x") + text_frame("after"));
  CHECK(texts(drain_events(ws)) == std::vector<std::string>{"after"});
  CHECK(ws.output().empty());
}

TEST_CASE("websocket endpoint: protocol violations close with 1002") {
  struct row {
    const char* what;
    std::string bytes;
  };
  const std::vector<row> rows = {
      {"unmasked text frame", client_frame(fin | op_text, "hi", false)},
      {"unmasked ping", client_frame(fin | op_ping, "hi", false)},
      {"RSV1 set", client_frame(fin | 0x40 | op_text, "hi")},
      {"RSV2 set", client_frame(fin | 0x20 | op_text, "hi")},
      {"RSV3 set", client_frame(fin | 0x10 | op_text, "hi")},
      {"reserved data opcode 3", client_frame(fin | 0x3, "hi")},
      {"reserved data opcode 7", client_frame(fin | 0x7, "hi")},
      {"reserved control opcode 0xB", client_frame(fin | 0xb, "hi")},
      {"reserved control opcode 0xF", client_frame(fin | 0xf, "")},
      {"continuation with no message begun", client_frame(fin | op_continuation, "hi")},
      {"new text frame inside a fragmented message",
       client_frame(op_text, "a") + client_frame(fin | op_text, "b")},
      {"fragmented ping", client_frame(op_ping, "hi")},
      {"fragmented close", client_frame(op_close, close_payload(1000))},
      {"ping over 125 bytes", client_frame(fin | op_ping, std::string(126, 'p'))},
      {"16-bit length for 5 bytes", client_frame(fin | op_text, "hello", true, 126)},
      {"64-bit length for 300 bytes",
       client_frame(fin | op_text, std::string(300, 'x'), true, 127)},
      {"close code 1005, never sent on the wire",
       client_frame(fin | op_close, close_payload(1005))},
      {"close code 999", client_frame(fin | op_close, close_payload(999))},
      {"close code 2000", client_frame(fin | op_close, close_payload(2000))},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    websocket_endpoint ws;
    ws.feed(r.bytes);
    check_closed_with(ws, close_code::protocol_error);
  }
}

TEST_CASE("websocket endpoint: a violation split byte by byte closes with the same code") {
  for (const auto& bytes : {client_frame(fin | op_text, "hi", false), client_frame(op_ping, "hi"),
                            client_frame(fin | op_text, "\xff")}) {
    websocket_endpoint whole;
    whole.feed(bytes);
    const auto expected = drain_events(whole);
    REQUIRE(expected.size() == 1);
    websocket_endpoint bytewise;
    for (const char c : bytes)
      bytewise.feed(std::string_view(&c, 1));
    const auto got = drain_events(bytewise);
    REQUIRE(got.size() == 1);
    CHECK(got[0].code == expected[0].code);
    CHECK(bytewise.output() == whole.output());
  }
}

TEST_CASE("websocket endpoint: text that is not UTF-8 closes with 1007") {
  const std::vector<std::string> payloads = {
      "\xff",              // never valid
      "ok \xc0\xaf",       // overlong '/'
      "\xed\xa0\x80",      // a UTF-16 surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "abc\xe2\x82",       // cut short at the end of the message
      "\x80",              // a lone continuation byte
  };
  for (const auto& p : payloads) {
    CAPTURE(p);
    websocket_endpoint ws;
    ws.feed(text_frame(p));
    check_closed_with(ws, close_code::invalid_payload);
  }
  websocket_endpoint fragmented;
  fragmented.feed(client_frame(op_text, "abc\xe2\x82") + client_frame(fin | op_continuation, "x"));
  check_closed_with(fragmented, close_code::invalid_payload);
}

TEST_CASE("websocket endpoint: valid UTF-8 of every length passes") {
  websocket_endpoint ws;
  const std::string text = "a \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  ws.feed(text_frame(text));
  CHECK(texts(drain_events(ws)) == std::vector<std::string>{text});
}

TEST_CASE("websocket endpoint: a binary message closes with 1003") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_binary, "\x01\x02"));
  check_closed_with(ws, close_code::unsupported_data);

  // Refused at its first fragment, before the rest arrives.
  websocket_endpoint fragmented;
  fragmented.feed(client_frame(op_binary, "part"));
  check_closed_with(fragmented, close_code::unsupported_data);
}

TEST_CASE(
    "websocket endpoint: a message over the limit closes with 1009, one at the limit passes") {
  endpoint_limits limits;
  limits.max_message = 4096;
  websocket_endpoint at_limit(limits);
  at_limit.feed(text_frame(std::string(4096, 'a')));
  CHECK(texts(drain_events(at_limit)) == std::vector<std::string>{std::string(4096, 'a')});

  websocket_endpoint over(limits);
  over.feed(text_frame(std::string(4097, 'a')));
  check_closed_with(over, close_code::message_too_big);

  // Over the limit only in total, across fragments.
  websocket_endpoint fragments(limits);
  fragments.feed(client_frame(op_text, std::string(4000, 'a')));
  fragments.feed(client_frame(fin | op_continuation, std::string(97, 'a')));
  check_closed_with(fragments, close_code::message_too_big);
}

TEST_CASE("websocket endpoint: a huge announced length closes at its first payload byte") {
  websocket_endpoint ws;
  // A 64-bit length of 2^40 bytes: wslay reports a frame with its first payload bytes, and
  // the length is checked then, before anything is allocated for it.
  std::string header = "\x81\xff\x00\x00\x01\x00\x00\x00\x00\x00"s;
  header += "\x37\xfa\x21\x3d"s;
  ws.feed(header);
  CHECK(ws.state() == endpoint_state::open);
  ws.feed("x");
  check_closed_with(ws, close_code::message_too_big);
}

TEST_CASE("websocket endpoint: a close from the client is answered, then the socket is to close") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_close, close_payload(1000, "bye")));
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == kind::closed);
  CHECK(events[0].by_peer);
  CHECK(events[0].code == 1000);
  CHECK(events[0].reason == "bye");
  CHECK(ws.state() == endpoint_state::closing);
  // The answer echoes the code and the reason (RFC 6455 section 5.5.1).
  CHECK(ws.output() == server_frame(op_close, close_payload(1000, "bye")));
  ws.consume_output(3);
  CHECK(ws.state() == endpoint_state::closing);
  ws.consume_output(ws.output().size());
  CHECK(ws.state() == endpoint_state::closed);
}

TEST_CASE("websocket endpoint: a close without a code is answered with an empty close") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_close, ""));
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].by_peer);
  CHECK(events[0].code == close_code::no_status);
  CHECK(ws.output() == "\x88\x00"s);
  CHECK(ws.state() == endpoint_state::closing);
}

TEST_CASE("websocket endpoint: after a close, bytes are ignored and nothing is sent") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_close, close_payload(1001)) + text_frame("late"));
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == kind::closed);
  const std::string out = take_output(ws);
  ws.feed(text_frame("later") + client_frame(fin | op_ping, "p"));
  CHECK(drain_events(ws).empty());
  CHECK(ws.output().empty());
  CHECK_FALSE(ws.send_text("answer"));
  CHECK(ws.output().empty());
  CHECK(ws.state() == endpoint_state::closed);
  CHECK(out == server_frame(op_close, close_payload(1001)));
}

TEST_CASE("websocket endpoint: a request before the close in the same read is still delivered") {
  websocket_endpoint ws;
  ws.feed(text_frame("first") + client_frame(fin | op_close, close_payload(1000)));
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 2);
  CHECK(events[0].what == kind::text);
  CHECK(events[0].text == "first");
  CHECK(events[1].what == kind::closed);
}

TEST_CASE("websocket endpoint: close() from the server sends its code and reason") {
  websocket_endpoint ws;
  ws.close(close_code::going_away, "server stopping");
  CHECK(ws.output() == server_frame(op_close, close_payload(1001, "server stopping")));
  CHECK(ws.state() == endpoint_state::closing);
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == 1001);
  CHECK_FALSE(events[0].by_peer);
  CHECK(events[0].reason == "server stopping");
  ws.close(close_code::normal);  // no effect once closing
  ws.feed(text_frame("late"));
  CHECK(drain_events(ws).empty());
  CHECK(take_output(ws) == server_frame(op_close, close_payload(1001, "server stopping")));
}

TEST_CASE("websocket endpoint: a close reason longer than a frame holds is cut to 123 bytes") {
  websocket_endpoint ws;
  ws.close(close_code::internal_error, std::string(500, 'r'));
  CHECK(ws.output() == server_frame(op_close, close_payload(1011, std::string(123, 'r'))));
}

TEST_CASE("websocket endpoint: pings whose pongs are not read close with 1008, output bounded") {
  endpoint_limits limits;
  limits.max_output = 1000;
  websocket_endpoint ws(limits);
  const std::string ping = client_frame(fin | op_ping, std::string(100, 'p'));
  std::string flood;
  for (int i = 0; i < 100; ++i)
    flood += ping;
  ws.feed(flood);  // 100 pings in one read, no output taken
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == close_code::policy_violation);
  CHECK(ws.state() == endpoint_state::closing);
  // At most max_output of pongs plus the pong in flight and the close, never one per ping.
  CHECK(ws.output().size() <= limits.max_output + 102 + 127);
  const std::string out(ws.output());
  const auto close_at =
      out.size() - server_frame(op_close, close_payload(1008, events[0].reason)).size();
  CHECK(out.substr(close_at) == server_frame(op_close, close_payload(1008, events[0].reason)));
  // Before the close, whole pongs only.
  CHECK(close_at % server_frame(op_pong, std::string(100, 'p')).size() == 0);
}

TEST_CASE("websocket endpoint: pings are answered as long as the pongs are read") {
  endpoint_limits limits;
  limits.max_output = 1000;
  websocket_endpoint ws(limits);
  const std::string ping = client_frame(fin | op_ping, std::string(100, 'p'));
  for (int i = 0; i < 1000; ++i) {
    ws.feed(ping);
    REQUIRE(take_output(ws) == server_frame(op_pong, std::string(100, 'p')));
  }
  CHECK(ws.state() == endpoint_state::open);
}

TEST_CASE("websocket endpoint: too many waiting requests close with 1008") {
  endpoint_limits limits;
  limits.max_pending_messages = 3;
  websocket_endpoint ws(limits);
  ws.feed(text_frame("1") + text_frame("2") + text_frame("3"));
  CHECK(ws.state() == endpoint_state::open);
  // Taking one makes room for one more.
  REQUIRE(ws.next_event().has_value());
  ws.feed(text_frame("4"));
  CHECK(ws.state() == endpoint_state::open);
  ws.feed(text_frame("5"));
  CHECK(ws.state() == endpoint_state::closing);
  const auto events = drain_events(ws);
  REQUIRE(events.size() == 4);
  CHECK(texts(events) == std::vector<std::string>{"2", "3", "4"});
  CHECK(events[3].code == close_code::policy_violation);
  CHECK(take_output(ws).substr(2, 2) == close_payload(1008));
}

TEST_CASE("websocket endpoint: ready_for_frame follows unwritten output against the low water") {
  endpoint_limits limits;
  limits.output_low_water = 100;
  limits.max_output = 1000;
  websocket_endpoint ws(limits);
  CHECK(ws.ready_for_frame());
  REQUIRE(ws.send_text(std::string(97, 'a')));  // 99 bytes with the header
  CHECK(ws.output_size() == 99);
  CHECK(ws.ready_for_frame());
  REQUIRE(ws.send_text("b"));  // 102
  CHECK(ws.output_size() == 102);
  CHECK_FALSE(ws.ready_for_frame());
  ws.consume_output(2);
  CHECK(ws.output_size() == 100);
  CHECK_FALSE(ws.ready_for_frame());
  ws.consume_output(1);
  CHECK(ws.ready_for_frame());
  CHECK(ws.output() == std::string(96, 'a') +
                           "\x81\x01"
                           "b");
}

TEST_CASE("websocket endpoint: send_text refuses a message past max_output, output unchanged") {
  endpoint_limits limits;
  limits.max_output = 1000;
  websocket_endpoint ws(limits);
  REQUIRE(ws.send_text(std::string(900, 'a')));
  const std::string before(ws.output());
  CHECK_FALSE(ws.send_text(std::string(200, 'b')));
  CHECK(ws.output() == before);
  CHECK(ws.state() == endpoint_state::open);
  ws.consume_output(before.size());
  CHECK(ws.send_text(std::string(200, 'b')));
}

TEST_CASE("websocket endpoint: output written in pieces comes out in order and whole") {
  websocket_endpoint ws;
  std::string expected;
  std::string written;
  for (int i = 0; i < 50; ++i) {
    const std::string msg(static_cast<std::size_t>(i * 37), static_cast<char>('a' + i % 26));
    REQUIRE(ws.send_text(msg));
    expected += server_frame(op_text, msg);
    // Write an odd share of what is pending.
    const std::size_t n = ws.output().size() / 3 + 1;
    written += ws.output().substr(0, n);
    ws.consume_output(n);
  }
  written += take_output(ws);
  CHECK(written == expected);
  CHECK(ws.output_size() == 0);
}
