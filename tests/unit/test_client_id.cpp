// Unit tests for client_id: parsing, random version-4 ids, redaction.

#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "numsequence/protocol/client_id.hpp"

using numsequence::client_id;

TEST_CASE("client_id: default is the nil UUID") {
  const client_id nil;
  CHECK(nil.view() == "00000000-0000-0000-0000-000000000000");
  CHECK(client_id::parse("00000000-0000-0000-0000-000000000000") == nil);
}

TEST_CASE("client_id: parse accepts lower, upper and mixed case and keeps the exact text") {
  for (std::string_view text :
       {"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
        "123e4567-E89b-12D3-a456-426614174ABC"}) {
    CAPTURE(text);
    const auto id = client_id::parse(text);
    REQUIRE(id.has_value());
    CHECK(id->view() == text);
    CHECK(id->str() == std::string(text));
  }
}

TEST_CASE("client_id: ids differing only in case are different ids") {
  const auto lower = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  const auto upper = client_id::parse("123E4567-E89B-12D3-A456-426614174000");
  REQUIRE(lower.has_value());
  REQUIRE(upper.has_value());
  CHECK(*lower != *upper);
}

TEST_CASE("client_id: equal ids hash equally") {
  const auto a = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  const auto b = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(std::hash<client_id>{}(*a) == std::hash<client_id>{}(*b));
}

TEST_CASE("client_id: parse rejects what is not 8-4-4-4-12 hex") {
  const std::string with_nul(
      "123e4567-e89b-12d3-a456-4266141\0"
      "4000",
      36);
  REQUIRE(with_nul.size() == client_id::size);
  for (std::string_view text : {
           std::string_view(""),
           std::string_view("123e4567-e89b-12d3-a456-42661417400"),    // 35
           std::string_view("123e4567-e89b-12d3-a456-4266141740000"),  // 37
           std::string_view("{23e4567-e89b-12d3-a456-42661417400}"),   // 36, braces
           std::string_view("123e4567e-89b-12d3-a456-426614174000"),   // dash moved
           std::string_view("123e4567-e89b-12d3-a4564-26614174000"),   // dash moved
           std::string_view("123e4567-e89b-12d3-a456-42661417-000"),   // extra dash
           std::string_view("123e4567e89b012d30a4560426614174000a"),   // no dashes
           std::string_view("123e4567-e89b-12d3-a456-42661417400g"),
           std::string_view("123e4567-e89b-12d3-a456-42661417400G"),
           std::string_view("123e4567-e89b-12d3-a456-42661417400 "),
           std::string_view("123e4567_e89b_12d3_a456_426614174000"),
           std::string_view(with_nul),
       }) {
    CAPTURE(text);
    CHECK_FALSE(client_id::parse(text).has_value());
  }
}

TEST_CASE("client_id: random() is a lower-case version-4 UUID that parses back") {
  const client_id id = client_id::random();
  const std::string_view text = id.view();
  CAPTURE(text);
  CHECK(text[14] == '4');
  CHECK(std::string_view("89ab").find(text[19]) != std::string_view::npos);
  CHECK(text.find_first_not_of("0123456789abcdef-") == std::string_view::npos);
  const auto parsed = client_id::parse(text);
  REQUIRE(parsed.has_value());
  CHECK(*parsed == id);
}

TEST_CASE("client_id: random() gives a different id each call") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(client_id::random().str());
  CHECK(seen.size() == 100);
  CHECK(client_id::random() != client_id::random());
}

TEST_CASE("client_id: redacted() shows only the first 8 characters") {
  const auto id = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  REQUIRE(id.has_value());
  const std::string shown = id->redacted();
  CHECK(shown == "123e4567\xE2\x80\xA6");  // "123e4567…"
  CHECK(shown.find("e89b") == std::string::npos);
  CHECK(shown.find("426614174000") == std::string::npos);
}
