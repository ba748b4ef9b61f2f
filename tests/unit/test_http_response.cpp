// Response heads byte for byte, framing per version and method, 304 on If-None-Match, error
// responses, chunk framing and the Date value (expected dates from Python's
// email.utils.formatdate(t, usegmt=True)).

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/response.hpp"
#include "numsequence/http/router.hpp"

using namespace numsequence;

namespace {

constexpr std::string_view date = "Sun, 06 Nov 1994 08:49:37 GMT";

http_request request_for(const std::string& head) {
  request_parser p;
  const parse_result r = p.consume(head);
  REQUIRE(r.what == parse_result::kind::request);
  return p.request();
}

std::chrono::system_clock::time_point at(std::int64_t seconds) {
  return std::chrono::system_clock::time_point{std::chrono::seconds{seconds}};
}

}  // namespace

TEST_CASE("http_response: a sized JSON answer, cacheable") {
  response_head h;
  h.date = date;
  h.type = content_type::json;
  h.content_length = 42;
  h.etag = R"("fibonacci-v1/json/n/0/5")";
  h.cache = cache_policy::immutable;
  h.vary_accept = true;
  std::string out;
  const head_written w = append_response_head(out, h);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 42\r\n"
        "ETag: \"fibonacci-v1/json/n/0/5\"\r\n"
        "Cache-Control: public, max-age=31536000, immutable\r\n"
        "Vary: Accept\r\n"
        "\r\n");
  CHECK(w.framing == body_framing::content_length);
  CHECK(w.keep_alive);
}

TEST_CASE("http_response: framing and Connection by version, size and method") {
  struct row {
    http_version version;
    bool keep_alive;
    bool head_request;
    bool sized;
    std::string framing_fields;  // Content-Length / Transfer-Encoding / Connection lines
    body_framing framing;
    bool keeps;
  };
  using enum http_version;
  using enum body_framing;
  const std::vector<row> rows = {
      {http_1_1, true, false, true, "Content-Length: 7\r\n", content_length, true},
      {http_1_1, false, false, true, "Content-Length: 7\r\nConnection: close\r\n", content_length,
       false},
      {http_1_0, true, false, true, "Content-Length: 7\r\nConnection: keep-alive\r\n",
       content_length, true},
      {http_1_0, false, false, true, "Content-Length: 7\r\nConnection: close\r\n", content_length,
       false},
      {http_1_1, true, false, false, "Transfer-Encoding: chunked\r\n", chunked, true},
      {http_1_1, false, false, false, "Transfer-Encoding: chunked\r\nConnection: close\r\n",
       chunked, false},
      // HTTP/1.0 has no chunks: the body ends with the connection.
      {http_1_0, true, false, false, "Connection: close\r\n", close_delimited, false},
      {http_1_0, false, false, false, "Connection: close\r\n", close_delimited, false},
      // HEAD: GET's fields, no body, so nothing forces a close.
      {http_1_1, true, true, true, "Content-Length: 7\r\n", none, true},
      {http_1_1, true, true, false, "Transfer-Encoding: chunked\r\n", none, true},
      {http_1_0, true, true, false, "Connection: keep-alive\r\n", none, true},
      {http_1_0, false, true, true, "Content-Length: 7\r\nConnection: close\r\n", none, false},
  };
  for (const row& r : rows) {
    CAPTURE(r.framing_fields);
    CAPTURE(r.head_request);
    response_head h;
    h.version = r.version;
    h.keep_alive = r.keep_alive;
    h.head_request = r.head_request;
    h.date = date;
    h.type = content_type::text;
    h.content_length = r.sized ? std::optional<std::uint64_t>(7) : std::nullopt;
    std::string out;
    const head_written w = append_response_head(out, h);
    CHECK(out ==
          "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: numsequence\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n" +
              r.framing_fields + "Cache-Control: no-store\r\n\r\n");
    CHECK(w.framing == r.framing);
    CHECK(w.keep_alive == r.keeps);
  }
}

