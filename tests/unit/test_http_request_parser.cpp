// request_parser tests: the fields a request keeps, byte accounting (pipelining, upgrades,
// any split of the input), keep-alive, and every refusal with its status.

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/http/request_parser.hpp"

using namespace numsequence;
using namespace std::string_literals;
using kind = parse_result::kind;

namespace {

/// What feeding a whole stream produced: the requests in order, then the error if any.
struct outcome {
  std::vector<http_request> requests;
  std::vector<std::size_t> head_sizes;  // bytes each request consumed, in total
  unsigned error_status = 0;
  std::string error_message;
  std::size_t left_over = 0;  // bytes still in the caller's buffer at the end
};

/// Feeds `stream` in reads of `read_size` bytes, as a connection does: append the read to
/// the buffer, consume until need_more, drop what was consumed.
outcome feed(std::string_view stream, std::size_t read_size, request_limits limits = {}) {
  request_parser p{limits};
  outcome out;
  std::string buffer;
  std::size_t head = 0;
  for (std::size_t at = 0; at < stream.size() && out.error_status == 0; at += read_size) {
    buffer.append(stream.substr(at, read_size));
    for (;;) {
      const parse_result r = p.consume(buffer);
      REQUIRE(r.consumed <= buffer.size());
      buffer.erase(0, r.consumed);
      head += r.consumed;
      if (r.what == kind::need_more) {
        CHECK(buffer.empty());  // a head in progress is held by the parser, not the buffer
        break;
      }
      if (r.what == kind::error) {
        out.error_status = r.status;
        out.error_message = std::string(r.message);
        break;
      }
      out.requests.push_back(p.request());
      out.head_sizes.push_back(head);
      head = 0;
      if (p.request().upgrade)
        break;  // the rest belongs to another protocol
    }
    if (!out.requests.empty() && out.requests.back().upgrade)
      break;
  }
  out.left_over = buffer.size();
  return out;
}

const std::string simple = "GET /v1/fibonacci?n=5 HTTP/1.1\r\nHost: example.com\r\n\r\n";

const std::string full =
    "GET /v1/fibonacci/7?x=1 HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "User-Agent: test\r\n"
    "Accept: text/plain;q=0.9, application/json;q=0.5\r\n"
    "If-None-Match: \"abc\", W/\"def\"\r\n"
    "Connection: keep-alive\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

void check_full(const http_request& r) {
  CHECK(r.method == request_method::get);
  CHECK(r.version == http_version::http_1_1);
  CHECK(r.keep_alive);
  CHECK_FALSE(r.upgrade);
  CHECK(r.target == "/v1/fibonacci/7?x=1");
  CHECK(r.path == "/v1/fibonacci/7");
  CHECK(r.query == "x=1");
  CHECK(r.host == "example.com:8080");
  CHECK(r.accept == "text/plain;q=0.9, application/json;q=0.5");
  CHECK(r.if_none_match == R"("abc", W/"def")");
  CHECK(r.connection == "keep-alive");
  CHECK(r.origin == "http://example.com");
  CHECK(r.sec_websocket_key == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(r.sec_websocket_version == "13");
  CHECK(r.upgrade_protocols.empty());
}

std::string head_with_line_of(std::size_t line_size) {
  // "GET /" + padding + " HTTP/1.1\r\n" is line_size bytes.
  const std::string fixed = "GET / HTTP/1.1\r\n";
  std::string line = "GET /" + std::string(line_size - fixed.size(), 'a') + " HTTP/1.1\r\n";
  return line + "Host: a\r\n\r\n";
}

}  // namespace

TEST_CASE("http_request_parser: the header's example") {
  request_parser p;
  std::string buf = "GET /fib?limit=3 HTTP/1.1\r\nHost: a\r\n\r\nGET /";
  auto r = p.consume(buf);
  REQUIRE(r.what == kind::request);
  CHECK(r.consumed == 38);
  CHECK(p.request().path == "/fib");
  CHECK(p.request().query == "limit=3");
  buf.erase(0, r.consumed);
  r = p.consume(buf);
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == 5);
}

