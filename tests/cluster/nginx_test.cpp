// nginx in front of the server (document 002), with the project's example configuration: the
// cache works from the server's own headers. What reaches the server is counted by a relay
// between nginx and the server (counting_proxy.hpp): /metrics has no request counts to read.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../integration/md5_text.hpp"
#include "../integration/web_client.hpp"
#include "cluster_fixture.hpp"
#include "counting_proxy.hpp"
#include "nginx_fixture.hpp"

namespace numsequence::cluster {
namespace {

// Python: hashlib.md5(json.dumps({"sequence":"fibonacci","n":25000,"numbers":f},
// separators=(",",":")).encode()).hexdigest() for the first 25000 numbers f.
constexpr std::string_view json_25000_md5 = "103fd68055eea11c6f25c4d32bb24a5c";

/// The server, the relay that counts what reaches it, nginx in front of the relay.
struct cached_server {
  running_server server{{"--http", "0"}};
  counting_proxy relay{server.http_port()};
  nginx_instance nginx{relay.port()};

  http_response get(const std::string& target, const std::string& extra = {}) {
    auto socket = tcp_client::connect(nginx.port(), seconds(5));
    REQUIRE(socket);
    http_client c(std::move(*socket));
    REQUIRE(c.send(request_head(target, extra)));
    INFO("nginx error.log: " << nginx.error_log());
    return c.read_one(seconds(60));
  }
};

}  // namespace

TEST_SUITE("nginx") {
  TEST_CASE("the second identical request is a cache HIT, and the server saw one") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    const auto first = s.get("/v1/fibonacci?n=10");
    CHECK(first.status == 200);
    CHECK(first.header("X-Cache-Status") == "MISS");
    CHECK(first.body == R"({"sequence":"fibonacci","n":10,"numbers":[0,1,1,2,3,5,8,13,21,34]})");
    const auto second = s.get("/v1/fibonacci?n=10");
    CHECK(second.status == 200);
    CHECK(second.header("X-Cache-Status") == "HIT");
    CHECK(second.body == first.body);
    CHECK(second.header("ETag") == first.header("ETag"));
    CHECK(s.relay.targets() == std::vector<std::string>{"/v1/fibonacci?n=10"});

    // Text is another answer (Vary: Accept): cached on its own, not served the JSON.
    const auto text = s.get("/v1/fibonacci?n=10", "Accept: text/plain\r\n");
    CHECK(text.header("X-Cache-Status") == "MISS");
    CHECK(text.body == "0 1 1 2 3 5 8 13 21 34\n");
    CHECK(s.get("/v1/fibonacci?n=10", "Accept: text/plain\r\n").header("X-Cache-Status") == "HIT");
    CHECK(s.get("/v1/fibonacci?n=10").body == first.body);
    CHECK(s.relay.requests() == 2);
  }

  TEST_CASE("the largest answer, streamed by the server, is cached whole") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    for (const char* status : {"MISS", "HIT"}) {
      CAPTURE(status);
      const auto r = s.get("/v1/fibonacci?n=25000");
      CHECK(r.status == 200);
      CHECK(r.header("X-Cache-Status") == status);
      CHECK(md5_hex(r.body) == json_25000_md5);
    }
    CHECK(s.relay.requests() == 1);
  }

  TEST_CASE("If-None-Match gets 304 through nginx, from its cache or not") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    const auto first = s.get("/fib?limit=5");
    REQUIRE(first.header("ETag"));
    const std::string if_none_match = "If-None-Match: " + *first.header("ETag") + "\r\n";
    const auto cached = s.get("/fib?limit=5", if_none_match);
    CHECK(cached.status == 304);
    CHECK(cached.body.empty());
    CHECK(cached.header("ETag") == first.header("ETag"));
    CHECK(cached.header("X-Cache-Status") == "HIT");
    CHECK(s.relay.requests() == 1);

    // Not cached yet: nginx asks the server for the whole answer (to cache it), then answers
    // the condition itself.
    const auto fresh = s.get("/fib/5", R"(If-None-Match: "fibonacci-v1/compat/n/0/5")"
                                       "\r\n");
    CHECK(fresh.status == 304);
    CHECK(fresh.body.empty());
    CHECK(s.get("/fib/5").body == R"({"N":5,"result":"0 1 1 2 3"})");
    CHECK(s.relay.requests() == 2);
  }

  TEST_CASE("errors are not cached: each one reaches the server") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    for (const std::string target : {"/v1/fibonacci?n=-1", "/nowhere"}) {
      CAPTURE(target);
      for (int i = 0; i < 2; ++i) {
        const auto r = s.get(target);
        CHECK(r.status >= 400);
        CHECK(r.header("Cache-Control") == "no-store");
        CHECK(r.header("X-Cache-Status") == "MISS");
        CHECK_FALSE(r.body.empty());
      }
    }
    CHECK(s.relay.requests() == 4);
  }

  TEST_CASE("the page (no-cache) and the health checks (no-store) are not cached") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    for (const std::string target : {"/", "/healthz"}) {
      CAPTURE(target);
      for (int i = 0; i < 2; ++i) {
        const auto r = s.get(target);
        CHECK(r.status == 200);
        // The health checks' location has no cache at all.
        CHECK(r.header("X-Cache-Status") ==
              (target == "/" ? std::optional<std::string>("MISS") : std::nullopt));
      }
    }
    CHECK(s.relay.requests() == 4);
  }

  TEST_CASE("the WebSocket stream passes through nginx") {
    if (!have_program("nginx"))
      return;
    cached_server s;
    auto socket = tcp_client::connect(s.nginx.port(), seconds(5));
    REQUIRE(socket);
    websocket_client ws(std::move(*socket));
    REQUIRE(ws.send_text(R"({"id":1,"n":1000})"));
    const auto a = ws.read_answer();
    CHECK(a.well_formed);
    CHECK(a.ordered);
    REQUIRE(a.done);
    CHECK(a.done->md5 == "b64b2bbc2244d405cd1c2a8b0b8718a7");  // Python: md5(str(first 1000))
    CHECK(md5_hex(python_list(a.numbers)) == a.done->md5);
  }
}

}  // namespace numsequence::cluster
