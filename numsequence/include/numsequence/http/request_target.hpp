#pragma once
/// @brief The path and query of an HTTP request-target (RFC 9112 3.2), read with uriparser.

#include <optional>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief A request-target split into what routing looks at.
struct request_target {
  /// Normalised path (RFC 3986 6.2.2): dot segments removed, percent-encoded unreserved
  /// characters decoded (`%35` is `5`), other escapes kept with upper-case hex (`%2F` stays,
  /// so it never becomes a segment separator). Starts with `/`, or is `*`.
  std::string path;
  /// The query without its `?`, exactly as sent (decoded later by parse_query()).
  std::string query;
};

/// @brief Splits and normalises a request-target.
///
/// Accepted: origin-form (`/path?query`), absolute-form with an `http` or `https` scheme
/// (`http://host/path?query`; the host is ignored here, the Host header is the request's),
/// and asterisk-form (`*`). Returns nullopt for anything else: another form or scheme, a
/// character RFC 3986 does not allow (space, `|`, `"`, a bad `%` escape...), or a fragment
/// (`#` has no place in a request-target).
std::optional<request_target> parse_request_target(std::string_view target);

}  // namespace numsequence
