// session_connection: a connection of the resumable protocol driven without a socket: bytes
// are fed, steps are carried out by a small loop here, and the bytes written are asserted.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/server/session_connection.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using step = session_connection::step;
using action = session_connection::action;

namespace {

const std::string golden_id = "123e4567-e89b-12d3-a456-426614174000";
const std::string init_10_5 = "INIT," + golden_id + ",10,5;";
// The reference's numbers for the golden id (golden.md).
const std::string num_0 = "NUM,6:41:81:68:68;";
const std::string num_1 = "NUM,41:10:40:78:98;";
const std::string fac_10 = "FAC,9b14501c5359fb4eac96df9e874348b2;";
const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours(1)};

session_connection_config config(std::size_t output_buffer = 64 * 1024) {
  session_connection_config c;
  c.output_buffer = output_buffer;
  c.timeouts.session = 1000ms;
  c.timeouts.idle = 300ms;
  return c;
}

session_policy policy(std::uint32_t numbers_per_piece = 4096) {
  return {true, nullptr, numbers_per_piece};
}

/// Carries out steps as the I/O side does, with a store that accepts everything, until the
/// connection wants to read or close. Records every write and pause.
struct driver {
  session_connection_config cfg;  // outlives the connection, as a server's does
  session_connection c;
  std::vector<std::string> writes;
  int pauses = 0;
  std::vector<action> store_calls;
  std::chrono::steady_clock::time_point now = t0;

  explicit driver(session_connection_config config_ = config(), session_policy p = policy())
      : cfg(config_), c(cfg, std::move(p), 7, t0) {
    c.lifetime().ready(t0);
  }

  /// Lends bytes as a read does: they stay valid until the connection next wants to read.
  void feed(std::string bytes) {
    lent = std::move(bytes);
    c.feed(lent);
  }
  std::string lent;
  /// Called during each write (with the number of writes so far), before it completes.
  std::function<void(std::size_t)> on_write;

  step run() {
    for (;;) {
      const step s = c.next(now);
      switch (s) {
        case step::write:
          writes.emplace_back(c.output());
          if (on_write)
            on_write(writes.size());
          c.written();
          break;
        case step::store:
          store_calls.push_back(c.store_action());
          answer_store();
          break;
        case step::pause:
          ++pauses;
          c.paused();
          break;
        case step::read:
        case step::close:
          return s;
        case step::upgrade:
          FAIL("the resumable protocol never upgrades");
          return s;
      }
    }
  }

  void answer_store() {
    switch (c.store_action()) {
      case action::create_session:
        c.on_created(store_status::ok);
        break;
      case action::attach_session: {
        attach_result r{store_status::ok, c.rules().pending_record(), 0};
        r.record.sequence.mode = sequence_mode::test;
        r.record.sequence.n = 10;
        r.record.sequence.batch = 5;
        c.on_attached(r);
        break;
      }
      case action::complete_session:
        c.on_completed(store_status::ok);
        break;
      case action::proceed:
      case action::close:
        FAIL("no store operation was asked for");
    }
  }

  std::string wire() const {
    std::string all;
    for (const auto& w : writes)
      all += w;
    return all;
  }
};

}  // namespace

TEST_CASE("session_connection: pipelined requests are answered in order, in one write") {
  driver d;
  d.feed(init_10_5 + "RECV,0;RECV,1;FIN;");
  CHECK(d.run() == step::close);
  CHECK(d.store_calls == std::vector<action>{action::create_session, action::complete_session});
  REQUIRE(d.writes.size() == 1);
  CHECK(d.writes[0] == "ACK;" + num_0 + num_1 + fac_10);
}

TEST_CASE("session_connection: the first step is a read, and a read follows every answer") {
  driver d;
  CHECK(d.run() == step::read);
  d.feed(init_10_5);
  CHECK(d.run() == step::read);
  d.feed("RECV,1;");
  CHECK(d.run() == step::read);
  CHECK(d.writes == std::vector<std::string>{"ACK;", num_1});
}

TEST_CASE("session_connection: a request split anywhere is answered once it is whole") {
  const std::string bytes = init_10_5 + "RECV,0;";
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    CAPTURE(split);
    driver d;
    d.feed(bytes.substr(0, split));
    CHECK(d.run() == step::read);
    d.feed(bytes.substr(split));
    CHECK(d.run() == step::read);
    CHECK(d.wire() == "ACK;" + num_0);
  }
}

TEST_CASE("session_connection: replies are written once they reach the flush threshold") {
  driver d(config(/*output_buffer=*/40));
  d.feed(init_10_5 + "RECV,0;RECV,1;RECV,0;RECV,1;");
  CHECK(d.run() == step::read);
  // ACK; (4 B) + NUM 0 (18 B) is under 40; NUM 1 (19 B) passes it: written. Then the last two
  // stay under it until there is nothing more to read.
  REQUIRE(d.writes.size() == 2);
  CHECK(d.writes[0] == "ACK;" + num_0 + num_1);
  CHECK(d.writes[1] == num_0 + num_1);
}

