// Accept q-values (RFC 9110 12.5.1), If-None-Match (13.1.2, weak comparison 8.8.3.2) and
// token lists, row by row.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "numsequence/http/header_values.hpp"

using namespace numsequence;

TEST_CASE("http_header_values: the quality Accept gives a type, most specific range first") {
  struct row {
    std::string accept;
    unsigned text_plain;
    unsigned application_json;
  };
  const std::vector<row> rows = {
      {"", 1000, 1000},
      {"   ", 1000, 1000},
      {"*/*", 1000, 1000},
      {"text/plain", 1000, 0},
      {"TEXT/Plain", 1000, 0},
      {"application/json", 0, 1000},
      {"text/*", 1000, 0},
      {"text/*;q=0.3, text/plain;q=0.7", 700, 0},
      {"text/plain;q=0.7, text/*;q=0.9", 700, 0},  // the specific range wins, even lower
      {"*/*;q=0.1, application/json", 100, 1000},
      {"text/plain; charset=utf-8; q=0.5", 500, 0},
      {"text/plain;q=0", 0, 0},
      {"text/plain;q=1.000", 1000, 0},
      {"text/plain;q=0.001", 1, 0},
      {"text/plain;Q=0.5", 500, 0},
      {"text/plain;q=0.5;level=1", 500, 0},             // accept-ext after q is ignored
      {"text/plain;q=1.5, application/json", 0, 1000},  // invalid q: member skipped
      {"text/plain;q=0.1234", 0, 0},
      {"text/plain;q=abc", 0, 0},
      {"text/plain;q=", 0, 0},
      {"text/plain, text/plain;q=0.2", 1000, 0},  // equally specific: the highest
      {"text/html, garbage, application/json;q=0.4", 0, 400},
      {"*/plain", 0, 0},  // not a media range
      {R"(text/plain;x="a,b";q=0.3, application/json;q=0.2)", 300, 200},
      {",,text/plain,,", 1000, 0},
  };
  for (const row& r : rows) {
    CAPTURE(r.accept);
    CHECK(accept_quality(r.accept, "text", "plain") == r.text_plain);
    CHECK(accept_quality(r.accept, "application", "json") == r.application_json);
  }
}

TEST_CASE("http_header_values: text only when text/plain is preferred to JSON") {
  struct row {
    std::string accept;
    negotiated_type expected;
  };
  const std::vector<row> rows = {
      {"", negotiated_type::json},
      {"*/*", negotiated_type::json},
      {"text/plain", negotiated_type::text},
      {"text/plain, application/json", negotiated_type::json},  // a tie keeps the default
      {"text/plain, application/json;q=0.9", negotiated_type::text},
      {"application/json;q=0.5, text/plain;q=0.6", negotiated_type::text},
      {"text/plain;q=0.5, */*", negotiated_type::json},
      {"text/*, */*;q=0.1", negotiated_type::text},
      {"text/html", negotiated_type::json},  // neither acceptable: the default
      {"image/png, text/plain;q=0.01", negotiated_type::text},
      {"text/plain;q=0", negotiated_type::json},
  };
  for (const row& r : rows) {
    CAPTURE(r.accept);
    CHECK(negotiate_json_or_text(r.accept) == r.expected);
  }
}

TEST_CASE("http_header_values: If-None-Match against a strong tag") {
  const std::string etag = R"("fibonacci-v1/json/n/0/5")";
  struct row {
    std::string header;
    bool matches;
  };
  const std::vector<row> rows = {
      {R"("fibonacci-v1/json/n/0/5")", true},
      {R"(W/"fibonacci-v1/json/n/0/5")", true},  // weak comparison
      {R"("x", "fibonacci-v1/json/n/0/5")", true},
      {R"("x",W/"y" ,  "fibonacci-v1/json/n/0/5")", true},
      {"*", true},
      {" * ", true},
      {R"("fibonacci-v1/json/n/0/6")", false},
      {R"("FIBONACCI-V1/json/n/0/5")", false},
      {"fibonacci-v1/json/n/0/5", false},                // not quoted: malformed
      {R"(garbage, "fibonacci-v1/json/n/0/5")", false},  // read up to the first malformed one
      {R"("fibonacci-v1/json/n/0/5)", false},
      {"", false},
      {R"("a,b", "fibonacci-v1/json/n/0/5")", true},  // a comma inside a tag
      {R"(w/"fibonacci-v1/json/n/0/5")", false},      // W/ is case-sensitive
  };
  for (const row& r : rows) {
    CAPTURE(r.header);
    CHECK(if_none_match_matches(r.header, etag) == r.matches);
  }
}

TEST_CASE("http_header_values: token lists, without regard to case") {
  CHECK(list_has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(list_has_token("Upgrade", "upgrade"));
  CHECK(list_has_token(" websocket ", "websocket"));
  CHECK(list_has_token("h2c,WebSocket", "websocket"));
  CHECK_FALSE(list_has_token("", "upgrade"));
  CHECK_FALSE(list_has_token("upgraded", "upgrade"));
  CHECK_FALSE(list_has_token("websocket/13", "websocket"));
}
