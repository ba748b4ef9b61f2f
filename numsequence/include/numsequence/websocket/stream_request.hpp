#pragma once
/// @brief A request on the WebSocket stream (`/v1/stream`): one JSON text message, read and
/// checked the way the HTTP API checks its query parameters.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief Which numbers a request asks for.
struct stream_query {
  std::uint64_t first = 0;  ///< index of the first number: 0 for `n`, A for `from`
  std::uint64_t count = 0;  ///< how many: N, or B - A + 1
  bool range = false;       ///< asked as `from`/`to` (else as `n`)

  friend bool operator==(const stream_query&, const stream_query&) = default;
};

/// @brief A parsed request: the id to echo and the query, or the complaint.
struct stream_request {
  /// The request's "id" as compact JSON text (any JSON value, `null` included), nullopt when
  /// the request has none or is not a JSON object. Numbers keep every digit as written.
  std::optional<std::string> id;
  /// Valid when ok().
  stream_query query;
  /// Empty when the request is good; else the message for `{"id":…,"error":"…"}`.
  std::string error;

  /// @brief The request is good: answer `query`.
  bool ok() const noexcept { return error.empty(); }
};

/// @brief Reads one request.
///
/// Accepted: `{"id": <any>, "sequence": "fibonacci", "n": N}` or the same with
/// `"from": A, "to": B` (F(A) … F(B) inclusive). "id" and "sequence" are optional (the
/// sequence defaults to fibonacci); other fields are ignored. N, A and B are JSON integers
/// written without fraction or exponent, not negative; N <= max_fibonacci and
/// B + 1 <= max_fibonacci (the server's `--max-fibonacci`), A <= B.
///
/// Errors name the field and quote the value as written, cut to an excerpt: `n must be a
/// non-negative integer, got 1e3`; `n must be at most 1000000 (the server's limit), got
/// 12345678901234567890123456789012345678901... (400 characters)`. Text that is not JSON:
/// `request is not valid JSON: <the parser's message>`.
///
/// @code
/// auto r = parse_stream_request(R"({"id":7,"n":5})", 1000000);
/// // r.ok(), *r.id == "7", r.query == {0, 5, false}
/// @endcode
stream_request parse_stream_request(std::string_view text, std::uint64_t max_fibonacci);

}  // namespace numsequence
