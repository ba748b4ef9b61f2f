// route(): one row per route and per error, with the status, body type and exact message;
// canonical keys equal exactly for equal answers.

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/router.hpp"

using namespace numsequence;
using namespace std::string_literals;

namespace {

/// A request as the parser hands it out: the tests go through the real parser, so the
/// path and query are what a client's bytes become.
http_request request_for(const std::string& method, const std::string& target,
                         const std::string& extra_headers = {}) {
  request_parser p;
  const std::string head =
      method + " " + target + " HTTP/1.1\r\nHost: a\r\n" + extra_headers + "\r\n";
  const parse_result r = p.consume(head);
  REQUIRE(r.what == parse_result::kind::request);
  return p.request();
}

route_result route_for(const std::string& target, const std::string& accept = {},
                       std::uint64_t max = 100, const std::string& method = "GET") {
  const std::string headers = accept.empty() ? std::string() : "Accept: " + accept + "\r\n";
  return route(request_for(method, target, headers), {max});
}

struct fib_row {
  std::string target;
  std::string accept;
  fibonacci_shape shape;
  fibonacci_format format;
  std::uint64_t from;
  std::uint64_t count;
  body_type body;
  bool vary;
  std::string key;
};

struct error_row {
  std::string target;
  std::string accept;
  unsigned status;
  body_type body;
  std::string message;
};

}  // namespace

TEST_CASE("http_router: the Fibonacci routes and their canonical keys") {
  using enum fibonacci_shape;
  using enum fibonacci_format;
  const std::vector<fib_row> rows = {
      {"/v1/fibonacci?n=5", "", first_n, json, 0, 5, body_type::json, true,
       "fibonacci-v1/json/n/0/5"},
      {"/v1/fibonacci?n=0", "", first_n, json, 0, 0, body_type::json, true,
       "fibonacci-v1/json/n/0/0"},
      {"/v1/fibonacci?n=100", "", first_n, json, 0, 100, body_type::json, true,
       "fibonacci-v1/json/n/0/100"},
      {"/v1/fibonacci?n=5", "text/plain", first_n, text_spaces, 0, 5, body_type::text, true,
       "fibonacci-v1/text/n/0/5"},
      {"/v1/fibonacci?from=3&to=6", "", range, json, 3, 4, body_type::json, true,
       "fibonacci-v1/json/range/3/4"},
      {"/v1/fibonacci?from=7&to=7", "", range, json, 7, 1, body_type::json, true,
       "fibonacci-v1/json/range/7/1"},
      {"/v1/fibonacci?from=0&to=99", "", range, json, 0, 100, body_type::json, true,
       "fibonacci-v1/json/range/0/100"},
      {"/v1/fibonacci?from=3&to=6", "text/*", range, text_spaces, 3, 4, body_type::text, true,
       "fibonacci-v1/text/range/3/4"},
      {"/v1/fibonacci/7", "", single, json, 7, 1, body_type::json, true, "fibonacci-v1/json/k/7/1"},
      {"/v1/fibonacci/99", "", single, json, 99, 1, body_type::json, true,
       "fibonacci-v1/json/k/99/1"},
      {"/v1/fibonacci/7", "text/plain, application/json;q=0.5", single, text_spaces, 7, 1,
       body_type::text, true, "fibonacci-v1/text/k/7/1"},
      {"/fib?limit=5", "", first_n, text_lines, 0, 5, body_type::text, false,
       "fibonacci-v1/lines/n/0/5"},
      {"/fib?limit=5", "application/json", first_n, text_lines, 0, 5, body_type::text, false,
       "fibonacci-v1/lines/n/0/5"},
      {"/fib/5", "", first_n, compat_result, 0, 5, body_type::json, false,
       "fibonacci-v1/compat/n/0/5"},
      {"/fib/5", "text/plain", first_n, compat_result, 0, 5, body_type::json, false,
       "fibonacci-v1/compat/n/0/5"},
  };
  for (const fib_row& r : rows) {
    CAPTURE(r.target);
    CAPTURE(r.accept);
    const route_result res = route_for(r.target, r.accept);
    CHECK(res.kind == route_kind::fibonacci);
    CHECK(res.status == 200);
    CHECK_FALSE(res.head);
    CHECK(res.fibonacci.shape == r.shape);
    CHECK(res.fibonacci.format == r.format);
    CHECK(res.fibonacci.from == r.from);
    CHECK(res.fibonacci.count == r.count);
    CHECK(res.body == r.body);
    CHECK(res.vary_accept == r.vary);
    CHECK(res.canonical_key == r.key);
    CHECK(res.cache == cache_policy::immutable);
    CHECK(res.message.empty());
  }
}

