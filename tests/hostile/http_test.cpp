// Hostile HTTP clients against the HTTP listener (--http): slow heads, oversized heads,
// garbage, absurd numbers, bodies, methods, If-None-Match and Accept lists, half-closes.
// Each runs beside legitimate HTTP requests, a WebSocket stream and a TCP session
// (web_scene), which must get their exact answers; the server must exit 0 on SIGTERM.
// Floods and held connections are in http_load_test.cpp.

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "web_support.hpp"

namespace numsequence::hostile {
namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;
/// SO_RCVBUF of a client that reads slowly: small and fixed, so that the server's writes
/// wait for it whatever the host's tcp_rmem allows.
constexpr int small_receive_buffer = 16 * 1024;

std::string json_error(std::string_view message) {
  return "{\"error\":\"" + std::string(message) + "\"}";
}

/// The one response of an exchange the server ends with a close.
const http_response& only_response_then_close(const http_exchange& x) {
  INFO("received: " << x.raw.substr(0, 400));
  REQUIRE(x.parsed);
  REQUIRE(x.responses.size() == 1);
  CHECK(x.closed);
  CHECK(x.responses[0].header("connection") == std::optional<std::string>("close"));
  return x.responses[0];
}

/// `text` with its first '#' made a NUL byte.
std::string with_nul(std::string text) {
  text[text.find('#')] = '\0';
  return text;
}

std::size_t growth_kib(std::size_t before, std::size_t after) {
  return after > before ? after - before : 0;
}

}  // namespace

