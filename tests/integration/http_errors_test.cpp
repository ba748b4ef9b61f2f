// The HTTP listener's errors, limits and timers against the real server, over raw sockets:
// every error status with its body, the connection limit shared with the TCP protocol, and a
// request head sent too slowly.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "server_fixture.hpp"
#include "web_client.hpp"

namespace numsequence::integration {
namespace {

const std::vector<std::string> with_http = {"--http", "0"};

struct error_row {
  const char* name;
  std::string request;
  unsigned status;
  std::string type;
  /// The whole body, or (for the page) a part it must contain.
  std::string body;
  bool closes;  ///< a malformed head: answered with Connection: close, then closed
  std::vector<std::pair<std::string, std::string>> fields;
};

const std::string json = "application/json";
const std::string text = "text/plain; charset=utf-8";
const std::string html = "text/html; charset=utf-8";

std::vector<error_row> error_rows() {
  return {
      {"negative n",
       request_head("/v1/fibonacci?n=-1"),
       400,
       json,
       R"({"error":"parameter \"n\" must not be negative, got \"-1\""})",
       false,
       {}},
      {"n not a number",
       request_head("/v1/fibonacci?n=abc"),
       400,
       json,
       R"({"error":"parameter \"n\" must be a non-negative integer, got \"abc\""})",
       false,
       {}},
      {"n a fraction",
       request_head("/v1/fibonacci?n=1.5"),
       400,
       json,
       R"({"error":"parameter \"n\" must be a non-negative integer, got \"1.5\""})",
       false,
       {}},
      {"n an exponent",
       request_head("/v1/fibonacci?n=1e3"),
       400,
       json,
       R"({"error":"parameter \"n\" must be a non-negative integer, got \"1e3\""})",
       false,
       {}},
      {"n empty",
       request_head("/v1/fibonacci?n="),
       400,
       json,
       R"({"error":"parameter \"n\" must be a non-negative integer, got \"\""})",
       false,
       {}},
      {"n above the limit",
       request_head("/v1/fibonacci?n=25001"),
       400,
       json,
       R"({"error":"parameter \"n\" must be at most 25000, got \"25001\""})",
       false,
       {}},
      {"from above to",
       request_head("/v1/fibonacci?from=5&to=3"),
       400,
       json,
       R"x({"error":"parameter \"from\" (5) must not be greater than \"to\" (3)"})x",
       false,
       {}},
      {"no parameter",
       request_head("/v1/fibonacci"),
       400,
       json,
       R"x({"error":"missing parameter \"n\" (or \"from\" and \"to\")"})x",
       false,
       {}},
      {"negative n as text",
       request_head("/v1/fibonacci?n=-1", "Accept: text/plain\r\n"),
       400,
       text,
       "parameter \"n\" must not be negative, got \"-1\"\n",
       false,
       {{"Vary", "Accept"}}},
      {"negative limit",
       request_head("/fib?limit=-1"),
       400,
       text,
       "parameter \"limit\" must not be negative, got \"-1\"\n",
       false,
       {}},
      {"N not a number",
       request_head("/fib/abc"),
       400,
       json,
       R"({"error":"path parameter \"N\" must be a non-negative integer, got \"abc\""})",
       false,
       {}},
      {"negative num on the page",
       request_head("/?num=-1"),
       400,
       html,
       "must not be negative",
       false,
       {}},
      {"unknown path",
       request_head("/nowhere"),
       404,
       text,
       "no such resource: \"/nowhere\"\n",
       false,
       {}},
      {"unknown API path",
       request_head("/v1/nowhere"),
       404,
       json,
       R"({"error":"no such resource: \"/v1/nowhere\""})",
       false,
       {}},
      {"another method",
       request_head("/fib?limit=3", "", "HTTP/1.1", "DELETE"),
       405,
       text,
       "method not allowed: use GET or HEAD\n",
       false,
       {{"Allow", "GET, HEAD"}}},
      {"the stream without an upgrade",
       request_head("/v1/stream"),
       426,
       text,
       "/v1/stream speaks WebSocket only: send a WebSocket upgrade request\n",
       false,
       {{"Upgrade", "websocket"}}},
      {"a WebSocket version other than 13",
       websocket_upgrade("8"),
       426,
       text,
       "Sec-WebSocket-Version header must be 13 (the only version this server speaks), got "
       "\"8\"\n",
       false,
       {{"Sec-WebSocket-Version", "13"}, {"Upgrade", "websocket"}}},
      {"an unknown method",
       "GARBAGE / HTTP/1.1\r\nHost: a\r\n\r\n",
       400,
       text,
       "malformed request: unknown or malformed method\n",
       true,
       {}},
      {"no Host",
       "GET /healthz HTTP/1.1\r\n\r\n",
       400,
       text,
       "malformed request: HTTP/1.1 requires a Host header\n",
       true,
       {}},
      {"a body",
       request_head("/healthz", "Content-Length: 5\r\n") + "hello",
       413,
       text,
       "request bodies are not accepted\n",
       true,
       {}},
      {"a request line too long",
       request_head("/fib?limit=1&pad=" + std::string(8200, 'x')),
       414,
       text,
       "request line longer than 8192 bytes\n",
       true,
       {}},
      {"a header block too large",
       request_head("/healthz", "X-Pad: " + std::string(17000, 'x') + "\r\n"),
       431,
       text,
       "header block longer than 16384 bytes\n",
       true,
       {}},
      {"HTTP/2.0",
       "GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n",
       505,
       text,
       "HTTP version 2.0 is not supported (1.0 and 1.1 are)\n",
       true,
       {}},
  };
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("every error has its status and its body, JSON, text or page") {
    running_server server(with_http);
    for (const auto& row : error_rows()) {
      CAPTURE(row.name);
      http_client c(server.connect_http());
      REQUIRE(c.send(row.request + request_head("/healthz")));
      auto r = c.read(2);
      REQUIRE_FALSE(r.empty());
      CHECK(r[0].status == row.status);
      CHECK(r[0].header("Content-Type") == row.type);
      CHECK(r[0].header("Cache-Control") == "no-store");
      CHECK(r[0].count("ETag") == 0);
      if (row.type == html)
        CHECK(r[0].body.find(row.body) != std::string::npos);
      else
        CHECK(r[0].body == row.body);
      for (const auto& [field, value] : row.fields)
        CHECK(r[0].header(field) == value);
      if (row.closes) {
        // Nothing after a malformed head is trusted: the request after it is not answered.
        CHECK(r.size() == 1);
        CHECK(r[0].header("Connection") == "close");
        CHECK(c.wait_closed());
      } else {
        REQUIRE(r.size() == 2);
        CHECK(r[1].body == "ok\n");
      }
    }
  }

  TEST_CASE("one connection limit for TCP, HTTP and WebSocket: 503 over it") {
    running_server server({"--http", "0", "--max-connections", "3", "--session-timeout", "0"});
    // One of each, each seen by the server (answered) before the next.
    auto tcp = server.connect();
    REQUIRE(tcp.send("INIT," + numbered_id(1) + ",5,5;", seconds(5)));
    REQUIRE(tcp.read_reply(seconds(10)) == std::optional<std::string>("ACK;"));
    http_client http(server.connect_http());
    REQUIRE(http.send(request_head("/healthz")));
    REQUIRE(http.read_one().status == 200);
    websocket_client ws(server.connect_http());

    http_client refused(server.connect_http());
    REQUIRE(refused.send(request_head("/healthz")));
    const auto r = refused.read_one();
    CHECK(r.status == 503);
    CHECK(r.body == "server busy\n");
    CHECK(r.header("Retry-After") == "1");
    CHECK(r.header("Connection") == "close");
    CHECK(refused.wait_closed());
    auto refused_tcp = server.connect();
    CHECK(refused_tcp.read_until_closed(seconds(10)) == "ERR,server busy;");

    // Those admitted go on.
    REQUIRE(http.send(request_head("/fib?limit=2")));
    CHECK(http.read_one().body == "0\n1\n");
    REQUIRE(ws.send_text(R"({"id":1,"n":3})"));
    const auto answer = ws.read_answer();
    CHECK(answer.numbers == std::vector<std::string>{"0", "1", "1"});
    REQUIRE(tcp.send("RECV,0;", seconds(5)));
    const auto num = tcp.read_reply(seconds(10));
    REQUIRE(num);
    CHECK(num->starts_with("NUM,"));
  }

  TEST_CASE("a request head sent too slowly is cut by --idle-timeout, bytes arriving or not") {
    running_server server({"--http", "0", "--idle-timeout", "0.5"});
    http_client c(server.connect_http());
    const std::string head = request_head("/healthz", "X-Slow: " + std::string(200, 'x') + "\r\n");
    const auto start = test_clock::now();
    REQUIRE(c.send(head.substr(0, 20)));
    // A byte every 100 ms: progress, but no head within the idle time. Waiting for the
    // server's close paces the bytes.
    std::size_t sent = 20;
    std::string received;
    while (sent < head.size() && !c.socket().closed()) {
      received += c.socket().read_some(milliseconds(100));
      if (!c.socket().closed() && !c.send(head.substr(sent, 1)))
        break;
      ++sent;
    }
    const auto elapsed = test_clock::now() - start;
    CHECK(c.wait_closed(seconds(5)));
    CHECK(received.empty());
    CHECK(sent < head.size());
    CHECK(elapsed >= milliseconds(400));
    CHECK(elapsed < seconds(5));
  }

  TEST_CASE("a keep-alive connection that asks nothing more is closed after --idle-timeout") {
    running_server server({"--http", "0", "--idle-timeout", "0.3"});
    http_client c(server.connect_http());
    REQUIRE(c.send(request_head("/healthz")));
    CHECK(c.read_one().body == "ok\n");
    const auto start = test_clock::now();
    CHECK(c.wait_closed(seconds(5)));
    CHECK(test_clock::now() - start < seconds(5));
  }
}

}  // namespace numsequence::integration
