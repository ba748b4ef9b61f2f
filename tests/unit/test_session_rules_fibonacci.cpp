// Fibonacci sessions in the connection rules: INIT's kind and limit, NUM bytes (whole and in
// pieces by bytes), FIN. Expected values come from Python (exact integers, str(list), MD5).

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/session/session_rules.hpp"

using namespace numsequence;
using action = connection_rules::action;

namespace {

const client_id some_id = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");

session_policy fibonacci_policy(std::uint64_t max_fibonacci = default_max_fibonacci) {
  session_policy p{false, [](const client_id&) { return std::uint64_t{7}; }};
  p.max_fibonacci = max_fibonacci;
  return p;
}

recv_message recv(std::uint64_t index) {
  recv_message m;
  m.index = index;
  return m;
}

init_message fibonacci_init(std::uint32_t n, std::uint32_t batch) {
  return init_message{some_id, n, batch, sequence_kind::fibonacci};
}

connection_rules attached(std::uint32_t n, std::uint32_t batch,
                          session_policy policy = fibonacci_policy()) {
  connection_rules rules(std::move(policy), 9);
  std::string out;
  REQUIRE(rules.on_message(fibonacci_init(n, batch), out) == action::create_session);
  REQUIRE(rules.on_created(store_status::ok, out) == action::proceed);
  REQUIRE(out == "ACK;");
  return rules;
}

/// The whole reply to RECV,k as a server writes it: pieces, each written before the next.
std::vector<std::string> reply_pieces(connection_rules& rules, std::uint64_t k) {
  std::vector<std::string> pieces(1);
  REQUIRE(rules.on_message(recv(k), pieces.back()) == action::proceed);
  while (rules.reply_unfinished()) {
    pieces.emplace_back();
    rules.continue_reply(pieces.back());
  }
  return pieces;
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string all;
  for (const auto& p : pieces)
    all += p;
  return all;
}

}  // namespace

TEST_CASE("fibonacci session: INIT with the kind asks to create a Fibonacci record") {
  connection_rules rules(fibonacci_policy(), 1);
  std::string out;
  CHECK(rules.on_message(fibonacci_init(10, 4), out) == action::create_session);
  CHECK(out.empty());
  const auto& seq = rules.pending_record().sequence;
  CHECK(seq.mode == sequence_mode::fibonacci);
  CHECK(seq.id == some_id);
  CHECK(seq.n == 10);
  CHECK(seq.batch == 4);
}

TEST_CASE("fibonacci session: a test-mode server still serves Fibonacci for the kind") {
  session_policy p = fibonacci_policy();
  p.test_mode = true;
  auto rules = attached(10, 4, p);
  CHECK(rules.pending_record().sequence.mode == sequence_mode::fibonacci);
  std::string out;
  REQUIRE(rules.on_message(recv(2), out) == action::proceed);
  CHECK(out == "NUM,21:34;");
}

TEST_CASE("fibonacci session: n above the limit is refused with the limit, before the store") {
  connection_rules rules(fibonacci_policy(100), 1);
  std::string out;
  CHECK(rules.on_message(fibonacci_init(101, 5), out) == action::close);
  CHECK(out == "ERR,n too large for fibonacci (at most 100 on this server);");
  CHECK_FALSE(rules.owns_session());
  out.clear();
  CHECK(rules.on_message(recv(0), out) == action::close);  // nothing after the refusal
  CHECK(out.empty());
}

TEST_CASE("fibonacci session: n equal to the limit is accepted, a random n above it too") {
  connection_rules at_limit(fibonacci_policy(100), 1);
  std::string out;
  CHECK(at_limit.on_message(fibonacci_init(100, 5), out) == action::create_session);
  connection_rules random(fibonacci_policy(100), 1);
  CHECK(random.on_message(init_message{some_id, 65535, 5}, out) == action::create_session);
  CHECK(random.pending_record().sequence.mode == sequence_mode::normal);
  CHECK(out.empty());
}

