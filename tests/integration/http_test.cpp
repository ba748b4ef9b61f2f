// The HTTP listener (--http) of the real server, over raw sockets: requests written as bytes,
// responses read with http_parser. Expected bodies are the contract's (http.md) or Python's:
//   /usr/bin/python3 -c 'import sys,json,hashlib; sys.set_int_max_str_digits(0)
//   f=[0,1]; [f.append(f[-1]+f[-2]) for _ in range(24998)]
//   print(hashlib.md5(json.dumps({"sequence":"fibonacci","n":25000,"numbers":f},
//         separators=(",",":")).encode()).hexdigest())'

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "md5_text.hpp"
#include "server_fixture.hpp"
#include "web_client.hpp"

namespace numsequence::integration {
namespace {

// The largest answer (n = --max-fibonacci's default), as JSON and as /fib's lines.
constexpr std::string_view json_25000_md5 = "103fd68055eea11c6f25c4d32bb24a5c";
constexpr std::size_t json_25000_size = 65'334'837;
constexpr std::string_view lines_25000_md5 = "92526a13d288b47cd88ee486fdb55e2e";
constexpr std::string_view json_1000_md5 = "0293af867a9ad457e6cd4e7f490c9f0f";
constexpr std::size_t json_1000_size = 105'587;

const std::vector<std::string> with_http = {"--http", "0"};

http_client connect(const running_server& server) {
  return http_client(server.connect_http());
}

/// The answer to one request on a connection of its own.
http_response fetch(const running_server& server, const std::string& request, bool head = false) {
  auto c = connect(server);
  c.expect(head);
  REQUIRE(c.send(request));
  return c.read_one(seconds(60));
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("pipelined requests in one write are answered in order, and the connection stays") {
    running_server server(with_http);
    auto c = connect(server);
    REQUIRE(c.send(request_head("/fib?limit=3") + request_head("/fib/5") +
                   request_head("/v1/fibonacci/7") + request_head("/healthz") +
                   request_head("/v1/fibonacci?n=5")));
    const auto r = c.read(5);
    REQUIRE(r.size() == 5);
    CHECK(r[0].body == "0\n1\n1\n");
    CHECK(r[1].body == R"({"N":5,"result":"0 1 1 2 3"})");
    CHECK(r[2].body == R"({"k":7,"value":13})");
    CHECK(r[3].body == "ok\n");
    CHECK(r[4].body == R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})");
    for (const auto& response : r) {
      CHECK(response.status == 200);
      CHECK(response.keep_alive);
    }
    // Keep-alive: the same connection answers again later.
    REQUIRE(c.send(request_head("/fib?limit=1")));
    CHECK(c.read_one().body == "0\n");
  }

  TEST_CASE("HTTP/1.0 closes after its answer unless it asks for keep-alive") {
    running_server server(with_http);
    {
      auto c = connect(server);
      REQUIRE(c.send(request_head("/fib?limit=2", "", "HTTP/1.0") + request_head("/healthz")));
      const auto r = c.read_one();
      CHECK(r.body == "0\n1\n");
      CHECK(r.header("Connection") == "close");
      CHECK(c.wait_closed());
    }
    auto c = connect(server);
    REQUIRE(c.send(request_head("/fib?limit=2", "Connection: keep-alive\r\n", "HTTP/1.0")));
    const auto r = c.read_one();
    CHECK(r.header("Connection") == "keep-alive");
    REQUIRE(c.send(request_head("/healthz", "", "HTTP/1.0")));
    CHECK(c.read_one().body == "ok\n");
    CHECK(c.wait_closed());
  }

  TEST_CASE("Connection: close ends the connection after the answer") {
    running_server server(with_http);
    auto c = connect(server);
    REQUIRE(c.send(request_head("/healthz", "Connection: close\r\n") + request_head("/healthz")));
    const auto r = c.read_one();
    CHECK(r.header("Connection") == "close");
    CHECK(c.wait_closed());
  }

  TEST_CASE("HEAD gets the head GET gets, without a body, on every kind of answer") {
    running_server server(with_http);
    for (const std::string target :
         {"/v1/fibonacci?n=10", "/v1/fibonacci?n=1000", "/v1/fibonacci?n=25000", "/fib?limit=5",
          "/", "/?num=5", "/healthz", "/nowhere", "/v1/fibonacci?n=-1"}) {
      CAPTURE(target);
      auto c = connect(server);
      c.expect(false);
      c.expect(true);
      c.expect(false);
      REQUIRE(c.send(request_head(target) + request_head(target, "", "HTTP/1.1", "HEAD") +
                     request_head("/healthz")));
      const auto r = c.read(3, seconds(60));
      REQUIRE(r.size() == 3);
      auto without_date = [](auto headers) {
        std::erase_if(headers, [](const auto& h) { return h.first == "date"; });
        return headers;
      };
      CHECK(r[1].status == r[0].status);
      CHECK(without_date(r[1].headers) == without_date(r[0].headers));
      CHECK(r[1].body.empty());
      CHECK_FALSE(r[0].body.empty());
      // Nothing followed the HEAD's head: the next answer parsed whole.
      CHECK(r[2].body == "ok\n");
    }
  }

