// http_connection: an HTTP connection driven without a socket: bytes are fed, steps are carried
// out by a small loop here, and what was written is read back with http_parser as a client
// would. Expected bodies come from the contract (http.md) and from Python (MD5s below:
// hashlib.md5(json.dumps({"sequence":"fibonacci","n":N,"numbers":[...]},
// separators=(",",":")).encode()).hexdigest()).

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../integration/http_response.hpp"
#include "../integration/md5_text.hpp"
#include "numsequence/server/http_connection.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using numsequence::integration::md5_hex;
using numsequence::integration::parse_responses;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours(1)};
constexpr std::string_view date_text = "Sun, 06 Nov 1994 08:49:37 GMT";
// The first 1000 numbers as JSON: 105,587 bytes, MD5 from Python.
constexpr std::string_view json_1000_md5 = "0293af867a9ad457e6cd4e7f490c9f0f";
constexpr std::size_t json_1000_size = 105'587;
// F(999) has 209 digits: the longest number of that answer.
constexpr std::size_t longest_number_1000 = 209;

/// What the server would provide, with fixed answers and a record of what was asked.
struct fake_services : http_services {
  /// @param large_bytes  the large-answer cache's budget: off unless a test turns it on
  explicit fake_services(std::size_t large_bytes = 0) : large_(large_bytes, 1) {}
  response_cache cache_{4 * 1024 * 1024};
  response_cache large_;
  std::optional<std::string> not_ready_;
  std::vector<std::pair<route_kind, unsigned>> answers;

  std::string_view date() override { return date_text; }
  response_cache& cache() override { return cache_; }
  response_cache& large_answers() override { return large_; }
  std::string page(const route_result& r) override {
    if (r.status != 200)
      return "<p>error: " + r.message + "</p>";
    return r.page_num ? "<p>page " + std::to_string(*r.page_num) + "</p>" : "<p>page</p>";
  }
  std::string metrics() override { return "numsequence_up 1\n"; }
  std::optional<std::string> not_ready() override { return not_ready_; }
  void answered(const route_result& route, unsigned status) override {
    answers.emplace_back(route.kind, status);
  }
};

http_connection_config config(std::size_t output_buffer = 64 * 1024,
                              std::size_t render_whole_limit = 1024 * 1024) {
  http_connection_config c;
  c.output_buffer = output_buffer;
  c.render_whole_limit = render_whole_limit;
  c.timeouts.idle = 300ms;
  return c;
}

// Small pieces: the first 1000 numbers (105 KB) are streamed in pieces of about 1 KB.
http_connection_config streaming_config() {
  return config(/*output_buffer=*/1024, /*render_whole_limit=*/4096);
}

std::string get(std::string_view target, std::string_view extra = {},
                std::string_view version = "HTTP/1.1", std::string_view method = "GET") {
  return std::string(method) + " " + std::string(target) + " " + std::string(version) +
         "\r\nHost: a\r\n" + std::string(extra) + "\r\n";
}

std::string head_of(std::string_view response) {
  return std::string(response.substr(0, response.find("\r\n\r\n") + 4));
}

/// Carries out steps as the I/O side does, until the connection wants to read, close or
/// upgrade. Records every write.
struct driver {
  http_connection_config cfg;  // outlives the connection, as a server's does
  fake_services own_services;
  fake_services& services;  // own_services, or those of another driver (one server)
  http_connection c;
  std::vector<std::string> writes;
  std::function<void(std::size_t)> on_write;  // during each write, before it completes
  std::chrono::steady_clock::time_point now = t0;
  std::string lent;

  explicit driver(http_connection_config config_ = config(), std::size_t large_bytes = 0)
      : cfg(config_), own_services(large_bytes), services(own_services), c(cfg, services, t0) {
    c.lifetime().ready(t0);
  }
  /// A second connection of the same server: `shared` must outlive it.
  driver(http_connection_config config_, fake_services& shared)
      : cfg(config_), services(shared), c(cfg, services, t0) {
    c.lifetime().ready(t0);
  }

