// What each message does to a connection and its session, fed as events without sockets.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/session/session_rules.hpp"

using namespace numsequence;
using action = connection_rules::action;

namespace {

const client_id golden_id = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");

session_policy test_policy() {
  return {true, nullptr};
}

recv_message recv(std::uint64_t index) {
  recv_message m;
  m.index = index;
  return m;
}

/// Drives the rules through INIT with a store that accepts it.
connection_rules attached_rules(std::uint32_t n, std::uint32_t batch,
                                session_policy policy = test_policy()) {
  connection_rules rules(std::move(policy), 7);
  std::string out;
  REQUIRE(rules.on_message(init_message{golden_id, n, batch}, out) == action::create_session);
  REQUIRE(rules.on_created(store_status::ok, out) == action::proceed);
  REQUIRE(out == "ACK;");
  return rules;
}

session_record completed_record(const md5_digest& sum) {
  session_record r;
  r.sequence.mode = sequence_mode::test;
  r.sequence.id = golden_id;
  r.sequence.n = 10;
  r.sequence.batch = 5;
  r.completed_checksum = sum;
  return r;
}

}  // namespace

TEST_CASE("INIT asks the store to create the session described by the message") {
  connection_rules rules(test_policy(), 42);
  std::string out;
  CHECK(rules.on_message(init_message{golden_id, 10, 5}, out) == action::create_session);
  CHECK(out.empty());
  CHECK(rules.lease() == 42);
  const auto& rec = rules.pending_record();
  CHECK(rec.sequence.id == golden_id);
  CHECK(rec.sequence.n == 10);
  CHECK(rec.sequence.batch == 5);
  CHECK(rec.sequence.mode == sequence_mode::test);
  CHECK_FALSE(rec.completed());
  CHECK_FALSE(rules.owns_session());
}

TEST_CASE("a created session is acknowledged, owned, and serves the reference's numbers") {
  auto rules = attached_rules(10, 5);
  CHECK(rules.owns_session());
  std::string out;
  CHECK(rules.on_message(recv(0), out) == action::proceed);
  CHECK(rules.on_message(recv(1), out) == action::proceed);
  CHECK(rules.on_message(recv(0), out) == action::proceed);  // repeats allowed
  CHECK(out == "NUM,6:41:81:68:68;NUM,41:10:40:78:98;NUM,6:41:81:68:68;");
}

TEST_CASE("a batch larger than a piece is produced piece by piece, with the same bytes") {
  session_policy pieces = test_policy();
  pieces.numbers_per_piece = 4;
  auto rules = attached_rules(23, 10, pieces);  // batches of 10, 10 and 3 numbers
  auto whole = attached_rules(23, 10);          // the default piece holds any of them
  for (std::uint64_t k : {0u, 2u, 1u, 0u}) {
    CAPTURE(k);
    std::string expected;
    REQUIRE(whole.on_message(recv(k), expected) == action::proceed);
    REQUIRE_FALSE(whole.reply_unfinished());

    std::string out;
    REQUIRE(rules.on_message(recv(k), out) == action::proceed);
    std::vector<std::string> written;  // what a server would write between pieces
    while (rules.reply_unfinished()) {
      written.push_back(std::exchange(out, {}));
      rules.continue_reply(out);
    }
    written.push_back(out);
    std::string joined;
    for (const auto& piece : written)
      joined += piece;
    CHECK(joined == expected);
    // 10 numbers in pieces of 4: three pieces; the last batch (3 numbers) in one.
    CHECK(written.size() == (k == 2 ? 1u : 3u));
    CHECK(written.front().starts_with("NUM,"));
    CHECK(written.back().ends_with(";"));
  }
  // Errors are never in pieces, and FIN still answers after a pieced reply.
  std::string out;
  CHECK(rules.on_message(recv(3), out) == action::proceed);
  CHECK_FALSE(rules.reply_unfinished());
  CHECK(out.starts_with("ERR,Invalid batch index requested: 3"));
  out.clear();
  CHECK(rules.on_message(fin_message{}, out) == action::complete_session);
}

TEST_CASE("RECV outside 0..ceil(n/batch)-1 gets the reference's error and the connection stays") {
  auto rules = attached_rules(10, 5);
  std::string out;
  CHECK(rules.on_message(recv(2), out) == action::proceed);
  CHECK(out == "ERR,Invalid batch index requested: 2;");
  out.clear();
  CHECK(rules.on_message(recv(18446744073709551615ULL), out) == action::proceed);
  CHECK(out == "ERR,Invalid batch index requested: 18446744073709551615;");
  out.clear();
  recv_message beyond_64_bits = recv(18446744073709551615ULL);
  beyond_64_bits.overflow_digits = "1234567890123456789012345";
  CHECK(rules.on_message(beyond_64_bits, out) == action::proceed);
  CHECK(out == "ERR,Invalid batch index requested: 1234567890123456789012345;");
  out.clear();
  CHECK(rules.on_message(recv(1), out) == action::proceed);
  CHECK(out == "NUM,41:10:40:78:98;");
}