  TEST_CASE("a matching If-None-Match gets 304 without a body, another tag the answer") {
    running_server server(with_http);
    const auto first = fetch(server, request_head("/v1/fibonacci?n=10"));
    REQUIRE(first.header("ETag"));
    CHECK(first.header("ETag") == R"("fibonacci-v1/json/n/0/10")");
    CHECK(first.header("Cache-Control") == "public, max-age=31536000, immutable");
    auto c = connect(server);
    REQUIRE(c.send(
        request_head("/v1/fibonacci?n=010", "If-None-Match: " + *first.header("ETag") + "\r\n") +
        request_head("/v1/fibonacci?n=10", "If-None-Match: \"other\"\r\n")));
    const auto r = c.read(2);
    REQUIRE(r.size() == 2);
    CHECK(r[0].status == 304);
    CHECK(r[0].body.empty());
    CHECK(r[0].header("ETag") == first.header("ETag"));
    CHECK(r[1].status == 200);
    CHECK(r[1].body == first.body);
  }

  TEST_CASE("a small answer is sized, the largest is chunked, and both are exact") {
    running_server server(with_http);
    const auto sized = fetch(server, request_head("/v1/fibonacci?n=1000"));
    CHECK(sized.status == 200);
    CHECK_FALSE(sized.chunked);
    CHECK(sized.header("Content-Length") == std::to_string(json_1000_size));
    CHECK(md5_hex(sized.body) == json_1000_md5);

    const auto largest = fetch(server, request_head("/v1/fibonacci?n=25000"));
    CHECK(largest.status == 200);
    CHECK(largest.chunked);
    CHECK(largest.count("Content-Length") == 0);
    CHECK(largest.chunk_sizes.size() > 100);  // pieces of about --output-buffer
    CHECK(largest.body.size() == json_25000_size);
    CHECK(md5_hex(largest.body) == json_25000_md5);

    const auto lines = fetch(server, request_head("/fib?limit=25000"));
    CHECK(lines.chunked);
    CHECK(md5_hex(lines.body) == lines_25000_md5);
  }

  TEST_CASE("the largest answer asked for again is kept: the third time it comes sized, exact") {
    running_server server(with_http);
    const auto first = fetch(server, request_head("/v1/fibonacci?n=25000"));
    CHECK(first.chunked);
    CHECK(md5_hex(first.body) == json_25000_md5);
    const auto second = fetch(server, request_head("/v1/fibonacci?n=25000"));
    CHECK(second.chunked);  // copied aside while streamed
    CHECK(md5_hex(second.body) == json_25000_md5);
    const auto again = fetch(server, request_head("/v1/fibonacci?n=25000"));
    CHECK(again.status == 200);
    CHECK_FALSE(again.chunked);
    CHECK(again.header("Content-Length") == std::to_string(json_25000_size));
    CHECK(again.header("ETag") == first.header("ETag"));
    CHECK(md5_hex(again.body) == json_25000_md5);
  }

  TEST_CASE("--http-large-cache-bytes 0 keeps no large answer: every one is streamed") {
    running_server server({"--http", "0", "--http-large-cache-bytes", "0"});
    for (int i = 0; i < 3; ++i) {
      const auto r = fetch(server, request_head("/v1/fibonacci?n=25000"));
      CHECK(r.chunked);
      CHECK(md5_hex(r.body) == json_25000_md5);
    }
  }

  TEST_CASE("a large answer to HTTP/1.0 ends with the connection") {
    running_server server(with_http);
    auto c = connect(server);
    REQUIRE(c.send(request_head("/fib?limit=25000", "", "HTTP/1.0")));
    const auto r = c.read_one(seconds(60));
    CHECK_FALSE(r.chunked);
    CHECK(r.count("Content-Length") == 0);
    CHECK(r.header("Connection") == "close");
    CHECK(md5_hex(r.body) == lines_25000_md5);
    CHECK(c.socket().closed());
  }

  TEST_CASE("/fib?limit=N and /fib/N are byte-exact") {
    running_server server(with_http);
    struct row {
      std::string target;
      std::string type;
      std::string body;
    };
    const std::vector<row> rows = {
        {"/fib?limit=0", "text/plain; charset=utf-8", ""},
        {"/fib?limit=1", "text/plain; charset=utf-8", "0\n"},
        {"/fib?limit=5", "text/plain; charset=utf-8", "0\n1\n1\n2\n3\n"},
        {"/fib?limit=10", "text/plain; charset=utf-8", "0\n1\n1\n2\n3\n5\n8\n13\n21\n34\n"},
        {"/fib/0", "application/json", R"({"N":0,"result":""})"},
        {"/fib/1", "application/json", R"({"N":1,"result":"0"})"},
        {"/fib/5", "application/json", R"({"N":5,"result":"0 1 1 2 3"})"},
        {"/fib/10", "application/json", R"({"N":10,"result":"0 1 1 2 3 5 8 13 21 34"})"},
        {"/v1/fibonacci?n=5", "application/json",
         R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})"},
        {"/v1/fibonacci?from=3&to=6", "application/json",
         R"({"sequence":"fibonacci","from":3,"to":6,"numbers":[2,3,5,8]})"},
        {"/v1/fibonacci/50", "application/json", R"({"k":50,"value":12586269025})"},
    };
    auto c = connect(server);
    for (const auto& row : rows) {
      const auto& [target, type, body] = row;
      CAPTURE(row.target);
      REQUIRE(c.send(request_head(target)));
      const auto r = c.read_one();
      CHECK(r.status == 200);
      CHECK(r.header("Content-Type") == type);
      CHECK(r.header("Content-Length") == std::to_string(body.size()));
      CHECK(r.body == body);
    }
    REQUIRE(c.send(request_head("/v1/fibonacci?n=5", "Accept: text/plain\r\n")));
    CHECK(c.read_one().body == "0 1 1 2 3\n");
  }

  TEST_CASE("the page answers /?num=19 with F(19) = 4181") {
    running_server server(with_http);
    const auto r = fetch(server, request_head("/?num=19"));
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(r.body.find("F(19) = 4181") != std::string::npos);
  }
}

}  // namespace numsequence::integration