TEST_CASE("http_router: equal answers have equal keys, whatever the spelling") {
  const std::vector<std::vector<std::string>> same = {
      {"/v1/fibonacci?n=5", "/v1/fibonacci?n=05", "/v1/fibonacci?n=0000000005",
       "/v1/fibonacci?x=1&n=5", "/v1/fibonacci?n=5&_=123", "/v1/fibonacci?n=%35",
       "/v1/./fibonacci?n=5", "http://example.com/v1/fibonacci?n=5"},
      {"/v1/fibonacci?from=3&to=6", "/v1/fibonacci?to=6&from=3", "/v1/fibonacci?from=03&to=006"},
      {"/v1/fibonacci/7", "/v1/fibonacci/007", "/v1/fibonacci/%37"},
      {"/fib?limit=5", "/fib?limit=05&other=1"},
      {"/fib/5", "/fib/0005"},
  };
  std::vector<std::string> keys;
  for (const auto& group : same) {
    const std::string key = route_for(group.front()).canonical_key;
    for (const std::string& target : group) {
      CAPTURE(target);
      CHECK(route_for(target).canonical_key == key);
    }
    keys.push_back(key);
  }
  // Different answers, different keys: the first n and the same numbers as a range differ
  // in their JSON, and JSON and text differ in their bytes.
  keys.push_back(route_for("/v1/fibonacci?from=0&to=4").canonical_key);
  keys.push_back(route_for("/v1/fibonacci?n=5", "text/plain").canonical_key);
  keys.push_back(route_for("/v1/fibonacci?n=6").canonical_key);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j)
      CHECK(keys[i] != keys[j]);
  }
}

