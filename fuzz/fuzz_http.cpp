// libFuzzer target: arbitrary bytes as one HTTP connection's input, through request_parser
// (fed in reads of random sizes), route(), the response writers and the Fibonacci renderer.
//
// Input layout: byte 0 seeds how the stream is cut into reads; byte 1 is the route limit
// (max_fibonacci, 0 to 100, so rendering stays fast); byte 2 picks small parser limits (bit 0:
// 64-byte request line, bit 1: 128-byte header block, bit 2: 4 header fields) and how bodies
// are framed (bit 3: streamed instead of sized); the rest is the byte stream. Invariants
// checked (abort on violation):
//   - the requests and the final error are the same whatever the reads (the stream in one
//     piece is the reference); need_more always uses the whole input; an error is sticky;
//   - parser errors and route statuses are in their documented sets; error messages are
//     printable ASCII; a request is within the limits;
//   - a Fibonacci answer's canonical key is fibonacci_key() of its query, and the canonical
//     request for that query (`/v1/fibonacci?n=5`, `/fib/5`, ...) routes to the same key;
//     equal keys in one input render equal bodies;
//   - every response head, with its body framed as the head says, is one complete, valid
//     HTTP/1.1 response to http_parser (status, length, chunks, HEAD and 304 without body).

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/response.hpp"
#include "numsequence/http/router.hpp"
#include "numsequence/sequence/fibonacci_render.hpp"

namespace {

using namespace numsequence;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http: invariant violated: %s\n", what);
    std::abort();
  }
}

bool printable(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return false;
  }
  return true;
}

/// What one connection's input produced, compared between ways of cutting it.
struct outcome {
  std::vector<http_request> requests;
  std::vector<std::size_t> consumed;  // per request: bytes from the end of the previous one
  unsigned error_status = 0;
  std::string error_message;
};

bool same_request(const http_request& a, const http_request& b) {
  return a.method == b.method && a.version == b.version && a.keep_alive == b.keep_alive &&
         a.upgrade == b.upgrade && a.target == b.target && a.path == b.path && a.query == b.query &&
         a.host == b.host && a.accept == b.accept && a.if_none_match == b.if_none_match &&
         a.connection == b.connection && a.upgrade_protocols == b.upgrade_protocols &&
         a.sec_websocket_key == b.sec_websocket_key &&
         a.sec_websocket_version == b.sec_websocket_version && a.origin == b.origin;
}

bool same_outcome(const outcome& a, const outcome& b) {
  if (a.requests.size() != b.requests.size() || a.consumed != b.consumed ||
      a.error_status != b.error_status || a.error_message != b.error_message)
    return false;
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    if (!same_request(a.requests[i], b.requests[i]))
      return false;
  }
  return true;
}

/// After a request, does the connection go on reading HTTP? (What the server does.)
bool connection_goes_on(const http_request& r, const route_limits& limits) {
  return r.keep_alive && route(r, limits).kind != route_kind::websocket;
}

void check_error(const parse_result& r, request_parser& p) {
  const unsigned s = r.status;
  require(s == 400 || s == 405 || s == 413 || s == 414 || s == 431 || s == 505,
          "a parser error has a documented status");
  require(!r.message.empty() && printable(r.message), "a parser error message is printable");
  const parse_result again = p.consume("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  require(again.what == parse_result::kind::error && again.status == s && again.consumed == 0,
          "a parser error is sticky");
}

void check_request(const http_request& r, const request_limits& limits) {
  require(r.target.size() <= limits.max_request_line, "the target fits the request line");
  require(r.path == "*" || (!r.path.empty() && r.path.front() == '/'), "the path is absolute");
  const std::size_t kept = r.host.size() + r.accept.size() + r.if_none_match.size() +
                           r.connection.size() + r.upgrade_protocols.size() +
                           r.sec_websocket_key.size() + r.sec_websocket_version.size() +
                           r.origin.size();
  // Joining repeated fields adds ", " per field at most.
  require(kept <= limits.max_header_block + 2 * limits.max_header_fields,
          "kept headers fit the header block");
}

