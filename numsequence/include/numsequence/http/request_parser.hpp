#pragma once
/// @brief Incremental, sans-I/O parsing of HTTP/1.x request heads (http_parser inside).

#include <cstddef>
#include <memory>
#include <string_view>

#include "numsequence/http/request.hpp"

namespace numsequence {

/// @brief How much of a request head a client may send.
struct request_limits {
  /// The request line with its CRLF, and any empty lines before it (RFC 9112 2.2 lets a
  /// server skip them), in bytes. One byte more is answered 414.
  std::size_t max_request_line = 8192;
  /// The header fields after the request line, through the empty line that ends them, in
  /// bytes. One byte more is answered 431.
  std::size_t max_header_block = 16384;
  /// Header fields in one request. One more is answered 431.
  std::size_t max_header_fields = 100;
};

/// @brief What request_parser::consume() found.
struct parse_result {
  enum class kind {
    need_more,  ///< every byte was used; the head is not complete yet
    request,    ///< a complete head: request() holds it; bytes after it were not used
    error,      ///< the head cannot be served: answer `status` and close (see request_parser)
  };
  kind what = kind::need_more;
  /// Bytes of the input used. The caller drops them before the next call. With
  /// kind::request: the head through its final LF, so what follows is the next request
  /// (pipelining) or, after an upgrade, the other protocol's first bytes.
  std::size_t consumed = 0;
  /// With kind::error: 400 (malformed, or a missing or repeated Host), 405 (CONNECT),
  /// 413 (the request has a body), 414, 431 or 505.
  unsigned status = 0;
  /// With kind::error: why, one line of printable ASCII for the answer's body. Valid as long
  /// as the parser.
  std::string_view message;
};

/// @brief Reads the request heads of one connection, one request at a time.
///
/// Feed it what the socket gave; after kind::request the parser is paused: the caller
/// answers the request, drops `consumed` bytes and calls consume() again with the rest,
/// which resumes it (pipelined requests are therefore served strictly in order). Bodies are
/// never read: a request announcing one (`Content-Length` above 0, or any
/// `Transfer-Encoding`) is refused with 413.
///
/// When to close the connection:
/// - kind::request with `request().keep_alive` false (HTTP/1.0 without
///   `Connection: keep-alive`, `Connection: close`): answer with `Connection: close`, then
///   close once the answer is written. Do not call consume() again.
/// - kind::error: answer `status` with `Connection: close` and close. The parser stays in
///   the error (every later call returns it again, consuming nothing): after a malformed or
///   oversized head the stream has no trustworthy message boundary left. For 413 the body is
///   still coming: shut down the sending side and drain input briefly (a bounded "lingering
///   close") so that the client reads the 413 instead of a connection reset.
/// - kind::request with `request().upgrade` that the caller accepts (WebSocket): the
///   connection leaves HTTP; the bytes after `consumed` belong to the new protocol.
/// - kind::need_more when the peer closes or a deadline passes: if idle(), close quietly;
///   otherwise a request was cut short (408 on a deadline, or just close).
///
/// Not thread-safe; one per connection.
///
/// @code
/// request_parser p;
/// std::string buf = "GET /fib?limit=3 HTTP/1.1\r\nHost: a\r\n\r\nGET /";
/// auto r = p.consume(buf);   // kind::request, consumed 38; p.request().path == "/fib"
/// buf.erase(0, r.consumed);
/// r = p.consume(buf);        // kind::need_more, consumed 5 (held by the parser)
/// @endcode
class request_parser {
 public:
  explicit request_parser(request_limits limits = {});
  ~request_parser();
  request_parser(request_parser&&) noexcept;
  request_parser& operator=(request_parser&&) noexcept;
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  /// @brief Parses as much of `bytes` as belongs to the current request head.
  /// `bytes` starts with the bytes not consumed by the previous call.
  parse_result consume(std::string_view bytes);

  /// @brief The last complete head. Valid after kind::request until the next consume().
  const http_request& request() const noexcept;

  /// @brief True when no byte of a next request has been seen (between requests, or at the
  /// start): a peer closing now loses nothing.
  bool idle() const noexcept;

  /// @brief The limits given at construction.
  const request_limits& limits() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace numsequence