TEST_CASE("http_router: bad parameters are 400 with a message that names and quotes them") {
  const std::vector<error_row> rows = {
      {"/v1/fibonacci?n=-1", "", 400, body_type::json,
       R"(parameter "n" must not be negative, got "-1")"},
      {"/v1/fibonacci?n=-0", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "-0")"},
      {"/v1/fibonacci?n=abc", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "abc")"},
      {"/v1/fibonacci?n=1.5", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "1.5")"},
      {"/v1/fibonacci?n=1e3", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "1e3")"},
      {"/v1/fibonacci?n=", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "")"},
      {"/v1/fibonacci?n", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "")"},
      {"/v1/fibonacci?n=+5", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got " 5")"},
      {"/v1/fibonacci?n=%2B5", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "+5")"},
      {"/v1/fibonacci?n=%225%5C", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "\"5\\")"},
      {"/v1/fibonacci?n=%C3%A9%0A", "", 400, body_type::json,
       R"(parameter "n" must be a non-negative integer, got "\xC3\xA9\x0A")"},
      {"/v1/fibonacci?n=101", "", 400, body_type::json,
       R"(parameter "n" must be at most 100, got "101")"},
      {"/v1/fibonacci?n=99999999999999999999999", "", 400, body_type::json,
       R"(parameter "n" must be at most 100, got "99999999999999999999999")"},
      {"/v1/fibonacci?n=5&n=5", "", 400, body_type::json,
       R"(parameter "n" is given more than once)"},
      {"/v1/fibonacci?n=5&from=1&to=2", "", 400, body_type::json,
       R"(give either "n" or "from" and "to", not both)"},
      {"/v1/fibonacci?n=5&to=2", "", 400, body_type::json,
       R"(give either "n" or "from" and "to", not both)"},
      {"/v1/fibonacci", "", 400, body_type::json, R"(missing parameter "n" (or "from" and "to"))"},
      {"/v1/fibonacci?N=5", "", 400, body_type::json,
       R"(missing parameter "n" (or "from" and "to"))"},
      {"/v1/fibonacci?from=1", "", 400, body_type::json, R"(missing parameter "to")"},
      {"/v1/fibonacci?to=1", "", 400, body_type::json, R"(missing parameter "from")"},
      {"/v1/fibonacci?from=1&to=2&to=3", "", 400, body_type::json,
       R"(parameter "to" is given more than once)"},
      {"/v1/fibonacci?from=7&to=3", "", 400, body_type::json,
       R"(parameter "from" (7) must not be greater than "to" (3))"},
      {"/v1/fibonacci?from=x&to=3", "", 400, body_type::json,
       R"(parameter "from" must be a non-negative integer, got "x")"},
      {"/v1/fibonacci?from=0&to=100", "", 400, body_type::json,
       R"(parameter "to" must be below 100, got "100")"},
      {"/v1/fibonacci?from=100&to=100", "", 400, body_type::json,
       R"(parameter "from" must be below 100, got "100")"},
      {"/v1/fibonacci?n=-1", "text/plain", 400, body_type::text,
       R"(parameter "n" must not be negative, got "-1")"},
      {"/v1/fibonacci?n=5%00", "", 400, body_type::json,
       "malformed query string: %00 is not allowed"},
      {"/v1/fibonacci/abc", "", 400, body_type::json,
       R"(path parameter "k" must be a non-negative integer, got "abc")"},
      {"/v1/fibonacci/-3", "text/plain", 400, body_type::text,
       R"(path parameter "k" must not be negative, got "-3")"},
      {"/v1/fibonacci/100", "", 400, body_type::json,
       R"(path parameter "k" must be below 100, got "100")"},
      {"/v1/fibonacci/%2F", "", 400, body_type::json,
       R"(path parameter "k" must be a non-negative integer, got "%2F")"},
      {"/fib?limit=-1", "", 400, body_type::text,
       R"(parameter "limit" must not be negative, got "-1")"},
      {"/fib?limit=101", "application/json", 400, body_type::text,
       R"(parameter "limit" must be at most 100, got "101")"},
      {"/fib", "", 400, body_type::text, R"(missing parameter "limit")"},
      {"/fib?limit=1&limit=2", "", 400, body_type::text,
       R"(parameter "limit" is given more than once)"},
      {"/fib/x1", "", 400, body_type::json,
       R"(path parameter "N" must be a non-negative integer, got "x1")"},
      {"/fib/101", "", 400, body_type::json,
       R"(path parameter "N" must be at most 100, got "101")"},
  };
  for (const error_row& r : rows) {
    CAPTURE(r.target);
    CAPTURE(r.accept);
    const route_result res = route_for(r.target, r.accept);
    CHECK(res.kind == route_kind::error);
    CHECK(res.status == r.status);
    CHECK(res.body == r.body);
    CHECK(res.message == r.message);
    CHECK(res.canonical_key.empty());
    CHECK(res.cache == cache_policy::no_store);
  }
}

TEST_CASE("http_router: a long value is quoted in part, with its length") {
  const std::string digits(100'000, '7');
  const route_result res = route_for("/v1/fibonacci?n=" + digits.substr(0, 7000));
  CHECK(res.status == 400);
  CHECK(res.message == R"(parameter "n" must be at most 100, got ")" + std::string(40, '7') +
                           R"(..." (7000 bytes))");
  // Leading zeros do not count: any number of them is accepted.
  const route_result zeros = route_for("/v1/fibonacci?n=" + std::string(7000, '0') + "42");
  CHECK(zeros.kind == route_kind::fibonacci);
  CHECK(zeros.fibonacci.count == 42);
}

TEST_CASE("http_router: a value of the largest uint64 and one past it are above the limit") {
  const route_result max = route_for("/v1/fibonacci?n=18446744073709551615", "", 100);
  CHECK(max.message == R"(parameter "n" must be at most 100, got "18446744073709551615")");
  const route_result past = route_for("/v1/fibonacci?n=18446744073709551616", "", 100);
  CHECK(past.message == R"(parameter "n" must be at most 100, got "18446744073709551616")");
}

