// websocket_endpoint, messages and violations: client frames built byte by byte (RFC 6455
// section 5.2, see websocket_frames.hpp), fed whole and split anywhere; the server's bytes
// compared with frames written out from the RFC.

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/websocket/endpoint.hpp"
#include "websocket_frames.hpp"

using namespace numsequence;
using namespace numsequence::test;

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
