#pragma once
/// @brief One parsed HTTP/1.x request head: the fields a route needs, nothing else.

#include <string>

namespace numsequence {

/// @brief The request methods the routes tell apart; every other method is `other`
/// (answered 405 on a known path). Not named http_method: http_parser.h declares a global
/// enum of that name.
enum class request_method { get, head, other };

/// @brief The HTTP versions served. Any other version is refused with 505 before a
/// request is handed out.
enum class http_version { http_1_0, http_1_1 };

/// @brief A request head as request_parser hands it out.
///
/// Strings hold copies of the bytes (a request outlives the read buffer it came from).
/// Their total size is bounded by the parser's head limits. A header that was sent more than
/// once is joined with ", " (they are all lists, RFC 9110 5.3), except Host, which may appear
/// once. An absent header is an empty string. Leading and trailing whitespace of a value is
/// removed.
struct http_request {
  request_method method = request_method::get;
  http_version version = http_version::http_1_1;
  /// http_should_keep_alive(): HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
  /// `Connection: keep-alive`. False after a request the connection cannot go on from.
  bool keep_alive = true;
  /// Both `Upgrade` and `Connection: upgrade` were sent: the bytes after the head may be
  /// another protocol's. The caller decides whether to switch (see router.hpp); if it does
  /// not, it may go on feeding the parser.
  bool upgrade = false;
  /// The request-target as sent (origin-form `/a/b?c`, or absolute-form `http://h/a/b?c`).
  std::string target;
  /// The target's path, normalised (RFC 3986 6.2.2: dot segments removed, percent-encoded
  /// unreserved characters decoded); always starts with `/`, or is `*` (asterisk-form).
  std::string path;
  /// The target's query without its `?`, still percent-encoded (see query.hpp).
  std::string query;
  std::string host;
  std::string accept;
  std::string if_none_match;
  std::string connection;
  /// The `Upgrade` header: the protocols the client asks to switch to.
  std::string upgrade_protocols;
  std::string sec_websocket_key;
  std::string sec_websocket_version;
  std::string origin;
};

}  // namespace numsequence