  /// Lends bytes as a read does: valid until the connection next wants to read.
  void feed(std::string bytes) {
    lent = std::move(bytes);
    c.feed(lent);
  }

  io_step run() {
    for (int steps = 0; steps < 1'000'000; ++steps) {
      const io_step s = c.next(now);
      if (s != io_step::write)
        return s;
      writes.emplace_back(c.output());
      if (on_write)
        on_write(writes.size());
      c.written();
    }
    FAIL("the connection never stopped writing");
    return io_step::close;
  }

  std::string wire() const {
    std::string all;
    for (const auto& w : writes)
      all += w;
    return all;
  }
};

}  // namespace

TEST_CASE("http_connection: a small answer has its exact bytes, sized, and the socket stays open") {
  driver d;
  d.feed(get("/v1/fibonacci?n=5"));
  CHECK(d.run() == io_step::read);
  CHECK(d.wire() ==
        "HTTP/1.1 200 OK\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 52\r\n"
        "ETag: \"fibonacci-v1/json/n/0/5\"\r\n"
        "Cache-Control: public, max-age=31536000, immutable\r\n"
        "Vary: Accept\r\n"
        "\r\n"
        R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})");
  CHECK_FALSE(d.c.lifetime().closing());
}

TEST_CASE("http_connection: pipelined requests are answered in order, in one write") {
  driver d;
  d.feed(get("/fib?limit=3") + get("/fib/5") + get("/healthz") + get("/v1/fibonacci/7"));
  CHECK(d.run() == io_step::read);
  REQUIRE(d.writes.size() == 1);
  const auto r = parse_responses(d.writes[0]);
  REQUIRE(r.size() == 4);
  CHECK(r[0].body == "0\n1\n1\n");
  CHECK(r[1].body == R"({"N":5,"result":"0 1 1 2 3"})");
  CHECK(r[2].body == "ok\n");
  CHECK(r[3].body == R"({"k":7,"value":13})");
  CHECK(d.services.answers ==
        std::vector<std::pair<route_kind, unsigned>>{{route_kind::fibonacci, 200},
                                                     {route_kind::fibonacci, 200},
                                                     {route_kind::healthz, 200},
                                                     {route_kind::fibonacci, 200}});
}

TEST_CASE("http_connection: pipelined answers are written once they reach the output buffer") {
  driver d(config(/*output_buffer=*/300));
  std::string requests;
  for (int i = 0; i < 5; ++i)
    requests += get("/fib?limit=" + std::to_string(10 + i));
  d.feed(requests);
  CHECK(d.run() == io_step::read);
  CHECK(d.writes.size() > 1);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 5);
  for (std::size_t i = 0; i < r.size(); ++i)
    CHECK(std::count(r[i].body.begin(), r[i].body.end(), '\n') == static_cast<long>(10 + i));
}

TEST_CASE("http_connection: lent bytes of the next request survive a write that waits") {
  driver d(config(/*output_buffer=*/64));
  std::string scratch = get("/fib?limit=3") + get("/fib/5");
  d.c.feed(scratch);
  REQUIRE(d.c.next(t0) == io_step::write);  // the first answer passes 64 bytes: written first
  std::fill(scratch.begin(), scratch.end(), '#');  // another connection reuses the buffer
  d.writes.emplace_back(d.c.output());
  d.c.written();
  CHECK(d.run() == io_step::read);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 2);
  CHECK(r[0].body == "0\n1\n1\n");
  CHECK(r[1].body == R"({"N":5,"result":"0 1 1 2 3"})");
}

TEST_CASE("http_connection: a request split anywhere is answered once it is whole") {
  const std::string bytes = get("/fib?limit=3");
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    CAPTURE(split);
    driver d;
    d.feed(bytes.substr(0, split));
    CHECK(d.run() == io_step::read);
    CHECK(d.writes.empty());
    d.feed(bytes.substr(split));
    CHECK(d.run() == io_step::read);
    const auto r = parse_responses(d.wire());
    REQUIRE(r.size() == 1);
    CHECK(r[0].body == "0\n1\n1\n");
  }
}