TEST_CASE("http_router: the limit is max_fibonacci, clamped to what can be computed") {
  CHECK(route_for("/v1/fibonacci?n=25000", "", default_max_fibonacci).status == 200);
  CHECK(route_for("/v1/fibonacci?n=25001", "", default_max_fibonacci).status == 400);
  const route_result huge = route_for("/v1/fibonacci/1000000001", "", UINT64_MAX);
  CHECK(huge.status == 400);
  CHECK(huge.message == R"(path parameter "k" must be below 1000000001, got "1000000001")");
  CHECK(route_for("/v1/fibonacci/1000000000", "", UINT64_MAX).status == 200);
  // With a limit of 0, n = 0 is the only answer.
  CHECK(route_for("/v1/fibonacci?n=0", "", 0).status == 200);
  CHECK(route_for("/v1/fibonacci/0", "", 0).message ==
        R"(path parameter "k" must be below 0, got "0")");
}

TEST_CASE("http_router: the page") {
  const route_result plain = route_for("/");
  CHECK(plain.kind == route_kind::page);
  CHECK(plain.status == 200);
  CHECK(plain.body == body_type::page);
  CHECK_FALSE(plain.page_num);
  CHECK(plain.canonical_key == "page");
  CHECK(plain.cache == cache_policy::revalidate);

  const route_result with = route_for("/?num=010");
  CHECK(with.kind == route_kind::page);
  CHECK(with.status == 200);
  CHECK(with.page_num == std::optional<std::uint64_t>(10));
  CHECK(with.canonical_key == "page/10");
  CHECK(with.cache == cache_policy::revalidate);

  struct row {
    std::string target, message;
  };
  for (const row& r : std::vector<row>{
           {"/?num=abc", R"(parameter "num" must be a non-negative integer, got "abc")"},
           {"/?num=-2", R"(parameter "num" must not be negative, got "-2")"},
           {"/?num=", R"(parameter "num" must be a non-negative integer, got "")"},
           {"/?num=100", R"(parameter "num" must be below 100, got "100")"},
           {"/?num=1&num=2", R"(parameter "num" is given more than once)"},
           {"/?num=%00", "malformed query string: %00 is not allowed"},
       }) {
    CAPTURE(r.target);
    const route_result res = route_for(r.target);
    CHECK(res.kind == route_kind::page);
    CHECK(res.status == 400);
    CHECK(res.body == body_type::page);
    CHECK_FALSE(res.page_num);
    CHECK(res.message == r.message);
    CHECK(res.canonical_key.empty());
    CHECK(res.cache == cache_policy::no_store);
  }
}

TEST_CASE("http_router: unknown paths are 404, other methods 405 with Allow") {
  struct row {
    std::string method, target;
    unsigned status;
    body_type body;
    std::string message;
    bool vary;
  };
  const std::vector<row> rows = {
      {"GET", "/nope", 404, body_type::text, R"(no such resource: "/nope")", false},
      {"GET", "/v1/nope", 404, body_type::json, R"(no such resource: "/v1/nope")", false},
      {"GET", "/v1/fibonacci/", 404, body_type::json, R"(no such resource: "/v1/fibonacci/")",
       false},
      {"GET", "/v1/fibonacci/5/6", 404, body_type::json, R"(no such resource: "/v1/fibonacci/5/6")",
       false},
      {"GET", "/fib/", 404, body_type::text, R"(no such resource: "/fib/")", false},
      {"GET", "/FIB?limit=1", 404, body_type::text, R"(no such resource: "/FIB")", false},
      {"POST", "/nope", 404, body_type::text, R"(no such resource: "/nope")", false},
      {"POST", "/v1/fibonacci?n=5", 405, body_type::json, "method not allowed: use GET or HEAD",
       true},
      {"DELETE", "/v1/fibonacci/5", 405, body_type::json, "method not allowed: use GET or HEAD",
       true},
      {"PUT", "/fib?limit=5", 405, body_type::text, "method not allowed: use GET or HEAD", false},
      {"OPTIONS", "/fib/5", 405, body_type::json, "method not allowed: use GET or HEAD", false},
      {"POST", "/", 405, body_type::text, "method not allowed: use GET or HEAD", false},
      {"POST", "/v1/stream", 405, body_type::text, "method not allowed: use GET or HEAD", false},
      {"PATCH", "/metrics", 405, body_type::text, "method not allowed: use GET or HEAD", false},
      {"POST", "/healthz", 405, body_type::text, "method not allowed: use GET or HEAD", false},
      {"POST", "/readyz", 405, body_type::text, "method not allowed: use GET or HEAD", false},
  };
  for (const row& r : rows) {
    CAPTURE(r.method);
    CAPTURE(r.target);
    const route_result res = route(request_for(r.method, r.target), {100});
    CHECK(res.kind == route_kind::error);
    CHECK(res.status == r.status);
    CHECK(res.body == r.body);
    CHECK(res.message == r.message);
    CHECK(res.allow_get_head == (r.status == 405));
    CHECK(res.vary_accept == r.vary);
    CHECK(res.cache == cache_policy::no_store);
  }
  const std::string long_path = "/" + std::string(100, 'x');
  CHECK(route(request_for("GET", long_path), {100}).message ==
        R"(no such resource: "/)" + std::string(39, 'x') + R"(..." (101 bytes))");
}

