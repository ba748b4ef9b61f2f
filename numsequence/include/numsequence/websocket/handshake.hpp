#pragma once
/// @brief The WebSocket opening handshake (RFC 6455 section 4.2), sans-I/O: the upgrade
/// request's fields in, the `101 Switching Protocols` bytes or a refusal out.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numsequence {

/// @brief The fields of an HTTP request that asks to become a WebSocket, as the HTTP parser
/// hands them over. A header that is absent is an empty view; a header sent several times is
/// its values joined with ", " (RFC 9110 section 5.3), as for any list-valued field.
struct upgrade_request {
  std::string_view method;        ///< "GET"
  std::string_view http_version;  ///< "HTTP/1.1" (or "1.1")
  std::string_view upgrade;       ///< the Upgrade header: must list the token "websocket"
  std::string_view connection;    ///< the Connection header: must list the token "upgrade"
  std::string_view ws_version;    ///< Sec-WebSocket-Version: must be 13
  std::string_view ws_key;        ///< Sec-WebSocket-Key: base64 of 16 bytes
};

/// @brief What to answer an upgrade request.
struct handshake_result {
  /// 101 when accepted; otherwise 400 (a malformed handshake, a missing header), 405 (not
  /// GET) or 426 (a Sec-WebSocket-Version other than 13).
  int status = 400;
  /// With 101: the whole response, status line to the empty line, ready to write. The
  /// connection is a WebSocket from the byte after it.
  std::string response;
  /// With a refusal: what is wrong, naming the header and quoting (at most 40 characters of)
  /// the value received. Fit for an error body and a log line.
  std::string reason;
  /// With a refusal: headers the HTTP layer adds to its error response: `Allow: GET` with
  /// 405; `Sec-WebSocket-Version: 13` and `Upgrade: websocket` with 426 (RFC 6455 section
  /// 4.4, RFC 9110 section 15.5.22).
  std::vector<std::pair<std::string, std::string>> headers;

  /// @brief Write `response`; the connection is a WebSocket from then on.
  bool accepted() const noexcept { return status == 101; }
};

/// @brief Checks an upgrade request and writes the answer.
///
/// No subprotocol and no extension is negotiated (the response names none, so a client that
/// offered permessage-deflate must not use it). The Origin header is not checked: the stream
/// serves public data and honours no cookies, so a cross-site page gains nothing by it.
///
/// @code
/// auto r = accept_upgrade({"GET", "HTTP/1.1", "websocket", "Upgrade", "13",
///                          "dGhlIHNhbXBsZSBub25jZQ=="});
/// // r.status == 101, r.response holds "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// @endcode
handshake_result accept_upgrade(const upgrade_request& request);

/// @brief Sec-WebSocket-Accept for a key: base64(SHA-1(key + the RFC's GUID)). The key is
/// used as given (the caller trims it).
std::string websocket_accept(std::string_view key);

/// @brief True when the comma-separated list `header` holds `token`, compared without regard
/// to ASCII case, each element trimmed of spaces and tabs (RFC 9110 section 5.6.1).
bool header_has_token(std::string_view header, std::string_view token) noexcept;

}  // namespace numsequence