/// Feeds `stream` in reads of varying size, as a connection's read loop does.
outcome parse_stream(std::string_view stream, const request_limits& limits,
                     const route_limits& routing, std::uint8_t cut_seed, bool one_piece) {
  outcome out;
  request_parser p{limits};
  std::string buffer;
  std::size_t fed = 0;
  std::size_t since_last = 0;
  std::uint32_t rng = 0x9e3779b9u ^ cut_seed;
  const std::size_t max_read = 1 + cut_seed % 64;
  while (fed < stream.size()) {
    rng = rng * 1664525u + 1013904223u;
    const std::size_t read = one_piece ? stream.size() : 1 + (rng >> 16) % max_read;
    const std::size_t n = std::min(read, stream.size() - fed);
    buffer.append(stream.substr(fed, n));
    fed += n;
    // Bounded: every request consumes at least one byte.
    const std::size_t passes = buffer.size() + 1;
    for (std::size_t pass = 0; pass < passes; ++pass) {
      const parse_result r = p.consume(buffer);
      require(r.consumed <= buffer.size(), "consumed never exceeds the input");
      since_last += r.consumed;
      buffer.erase(0, r.consumed);
      if (r.what == parse_result::kind::need_more) {
        require(buffer.empty(), "need_more uses the whole input");
        break;
      }
      if (r.what == parse_result::kind::error) {
        check_error(r, p);
        out.error_status = r.status;
        out.error_message = std::string(r.message);
        return out;
      }
      require(r.consumed > 0 && p.idle(), "a request consumes its head and leaves idle");
      check_request(p.request(), limits);
      out.requests.push_back(p.request());
      out.consumed.push_back(since_last);
      since_last = 0;
      if (!connection_goes_on(p.request(), routing))
        return out;
    }
  }
  return out;
}

// --- responses, read back by http_parser -------------------------------------------------

struct response_reader {
  bool skip_body = false;
  bool headers_done = false;
  bool complete = false;
  unsigned status = 0;
  std::string body;
};

int on_headers(http_parser* p) {
  auto& r = *static_cast<response_reader*>(p->data);
  r.headers_done = true;
  r.status = p->status_code;
  return r.skip_body ? 1 : 0;
}

int on_body(http_parser* p, const char* at, std::size_t n) {
  static_cast<response_reader*>(p->data)->body.append(at, n);
  return 0;
}

int on_complete(http_parser* p) {
  static_cast<response_reader*>(p->data)->complete = true;
  return 0;
}

/// The response must be exactly one complete message with this status and body.
void check_response(std::string_view wire, bool head_request, unsigned status,
                    std::string_view body, bool ends_with_close) {
  response_reader reader;
  reader.skip_body = head_request;
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &reader;
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_headers_complete = on_headers;
  s.on_body = on_body;
  s.on_message_complete = on_complete;
  const std::size_t n = http_parser_execute(&p, &s, wire.data(), wire.size());
  require(HTTP_PARSER_ERRNO(&p) == HPE_OK, "the response parses");
  require(n == wire.size(), "the response is used whole");
  if (ends_with_close)
    http_parser_execute(&p, &s, nullptr, 0);  // the close ends a close-delimited body
  require(reader.headers_done && reader.complete, "the response is complete");
  require(reader.status == status, "the response has its status");
  require(reader.body == body, "the response carries its body");
}

/// Writes an answer's head and body as the connection would, and reads it back.
void check_answer(const http_request& req, const route_result& r, const std::string& body,
                  bool streamed) {
  response_head h = answer_head(r, req, "Sun, 06 Nov 1994 08:49:37 GMT");
  require(h.status == r.status || (h.status == 304 && r.status == 200),
          "an answer has its route's status, or 304");
  if (!streamed)
    h.content_length = body.size();
  std::string wire;
  const head_written w = append_response_head(wire, h);
  const bool has_body = h.status != 304 && !r.head;
  require(has_body == (w.framing != body_framing::none), "a body exactly when one is due");
  if (w.framing == body_framing::chunked) {
    append_chunk(wire, body);
    append_last_chunk(wire);
  } else if (w.framing != body_framing::none) {
    wire.append(body);
  }
  require(w.framing != body_framing::close_delimited || !w.keep_alive,
          "a close-delimited body closes");
  check_response(wire, r.head, h.status, has_body ? body : std::string_view{},
                 w.framing == body_framing::close_delimited);
}

// --- routes -------------------------------------------------------------------------------

