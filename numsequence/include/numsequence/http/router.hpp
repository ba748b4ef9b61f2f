#pragma once
/// @brief What to answer to a request head: the route, its validated parameters, or the
/// error. Decides; renders no body (the renderers and the connection do).
///
/// Routes (GET and HEAD on each; HEAD answers the same head without a body):
/// | path | answer |
/// | --- | --- |
/// | `/v1/fibonacci?n=N` | first N numbers, JSON; text with a preferring Accept (`Vary: Accept`) |
/// | `/v1/fibonacci?from=A&to=B` | F(A) .. F(B) inclusive, same negotiation |
/// | `/v1/fibonacci/K` | F(K) alone, same negotiation |
/// | `/fib?limit=N` | first N, text, each number followed by "\n" |
/// | `/fib/N` | first N, `{"N":N,"result":"0 1 1"}` |
/// | `/`, `/?num=N` | the page (with F(N)) |
/// | `/v1/stream` | WebSocket upgrade; without one: 426 with `Upgrade: websocket` |
/// | `/metrics`, `/healthz`, `/readyz` | their own kinds, answered elsewhere |
///
/// Decisions a client can rely on:
/// - Another method on a known path: 405, `Allow: GET, HEAD`. Unknown path: 404 (JSON under
///   `/v1/`, text elsewhere). Paths match exactly after normalisation: no trailing slash.
/// - Parameters other than the route's are ignored (cache busters such as `_=123` do not
///   change the answer or its key). A route's own parameter given twice is a 400.
/// - Numbers are ASCII digits only: no sign, space (`+` in a query is a space), decimal point
///   or exponent. Leading zeros are accepted (`05` is 5); any number of them.
/// - Limits: n (and /fib's limit and N) at most `max_fibonacci`; an index (K, num, from, to)
///   below it, since F(k) is the (k+1)-th number. n = 0 is a valid, empty answer.
/// - An error names the parameter and quotes the value given: up to 40 bytes of it, then
///   `..."` and its length in bytes. Bytes outside printable ASCII, `"` and `\` are written as
///   `\xHH`, `\"`, `\\`, so a message is always printable ASCII.
/// - The error body follows the route: JSON on the JSON routes (`/v1/fibonacci` negotiates
///   like its answers), text on `/fib`, the page on `/` (400 only; 405 there is text).
/// - Route errors (400, 404, 405, 426) are well-framed requests: the connection stays open
///   unless the request said otherwise.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/http/request.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/sequence/fibonacci_render.hpp"

namespace numsequence {

/// @brief The bounds routing checks against.
struct route_limits {
  /// `--max-fibonacci`: the largest n, and the largest index + 1. Clamped to
  /// max_fibonacci_index + 1.
  std::uint64_t max_fibonacci = default_max_fibonacci;
};

/// @brief Who answers.
enum class route_kind {
  fibonacci,  ///< 200: render `fibonacci` (or 304, see response.hpp)
  page,       ///< the page: 200 (with page_num or without), or 400 with `message`
  websocket,  ///< hand the connection to the WebSocket handshake (which validates it)
  metrics,
  healthz,
  readyz,
  error,  ///< `status` with `message` in a body of `body` type
};

/// @brief The type of the body: the answer's, or the error's.
enum class body_type { json, text, page };

/// @brief How caches may keep the answer.
enum class cache_policy {
  /// `Cache-Control: public, max-age=31536000, immutable` and a strong ETag: the Fibonacci
  /// answers never change.
  immutable,
  /// `Cache-Control: no-cache`, no ETag: the page's HTML may change with the server.
  revalidate,
  /// `Cache-Control: no-store`: errors, and answers that change (metrics, health).
  no_store,
};

/// @brief The answer decided for one request.
struct route_result {
  route_kind kind = route_kind::error;
  /// 200, or the error: 400, 404, 405, 426.
  unsigned status = 200;
  /// The request was HEAD: the same head, no body.
  bool head = false;
  /// With route_kind::fibonacci.
  fibonacci_query fibonacci{};
  /// With route_kind::page and status 200: the validated `num`, if one was given.
  std::optional<std::uint64_t> page_num;
  /// With a status of 400 or more: what is wrong, printable ASCII, not escaped for the body.
  std::string message;
  /// The body's type: for route_kind::fibonacci, json or text by the format; page for the
  /// page; json or text for errors.
  body_type body = body_type::text;
  /// The canonical form of the answer, for route_kind::fibonacci and the page's 200s; empty
  /// otherwise. Equal for equal answers (`n=5` and `n=05`, any parameter order) and different
  /// for different bodies (the format is part of it). The response cache's key; quoted, the
  /// strong ETag of immutable answers (see etag_for()). Printable ASCII without `"`.
  std::string canonical_key;
  cache_policy cache = cache_policy::no_store;
  /// `Vary: Accept`: the answer (or error) was chosen by the Accept header.
  bool vary_accept = false;
  /// 405: `Allow: GET, HEAD`.
  bool allow_get_head = false;
  /// 426: `Upgrade: websocket`.
  bool upgrade_websocket = false;
};

/// @brief Decides the answer to `request`. Pure (no state, thread-safe). Never throws for any
/// request the parser hands out (std::bad_alloc aside).
route_result route(const http_request& request, const route_limits& limits);

/// @brief The canonical key of a Fibonacci answer:
/// `fibonacci-v1/<json|text|lines|compat>/<n|range|k>/<from>/<count>` (the version segment
/// changes if a body's bytes ever do, so old ETags stop matching).
std::string fibonacci_key(const fibonacci_query& q);

}  // namespace numsequence
