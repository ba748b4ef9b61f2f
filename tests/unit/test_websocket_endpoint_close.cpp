// websocket_endpoint, closing and limits: the close handshake from either side, close
// reasons, ping floods, waiting requests, backpressure and the output buffer.

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

TEST_CASE("websocket endpoint: a close reason that is not UTF-8 closes with 1007, however split") {
  const std::string frame = client_frame(fin | op_close, close_payload(4000, "ap\xad"));
  for (std::size_t piece = 1; piece <= frame.size(); ++piece) {
    CAPTURE(piece);
    websocket_endpoint ws;
    for (std::size_t at = 0; at < frame.size(); at += piece)
      ws.feed(std::string_view(frame).substr(at, piece));
    check_closed_with(ws, close_code::invalid_payload);
  }
}

TEST_CASE("websocket endpoint: close reasons fed byte by byte are checked as UTF-8") {
  // Fed a byte at a time, wslay checks none of the reason: the endpoint's own check decides.
  const std::vector<std::pair<std::string, bool>> rows = {
      {"plain", true},
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", true},
      {"\xc0\xaf", false},          // overlong
      {"\xe0\x80\xaf", false},      // overlong, 3 bytes
      {"\xed\xa0\x80", false},      // a surrogate
      {"\xf4\x90\x80\x80", false},  // past U+10FFFF
      {"\xf5\x80\x80\x80", false},  // never a lead byte
      {"ok\xe2\x82", false},        // cut short
      {"\x80", false},              // a lone continuation byte
      {"\xc3(", false},             // a lead byte without its continuation
  };
  for (const auto& row : rows) {
    const std::string& reason = row.first;
    const bool valid = row.second;
    CAPTURE(reason);
    const std::string frame = client_frame(fin | op_close, close_payload(1000, reason));
    websocket_endpoint ws;
    for (const char c : frame)
      ws.feed(std::string_view(&c, 1));
    if (valid) {
      CHECK(ws.output() == server_frame(op_close, close_payload(1000, reason)));
    } else {
      check_closed_with(ws, close_code::invalid_payload);
    }
  }
}

TEST_CASE("websocket endpoint: a valid UTF-8 close reason is echoed, also byte by byte") {
  const std::string payload = close_payload(1000, "fin \xc3\xa9t\xc3\xa9");
  const std::string frame = client_frame(fin | op_close, payload);
  websocket_endpoint whole;
  whole.feed(frame);
  CHECK(whole.output() == server_frame(op_close, payload));
  websocket_endpoint bytewise;
  for (const char c : frame)
    bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.output() == server_frame(op_close, payload));
  const auto events = drain_events(bytewise);
  REQUIRE(events.size() == 1);
  CHECK(events[0].reason == "fin \xc3\xa9t\xc3\xa9");
}

TEST_CASE("websocket endpoint: a close with a 1-byte payload closes with 1002") {
  websocket_endpoint ws;
  ws.feed(client_frame(fin | op_close, "\x03"));
  check_closed_with(ws, close_code::protocol_error);
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

TEST_CASE(
    "websocket endpoint: a close reason longer than a frame holds is cut to 123 bytes at most") {
  websocket_endpoint ws;
  ws.close(close_code::internal_error, std::string(500, 'r'));
  CHECK(ws.output() == server_frame(op_close, close_payload(1011, std::string(123, 'r'))));
  // Never inside a character: "é" is 2 bytes, so 61 of them (122 bytes) fit, not 61.5.
  std::string accents;
  for (int i = 0; i < 100; ++i)
    accents += "\xc3\xa9";
  websocket_endpoint utf8;
  utf8.close(close_code::going_away, accents);
  CHECK(utf8.output() == server_frame(op_close, close_payload(1001, accents.substr(0, 122))));
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

TEST_CASE("websocket endpoint: max_output counts the frame header too") {
  endpoint_limits limits;
  limits.max_output = 1000;
  websocket_endpoint ws(limits);
  // 996 bytes take a 4-byte header: exactly 1000.
  CHECK_FALSE(ws.send_text(std::string(997, 'a')));
  CHECK(ws.output().empty());
  CHECK(ws.send_text(std::string(996, 'a')));
  CHECK(ws.output_size() == 1000);
  CHECK_FALSE(ws.send_text(""));
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