TEST_CASE("http_connection: when the connection ends after an answer") {
  struct row {
    const char* name;
    std::string request;
    io_step last;
    std::optional<std::string> connection;  // the answer's Connection header
  };
  const std::vector<row> rows = {
      {"HTTP/1.1 keeps the connection", get("/fib?limit=3"), io_step::read, std::nullopt},
      {"HTTP/1.0 closes it", get("/fib?limit=3", "", "HTTP/1.0"), io_step::close, "close"},
      {"HTTP/1.0 with keep-alive keeps it",
       get("/fib?limit=3", "Connection: keep-alive\r\n", "HTTP/1.0"), io_step::read, "keep-alive"},
      {"Connection: close closes it", get("/fib?limit=3", "Connection: close\r\n"), io_step::close,
       "close"},
      {"an error on HTTP/1.0 closes it", get("/nowhere", "", "HTTP/1.0"), io_step::close, "close"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    driver d;
    // A request after the last one must not be answered.
    d.feed(row.request + get("/healthz"));
    CHECK(d.run() == row.last);
    const auto r = parse_responses(d.wire());
    CHECK(r.size() == (row.last == io_step::close ? 1u : 2u));
    REQUIRE_FALSE(r.empty());
    CHECK(r[0].header("Connection") == row.connection);
  }
}

TEST_CASE("http_connection: HEAD gets the head GET gets, without the body") {
  struct row {
    const char* target;
    http_connection_config cfg;
  };
  const std::vector<row> rows = {
      {"/v1/fibonacci?n=10", config()},              // sized, inline
      {"/v1/fibonacci?n=1000", config()},            // sized, from the cache's memory
      {"/v1/fibonacci?n=1000", streaming_config()},  // streamed (chunked)
      {"/nowhere", config()},                        // an error
      {"/healthz", config()},
      {"/", config()},
  };
  for (const auto& row : rows) {
    CAPTURE(row.target);
    driver with_get(row.cfg);
    with_get.feed(get(row.target));
    CHECK(with_get.run() == io_step::read);
    driver with_head(row.cfg);
    // The connection goes on after HEAD, even after a streamed answer's head.
    with_head.feed(get(row.target, "", "HTTP/1.1", "HEAD") + get("/healthz"));
    CHECK(with_head.run() == io_step::read);
    const std::string head = head_of(with_get.wire());
    CHECK(with_head.wire().substr(0, head.size()) == head);
    const auto r = parse_responses(with_head.wire(), {true, false});
    REQUIRE(r.size() == 2);
    CHECK(r[0].body.empty());
    CHECK(r[1].body == "ok\n");
  }
}

TEST_CASE("http_connection: If-None-Match gets 304 when it matches the ETag, 200 otherwise") {
  struct row {
    std::string if_none_match;
    unsigned status;
  };
  // RFC 9110 13.1.2: weak comparison, any tag of the list, or "*".
  const std::vector<row> rows = {
      {R"("fibonacci-v1/json/n/0/5")", 304},      {R"(W/"fibonacci-v1/json/n/0/5")", 304},
      {R"("x", "fibonacci-v1/json/n/0/5")", 304}, {"*", 304},
      {R"("fibonacci-v1/json/n/0/6")", 200},      {R"("fibonacci-v1/text/n/0/5")", 200},
  };
  for (const auto& row : rows) {
    CAPTURE(row.if_none_match);
    driver d;
    d.feed(get("/v1/fibonacci?n=05", "If-None-Match: " + row.if_none_match + "\r\n") +
           get("/healthz"));
    CHECK(d.run() == io_step::read);
    const auto r = parse_responses(d.wire());
    REQUIRE(r.size() == 2);
    CHECK(r[0].status == row.status);
    CHECK(r[0].header("ETag") == R"("fibonacci-v1/json/n/0/5")");
    CHECK(r[0].header("Cache-Control") == "public, max-age=31536000, immutable");
    if (row.status == 304) {
      CHECK(r[0].body.empty());
      CHECK(r[0].count("Content-Length") == 0);
      CHECK(r[0].count("Content-Type") == 0);
    } else {
      CHECK(r[0].body == R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})");
    }
    CHECK(r[1].body == "ok\n");
  }
}

