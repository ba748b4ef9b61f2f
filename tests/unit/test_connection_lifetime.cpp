// connection_lifetime: when a connection closes, with times passed in (no clock, no socket).

#include <doctest/doctest.h>

#include <chrono>

#include "numsequence/server/connection_lifetime.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using verdict = connection_lifetime::verdict;
using timer = connection_lifetime::timer;
using time_point = connection_lifetime::time_point;

namespace {

const time_point t0{std::chrono::hours(1)};

connection_timeouts timeouts(std::chrono::milliseconds session, std::chrono::milliseconds idle) {
  connection_timeouts t;
  t.session = session;
  t.idle = idle;
  return t;
}

}  // namespace

TEST_CASE("lifetime: the earliest of the session and idle deadlines is the deadline") {
  connection_lifetime l(timeouts(1000ms, 300ms), t0);
  l.ready(t0);
  CHECK(l.deadline() == t0 + 300ms);
  l.request_completed(t0 + 200ms);
  CHECK(l.deadline() == t0 + 500ms);
  l.request_completed(t0 + 900ms);
  CHECK(l.deadline() == t0 + 1000ms);
}

TEST_CASE("lifetime: without timers there is no deadline once the handshake is over") {
  connection_lifetime l(timeouts(0ms, 0ms), t0);
  CHECK(l.deadline() == t0 + std::chrono::seconds(10));  // the handshake's own bound
  l.ready(t0 + 1ms);
  CHECK(l.deadline() == time_point::max());
}

TEST_CASE("lifetime: an idle connection is closed at once when its deadline passes") {
  connection_lifetime l(timeouts(0ms, 100ms), t0);
  l.ready(t0);
  CHECK(l.on_deadline(t0 + 99ms) == timer::none);
  CHECK_FALSE(l.closed());
  CHECK(l.on_deadline(t0 + 100ms) == timer::idle);
  CHECK(l.closed());
  CHECK(l.deadline() == time_point::max());
}

TEST_CASE("lifetime: the session timer lets the reply in progress finish") {
  connection_lifetime l(timeouts(1000ms, 300ms), t0);
  l.ready(t0);
  l.request_completed(t0 + 900ms);
  l.reply_started();
  CHECK(l.on_deadline(t0 + 1000ms) == timer::session);
  CHECK(l.closing());
  CHECK_FALSE(l.close_after_write());
  l.reply_finished();
  CHECK(l.close_after_write());
}

TEST_CASE("lifetime: the session timer closes at once between replies") {
  connection_lifetime l(timeouts(1000ms, 0ms), t0);
  l.ready(t0);
  CHECK(l.on_deadline(t0 + 1000ms) == timer::session);
  CHECK(l.closed());
}

TEST_CASE("lifetime: a pending close gives the reply one idle period, writes do not extend it") {
  connection_lifetime l(timeouts(0ms, 300ms), t0);
  l.ready(t0);
  l.reply_started();
  CHECK(l.request_close(t0 + 100ms) == verdict::keep_open);  // a takeover, say
  CHECK(l.deadline() == t0 + 400ms);
  l.writing(t0 + 350ms);  // a slow reader takes one more piece
  CHECK(l.deadline() == t0 + 400ms);
  CHECK(l.on_deadline(t0 + 400ms) == timer::idle);
  CHECK(l.closed());
}

TEST_CASE("lifetime: a write restarts the idle timer while the connection is open") {
  connection_lifetime l(timeouts(0ms, 300ms), t0);
  l.ready(t0);
  l.writing(t0 + 250ms);
  CHECK(l.deadline() == t0 + 550ms);
}

TEST_CASE("lifetime: a pause that is part of a reply does not count as idleness") {
  connection_lifetime l(timeouts(0ms, 300ms), t0);
  l.ready(t0);
  l.pausing(t0 + 10ms, 1000ms);
  CHECK(l.deadline() == t0 + 1310ms);
}

TEST_CASE("lifetime: a close asked for twice, or after closing, is harmless") {
  connection_lifetime l(timeouts(0ms, 300ms), t0);
  l.ready(t0);
  l.reply_started();
  CHECK(l.request_close(t0) == verdict::keep_open);
  CHECK(l.request_close(t0 + 1ms) == verdict::keep_open);
  l.close();
  CHECK(l.request_close(t0 + 2ms) == verdict::close_now);
  CHECK(l.on_deadline(t0 + 3ms) == timer::none);
  CHECK(l.closed());
}