TEST_SUITE("hostile http") {
  TEST_CASE("slowloris: request heads sent a byte a second are cut by --idle-timeout") {
    web_scene scene({"--idle-timeout", "2", "--session-timeout", "0"});
    const std::string head = get_request("/v1/fibonacci?n=5");
    auto conns = open_connections(scene.http_port(), 50);
    REQUIRE(conns.size() == 50);
    const auto start = test_clock::now();
    std::vector<std::string> received(conns.size());
    std::size_t closed = 0;
    milliseconds worst{0};
    for (std::size_t i = 0; i < head.size() && closed < conns.size(); ++i) {
      closed = 0;
      for (std::size_t c = 0; c < conns.size(); ++c) {
        std::size_t sent = 0;
        if (conns[c].send_some(head.substr(i, 1), sent) == raw_conn::io::closed ||
            conns[c].read_some(received[c], milliseconds(0)) == raw_conn::io::closed)
          ++closed;
      }
      if (closed == conns.size())
        break;
      // Legitimate clients while the heads trickle in.
      const auto step_start = test_clock::now();
      worst = std::max(worst, check_legit_http(scene.http_port()));
      scene.tcp().legit_step();
      const auto spent = test_clock::now() - step_start;
      if (spent < seconds(1))
        std::this_thread::sleep_for(seconds(1) - spent);
    }
    const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
    MESSAGE("50 slowloris heads cut after " << took.count() << " ms; legitimate GET took "
                                            << worst.count() << " ms at worst");
    CHECK(closed == conns.size());
    CHECK(took >= milliseconds(1500));
    CHECK(took < seconds(5));
    for (const auto& r : received)
      CHECK(r.empty());  // cut without an answer: no request was ever complete
    CHECK(worst < seconds(1));
    scene.finish();
  }

  TEST_CASE("a request line over 8 KiB is answered 414 and closed, memory flat") {
    web_scene scene;
    // At the limit (8192 bytes with its CRLF) a request is served; one byte more is not.
    const std::string at_limit_prefix = "GET /v1/fibonacci?n=5&pad=";
    const std::string tail = " HTTP/1.1\r\n";
    const std::string pad(8192 - at_limit_prefix.size() - tail.size(), 'x');
    auto x = exchange(scene.http_port(),
                      at_limit_prefix + pad + tail + "Host: a\r\nConnection: close\r\n\r\n");
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].status == 200);
    CHECK(x.responses[0].body == expected_fibonacci_json(5));
    x = exchange(scene.http_port(),
                 at_limit_prefix + pad + "x" + tail + "Host: a\r\nConnection: close\r\n\r\n");
    CHECK(only_response_then_close(x).status == 414);

    const auto rss_before = scene.rss_kib();
    for (int i = 0; i < 20; ++i) {
      x = exchange(scene.http_port(), "GET /" + std::string(mib, 'a') + " HTTP/1.1\r\n\r\n");
      const auto& r = only_response_then_close(x);
      CHECK(r.status == 414);
      CHECK(r.body == "request line longer than 8192 bytes\n");
      if (i % 5 == 0)
        scene.legit_step();
    }
    const auto grew = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("RSS growth after 20 request lines of 1 MiB: " << grew << " KiB");
    CHECK(grew < 16 * kib * asan_memory_factor);
    scene.finish();
  }

  TEST_CASE("a header block over 16 KiB or over 100 fields is answered 431 and closed") {
    web_scene scene;
    const std::string line = "GET /v1/fibonacci?n=5 HTTP/1.1\r\nHost: a\r\n";
    std::string fields_100;
    for (int i = 0; i < 99; ++i)  // with Host: 100 fields
      fields_100 += "X-F" + std::to_string(i) + ": 1\r\n";
    auto x = exchange(scene.http_port(), line + fields_100 + "Connection: close\r\n\r\n");
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].status == 431);  // Connection: close is field 101
    x = exchange(scene.http_port(), line + fields_100 + "\r\n", seconds(10), false, 1);
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].status == 200);
    CHECK(x.responses[0].body == expected_fibonacci_json(5));

    const auto rss_before = scene.rss_kib();
    std::string many;  // 1 MiB of small fields
    while (many.size() < mib)
      many += "X-Pad: 0123456789\r\n";
    const std::string one_huge = "X-Huge: " + std::string(mib, 'h') + "\r\n";
    for (int i = 0; i < 10; ++i) {
      for (const std::string* block : std::array<const std::string*, 2>{&many, &one_huge}) {
        x = exchange(scene.http_port(), line + *block + "\r\n");
        const auto& r = only_response_then_close(x);
        CHECK(r.status == 431);
        CHECK((r.body == "header block longer than 16384 bytes\n" ||
               r.body == "more than 100 header fields\n"));
      }
      if (i % 3 == 0)
        scene.legit_step();
    }
    const auto grew = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("RSS growth after 20 header blocks of 1 MiB: " << grew << " KiB");
    CHECK(grew < 16 * kib * asan_memory_factor);
    scene.finish();
  }

  TEST_CASE("garbage: random bytes, a TLS ClientHello and a NUL flood get 400 and a close") {
    web_scene scene;
    std::vector<std::string> attacks;
    for (std::uint64_t seed = 1; seed <= 10; ++seed)
      attacks.push_back(random_bytes(64 * kib, seed));
    // A TLS 1.2 ClientHello's first bytes: handshake record, then the hello.
    attacks.push_back(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                      random_bytes(500, 99));
    attacks.push_back(std::string(mib, '\0'));
    // A NUL inside a header value, and inside the request target.
    attacks.push_back(with_nul(get_request("/v1/fibonacci?n=5", "X-Nul: a#b\r\n")));
    attacks.push_back(with_nul(get_request("/v1/fibonacci?n=5#")));
    const auto rss_before = scene.rss_kib();
    for (std::size_t i = 0; i < attacks.size(); ++i) {
      CAPTURE(i);
      const auto x = exchange(scene.http_port(), attacks[i]);
      const auto& r = only_response_then_close(x);
      CHECK(r.status == 400);
      CHECK(r.body.starts_with("malformed request: "));
      if (i % 4 == 0)
        scene.legit_step();
    }
    CHECK(growth_kib(rss_before, scene.rss_kib()) < 16 * kib * asan_memory_factor);
    scene.finish();
  }

  TEST_CASE(
      "absurd numbers get a 400 that quotes at most 40 characters, and the connection "
      "goes on") {
    web_scene scene;
    struct row {
      std::string query;
      std::string error;  // the JSON body's message
    };
    const std::string digits_8000(8000, '7');
    const std::vector<row> rows = {
        {"n=" + digits_8000, R"(parameter \"n\" must be at most 25000, got \")" +
                                 digits_8000.substr(0, 40) + R"(...\" (8000 bytes))"},
        {"n=-5", R"(parameter \"n\" must not be negative, got \"-5\")"},
        {"n=1e3", R"(parameter \"n\" must be a non-negative integer, got \"1e3\")"},
        {"n=%00", "malformed query string: %00 is not allowed"},
        {"n=5%00", "malformed query string: %00 is not allowed"},
        {"n=5&n=6", R"(parameter \"n\" is given more than once)"},
        {"n=18446744073709551616",
         R"(parameter \"n\" must be at most 25000, got \"18446744073709551616\")"},
        {"n=%2B5", R"(parameter \"n\" must be a non-negative integer, got \"+5\")"},
        {"n=0x10", R"(parameter \"n\" must be a non-negative integer, got \"0x10\")"},
        {"from=10&to=5", R"(parameter \"from\" (10) must not be greater than \"to\" (5))"},
        {"n=", R"(parameter \"n\" must be a non-negative integer, got \"\")"},
    };
    // All on one keep-alive connection, pipelined, then a good request with 1,000 leading
    // zeros: each gets its own 400, and the last its exact answer.
    std::string requests;
    for (const auto& r : rows)
      requests += get_request("/v1/fibonacci?" + r.query);
    requests += get_request("/v1/fibonacci?n=" + std::string(1000, '0') + "12", {}, true);
    const auto x = exchange(scene.http_port(), requests);
    INFO("received: " << x.raw.substr(0, 600));
    REQUIRE(x.parsed);
    REQUIRE(x.responses.size() == rows.size() + 1);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(rows[i].query.substr(0, 60));
      CHECK(x.responses[i].status == 400);
      CHECK(x.responses[i].body == json_error(rows[i].error));
      CHECK(x.responses[i].body.size() < 200);
    }
    CHECK(x.responses.back().status == 200);
    CHECK(x.responses.back().body == expected_fibonacci_json(12));
    // A 100,000-digit n does not fit the request line (8 KiB): 414, before any routing.
    const auto big =
        exchange(scene.http_port(), get_request("/v1/fibonacci?n=" + std::string(100'000, '9')));
    CHECK(only_response_then_close(big).status == 414);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a GET with a body is answered 413 and closed, whatever the body") {
    web_scene scene;
    const std::string target = "/v1/fibonacci?n=5";
    const std::vector<std::string> attacks = {
        get_request(target, "Content-Length: 5\r\n") + "hello",
        get_request(target, "Content-Length: " + std::to_string(4 * mib) + "\r\n") +
            std::string(4 * mib, 'b'),
        get_request(target, "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n",
        // Pipelined behind the body: never read as a request.
        get_request(target, "Content-Length: 2\r\n") + "ab" + get_request(target),
    };
    for (std::size_t i = 0; i < attacks.size(); ++i) {
      CAPTURE(i);
      const auto x = exchange(scene.http_port(), attacks[i]);
      const auto& r = only_response_then_close(x);
      CHECK(r.status == 413);
      CHECK(r.body == "request bodies are not accepted\n");
      scene.legit_step();
    }
    // An empty body announced is no body.
    const auto x = exchange(scene.http_port(), get_request(target, "Content-Length: 0\r\n", true));
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].body == expected_fibonacci_json(5));
    scene.finish();
  }

  TEST_CASE("smuggling and injection: conflicting lengths are 400, no response is ever split") {
    web_scene scene;
    const std::string line = "GET /v1/fibonacci?n=3 HTTP/1.1\r\nHost: a\r\n";
    struct row {
      std::string request;
      unsigned status;
    };
    const std::vector<row> rows = {
        {line + "Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello", 400},
        {line + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {line + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n", 400},
        {line + "Content-Length: -1\r\n\r\n", 400},
        {line + "Content-Length: 0, 0\r\n\r\n", 400},
        {line + "Transfer-Encoding: identity\r\n\r\n", 413},
        {line + "Host: b\r\n\r\n", 400},  // a second Host
        {line + "Host : b\r\n\r\n", 400},
        {line + "NoColon\r\n\r\n", 400},
    };
    for (const auto& r : rows) {
      CAPTURE(r.request);
      // The smuggled request behind each is never answered: the connection closes first.
      const auto x = exchange(scene.http_port(), r.request + get_request("/healthz"));
      const auto& response = only_response_then_close(x);
      CHECK(response.status == r.status);
    }
    // CR and LF in a query value are quoted, escaped, in the body: never a header of their own.
    const auto x = exchange(scene.http_port(),
                            get_request("/v1/fibonacci?n=3%0d%0aX-Injected:%20yes", {}, true));
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].status == 400);
    CHECK(!x.responses[0].header("x-injected").has_value());
    CHECK(x.responses[0].body ==
          json_error(R"(parameter \"n\" must be a non-negative integer, got \"3\\x0D\\x0AX-)"
                     R"(Injected: yes\")"));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("If-None-Match with a list of 500 tags is matched within the header limit") {
    web_scene scene;
    std::string tags;
    for (int i = 0; i < 500; ++i)
      tags += "\"fibonacci-v1/json/n/0/" + std::to_string(1000 + i) + "\", ";
    const std::string match = "\"fibonacci-v1/json/n/0/300\"";
    std::string pipeline;
    for (int i = 0; i < 50; ++i) {
      pipeline += get_request("/v1/fibonacci?n=300", "If-None-Match: " + tags + match + "\r\n");
      pipeline += get_request("/v1/fibonacci?n=300", "If-None-Match: " + tags + "W/\"x\"\r\n");
    }
    pipeline += get_request("/healthz", {}, true);
    const auto start = test_clock::now();
    const auto x = exchange(scene.http_port(), pipeline, seconds(20));
    const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
    MESSAGE("100 requests with 500-tag If-None-Match lists answered in " << took.count() << " ms");
    REQUIRE(x.responses.size() == 101);
    for (std::size_t i = 0; i < 100; i += 2) {
      CHECK(x.responses[i].status == 304);
      CHECK(x.responses[i].body.empty());
      CHECK(x.responses[i + 1].status == 200);
      CHECK(x.responses[i + 1].body == expected_fibonacci_json(300));
    }
    CHECK(took < seconds(5));
    // A list past the header block limit is refused like any other oversized block.
    std::string huge;
    while (huge.size() < 20 * kib)
      huge += "\"tag-" + std::to_string(huge.size()) + "\", ";
    const auto over = exchange(
        scene.http_port(), get_request("/v1/fibonacci?n=300", "If-None-Match: " + huge + "\r\n"));
    CHECK(only_response_then_close(over).status == 431);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("Accept with 3,000 entries is negotiated in bounded time, 5,000 are refused 431") {
    web_scene scene;
    auto accept_with = [](int entries) {
      std::string a = "Accept: ";
      for (int i = 0; i < entries; ++i)
        a += "x/y,";
      return a + "text/plain;q=0.5\r\n";
    };
    std::string pipeline;
    for (int i = 0; i < 100; ++i)
      pipeline += get_request("/v1/fibonacci?n=50", accept_with(3000));
    pipeline += get_request("/healthz", {}, true);
    const auto start = test_clock::now();
    const auto x = exchange(scene.http_port(), pipeline, seconds(20));
    const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
    MESSAGE("100 requests with 3,000 Accept entries answered in " << took.count() << " ms");
    REQUIRE(x.responses.size() == 101);
    std::string text;  // Accept prefers text/plain: the numbers separated by spaces
    for (std::size_t k = 0; k < 50; ++k)
      text += (k == 0 ? "" : " ") + fibonacci_text(k);
    for (std::size_t i = 0; i < 100; ++i) {
      CHECK(x.responses[i].status == 200);
      CHECK(x.responses[i].body == text + "\n");
    }
    CHECK(took < seconds(5));
    const auto over =
        exchange(scene.http_port(), get_request("/v1/fibonacci?n=50", accept_with(5000)));
    CHECK(only_response_then_close(over).status == 431);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("half-closed clients get every complete request answered, nothing else") {
    web_scene scene;
    // Three pipelined requests, the last the largest answer (65 MB, streamed), then FIN.
    auto conn = raw_conn::connect(scene.http_port());
    REQUIRE(conn);
    REQUIRE(conn->send_all(get_request("/v1/fibonacci?n=30") + get_request("/fib/10") +
                               get_request("/v1/fibonacci?n=25000"),
                           seconds(5)));
    conn->shutdown_write();
    auto all = read_responses(*conn, 4, seconds(60));
    CHECK(all.closed);
    REQUIRE(all.parsed);
    REQUIRE(all.responses.size() == 3);
    CHECK(all.responses[0].body == expected_fibonacci_json(30));
    CHECK(all.responses[1].body == R"({"N":10,"result":"0 1 1 2 3 5 8 13 21 34"})");
    CHECK(all.responses[2].header("transfer-encoding") == std::optional<std::string>("chunked"));
    CHECK_MESSAGE(all.responses[2].body == expected_fibonacci_json(25000),
                  "the streamed answer after the client's FIN is not F(0)..F(24999)");
    // Half-closed in the middle of a head: closed at once, nothing sent.
    conn = raw_conn::connect(scene.http_port());
    REQUIRE(conn);
    REQUIRE(conn->send_all("GET /v1/fibonacci?n=5 HTTP/1.1\r\nHo", seconds(5)));
    conn->shutdown_write();
    std::string got;
    const auto start = test_clock::now();
    CHECK(conn->read_until_closed(got, seconds(5)));
    CHECK(got.empty());
    CHECK(test_clock::now() - start < seconds(1));
    // Half-closed in the middle of a body: the 413 comes anyway.
    const auto x = [&] {
      auto c = raw_conn::connect(scene.http_port());
      REQUIRE(c);
      REQUIRE(c->send_all(
          get_request("/v1/fibonacci?n=5", "Content-Length: 100\r\n") + std::string(50, 'b'),
          seconds(5)));
      c->shutdown_write();
      return read_responses(*c, 2, seconds(5));
    }();
    REQUIRE(x.responses.size() == 1);
    CHECK(x.responses[0].status == 413);
    CHECK(x.closed);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a client that sends more while its last answer streams gets all of it, no reset") {
    web_scene scene;
    // The server reads nothing while it streams, so these bytes are still unread when it
    // closes: closing at once would reset the connection and drop the end of the answer.
    constexpr std::size_t n = 5000;  // 2.6 MB: streamed
    auto conn = raw_conn::connect(scene.http_port(), seconds(5), small_receive_buffer);
    REQUIRE(conn);
    REQUIRE(
        conn->send_all(get_request("/v1/fibonacci?n=" + std::to_string(n), {}, true), seconds(5)));
    std::string first;
    conn->read_some(first, seconds(5), 1000);
    // The answer is flowing, most of it still queued at the server (this client's window is
    // small): more bytes now, then read on at full speed (a lingering close waits 2 s).
    REQUIRE(conn->send_all(get_request("/healthz") + std::string(20 * kib, ' '), seconds(5)));
    http_response_reader reader;
    std::string rest;
    CHECK(conn->read_until_closed(rest, seconds(30)));
    const bool whole = reader.feed(first) && reader.feed(rest) && reader.finish() &&
                       reader.responses().size() == 1;
    CHECK_MESSAGE(whole, "the answer was cut after " << first.size() + rest.size()
                                                     << " bytes: " << reader.error());
    if (whole) {
      CHECK(reader.responses()[0].body == expected_fibonacci_json(n));
    }
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("HEAD of the largest answer renders nothing: 1,000 pipelined HEADs at once") {
    web_scene scene;
    const auto rss_before = scene.rss_kib();
    std::string pipeline;
    const std::vector<std::string> targets = {"/v1/fibonacci?n=25000", "/fib?limit=25000",
                                              "/fib/25000", "/v1/fibonacci?from=0&to=24999"};
    for (int i = 0; i < 1000; ++i)
      pipeline +=
          get_request(targets[static_cast<std::size_t>(i) % targets.size()], {}, false, "HEAD");
    const auto start = test_clock::now();
    auto conn = raw_conn::connect(scene.http_port());
    REQUIRE(conn);
    REQUIRE(conn->send_all(pipeline, seconds(10)));
    const auto x = read_responses(*conn, 1000, seconds(20), true);
    const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
    MESSAGE("1,000 HEADs of the largest answers took " << took.count() << " ms");
    REQUIRE(x.responses.size() == 1000);
    for (const auto& r : x.responses) {
      CHECK(r.status == 200);
      CHECK(r.header("etag").has_value());
    }
    // No body bytes followed any head: the bytes are exactly the heads.
    CHECK(x.raw.find("\r\n\r\n0") == std::string::npos);
    CHECK(took < seconds(5));  // rendering even one would take ~100 ms
    CHECK(growth_kib(rss_before, scene.rss_kib()) < 16 * kib * asan_memory_factor);
    // The connection is still in step: a GET on it gets its exact answer.
    REQUIRE(conn->send_all(get_request("/v1/fibonacci?n=20", {}, true), seconds(5)));
    const auto after = read_responses(*conn, 1, seconds(5));
    REQUIRE(after.responses.size() == 1);
    CHECK(after.responses[0].body == expected_fibonacci_json(20));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("method confusion: CONNECT, TRACE, OPTIONS, PUT, lower case and a 10 KiB method") {
    web_scene scene;
    struct row {
      std::string request;
      unsigned status;
      bool closes;
    };
    const std::vector<row> rows = {
        {get_request("/v1/fibonacci?n=5", {}, false, "TRACE"), 405, false},
        {get_request("/v1/fibonacci?n=5", {}, false, "OPTIONS"), 405, false},
        {get_request("*", {}, false, "OPTIONS"), 404, false},
        {get_request("/v1/fibonacci?n=5", {}, false, "PUT"), 405, false},
        {get_request("/v1/fibonacci?n=5", {}, false, "DELETE"), 405, false},
        {get_request("/", {}, false, "POST"), 405, false},
        {get_request("hostile.test:443", {}, false, "CONNECT"), 405, true},
        {get_request("/v1/fibonacci?n=5", {}, false, "get"), 400, true},
        {get_request("/v1/fibonacci?n=5", {}, false, std::string(10 * kib, 'G')), 400, true},
        {get_request("/v1/fibonacci?n=5", {}, false, "GET", "HTTP/1.2"), 505, true},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, true},  // an HTTP/2 preface
    };
    for (const auto& r : rows) {
      CAPTURE(r.request.substr(0, 40));
      // Each is followed on the same connection by a good request: served if the connection
      // stays open, never read if the method closed it.
      const auto x =
          exchange(scene.http_port(), r.request + get_request("/v1/fibonacci?n=7", {}, true));
      INFO("received: " << x.raw.substr(0, 300));
      REQUIRE(x.parsed);
      REQUIRE(x.responses.size() == (r.closes ? 1u : 2u));
      CHECK(x.responses[0].status == r.status);
      if (r.status == 405) {
        CHECK(x.responses[0].header("allow") == std::optional<std::string>("GET, HEAD"));
      }
      if (!r.closes) {
        CHECK(x.responses[1].body == expected_fibonacci_json(7));
      }
      CHECK(x.closed);
    }
    scene.legit_step();
    scene.finish();
  }
}

}  // namespace numsequence::hostile