TEST_CASE("http_request_parser: a head keeps the fields routes need") {
  const outcome o = feed(full, full.size());
  REQUIRE(o.requests.size() == 1);
  check_full(o.requests[0]);
  CHECK(o.head_sizes[0] == full.size());
  CHECK(o.left_over == 0);
}

TEST_CASE("http_request_parser: the same request whatever the read size, byte by byte too") {
  for (std::size_t read = 1; read <= full.size(); ++read) {
    CAPTURE(read);
    const outcome o = feed(full, read);
    REQUIRE(o.requests.size() == 1);
    check_full(o.requests[0]);
    CHECK(o.head_sizes[0] == full.size());
  }
}

TEST_CASE("http_request_parser: the same request split in two at every position") {
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    CAPTURE(cut);
    request_parser p;
    const parse_result a = p.consume(std::string_view(full).substr(0, cut));
    if (cut < full.size()) {
      REQUIRE(a.what == kind::need_more);
      CHECK(a.consumed == cut);
      const parse_result b = p.consume(std::string_view(full).substr(cut));
      REQUIRE(b.what == kind::request);
      CHECK(b.consumed == full.size() - cut);
    } else {
      REQUIRE(a.what == kind::request);
    }
    check_full(p.request());
  }
}

TEST_CASE("http_request_parser: pipelined requests come out one at a time, in order") {
  const std::string a = "GET /fib?limit=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string b = "HEAD /fib/2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string c = "GET /v1/fibonacci?n=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string stream = a + b + c;
  for (std::size_t read : {std::size_t{1}, std::size_t{7}, stream.size()}) {
    CAPTURE(read);
    const outcome o = feed(stream, read);
    REQUIRE(o.requests.size() == 3);
    CHECK(o.requests[0].path == "/fib");
    CHECK(o.requests[1].path == "/fib/2");
    CHECK(o.requests[1].method == request_method::head);
    CHECK(o.requests[2].path == "/v1/fibonacci");
    CHECK(o.head_sizes == std::vector<std::size_t>{a.size(), b.size(), c.size()});
    CHECK(o.requests[0].keep_alive);
    CHECK(o.requests[1].keep_alive);
    CHECK_FALSE(o.requests[2].keep_alive);
  }
}

TEST_CASE("http_request_parser: after a request the parser stops: the next head stays unread") {
  request_parser p;
  const std::string two = simple + simple;
  const parse_result r = p.consume(two);
  REQUIRE(r.what == kind::request);
  CHECK(r.consumed == simple.size());
  // The second request is untouched until the caller asks for it.
  const parse_result again = p.consume(std::string_view(two).substr(r.consumed));
  REQUIRE(again.what == kind::request);
  CHECK(again.consumed == simple.size());
}

TEST_CASE("http_request_parser: keep-alive by version and Connection") {
  struct row {
    std::string head;
    http_version version;
    bool keep_alive;
  };
  const std::vector<row> rows = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", http_version::http_1_1, true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", http_version::http_1_1, false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", http_version::http_1_1, false},
      {"GET / HTTP/1.0\r\n\r\n", http_version::http_1_0, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", http_version::http_1_0, true},
      {"GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n", http_version::http_1_0, true},
  };
  for (const row& r : rows) {
    CAPTURE(r.head);
    const outcome o = feed(r.head, r.head.size());
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].version == r.version);
    CHECK(o.requests[0].keep_alive == r.keep_alive);
  }
}

TEST_CASE("http_request_parser: HTTP/1.0 needs no Host, HTTP/1.1 does") {
  CHECK(feed("GET / HTTP/1.0\r\n\r\n", 64).requests.size() == 1);
  const outcome o = feed("GET / HTTP/1.1\r\n\r\n", 64);
  CHECK(o.requests.empty());
  CHECK(o.error_status == 400);
  CHECK(o.error_message == "malformed request: HTTP/1.1 requires a Host header");
  // An empty Host is a Host (RFC 9112 3.2: sent when the target has no authority).
  CHECK(feed("GET / HTTP/1.1\r\nHost:\r\n\r\n", 64).requests.size() == 1);
}

