// websocket_connection: how it closed (close_event, closed_by_error), the input of the
// numsequence_errors_total{reason="websocket_close"} count. Frames are built from RFC 6455
// section 5.2 (websocket_frames.hpp); the codes are the RFC's (section 7.4.1).

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "numsequence/server/websocket_connection.hpp"
#include "websocket_frames.hpp"

using namespace numsequence;
using namespace numsequence::test;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours(1)};

/// Feeds `bytes`, then writes whatever the connection asks to until it wants to read or close.
io_step run(websocket_connection& c, const std::string& bytes) {
  c.feed(bytes);
  for (;;) {
    const io_step s = c.next(t0);
    if (s != io_step::write)
      return s;
    c.written();
  }
}

}  // namespace

TEST_CASE("websocket_connection: a close for the peer's violation is closed_by_error") {
  struct row {
    std::string bytes;
    std::uint16_t code;
  };
  for (const auto& r : {row{client_frame(fin | op_text, "{}", false), close_code::protocol_error},
                        row{client_frame(fin | op_binary, "x"), close_code::unsupported_data},
                        row{text_frame("\xff"), close_code::invalid_payload}}) {
    CAPTURE(r.code);
    websocket_connection_config cfg;
    websocket_connection c(cfg, t0);
    CHECK(run(c, r.bytes) == io_step::close);
    REQUIRE(c.close_event().has_value());
    CHECK(c.close_event()->code == r.code);
    CHECK_FALSE(c.close_event()->by_peer);
    CHECK(c.closed_by_error());
  }
}

TEST_CASE("websocket_connection: the peer's own close, even with an error code, is no error") {
  for (const std::uint16_t code :
       {close_code::normal, close_code::going_away, close_code::protocol_error}) {
    CAPTURE(code);
    websocket_connection_config cfg;
    websocket_connection c(cfg, t0);
    CHECK(run(c, client_frame(fin | op_close, close_payload(code))) == io_step::close);
    REQUIRE(c.close_event().has_value());
    CHECK(c.close_event()->by_peer);
    CHECK_FALSE(c.closed_by_error());
  }
}

TEST_CASE("websocket_connection: the server's going away at a stop is no error") {
  websocket_connection_config cfg;
  websocket_connection c(cfg, t0);
  c.feed(text_frame(R"({"id":1,"n":5})"));
  REQUIRE(c.next(t0) == io_step::write);  // the answer is being written
  // A stop during the answer: it finishes, then the server says goodbye (1001).
  CHECK(c.lifetime().request_close(t0) == connection_lifetime::verdict::keep_open);
  c.written();
  CHECK(run(c, "") == io_step::close);
  REQUIRE(c.close_event().has_value());
  CHECK(c.close_event()->code == close_code::going_away);
  CHECK_FALSE(c.close_event()->by_peer);
  CHECK_FALSE(c.closed_by_error());
}