TEST_CASE("session_connection: a large NUM is written in pieces that join into the reply") {
  // Two numbers per piece, a 5-number batch, threshold 8 bytes: a piece is added while the
  // buffer is under the threshold, and the buffer is written once it is not.
  driver d(config(/*output_buffer=*/8), policy(/*numbers_per_piece=*/2));
  d.feed(init_10_5 + "RECV,0;");
  CHECK(d.run() == step::read);
  CHECK(d.writes == std::vector<std::string>{"ACK;NUM,6:41", ":81:68:68;"});
}

TEST_CASE("session_connection: nothing after FIN is read, FAC is the last write, then close") {
  driver d;
  d.feed(init_10_5 + "FIN;RECV,0;garbage");
  CHECK(d.run() == step::close);
  CHECK(d.wire() == "ACK;" + fac_10);
}

TEST_CASE("session_connection: bad bytes get one ERR, written, then close") {
  driver d;
  d.feed("HELLO;RECV,0;");
  CHECK(d.run() == step::close);
  CHECK(d.wire() == "ERR,unknown message type (types are case-sensitive, in upper case);");
}

TEST_CASE("session_connection: the invalid-index error keeps the connection open") {
  driver d;
  d.feed(init_10_5 + "RECV,2;RECV,1;");
  CHECK(d.run() == step::read);
  CHECK(d.wire() == "ACK;ERR,Invalid batch index requested: 2;" + num_1);
}

TEST_CASE("session_connection: a close between replies is immediate") {
  driver d;
  d.feed(init_10_5);
  CHECK(d.run() == step::read);
  CHECK(d.c.lifetime().request_close(t0) == connection_lifetime::verdict::close_now);
  CHECK(d.run() == step::close);
}

TEST_CASE("session_connection: a takeover during a NUM in pieces lets the reply finish first") {
  driver d(config(/*output_buffer=*/8), policy(/*numbers_per_piece=*/2));
  d.feed(init_10_5 + "RECV,0;RECV,1;");
  // The session is taken over while the first piece of NUM 0 is being written.
  d.on_write = [&](std::size_t writes) {
    if (writes == 1)
      CHECK(d.c.lifetime().request_close(t0) == connection_lifetime::verdict::keep_open);
  };
  CHECK(d.run() == step::close);
  CHECK(d.wire() == "ACK;" + num_0);  // NUM 0 whole; RECV 1 never answered
}

TEST_CASE("session_connection: the session timer lets a reply in flight finish, then closes") {
  driver d(config(/*output_buffer=*/8), policy(/*numbers_per_piece=*/2));
  d.feed(init_10_5 + "RECV,0;RECV,1;");
  d.on_write = [&](std::size_t writes) {
    if (writes == 2) {  // the session timer fires amid NUM 0's pieces
      CHECK(d.c.lifetime().on_deadline(t0 + 1000ms) == connection_lifetime::timer::session);
      CHECK(d.c.lifetime().closing());
    }
  };
  CHECK(d.run() == step::close);
  CHECK(d.wire() == "ACK;" + num_0);
}

TEST_CASE("session_connection: a close asked for amid pipelined replies waits for them") {
  driver d;
  d.feed(init_10_5 + "RECV,0;");
  d.on_write = [&](std::size_t) {
    CHECK(d.c.lifetime().request_close(t0) == connection_lifetime::verdict::keep_open);
  };
  CHECK(d.run() == step::close);
  CHECK(d.wire() == "ACK;" + num_0);
}

TEST_CASE("session_connection: with an interval, each NUM is paced, errors are not") {
  auto cfg = config();
  cfg.interval = 50ms;
  driver d(cfg);
  d.feed(init_10_5 + "RECV,0;RECV,9;RECV,1;");
  CHECK(d.run() == step::read);
  CHECK(d.pauses == 2);
  CHECK(d.wire() == "ACK;" + num_0 + "ERR,Invalid batch index requested: 9;" + num_1);
  // What came before a paced NUM was written before the pause.
  CHECK(d.writes.front() == "ACK;");
}

TEST_CASE("session_connection: lent bytes are kept across a store operation") {
  driver d;
  std::string scratch = init_10_5 + "RECV,0;RECV,1;";
  d.c.feed(scratch);
  REQUIRE(d.c.next(t0) == step::store);
  std::fill(scratch.begin(), scratch.end(), '#');  // another connection reuses the buffer
  d.answer_store();
  CHECK(d.run() == step::read);
  CHECK(d.wire() == "ACK;" + num_0 + num_1);
}

TEST_CASE("session_connection: an idle connection holds no read buffer") {
  driver d;
  d.feed(init_10_5 + "RECV,0;RE");
  CHECK(d.run() == step::read);
  d.c.idle();
  CHECK(d.c.reader().pending() == 2);  // the unfinished frame is kept
  d.feed("CV,1;");
  CHECK(d.run() == step::read);
  d.c.idle();
  CHECK(d.c.reader().capacity() == 0);
  CHECK(d.wire() == "ACK;" + num_0 + num_1);
}

TEST_CASE("session_connection: CONT attaches to the session and serves it") {
  driver d;
  d.feed("CONT," + golden_id + ";RECV,1;");
  CHECK(d.run() == step::read);
  CHECK(d.store_calls == std::vector<action>{action::attach_session});
  CHECK(d.wire() == "ACK;" + num_1);
  CHECK(d.c.rules().owns_session());
}