TEST_CASE("http_request_parser: methods") {
  struct row {
    std::string method;
    request_method expected;
  };
  for (const row& r : std::vector<row>{{"GET", request_method::get},
                                       {"HEAD", request_method::head},
                                       {"POST", request_method::other},
                                       {"PUT", request_method::other},
                                       {"DELETE", request_method::other},
                                       {"OPTIONS", request_method::other}}) {
    CAPTURE(r.method);
    const outcome o = feed(r.method + " /fib HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].method == r.expected);
  }
}

TEST_CASE("http_request_parser: an upgrade head ends at its blank line, the rest is not read") {
  const std::string head =
      "GET /v1/stream HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s;  // RFC 6455 5.7
  for (std::size_t read : {std::size_t{1}, std::size_t{5}, head.size() + frame.size()}) {
    CAPTURE(read);
    const outcome o = feed(head + frame, read);
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].upgrade);
    CHECK(o.requests[0].upgrade_protocols == "websocket");
    CHECK(o.requests[0].connection == "Upgrade");
    CHECK(o.head_sizes[0] == head.size());
  }
  request_parser p;
  const std::string all = head + frame;
  const parse_result r = p.consume(all);
  REQUIRE(r.what == kind::request);
  CHECK(r.consumed == head.size());
  CHECK(std::string_view(all).substr(r.consumed) == frame);
}

TEST_CASE("http_request_parser: Upgrade without Connection: upgrade is no upgrade") {
  const outcome o = feed("GET /v1/stream HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", 3);
  REQUIRE(o.requests.size() == 1);
  CHECK_FALSE(o.requests[0].upgrade);
  CHECK(o.requests[0].upgrade_protocols == "websocket");
}

TEST_CASE("http_request_parser: an upgrade the caller declines is followed by the next request") {
  const std::string upgrade =
      "GET /fib HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n";
  request_parser p;
  const std::string both = upgrade + simple;
  const parse_result a = p.consume(both);
  REQUIRE(a.what == kind::request);
  CHECK(p.request().upgrade);
  CHECK(a.consumed == upgrade.size());
  const parse_result b = p.consume(std::string_view(both).substr(a.consumed));
  REQUIRE(b.what == kind::request);
  CHECK(b.consumed == simple.size());
  CHECK_FALSE(p.request().upgrade);
  CHECK(p.request().path == "/v1/fibonacci");
}

TEST_CASE("http_request_parser: a repeated header is one list, values are trimmed") {
  const outcome o = feed(
      "GET / HTTP/1.1\r\nHost: a\r\nAccept: text/plain  \r\nX-Other: 1\r\naccept:\t*/*\r\n"
      "ACCEPT:\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n",
      2);
  REQUIRE(o.requests.size() == 1);
  CHECK(o.requests[0].accept == "text/plain, */*");
  CHECK(o.requests[0].if_none_match == R"("a", "b")");
}

TEST_CASE("http_request_parser: targets in absolute-form and with dot segments") {
  struct row {
    std::string target, path, query;
  };
  for (const row& r : std::vector<row>{
           {"http://example.com/v1/fibonacci?n=5", "/v1/fibonacci", "n=5"},
           {"/v1/../fib?limit=3", "/fib", "limit=3"},
           {"/v1/fibonacci/%35", "/v1/fibonacci/5", ""},
           {"/fib?", "/fib", ""},
       }) {
    CAPTURE(r.target);
    const outcome o = feed("GET " + r.target + " HTTP/1.1\r\nHost: a\r\n\r\n", 4);
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].target == r.target);
    CHECK(o.requests[0].path == r.path);
    CHECK(o.requests[0].query == r.query);
  }
}

TEST_CASE("http_request_parser: empty lines before a request are skipped") {
  const std::string stream = "\r\n\r\n" + simple;
  const outcome o = feed(stream, 1);
  REQUIRE(o.requests.size() == 1);
  CHECK(o.head_sizes[0] == stream.size());
}