TEST_CASE("a session of n = 0 has no batches and the checksum of []") {
  auto rules = attached_rules(0, 5);
  std::string out;
  CHECK(rules.on_message(recv(0), out) == action::proceed);
  CHECK(out == "ERR,Invalid batch index requested: 0;");
  out.clear();
  CHECK(rules.on_message(fin_message{}, out) == action::complete_session);
  CHECK(to_hex(rules.pending_checksum()) == "d751713988987e9331980363e24189ce");
}

TEST_CASE("FIN completes with the checksum of the whole sequence, whatever was asked") {
  auto rules = attached_rules(10, 5);
  std::string out;
  CHECK(rules.on_message(fin_message{}, out) == action::complete_session);
  CHECK(to_hex(rules.pending_checksum()) == "9b14501c5359fb4eac96df9e874348b2");
  CHECK(rules.pending_id() == golden_id);
  CHECK(rules.on_completed(store_status::ok, out) == action::close);
  CHECK(out == "FAC,9b14501c5359fb4eac96df9e874348b2;");
  CHECK(rules.completed());
  CHECK_FALSE(rules.owns_session());  // nothing to park after FIN
}

TEST_CASE("FIN still answers FAC when the store could not record the completion") {
  auto rules = attached_rules(5, 5);
  std::string out;
  REQUIRE(rules.on_message(fin_message{}, out) == action::complete_session);
  CHECK(rules.on_completed(store_status::unavailable, out) == action::close);
  CHECK(out == "FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;");
}

TEST_CASE("INIT for an id that has a session gets the reference's error and closes") {
  connection_rules rules(test_policy(), 1);
  std::string out;
  REQUIRE(rules.on_message(init_message{golden_id, 5, 5}, out) == action::create_session);
  CHECK(rules.on_created(store_status::already_exists, out) == action::close);
  CHECK(out == "ERR,123e4567-e89b-12d3-a456-426614174000 already exist;");
  CHECK_FALSE(rules.owns_session());
}

TEST_CASE("CONT for an unknown id gets the reference's error and closes") {
  connection_rules rules(test_policy(), 1);
  std::string out;
  REQUIRE(rules.on_message(cont_message{golden_id}, out) == action::attach_session);
  CHECK(rules.pending_id() == golden_id);
  attach_result missing;
  missing.status = store_status::not_found;
  CHECK(rules.on_attached(missing, out) == action::close);
  CHECK(out == "ERR,Client-id: 123e4567-e89b-12d3-a456-426614174000 does not exist;");
}

TEST_CASE("CONT resumes a parked session from the record the store returns") {
  connection_rules rules(test_policy(), 3);
  std::string out;
  REQUIRE(rules.on_message(cont_message{golden_id}, out) == action::attach_session);
  attach_result found;
  found.status = store_status::ok;
  found.record = completed_record({});
  found.record.completed_checksum.reset();
  CHECK(rules.on_attached(found, out) == action::proceed);
  CHECK(rules.owns_session());
  CHECK(rules.on_message(recv(1), out) == action::proceed);
  CHECK(out == "ACK;NUM,41:10:40:78:98;");
}

TEST_CASE("CONT on a completed session: FIN repeats the FAC, RECV is refused") {
  const auto sum = *md5_from_hex("9b14501c5359fb4eac96df9e874348b2");
  attach_result found;
  found.status = store_status::ok;
  found.record = completed_record(sum);

  SUBCASE("FIN") {
    connection_rules rules(test_policy(), 3);
    std::string out;
    REQUIRE(rules.on_message(cont_message{golden_id}, out) == action::attach_session);
    CHECK(rules.on_attached(found, out) == action::proceed);
    CHECK_FALSE(rules.owns_session());
    CHECK(rules.completed());
    CHECK(rules.on_message(fin_message{}, out) == action::close);
    CHECK(out == "ACK;FAC,9b14501c5359fb4eac96df9e874348b2;");
  }
  SUBCASE("RECV") {
    connection_rules rules(test_policy(), 3);
    std::string out;
    REQUIRE(rules.on_message(cont_message{golden_id}, out) == action::attach_session);
    REQUIRE(rules.on_attached(found, out) == action::proceed);
    out.clear();
    CHECK(rules.on_message(recv(0), out) == action::close);
    CHECK(out == "ERR," + make_error_code(protocol_errc::session_completed).message() + ";");
  }
}