/// The canonical request of a Fibonacci answer, which must route to the same key.
std::string canonical_head(const fibonacci_query& q) {
  std::string target;
  std::string accept;
  const std::string from = std::to_string(q.from);
  switch (q.format) {
    case fibonacci_format::text_lines:
      target = "/fib?limit=" + std::to_string(q.count);
      break;
    case fibonacci_format::compat_result:
      target = "/fib/" + std::to_string(q.count);
      break;
    case fibonacci_format::text_spaces:
      accept = "Accept: text/plain\r\n";
      [[fallthrough]];
    case fibonacci_format::json:
      if (q.shape == fibonacci_shape::first_n)
        target = "/v1/fibonacci?n=" + std::to_string(q.count);
      else if (q.shape == fibonacci_shape::range)
        target = "/v1/fibonacci?from=" + from + "&to=" + std::to_string(q.last());
      else
        target = "/v1/fibonacci/" + from;
      break;
  }
  return "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + accept + "\r\n";
}

void check_fibonacci(const route_result& r, const route_limits& limits) {
  const fibonacci_query& q = r.fibonacci;
  require(r.status == 200 && r.cache == cache_policy::immutable, "an answer is immutable");
  require(r.canonical_key == fibonacci_key(q), "the key is the query's");
  require(q.shape != fibonacci_shape::first_n || (q.from == 0 && q.count <= limits.max_fibonacci),
          "first n within the limit");
  require(q.shape == fibonacci_shape::first_n ||
              (q.count >= 1 && q.last() >= q.from && q.last() < limits.max_fibonacci),
          "indexes within the limit");
  require(q.shape != fibonacci_shape::single || q.count == 1, "a single value is one");
  request_parser p;
  const parse_result again = p.consume(canonical_head(q));
  require(again.what == parse_result::kind::request, "the canonical request parses");
  const route_result canonical = route(p.request(), limits);
  require(canonical.canonical_key == r.canonical_key, "equal answers have equal keys");
}

void check_route(const http_request& req, const route_limits& limits, bool streamed,
                 std::map<std::string, std::string>& bodies) {
  const route_result r = route(req, limits);
  require(r.head == (req.method == request_method::head), "HEAD is carried");
  const unsigned s = r.status;
  require(s == 200 || s == 400 || s == 404 || s == 405 || s == 426, "a documented status");
  if (s >= 400) {
    require(!r.message.empty() && printable(r.message), "an error message is printable");
    require(r.message.size() <= 200, "an error message stays short");
    require(r.canonical_key.empty() && r.cache == cache_policy::no_store, "errors are not kept");
  }
  if (r.kind == route_kind::error) {
    std::string wire;
    const head_written w = append_error_response(wire, r, req, "Sun, 06 Nov 1994 08:49:37 GMT");
    require(w.keep_alive == req.keep_alive, "a route error keeps the request's keep-alive");
    check_response(wire, r.head, s, r.head ? "" : error_body(r.body, r.message), false);
    return;
  }
  if (r.kind == route_kind::fibonacci) {
    check_fibonacci(r, limits);
    const std::string body = render_all(r.fibonacci);
    const auto [it, fresh] = bodies.emplace(r.canonical_key, body);
    require(fresh || it->second == body, "equal keys render equal bodies");
    check_answer(req, r, body, streamed);
  } else if (r.kind == route_kind::page) {
    check_answer(req, r, "<!doctype html>", streamed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3)
    return 0;
  const std::uint8_t cut_seed = data[0];
  const route_limits routing{data[1] % 101u};
  request_limits limits;
  if ((data[2] & 1) != 0)
    limits.max_request_line = 64;
  if ((data[2] & 2) != 0)
    limits.max_header_block = 128;
  if ((data[2] & 4) != 0)
    limits.max_header_fields = 4;
  const bool streamed = (data[2] & 8) != 0;
  const std::string_view stream(reinterpret_cast<const char*>(data + 3), size - 3);

  const outcome whole = parse_stream(stream, limits, routing, cut_seed, true);
  const outcome pieces = parse_stream(stream, limits, routing, cut_seed, false);
  require(same_outcome(whole, pieces), "reads of any size give the same requests");

  std::map<std::string, std::string> bodies;
  for (const http_request& r : pieces.requests)
    check_route(r, routing, streamed, bodies);
  return 0;
}