TEST_CASE("http_response: 304 has no body, no length and no Content-Type") {
  response_head h;
  h.status = 304;
  h.date = date;
  h.type = content_type::json;
  h.content_length = std::nullopt;
  h.etag = R"("k")";
  h.cache = cache_policy::immutable;
  h.vary_accept = true;
  std::string out;
  const head_written w = append_response_head(out, h);
  CHECK(out ==
        "HTTP/1.1 304 Not Modified\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\n"
        "ETag: \"k\"\r\n"
        "Cache-Control: public, max-age=31536000, immutable\r\n"
        "Vary: Accept\r\n"
        "\r\n");
  CHECK(w.framing == body_framing::none);
  CHECK(w.keep_alive);
}

TEST_CASE("http_response: answer_head gives 200 with a strong ETag, or 304 when it matches") {
  const std::string head = "GET /v1/fibonacci?n=05 HTTP/1.1\r\nHost: a\r\n";
  struct row {
    std::string if_none_match;
    unsigned status;
  };
  const std::vector<row> rows = {
      {"", 200},
      {R"("fibonacci-v1/json/n/0/5")", 304},
      {R"(W/"fibonacci-v1/json/n/0/5")", 304},
      {R"("other", "fibonacci-v1/json/n/0/5")", 304},
      {"*", 304},
      {R"("fibonacci-v1/text/n/0/5")", 200},
      {R"("fibonacci-v1/json/n/0/6")", 200},
  };
  for (const row& r : rows) {
    CAPTURE(r.if_none_match);
    const std::string field =
        r.if_none_match.empty() ? "" : "If-None-Match: " + r.if_none_match + "\r\n";
    const http_request req = request_for(head + field + "\r\n");
    const route_result route_r = route(req, {});
    const response_head h = answer_head(route_r, req, date);
    CHECK(h.status == r.status);
    CHECK(h.etag == R"("fibonacci-v1/json/n/0/5")");
    CHECK(h.cache == cache_policy::immutable);
    CHECK(h.type == content_type::json);
    CHECK(h.vary_accept);
    CHECK_FALSE(h.content_length);
  }
}

TEST_CASE("http_response: answer_head for text, HEAD, HTTP/1.0 and the page") {
  const http_request text = request_for(
      "HEAD /v1/fibonacci/7 HTTP/1.0\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n");
  const response_head h = answer_head(route(text, {}), text, date);
  CHECK(h.status == 200);
  CHECK(h.type == content_type::text);
  CHECK(h.head_request);
  CHECK(h.version == http_version::http_1_0);
  CHECK(h.keep_alive);
  CHECK(h.etag == R"("fibonacci-v1/text/k/7/1")");

  // The page is revalidated, not immutable: no ETag, so no 304.
  const http_request page =
      request_for("GET /?num=3 HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n");
  const response_head p = answer_head(route(page, {}), page, date);
  CHECK(p.status == 200);
  CHECK(p.type == content_type::html);
  CHECK(p.etag.empty());
  CHECK(p.cache == cache_policy::revalidate);

  // The page's 400 is rendered by the page too: its head says 400 and is not kept.
  const http_request bad =
      request_for("GET /?num=x HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n");
  const response_head b = answer_head(route(bad, {}), bad, date);
  CHECK(b.status == 400);
  CHECK(b.type == content_type::html);
  CHECK(b.etag.empty());
  CHECK(b.cache == cache_policy::no_store);
}

TEST_CASE("http_response: route errors, whole, by body type") {
  const http_request json_req = request_for("GET /v1/fibonacci?n=-1 HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string out;
  head_written w = append_error_response(out, route(json_req, {}), json_req, date);
  const std::string json_body = R"({"error":"parameter \"n\" must not be negative, got \"-1\""})";
  CHECK(out ==
        "HTTP/1.1 400 Bad Request\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: numsequence\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(json_body.size()) +
            "\r\nCache-Control: no-store\r\nVary: Accept\r\n\r\n" + json_body);
  CHECK(w.framing == body_framing::content_length);
  CHECK(w.keep_alive);

  const http_request post = request_for("POST /fib HTTP/1.0\r\n\r\n");
  out.clear();
  w = append_error_response(out, route(post, {}), post, date);
  CHECK(out ==
        "HTTP/1.1 405 Method Not Allowed\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 36\r\n"
        "Connection: close\r\nCache-Control: no-store\r\nAllow: GET, HEAD\r\n\r\n"
        "method not allowed: use GET or HEAD\n");
  CHECK_FALSE(w.keep_alive);

  const http_request stream = request_for("HEAD /v1/stream HTTP/1.1\r\nHost: a\r\n\r\n");
  out.clear();
  w = append_error_response(out, route(stream, {}), stream, date);
  CHECK(out ==
        "HTTP/1.1 426 Upgrade Required\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 67\r\n"
        "Connection: upgrade\r\nCache-Control: no-store\r\nUpgrade: websocket\r\n\r\n");
  CHECK(w.framing == body_framing::none);
}