TEST_CASE("http_request_parser: a request line of the limit passes, one byte more is 414") {
  const std::string at_limit = head_with_line_of(8192);
  const std::string over = head_with_line_of(8193);
  REQUIRE(at_limit.find("\r\n") + 2 == 8192);
  for (std::size_t read : {std::size_t{1}, std::size_t{1000}, over.size()}) {
    CAPTURE(read);
    CHECK(feed(at_limit, read).requests.size() == 1);
    const outcome o = feed(over, read);
    CHECK(o.requests.empty());
    CHECK(o.error_status == 414);
    CHECK(o.error_message == "request line longer than 8192 bytes");
  }
}

TEST_CASE("http_request_parser: a request line that never ends is cut at the limit") {
  request_parser p{{.max_request_line = 64}};
  const std::string endless(65, 'A');
  const parse_result r = p.consume("GET /" + endless);
  CHECK(r.what == kind::error);
  CHECK(r.status == 414);
}

TEST_CASE("http_request_parser: empty lines before a request count against the line limit") {
  const outcome o =
      feed(std::string(60, '\n') + "GET / HTTP/1.0\r\n\r\n", 1, {.max_request_line = 64});
  CHECK(o.error_status == 414);
}

TEST_CASE("http_request_parser: a header block of the limit passes, one byte more is 431") {
  const std::string line = "GET / HTTP/1.1\r\n";
  // "Host: a\r\n" + "X: " + padding + "\r\n" + "\r\n"
  const std::size_t fixed = 9 + 3 + 2 + 2;
  const std::string at_limit =
      line + "Host: a\r\nX: " + std::string(16384 - fixed, 'v') + "\r\n\r\n";
  const std::string over = line + "Host: a\r\nX: " + std::string(16385 - fixed, 'v') + "\r\n\r\n";
  REQUIRE(at_limit.size() - line.size() == 16384);
  for (std::size_t read : {std::size_t{1}, std::size_t{4096}, over.size()}) {
    CAPTURE(read);
    CHECK(feed(at_limit, read).requests.size() == 1);
    const outcome o = feed(over, read);
    CHECK(o.error_status == 431);
    CHECK(o.error_message == "header block longer than 16384 bytes");
  }
}

TEST_CASE("http_request_parser: 100 header fields pass, 101 are 431") {
  std::string hundred = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < 100; ++i)
    hundred += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(feed(hundred + "\r\n", 5).requests.size() == 1);
  const outcome o = feed(hundred + "X-100: v\r\n\r\n", 5);
  CHECK(o.error_status == 431);
  CHECK(o.error_message == "more than 100 header fields");
}

TEST_CASE("http_request_parser: a request with a body is refused with 413") {
  for (const std::string& h :
       {"Content-Length: 5\r\n"s, "Transfer-Encoding: chunked\r\n"s, "Transfer-Encoding: gzip\r\n"s,
        "transfer-encoding: chunked\r\n"s, "Content-Length: 1\r\n"s}) {
    CAPTURE(h);
    const outcome o = feed("POST /fib HTTP/1.1\r\nHost: a\r\n" + h + "\r\nhello", 3);
    CHECK(o.requests.empty());
    CHECK(o.error_status == 413);
    CHECK(o.error_message == "request bodies are not accepted");
  }
  const outcome zero = feed("GET /fib HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 3);
  CHECK(zero.requests.size() == 1);
}

TEST_CASE("http_request_parser: malformed heads are 400") {
  struct row {
    std::string stream;
    std::string message;
  };
  const std::vector<row> rows = {
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s,
       "malformed request: unknown or malformed method"},
      {"get / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request: unknown or malformed method"},
      {"GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n",
       "malformed request: invalid character in a header field name"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"s,
       "malformed request: invalid character in header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00z\r\n\r\n"s,
       "malformed request: invalid character in header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n"s,
       "malformed request: invalid character in header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
       "malformed request: more than one Host header"},
      {"GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request: invalid request target"},
      {"GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request: invalid request target"},
      {"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request: invalid request target"},
      {"GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request: invalid request target"},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "malformed request: unexpected content-length header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
       "malformed request: invalid character in content-length header"},
      {"GET / HTTP/1.x\r\n\r\n", "malformed request: invalid HTTP version"},
      {"GET / HTTP/1.1\rX", "malformed request: LF character expected"},
  };
  for (const row& r : rows) {
    for (std::size_t read : {std::size_t{1}, r.stream.size()}) {
      CAPTURE(r.stream);
      CAPTURE(read);
      const outcome o = feed(r.stream, read);
      CHECK(o.requests.empty());
      CHECK(o.error_status == 400);
      CHECK(o.error_message == r.message);
    }
  }
}