TEST_CASE("http_connection: the second identical request is served from the cache") {
  driver d;
  // n=05 is the same answer as n=5: the same key, so a hit too.
  d.feed(get("/v1/fibonacci?n=5") + get("/v1/fibonacci?n=5") + get("/v1/fibonacci?n=05"));
  CHECK(d.run() == io_step::read);
  const auto stats = d.services.cache_.stats();
  CHECK(stats.misses == 1);
  CHECK(stats.insertions == 1);
  CHECK(stats.hits == 2);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 3);
  for (const auto& response : r)
    CHECK(response.body == R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})");
}

TEST_CASE(
    "http_connection: a body rendered whole but too large to copy is written from the cache") {
  driver d;
  d.feed(get("/v1/fibonacci?n=1000") + get("/v1/fibonacci?n=1000"));
  CHECK(d.run() == io_step::read);
  // Each answer: its head, then the cached body in a write of its own.
  REQUIRE(d.writes.size() == 4);
  CHECK(d.writes[1].size() == json_1000_size);
  CHECK(md5_hex(d.writes[1]) == json_1000_md5);
  CHECK(d.writes[3] == d.writes[1]);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 2);
  CHECK(r[0].header("Content-Length") == std::to_string(json_1000_size));
  CHECK_FALSE(r[0].chunked);
  CHECK(d.services.cache_.stats().hits == 1);
}

TEST_CASE("http_connection: a large answer is streamed chunked, a piece per write") {
  driver d(streaming_config());
  d.feed(get("/v1/fibonacci?n=1000") + get("/healthz"));
  CHECK(d.run() == io_step::read);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 2);
  CHECK(r[0].chunked);
  CHECK(r[0].count("Content-Length") == 0);
  CHECK(r[0].body.size() == json_1000_size);
  CHECK(md5_hex(r[0].body) == json_1000_md5);
  CHECK(r[0].body == render_all({fibonacci_shape::first_n, fibonacci_format::json, 0, 1000}));
  CHECK(r[1].body == "ok\n");
  // Not cached: it was never held whole.
  CHECK(d.services.cache_.stats().insertions == 0);
  // A piece is about output_buffer bytes: it stops once past it, never splitting a number.
  const std::size_t piece_bound = 1024 + longest_number_1000 + 1;
  for (const auto size : r[0].chunk_sizes)
    CHECK(size <= piece_bound);
  const std::size_t head_size = head_of(d.writes[0]).size();
  // A write holds at most one piece and its framing (the first one also the head, the last
  // one also the last chunk and the next answer).
  CHECK(d.writes.size() >= json_1000_size / piece_bound);
  for (std::size_t i = 0; i + 1 < d.writes.size(); ++i) {
    CAPTURE(i);
    CHECK(d.writes[i].size() <= (i == 0 ? head_size : 0) + piece_bound + 12);
  }
}

TEST_CASE(
    "http_connection: a large answer to HTTP/1.0 is close-delimited, then the socket closes") {
  driver d(streaming_config());
  d.feed(get("/v1/fibonacci?n=1000", "", "HTTP/1.0"));
  CHECK(d.run() == io_step::close);
  const auto r = parse_responses(d.wire(), {}, /*closed=*/true);
  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].chunked);
  CHECK(r[0].count("Content-Length") == 0);
  CHECK(r[0].count("Transfer-Encoding") == 0);
  CHECK(r[0].header("Connection") == "close");
  CHECK(md5_hex(r[0].body) == json_1000_md5);
  for (std::size_t i = 1; i < d.writes.size(); ++i)
    CHECK(d.writes[i].size() <= 1024 + longest_number_1000 + 1);
}