TEST_CASE("http_router: HEAD takes every GET route and says so") {
  for (const std::string target : {"/v1/fibonacci?n=5", "/v1/fibonacci/3", "/fib?limit=2", "/fib/2",
                                   "/", "/?num=3", "/metrics", "/healthz", "/readyz"}) {
    CAPTURE(target);
    const route_result get = route_for(target);
    const route_result head = route_for(target, "", 100, "HEAD");
    CHECK(head.head);
    CHECK_FALSE(get.head);
    CHECK(head.kind == get.kind);
    CHECK(head.status == get.status);
    CHECK(head.canonical_key == get.canonical_key);
  }
  const route_result bad = route_for("/v1/fibonacci?n=x", "", 100, "HEAD");
  CHECK(bad.head);
  CHECK(bad.status == 400);
}

TEST_CASE("http_router: metrics and health routes are their own kinds") {
  CHECK(route_for("/metrics").kind == route_kind::metrics);
  CHECK(route_for("/healthz").kind == route_kind::healthz);
  CHECK(route_for("/readyz").kind == route_kind::readyz);
  CHECK(route_for("/metrics?x=%00").kind == route_kind::metrics);  // their query is theirs
  CHECK(route_for("/metrics").cache == cache_policy::no_store);
}

TEST_CASE("http_router: /v1/stream is the WebSocket, without an upgrade it is 426") {
  const std::string upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\n";
  const route_result ws = route(request_for("GET", "/v1/stream", upgrade), {100});
  CHECK(ws.kind == route_kind::websocket);

  const std::string mixed = "Connection: keep-alive, Upgrade\r\nUpgrade: h2c, WebSocket\r\n";
  CHECK(route(request_for("GET", "/v1/stream", mixed), {100}).kind == route_kind::websocket);

  for (const std::string& headers :
       {std::string(), "Upgrade: websocket\r\n"s, "Connection: Upgrade\r\nUpgrade: h2c\r\n"s}) {
    CAPTURE(headers);
    for (const std::string method : {"GET", "HEAD"}) {
      const route_result res = route(request_for(method, "/v1/stream", headers), {100});
      CHECK(res.kind == route_kind::error);
      CHECK(res.status == 426);
      CHECK(res.upgrade_websocket);
      CHECK(res.body == body_type::text);
      CHECK(res.message == "/v1/stream speaks WebSocket only: send a WebSocket upgrade request");
    }
  }
  // HEAD cannot open a WebSocket (RFC 6455 4.1: the handshake is a GET).
  CHECK(route(request_for("HEAD", "/v1/stream", upgrade), {100}).status == 426);
}

TEST_CASE("http_router: fibonacci_key spells every format and shape") {
  using enum fibonacci_shape;
  using enum fibonacci_format;
  CHECK(fibonacci_key({first_n, json, 0, 5}) == "fibonacci-v1/json/n/0/5");
  CHECK(fibonacci_key({range, text_spaces, 3, 4}) == "fibonacci-v1/text/range/3/4");
  CHECK(fibonacci_key({single, json, 7, 1}) == "fibonacci-v1/json/k/7/1");
  CHECK(fibonacci_key({first_n, text_lines, 0, 0}) == "fibonacci-v1/lines/n/0/0");
  CHECK(fibonacci_key({first_n, compat_result, 0, 25000}) == "fibonacci-v1/compat/n/0/25000");
}
