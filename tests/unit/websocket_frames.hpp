#pragma once
// Client and server WebSocket frames built byte by byte from RFC 6455 section 5.2, and
// helpers that drive a websocket_endpoint, for the endpoint's tests.

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/websocket/endpoint.hpp"

namespace numsequence::test {

using namespace std::string_literals;
using kind = endpoint_event::kind;

inline constexpr std::uint8_t fin = 0x80;
inline constexpr std::uint8_t op_continuation = 0x0;
inline constexpr std::uint8_t op_text = 0x1;
inline constexpr std::uint8_t op_binary = 0x2;
inline constexpr std::uint8_t op_close = 0x8;
inline constexpr std::uint8_t op_ping = 0x9;
inline constexpr std::uint8_t op_pong = 0xa;

/// A client frame: `head` is the first byte (FIN, RSV, opcode); the payload is masked with
/// `key` unless `masked` is false; the length takes its shortest form unless `length_form`
/// forces 126 (16-bit) or 127 (64-bit).
inline std::string client_frame(std::uint8_t head, std::string_view payload, bool masked = true,
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

inline std::string text_frame(std::string_view payload) {
  return client_frame(fin | op_text, payload);
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return p;
}

/// A server frame as RFC 6455 lays it out: unmasked, FIN set, shortest length.
inline std::string server_frame(std::uint8_t opcode, std::string_view payload) {
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

inline std::vector<endpoint_event> drain_events(websocket_endpoint& ws) {
  std::vector<endpoint_event> events;
  while (auto e = ws.next_event())
    events.push_back(std::move(*e));
  return events;
}

inline std::vector<std::string> texts(const std::vector<endpoint_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.what == kind::text)
      out.push_back(e.text);
  }
  return out;
}

/// Takes all output, as a socket that writes everything would.
inline std::string take_output(websocket_endpoint& ws) {
  std::string out(ws.output());
  ws.consume_output(out.size());
  return out;
}

/// The one closed event expected after a violation: its code, the close frame as the only
/// output whose first two payload bytes carry that code, and the endpoint done.
inline void check_closed_with(websocket_endpoint& ws, std::uint16_t code) {
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

}  // namespace numsequence::test