TEST_CASE(
    "http_connection: a large answer asked for again is kept, and the third time comes "
    "sized") {
  driver d(streaming_config(), /*large_bytes=*/1024 * 1024);
  for (int i = 0; i < 3; ++i) {
    d.feed(get("/v1/fibonacci?n=1000"));
    CHECK(d.run() == io_step::read);
  }
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 3);
  // The first only noted, the second kept aside while streamed.
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(r[i].chunked);
    CHECK(md5_hex(r[i].body) == json_1000_md5);
  }
  // The third from the large-answer cache: the same bytes and ETag, with a length.
  CHECK_FALSE(r[2].chunked);
  CHECK(r[2].header("Content-Length") == std::to_string(json_1000_size));
  CHECK(md5_hex(r[2].body) == json_1000_md5);
  CHECK(r[2].header("ETag") == r[0].header("ETag"));
  const auto stats = d.services.large_.stats();
  CHECK(stats.insertions == 1);
  CHECK(stats.hits == 1);
  // The small answers' cache never holds it.
  CHECK(d.services.cache_.stats().insertions == 0);
}

TEST_CASE(
    "http_connection: one connection at a time keeps a large answer aside, and a cut one "
    "gives its claim back") {
  fake_services server(/*large_bytes=*/1024 * 1024);
  {
    driver noted(streaming_config(), server);  // the first request only notes the answer
    noted.feed(get("/v1/fibonacci?n=1000"));
    CHECK(noted.run() == io_step::read);
  }
  {
    driver first(streaming_config(), server);
    first.feed(get("/v1/fibonacci?n=1000"));
    REQUIRE(first.c.next(first.now) == io_step::write);  // the head and the first piece
    // Meanwhile a second connection asks the same: streamed exactly, not kept.
    driver second(streaming_config(), server);
    second.feed(get("/v1/fibonacci?n=1000"));
    CHECK(second.run() == io_step::read);
    const auto r = parse_responses(second.wire());
    REQUIRE(r.size() == 1);
    CHECK(r[0].chunked);
    CHECK(md5_hex(r[0].body) == json_1000_md5);
    CHECK(server.large_.stats().insertions == 0);
  }  // the first connection ends mid-answer: its claim goes with it
  driver third(streaming_config(), server);
  third.feed(get("/v1/fibonacci?n=1000"));
  CHECK(third.run() == io_step::read);
  CHECK(md5_hex(parse_responses(third.wire()).at(0).body) == json_1000_md5);
  CHECK(server.large_.stats().insertions == 1);
}

TEST_CASE("http_connection: a large answer over the large-answer budget is streamed, not kept") {
  // 105,587 bytes against a budget of 100,000: never claimed, never copied aside.
  driver d(streaming_config(), /*large_bytes=*/100'000);
  d.feed(get("/v1/fibonacci?n=1000") + get("/v1/fibonacci?n=1000") + get("/v1/fibonacci?n=1000"));
  CHECK(d.run() == io_step::read);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 3);
  for (const auto& response : r) {
    CHECK(response.chunked);
    CHECK(md5_hex(response.body) == json_1000_md5);
  }
  CHECK(d.services.large_.stats().insertions == 0);
}

TEST_CASE("http_connection: the next piece is rendered only once the previous one is written") {
  driver d(streaming_config());
  d.feed(get("/v1/fibonacci?n=1000"));
  std::size_t pieces = 0;
  for (;;) {
    const io_step s = d.c.next(d.now);
    if (s != io_step::write)
      break;
    const std::string out(d.c.output());
    // Asked again before the write completes: the same bytes, nothing rendered meanwhile.
    REQUIRE(d.c.next(d.now) == io_step::write);
    CHECK(d.c.output() == out);
    d.writes.push_back(out);
    d.c.written();
    ++pieces;
  }
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 1);
  CHECK(md5_hex(r[0].body) == json_1000_md5);
  // Every write but the last carried exactly one chunk.
  CHECK(pieces == r[0].chunk_sizes.size());
}

