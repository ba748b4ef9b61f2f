#pragma once
/// @brief Writing HTTP/1.1 responses: the head, chunk framing, error bodies, the Date value.
/// Builds strings only; no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/http/request.hpp"
#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/router.hpp"

namespace numsequence {

/// @brief The Content-Type of a body.
enum class content_type {
  none,  ///< no Content-Type (no body, or 304)
  json,  ///< `application/json`
  text,  ///< `text/plain; charset=utf-8`
  html,  ///< `text/html; charset=utf-8`
  /// `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text format (/metrics)
  prometheus,
};

/// @brief How the body that follows a head is delimited; what the caller must write.
enum class body_framing {
  none,             ///< no body follows (HEAD, 304)
  content_length,   ///< exactly Content-Length bytes
  chunked,          ///< chunks (append_chunk(), then append_last_chunk())
  close_delimited,  ///< the bytes, then close the connection (a streamed body to HTTP/1.0)
};

/// @brief Everything a response head says.
struct response_head {
  unsigned status = 200;
  /// The request's version: decides between chunked and close-delimited streaming. The
  /// status line always says HTTP/1.1 (RFC 9110 6.2: a server sends its own version).
  http_version version = http_version::http_1_1;
  /// The request's keep_alive; false adds `Connection: close`.
  bool keep_alive = true;
  /// The request was HEAD: the head is the one GET would get, and no body follows.
  bool head_request = false;
  /// The Date value, an IMF-fixdate (format_http_date(), http_date_cache).
  std::string_view date;
  content_type type = content_type::none;
  /// The body's size; nullopt for a body streamed without knowing it (chunked on HTTP/1.1,
  /// close-delimited on HTTP/1.0).
  std::optional<std::uint64_t> content_length = 0;
  /// A strong entity tag with its quotes (etag_for()), or empty for none.
  std::string etag;
  cache_policy cache = cache_policy::no_store;
  bool vary_accept = false;
  /// `Allow: GET, HEAD` (405).
  bool allow_get_head = false;
  /// `Upgrade: websocket` and `Connection: upgrade` (426).
  bool upgrade_websocket = false;
};

/// @brief What the caller does after writing a head.
struct head_written {
  body_framing framing = body_framing::none;
  /// False when the connection must close after the body: the request asked for it, or the
  /// body is close-delimited.
  bool keep_alive = true;
};

/// @brief Appends the status line and header fields, through the empty line.
///
/// Always: Date, `Server: numsequence`. Content-Type unless none or 304. Content-Length
/// for a sized body (also for HEAD, the size GET would send); for a streamed one
/// `Transfer-Encoding: chunked` on HTTP/1.1, nothing on HTTP/1.0 (the close ends the body).
/// No length at all for 304, 204 and 1xx, which have no body. Connection: `close` when the
/// connection ends after this response, `keep-alive` when an HTTP/1.0 connection goes on,
/// `upgrade` with `Upgrade: websocket`. ETag when given. Cache-Control: immutable
/// `public, max-age=31536000, immutable`, revalidate `no-cache`, no_store `no-store`.
head_written append_response_head(std::string& out, const response_head& head);

/// @brief The reason phrase of a status this server sends ("" for another).
std::string_view reason_phrase(unsigned status) noexcept;

/// @brief The strong entity tag of a canonical key: the key in double quotes.
std::string etag_for(std::string_view canonical_key);

/// @brief The Content-Type of a body type (page is HTML).
content_type content_type_for(body_type body) noexcept;

/// @brief The head for an answer the server renders: route_kind::fibonacci (200), or the
/// page (200, or 400 showing the message). A 200 immutable answer gets its strong ETag, and a
/// 304 instead when the request's If-None-Match matches it. The caller sets content_length
/// when it knows the size (a cached body); otherwise the body is streamed.
response_head answer_head(const route_result& route, const http_request& request,
                          std::string_view date);

/// @brief The body of an error: `{"error":"<message, JSON-escaped>"}` or the message and
/// "\n". The message must be UTF-8 (every message here is printable ASCII).
std::string error_body(body_type type, std::string_view message);

/// @brief Appends a whole error response for a route error (route_kind::error): its status,
/// body type, Allow, Upgrade and Vary, `Cache-Control: no-store`, the body unless HEAD.
/// Returns what the connection does next (framing is content_length, or none for HEAD).
head_written append_error_response(std::string& out, const route_result& route,
                                   const http_request& request, std::string_view date);

/// @brief Appends the response to a request_parser error: its status, a text body with the
/// message, `Connection: close` (see request_parser for why), Allow on 405.
void append_parse_error_response(std::string& out, const parse_result& error,
                                 std::string_view date);

/// @brief Appends `text` as the inside of a JSON string (no quotes): `"` `\` and control
/// characters escaped, other bytes as they are.
void append_json_escaped(std::string& out, std::string_view text);

/// @brief Appends one chunk: size in hex, CRLF, the data, CRLF. Appends nothing for empty
/// data (an empty chunk would end the body).
void append_chunk(std::string& out, std::string_view data);

/// @brief Appends a chunk's size line only, for data the caller writes itself (followed by
/// append_chunk_end()). `size` must not be 0.
void append_chunk_header(std::string& out, std::size_t size);

/// @brief Appends the CRLF that closes a chunk's data.
void append_chunk_end(std::string& out);

/// @brief Appends the last chunk and the end of the (empty) trailer: `0\r\n\r\n`.
void append_last_chunk(std::string& out);

/// @brief `t` as an IMF-fixdate (RFC 9110 5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
std::string format_http_date(std::chrono::system_clock::time_point t);

/// @brief The Date value, formatted again only when the second changes. Not thread-safe:
/// one per event-loop thread.
class http_date_cache {
 public:
  /// @brief The IMF-fixdate of `now`; valid until the next call.
  std::string_view get(
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

 private:
  std::chrono::seconds::rep second_ = 0;  // the second text_ shows (when not empty)
  std::string text_;
};

}  // namespace numsequence