TEST_CASE("http_response: parser errors close the connection") {
  request_parser p;
  const parse_result e = p.consume("GET / HTTP/2.0\r\n");
  REQUIRE(e.what == parse_result::kind::error);
  std::string out;
  append_parse_error_response(out, e, date);
  CHECK(out ==
        "HTTP/1.1 505 HTTP Version Not Supported\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: numsequence\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 52\r\n"
        "Connection: close\r\nCache-Control: no-store\r\n\r\n"
        "HTTP version 2.0 is not supported (1.0 and 1.1 are)\n");

  request_parser c;
  const parse_result connect = c.consume("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
  out.clear();
  append_parse_error_response(out, connect, date);
  CHECK(out.find("Allow: GET, HEAD\r\n") != std::string::npos);
  CHECK(out.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
}

TEST_CASE("http_response: error bodies, JSON-escaped or text") {
  CHECK(error_body(body_type::json, "a \"b\" \\ c") == R"({"error":"a \"b\" \\ c"})");
  CHECK(error_body(body_type::json, "tab\there\nnl\x01") ==
        R"({"error":"tab\u0009here\u000anl\u0001"})");
  CHECK(error_body(body_type::text, "plain") == "plain\n");
  CHECK(error_body(body_type::page, "shown by the page") == "shown by the page\n");
}

TEST_CASE("http_response: chunk framing") {
  std::string out;
  append_chunk(out, "hello");
  append_chunk(out, "");  // nothing: an empty chunk would end the body
  append_chunk(out, std::string(65536, 'x'));
  append_last_chunk(out);
  CHECK(out == "5\r\nhello\r\n10000\r\n" + std::string(65536, 'x') + "\r\n0\r\n\r\n");
  std::string split;
  append_chunk_header(split, 4095);
  split.append(4095, 'y');
  append_chunk_end(split);
  CHECK(split == "fff\r\n" + std::string(4095, 'y') + "\r\n");
}

TEST_CASE("http_response: IMF-fixdate") {
  struct row {
    std::int64_t t;
    std::string text;
  };
  for (const row& r : std::vector<row>{
           {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
           {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
           {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
           {4102444799, "Thu, 31 Dec 2099 23:59:59 GMT"},
           {1700000000, "Tue, 14 Nov 2023 22:13:20 GMT"},
           {1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
       }) {
    CAPTURE(r.t);
    CHECK(format_http_date(at(r.t)) == r.text);
    // A fraction of a second does not round up.
    CHECK(format_http_date(at(r.t) + std::chrono::milliseconds(999)) == r.text);
  }
}

TEST_CASE("http_response: the date cache formats once per second") {
  http_date_cache cache;
  const std::string_view first = cache.get(at(784111777));
  CHECK(first == "Sun, 06 Nov 1994 08:49:37 GMT");
  const char* const storage = first.data();
  CHECK(cache.get(at(784111777) + std::chrono::milliseconds(500)).data() == storage);
  CHECK(cache.get(at(784111778)) == "Sun, 06 Nov 1994 08:49:38 GMT");
  CHECK(cache.get(at(-1)) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(cache.get(at(0)) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("http_response: reason phrases and content types") {
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(413) == "Content Too Large");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(299).empty());
  CHECK(content_type_for(body_type::json) == content_type::json);
  CHECK(content_type_for(body_type::text) == content_type::text);
  CHECK(content_type_for(body_type::page) == content_type::html);
  CHECK(etag_for("page/3") == "\"page/3\"");
}