TEST_CASE("http_connection: a malformed head is answered with Connection: close, then closed") {
  struct row {
    const char* name;
    std::string bytes;
    unsigned status;
    std::string body;
  };
  const std::string long_target = "/fib?limit=1&pad=" + std::string(100, 'x');
  const std::vector<row> rows = {
      {"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400,
       "malformed request: HTTP/1.1 requires a Host header\n"},
      {"a body", get("/healthz", "Content-Length: 5\r\n") + "hello", 413,
       "request bodies are not accepted\n"},
      {"a long request line", get(long_target), 414, "request line longer than 64 bytes\n"},
      {"a long header block", get("/healthz", "X-Pad: " + std::string(300, 'x') + "\r\n"), 431,
       "header block longer than 256 bytes\n"},
      {"HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505,
       "HTTP version 2.0 is not supported (1.0 and 1.1 are)\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto cfg = config();
    cfg.requests.max_request_line = 64;
    cfg.requests.max_header_block = 256;
    driver d(cfg);
    // A good request before is answered first; the one after the error never is.
    d.feed(get("/fib?limit=2") + row.bytes + get("/healthz"));
    CHECK(d.run() == io_step::close);
    REQUIRE(d.writes.size() == 1);
    const auto r = parse_responses(d.wire());
    REQUIRE(r.size() == 2);
    CHECK(r[0].body == "0\n1\n");
    CHECK(r[1].status == row.status);
    CHECK(r[1].header("Connection") == "close");
    CHECK(r[1].header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(r[1].header("Cache-Control") == "no-store");
    CHECK(r[1].body == row.body);
    CHECK(d.services.answers.back() == std::pair{route_kind::error, row.status});
  }
}

TEST_CASE("http_connection: a close asked for during a streamed body lets the body finish") {
  driver d(streaming_config());
  d.feed(get("/v1/fibonacci?n=1000") + get("/healthz"));
  d.on_write = [&](std::size_t writes) {
    if (writes == 2) {
      CHECK(d.c.lifetime().request_close(d.now) == connection_lifetime::verdict::keep_open);
    }
  };
  CHECK(d.run() == io_step::close);
  const auto r = parse_responses(d.wire());
  REQUIRE(r.size() == 1);  // the body whole, with its last chunk; /healthz never answered
  CHECK(md5_hex(r[0].body) == json_1000_md5);
  CHECK(d.c.lifetime().closed());
}

TEST_CASE("http_connection: a head sent too slowly is cut by the idle timer") {
  driver d;
  const std::string request = get("/healthz");
  // A byte every 100 ms: bytes keep coming, but no head completes within the idle time.
  for (std::size_t i = 0; i < 3; ++i) {
    d.now = t0 + 100ms * static_cast<int>(i);
    d.feed(request.substr(i, 1));
    CHECK(d.run() == io_step::read);
    CHECK(d.c.lifetime().on_deadline(d.now) == connection_lifetime::timer::none);
  }
  CHECK(d.c.lifetime().deadline() == t0 + 300ms);
  CHECK(d.c.lifetime().on_deadline(t0 + 300ms) == connection_lifetime::timer::idle);
  CHECK(d.run() == io_step::close);
  CHECK(d.writes.empty());
}

TEST_CASE("http_connection: a keep-alive connection idle for the idle time is closed") {
  driver d;
  d.now = t0 + 100ms;
  d.feed(get("/healthz"));
  CHECK(d.run() == io_step::read);
  CHECK(d.c.lifetime().deadline() == t0 + 400ms);
  CHECK(d.c.lifetime().on_deadline(t0 + 399ms) == connection_lifetime::timer::none);
  CHECK(d.c.lifetime().on_deadline(t0 + 400ms) == connection_lifetime::timer::idle);
  CHECK(d.run() == io_step::close);
}

TEST_CASE("http_connection: healthz, readyz and metrics") {
  struct row {
    const char* target;
    std::optional<std::string> not_ready;
    unsigned status;
    std::string type;
    std::string body;
    route_kind kind;
  };
  const std::vector<row> rows = {
      {"/healthz", std::nullopt, 200, "text/plain; charset=utf-8", "ok\n", route_kind::healthz},
      {"/healthz", "the store is down", 200, "text/plain; charset=utf-8", "ok\n",
       route_kind::healthz},
      {"/readyz", std::nullopt, 200, "text/plain; charset=utf-8", "ready\n", route_kind::readyz},
      {"/readyz", "the session store 127.0.0.1:6379 is unreachable", 503,
       "text/plain; charset=utf-8", "not ready: the session store 127.0.0.1:6379 is unreachable\n",
       route_kind::readyz},
      {"/metrics", std::nullopt, 200, "text/plain; version=0.0.4; charset=utf-8",
       "numsequence_up 1\n", route_kind::metrics},
  };
  for (const auto& row : rows) {
    const auto& [target, not_ready, status, type, body, kind] = row;
    CAPTURE(row.target);
    CAPTURE(row.not_ready.value_or(""));
    driver d;
    d.services.not_ready_ = not_ready;
    d.feed(get(target));
    CHECK(d.run() == io_step::read);
    const auto r = parse_responses(d.wire());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == status);
    CHECK(r[0].header("Content-Type") == type);
    CHECK(r[0].header("Cache-Control") == "no-store");
    CHECK(r[0].count("ETag") == 0);
    CHECK(r[0].body == body);
    CHECK(d.services.answers == std::vector<std::pair<route_kind, unsigned>>{{kind, status}});
  }
}

namespace {

// RFC 6455 section 1.3's example key and its accept value.
std::string upgrade_request(std::string_view version = "13") {
  return get("/v1/stream",
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " +
                 std::string(version) + "\r\n");
}

}  // namespace

TEST_CASE("http_connection: a WebSocket upgrade writes the 101, then hands over what followed") {
  const std::string after = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";  // a masked "Hello"
  for (const bool pipelined : {false, true}) {
    CAPTURE(pipelined);
    driver d;
    d.feed((pipelined ? get("/healthz") : "") + upgrade_request() + after);
    CHECK(d.run() == io_step::upgrade);
    REQUIRE(d.writes.size() == 1);
    const std::string switching =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    REQUIRE(d.wire().size() >= switching.size());
    const std::string before = d.wire().substr(0, d.wire().size() - switching.size());
    CHECK(d.wire().substr(before.size()) == switching);
    const auto r = parse_responses(before);
    CHECK(r.size() == (pipelined ? 1u : 0u));
    CHECK(d.c.leftover() == after);
    CHECK(d.services.answers.back() == std::pair{route_kind::websocket, 101u});
  }
}

TEST_CASE("http_connection: the bytes after an upgrade survive the 101's write") {
  driver d;
  std::string scratch = upgrade_request() + "first bytes";
  d.c.feed(scratch);
  REQUIRE(d.c.next(t0) == io_step::write);
  std::fill(scratch.begin(), scratch.end(), '#');  // another connection reuses the buffer
  d.c.written();
  CHECK(d.c.next(t0) == io_step::upgrade);
  CHECK(d.c.leftover() == "first bytes");
}

TEST_CASE("http_connection: refused upgrades are answered and the connection goes on") {
  struct row {
    const char* name;
    std::string request;
    unsigned status;
    std::vector<std::pair<std::string, std::string>> fields;
  };
  const std::vector<row> rows = {
      {"version 8",
       upgrade_request("8"),
       426,
       {{"sec-websocket-version", "13"}, {"upgrade", "websocket"}}},
      {"no upgrade at all", get("/v1/stream"), 426, {{"upgrade", "websocket"}}},
      {"a bad key",
       get("/v1/stream",
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\n"
           "Sec-WebSocket-Version: 13\r\n"),
       400,
       {}},
  };
  for (const auto& row : rows) {
    const auto& [name, request, status, fields] = row;
    CAPTURE(row.name);
    driver d;
    d.feed(request + get("/healthz"));
    CHECK(d.run() == io_step::read);
    const auto r = parse_responses(d.wire());
    REQUIRE(r.size() == 2);
    CHECK(r[0].status == status);
    for (const auto& [field, value] : fields)
      CHECK(r[0].header(field) == value);
    CHECK(r[0].header("Cache-Control") == "no-store");
    CHECK_FALSE(r[0].body.empty());
    CHECK(r[1].body == "ok\n");
  }
}
