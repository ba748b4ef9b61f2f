#pragma once
/// @brief Reading the request header values routes act on: Accept (with q-values),
/// If-None-Match and comma-separated token lists (Connection, Upgrade).
///
/// The grammars are RFC 9110's (12.5.1 Accept, 13.1.2 If-None-Match, 5.6.1 lists). No
/// Debian-packaged C or C++ library evaluates them, and the request parser (http_parser)
/// hands values over as text, so they are read here, by small scanners that never fail:
/// a malformed member is skipped.

#include <string_view>

namespace numsequence {

/// @brief The quality (0 to 1000, thousandths) that an Accept value gives the media type
/// `type`/`subtype` (lower-case).
///
/// The most specific matching range decides: `type/subtype` over `type/*` over `*/*`; among
/// ranges equally specific, the highest q. Parameters other than q are ignored for matching
/// (`text/plain;charset=utf-8` matches text/plain). A member without q has q=1. A member that
/// is not a media range, or whose q is not a valid qvalue, is skipped. No matching range: 0.
/// An empty or absent Accept means "anything": 1000.
unsigned accept_quality(std::string_view accept, std::string_view type, std::string_view subtype);

/// @brief The two representations of a Fibonacci answer.
enum class negotiated_type { json, text };

/// @brief text when the client prefers text/plain to application/json (a strictly higher
/// quality); json otherwise: on a tie, without Accept, and when neither is acceptable (the
/// answer is then the default representation rather than 406, which RFC 9110 12.5.1 allows).
negotiated_type negotiate_json_or_text(std::string_view accept);

/// @brief True when If-None-Match `header` matches the strong entity tag `etag` (with its
/// quotes, `"abc"`), so a 304 answers.
///
/// `*` matches (the representation exists). Otherwise each member is an entity tag, weak
/// (`W/"abc"`) or strong, compared with the weak comparison of RFC 9110 8.8.3.2 (the opaque
/// tags are equal). Members are read up to the first malformed one; an empty header matches
/// nothing.
bool if_none_match_matches(std::string_view header, std::string_view etag);

/// @brief True when the comma-separated list has `token`, compared without regard to case
/// (`Connection: keep-alive, Upgrade` has `upgrade`).
bool list_has_token(std::string_view list, std::string_view token);

}  // namespace numsequence
