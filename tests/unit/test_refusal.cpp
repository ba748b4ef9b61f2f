// Refusals: the wire texts (the reference's, byte for byte) and their codes, both ways.

#include <doctest/doctest.h>

#include <ostream>  // doctest only forward-declares it; printing error_code needs it
#include <string>

#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/refusal.hpp"

using namespace numsequence;

namespace {
constexpr std::string_view id = "123e4567-e89b-12d3-a456-426614174000";
}

TEST_CASE("refusal: the reference's texts, byte for byte") {
  std::string out;
  append_refusal(out, refusal::already_exists, id);
  CHECK(out == "ERR,123e4567-e89b-12d3-a456-426614174000 already exist;");
  out.clear();
  append_refusal(out, refusal::does_not_exist, id);
  CHECK(out == "ERR,Client-id: 123e4567-e89b-12d3-a456-426614174000 does not exist;");
  out.clear();
  append_refusal(out, refusal::invalid_batch_index, "99");
  CHECK(out == "ERR,Invalid batch index requested: 99;");
  out.clear();
  append_refusal(out, refusal::server_busy);
  CHECK(out == "ERR,server busy;");
  CHECK(refusal_text(refusal::store_unavailable) == "session store unavailable");
}

TEST_CASE("refusal: a Fibonacci n above the limit names the limit") {
  std::string out;
  append_refusal(out, refusal::fibonacci_too_large, "25000");
  CHECK(out == "ERR,n too large for fibonacci (at most 25000 on this server);");
  CHECK(classify_err("n too large for fibonacci (at most 100 on this server)") ==
        make_error_code(refusal::fibonacci_too_large));
  CHECK_FALSE(is_transient(refusal::fibonacci_too_large));
}

TEST_CASE("refusal: every code is classified back from its own text") {
  for (auto r : {refusal::already_exists, refusal::does_not_exist, refusal::invalid_batch_index,
                 refusal::store_unavailable, refusal::too_many_sessions, refusal::server_busy,
                 refusal::fibonacci_too_large}) {
    CAPTURE(static_cast<int>(r));
    CHECK(classify_err(refusal_text(r, "x")) == make_error_code(r));
  }
}

TEST_CASE("refusal: protocol errors are classified as protocol errors") {
  for (auto e : {protocol_errc::frame_too_long, protocol_errc::unknown_type,
                 protocol_errc::session_completed, protocol_errc::unknown_sequence_kind}) {
    CHECK(classify_err(make_error_code(e).message()) == make_error_code(e));
  }
}

TEST_CASE("refusal: an unknown text has no code") {
  CHECK_FALSE(classify_err("something new"));
  CHECK_FALSE(classify_err(""));
}

TEST_CASE("refusal: only 'not now' refusals are transient") {
  CHECK(is_transient(refusal::store_unavailable));
  CHECK(is_transient(refusal::server_busy));
  CHECK_FALSE(is_transient(refusal::already_exists));
  CHECK_FALSE(is_transient(refusal::does_not_exist));
  CHECK_FALSE(is_transient(refusal::too_many_sessions));
  CHECK_FALSE(is_transient(refusal::invalid_batch_index));
}

TEST_CASE("refusal: the category's message is the wire text where it names nothing") {
  CHECK(make_error_code(refusal::server_busy).message() == "server busy");
  CHECK(std::string(refusal_category().name()) == "numsequence.refusal");
}