TEST_CASE("http_request_parser: versions other than 1.0 and 1.1 are 505") {
  struct row {
    std::string line;
    std::string message;
  };
  for (const row& r : std::vector<row>{
           {"GET / HTTP/2.0\r\n", "HTTP version 2.0 is not supported (1.0 and 1.1 are)"},
           {"GET / HTTP/1.2\r\n", "HTTP version 1.2 is not supported (1.0 and 1.1 are)"},
           {"GET / HTTP/0.9\r\n", "HTTP version 0.9 is not supported (1.0 and 1.1 are)"},
           {"GET /\r\n", "HTTP version 0.9 is not supported (1.0 and 1.1 are)"},
       }) {
    CAPTURE(r.line);
    // Refused when the request line ends, before any header arrives.
    const outcome o = feed(r.line, 1);
    CHECK(o.error_status == 505);
    CHECK(o.error_message == r.message);
  }
}

TEST_CASE("http_request_parser: CONNECT is 405") {
  const outcome o = feed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 8);
  CHECK(o.error_status == 405);
  CHECK(o.error_message == "CONNECT is not supported: this server is not a proxy");
}

TEST_CASE("http_request_parser: after an error the parser stays in it and consumes nothing") {
  request_parser p;
  const parse_result r = p.consume("BAD\x01 / HTTP/1.1\r\n\r\n"s);
  REQUIRE(r.what == kind::error);
  const parse_result again = p.consume(simple);
  CHECK(again.what == kind::error);
  CHECK(again.status == r.status);
  CHECK(again.consumed == 0);
  CHECK(again.message == r.message);
}

TEST_CASE("http_request_parser: idle() is true only between requests") {
  request_parser p;
  CHECK(p.idle());
  CHECK(p.consume("\r\n").what == kind::need_more);
  CHECK(p.idle());  // an empty line is not a request yet
  CHECK(p.consume("GE").what == kind::need_more);
  CHECK_FALSE(p.idle());
  const parse_result r = p.consume(std::string_view(simple).substr(2));
  REQUIRE(r.what == kind::request);
  CHECK(p.idle());
}

TEST_CASE("http_request_parser: an empty input is need_more and uses nothing") {
  request_parser p;
  const parse_result r = p.consume("");
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == 0);
}

TEST_CASE("http_request_parser: the error is the same whatever the reads") {
  // Problems found in field names and values (reported wherever a read ends) wait for the end
  // of the head, so a later malformed byte, which the parser reports at that byte, wins the
  // same way for every split.
  const std::vector<std::string> streams = {
      "POST /fib HTTP/1.1\r\nH HTTP/ost: a\r\nContent-Length: 5\r\n\r\nhello",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\x01\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nX: \x7f\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD\x01: 4\r\n\r\n",
  };
  for (const std::string& s : streams) {
    CAPTURE(s);
    const outcome whole = feed(s, s.size(), {.max_header_fields = 3});
    REQUIRE(whole.error_status != 0);
    for (std::size_t read = 1; read < s.size(); ++read) {
      CAPTURE(read);
      const outcome o = feed(s, read, {.max_header_fields = 3});
      CHECK(o.error_status == whole.error_status);
      CHECK(o.error_message == whole.error_message);
    }
  }
}
