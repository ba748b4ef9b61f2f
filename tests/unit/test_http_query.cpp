// parse_query and parse_request_target: what uriparser makes of queries and request-targets,
// and the %00 a C-string interface would silently cut.

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "numsequence/http/query.hpp"
#include "numsequence/http/request_target.hpp"

using namespace numsequence;

TEST_CASE("http_query: pairs are decoded in order, plus is a space") {
  struct row {
    std::string raw;
    query_parameters expected;
  };
  const std::vector<row> rows = {
      {"", {}},
      {"n=5", {{"n", "5", true}}},
      {"from=3&to=07", {{"from", "3", true}, {"to", "07", true}}},
      {"n=1+2", {{"n", "1 2", true}}},
      {"n=%2B5", {{"n", "+5", true}}},
      {"%6E=5", {{"n", "5", true}}},
      {"n", {{"n", "", false}}},
      {"n=", {{"n", "", true}}},
      {"a=1&&b=2&", {{"a", "1", true}, {"b", "2", true}}},
      {"a=b=c", {{"a", "b=c", true}}},
      {"n=%zz", {{"n", "%zz", true}}},
      {"n=%C3%A9", {{"n", "\xC3\xA9", true}}},
      {"n=1&n=2", {{"n", "1", true}, {"n", "2", true}}},
  };
  for (const row& r : rows) {
    CAPTURE(r.raw);
    const auto parsed = parse_query(r.raw);
    REQUIRE(parsed);
    CHECK(*parsed == r.expected);
  }
}

TEST_CASE("http_query: an encoded NUL is refused rather than cutting the value") {
  for (const std::string raw : {"n=5%00abc", "n%00=5", "a=1&n=%00"}) {
    CAPTURE(raw);
    CHECK_FALSE(parse_query(raw));
  }
  CHECK(parse_query("n=%0"));  // not an escape of NUL: kept as it is
}

TEST_CASE("http_query: a repeated key is counted, the first is found") {
  const auto q = parse_query("n=1&x=2&n=3");
  REQUIRE(q);
  CHECK(count_parameter(*q, "n") == 2);
  CHECK(count_parameter(*q, "x") == 1);
  CHECK(count_parameter(*q, "y") == 0);
  REQUIRE(find_parameter(*q, "n") != nullptr);
  CHECK(find_parameter(*q, "n")->value == "1");
  CHECK(find_parameter(*q, "y") == nullptr);
}

TEST_CASE("http_request_target: forms, normalisation and refusals") {
  struct row {
    std::string target;
    std::optional<std::string> path;
    std::string query;
  };
  const std::vector<row> rows = {
      {"/", "/", ""},
      {"/v1/fibonacci?n=5", "/v1/fibonacci", "n=5"},
      {"/v1/fibonacci?n=%35", "/v1/fibonacci", "n=%35"},  // the query is left for parse_query
      {"//v1/fibonacci", "//v1/fibonacci", ""},           // a path, not an authority
      {"/v1/./fibonacci/../fibonacci", "/v1/fibonacci", ""},
      {"/../../fib", "/fib", ""},
      {"/v1/fibonacci/%35", "/v1/fibonacci/5", ""},
      {"/a%2fb", "/a%2Fb", ""},  // an escaped slash stays escaped
      {"/fib/", "/fib/", ""},
      {"http://example.com/fib?limit=3", "/fib", "limit=3"},
      {"HTTPS://example.com", "/", ""},
      {"*", "*", ""},
      {"/a b", std::nullopt, ""},
      {"/a|b", std::nullopt, ""},
      {"/a#frag", std::nullopt, ""},
      {"/%zz", std::nullopt, ""},
      {"fib", std::nullopt, ""},
      {"", std::nullopt, ""},
      {"ftp://example.com/fib", std::nullopt, ""},
      {"http:/fib", std::nullopt, ""},
      {"mailto:someone", std::nullopt, ""},
  };
  for (const row& r : rows) {
    CAPTURE(r.target);
    const auto t = parse_request_target(r.target);
    REQUIRE(t.has_value() == r.path.has_value());
    if (t) {
      CHECK(t->path == *r.path);
      CHECK(t->query == r.query);
    }
  }
}