TEST_CASE("messages out of order get one ERR and close") {
  std::string out;
  SUBCASE("RECV before INIT/CONT") {
    connection_rules rules(test_policy(), 1);
    CHECK(rules.on_message(recv(0), out) == action::close);
    CHECK(out == "ERR," + make_error_code(protocol_errc::session_not_started).message() + ";");
  }
  SUBCASE("FIN before INIT/CONT") {
    connection_rules rules(test_policy(), 1);
    CHECK(rules.on_message(fin_message{}, out) == action::close);
    CHECK(out == "ERR," + make_error_code(protocol_errc::session_not_started).message() + ";");
  }
  SUBCASE("a second INIT, and the session stays owned so that it gets parked") {
    auto rules = attached_rules(10, 5);
    CHECK(rules.on_message(init_message{golden_id, 10, 5}, out) == action::close);
    CHECK(out == "ERR," + make_error_code(protocol_errc::session_already_started).message() + ";");
    CHECK(rules.owns_session());
  }
  SUBCASE("a CONT after INIT") {
    auto rules = attached_rules(10, 5);
    CHECK(rules.on_message(cont_message{golden_id}, out) == action::close);
    CHECK(out.starts_with("ERR,"));
  }
  SUBCASE("anything after close is ignored") {
    connection_rules rules(test_policy(), 1);
    REQUIRE(rules.on_message(fin_message{}, out) == action::close);
    out.clear();
    CHECK(rules.on_message(init_message{golden_id, 1, 1}, out) == action::close);
    CHECK(out.empty());
  }
}

TEST_CASE("bytes that are not a message get the error's text and close") {
  connection_rules rules(test_policy(), 1);
  std::string out;
  CHECK(rules.on_decode_error(protocol_errc::frame_too_long, out) == action::close);
  CHECK(out == "ERR," + make_error_code(protocol_errc::frame_too_long).message() + ";");
  CHECK(out.find(';') == out.size() - 1);
  SUBCASE("after close, bad bytes get no second ERR") {
    out.clear();
    CHECK(rules.on_decode_error(protocol_errc::frame_too_long, out) == action::close);
    CHECK(out.empty());
  }
}

TEST_CASE("an unreachable store is reported as such for INIT and CONT") {
  std::string out;
  connection_rules creating(test_policy(), 1);
  REQUIRE(creating.on_message(init_message{golden_id, 5, 5}, out) == action::create_session);
  CHECK(creating.on_created(store_status::unavailable, out) == action::close);
  CHECK(out == "ERR,session store unavailable;");

  out.clear();
  connection_rules attaching(test_policy(), 1);
  REQUIRE(attaching.on_message(cont_message{golden_id}, out) == action::attach_session);
  attach_result down;
  down.status = store_status::unavailable;
  CHECK(attaching.on_attached(down, out) == action::close);
  CHECK(out == "ERR,session store unavailable;");
}

TEST_CASE("a full store refuses INIT with too many sessions and closes, CONT is unaffected") {
  std::string out;
  connection_rules creating(test_policy(), 1);
  REQUIRE(creating.on_message(init_message{golden_id, 5, 5}, out) == action::create_session);
  CHECK(creating.on_created(store_status::full, out) == action::close);
  CHECK(out == "ERR,too many sessions (the server's session limit is reached, try again later);");
  CHECK_FALSE(creating.owns_session());
  out.clear();
  CHECK(creating.on_message(recv(0), out) == action::close);  // nothing after the refusal
  CHECK(out.empty());

  // full is no attach outcome: a store that answered it is faulty.
  connection_rules attaching(test_policy(), 1);
  REQUIRE(attaching.on_message(cont_message{golden_id}, out) == action::attach_session);
  attach_result odd;
  odd.status = store_status::full;
  CHECK(attaching.on_attached(odd, out) == action::close);
  CHECK(out == "ERR,session store unavailable;");
}

TEST_CASE("normal mode seeds each session through the policy and sends uint32 numbers") {
  int calls = 0;
  session_policy policy{false, [&](const client_id& id) {
                          ++calls;
                          CHECK(id == golden_id);
                          return std::uint64_t{0x0123456789abcdefULL};
                        }};
  auto rules = attached_rules(1000, 1000, policy);
  CHECK(calls == 1);
  CHECK(rules.pending_record().sequence.mode == sequence_mode::normal);
  CHECK(rules.pending_record().sequence.seed == 0x0123456789abcdefULL);
  std::string out;
  REQUIRE(rules.on_message(recv(0), out) == action::proceed);
  server_message parsed;
  REQUIRE_FALSE(parse_server_message(std::string_view(out).substr(0, out.size() - 1), parsed));
  const auto& numbers = std::get<num_message>(parsed).numbers;
  REQUIRE(numbers.size() == 1000);
  CHECK(*std::max_element(numbers.begin(), numbers.end()) > 100000u);

  // The same seed gives the same batch on another connection (another server).
  auto again = attached_rules(1000, 1000, policy);
  std::string out2;
  REQUIRE(again.on_message(recv(0), out2) == action::proceed);
  CHECK(out2 == out);
}