TEST_CASE("fibonacci session: small batches are the exact numbers, in order and jumping back") {
  auto rules = attached(100, 7);  // 15 batches, the last of two numbers
  std::string out;
  for (std::uint64_t k : {0u, 13u, 14u, 0u}) {
    REQUIRE(rules.on_message(recv(k), out) == action::proceed);
    CHECK_FALSE(rules.reply_unfinished());
  }
  CHECK(out ==
        "NUM,0:1:1:2:3:5:8;"
        "NUM,4660046610375530309:7540113804746346429:12200160415121876738:"
        "19740274219868223167:31940434634990099905:51680708854858323072:83621143489848422977;"
        "NUM,135301852344706746049:218922995834555169026;"
        "NUM,0:1:1:2:3:5:8;");
  out.clear();
  CHECK(rules.on_message(recv(15), out) == action::proceed);
  CHECK(out == "ERR,Invalid batch index requested: 15;");
}

TEST_CASE("fibonacci session: a batch larger than the byte budget comes in pieces by bytes") {
  // F(80) .. F(89): 187 bytes of numbers with their separators.
  const std::string whole_reply =
      "NUM,23416728348467685:37889062373143906:61305790721611591:99194853094755497:"
      "160500643816367088:259695496911122585:420196140727489673:679891637638612258:"
      "1100087778366101931:1779979416004714189;";
  session_policy small = fibonacci_policy();
  small.fibonacci_bytes_per_piece = 40;
  auto rules = attached(90, 10, small);
  auto whole = attached(90, 10);
  for (int round = 0; round < 2; ++round) {  // the second time the cursor must move back
    CAPTURE(round);
    const auto pieces = reply_pieces(rules, 8);
    CHECK(joined(pieces) == whole_reply);
    const auto one = reply_pieces(whole, 8);
    CHECK(one.size() == 1);
    CHECK(joined(one) == whole_reply);
    // 57, 56, 58 and 21 bytes: each of the first three ends with the number that passes 40.
    REQUIRE(pieces.size() == 4);
    for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
      CAPTURE(i);
      // A piece stops at the first number that reaches the budget: at most one number over.
      CHECK(pieces[i].size() >= 40);
      CHECK(pieces[i].size() < 40 + 21);
    }
    CHECK(pieces.front().starts_with("NUM,"));
    CHECK(pieces.back().ends_with(";"));
  }
}

TEST_CASE("fibonacci session: a piece counts its budget from what the buffer already holds") {
  session_policy small = fibonacci_policy();
  small.fibonacci_bytes_per_piece = 20;
  auto rules = attached(90, 10, small);
  std::string out = std::string(1000, 'x');  // earlier replies not yet written
  REQUIRE(rules.on_message(recv(8), out) == action::proceed);
  CHECK(out.size() > 1000 + 20);
  CHECK(out.size() < 1000 + 20 + 21);
  CHECK(rules.reply_unfinished());
}

TEST_CASE("fibonacci session: FIN answers the MD5 of Python's str of the list") {
  struct row {
    std::uint32_t n;
    const char* fac;
  };
  for (const row r :
       {row{0, "d751713988987e9331980363e24189ce"}, row{1, "8d5162ca104fa7e79fe80fd92bb657fb"},
        row{5, "cfed83aeea304f32a65cb64b4a1bf0a1"},
        row{1000, "b64b2bbc2244d405cd1c2a8b0b8718a7"}}) {
    CAPTURE(r.n);
    auto rules = attached(r.n, 7);
    std::string out;
    REQUIRE(rules.on_message(fin_message{}, out) == action::complete_session);
    CHECK(to_hex(rules.pending_checksum()) == r.fac);
    CHECK(rules.on_completed(store_status::ok, out) == action::close);
    CHECK(out == std::string("FAC,") + r.fac + ";");
  }
}

TEST_CASE("fibonacci session: CONT serves the Fibonacci numbers of the stored record") {
  connection_rules rules(fibonacci_policy(), 3);
  std::string out;
  REQUIRE(rules.on_message(cont_message{some_id}, out) == action::attach_session);
  attach_result found;
  found.status = store_status::ok;
  found.record.sequence.mode = sequence_mode::fibonacci;
  found.record.sequence.id = some_id;
  found.record.sequence.n = 10;
  found.record.sequence.batch = 4;
  REQUIRE(rules.on_attached(found, out) == action::proceed);
  CHECK(rules.owns_session());
  CHECK(rules.on_message(recv(1), out) == action::proceed);
  CHECK(out == "ACK;NUM,3:5:8:13;");
}
