#pragma once
/// @brief The client side of the WebSocket opening handshake (RFC 6455 section 4.1), sans-I/O:
/// the upgrade request's bytes out, the server's response read (libhttp-parser) and checked.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief A fresh Sec-WebSocket-Key: base64 of 16 bytes from OpenSSL's RAND_bytes (RFC 6455
/// section 4.1: "randomly selected", a new one for each connection).
/// @throws std::runtime_error if the random source fails.
std::string make_websocket_key();

/// @brief Where a client connects: the Host header's parts and the request target.
struct websocket_target {
  std::string host = "127.0.0.1";  ///< a DNS name or an IP address (IPv6 without brackets)
  std::uint16_t port = 80;
  std::string path = "/v1/stream";  ///< the request target: an absolute path (and query)
};

/// @brief The GET upgrade request for `target` with `key`, ready to write: Host (with the port
/// unless it is 80, an IPv6 address in brackets), Upgrade, Connection, Sec-WebSocket-Key and
/// Sec-WebSocket-Version 13. No subprotocol and no extension is offered.
///
/// @code
/// upgrade_request_text({"127.0.0.1", 8080, "/v1/stream"}, "dGhlIHNhbXBsZSBub25jZQ==");
/// // "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n..."
/// @endcode
std::string upgrade_request_text(const websocket_target& target, std::string_view key);

/// @brief Reads the server's answer to an upgrade request, fed in pieces as they arrive.
///
/// The response is parsed by libhttp-parser (HTTP_RESPONSE). It is accepted when it is
/// `101` and carries `Upgrade: websocket`, `Connection: Upgrade` and the Sec-WebSocket-Accept
/// value that websocket_accept() gives for the key sent, and neither an extension nor a
/// subprotocol (none was offered: RFC 6455 section 4.1 says fail). Anything else is refused
/// with a message that says what was wrong, quoting (a bounded excerpt of) what came:
/// another status with the start of its body (`the server answered 404 Not Found instead of
/// switching to WebSocket: {"error":"..."}`), a wrong accept value, a malformed response, a
/// head over `max_head` bytes, a close before the response was complete.
///
/// Bounded: at most `max_head` bytes of head and `kept_body` bytes of a refusal's body are
/// read; a refusal whose body goes on longer is refused as soon as that much is in hand.
///
/// Not thread-safe. Movable.
///
/// @code
/// upgrade_response_reader r(key);
/// std::size_t used = r.feed(bytes_read);
/// if (r.state() == upgrade_response_reader::status::accepted)
///   ; // bytes_read.substr(used) are the first WebSocket frames
/// @endcode
class upgrade_response_reader {
 public:
  /// @brief Where the reading stands.
  enum class status {
    incomplete,  ///< feed more bytes
    accepted,    ///< a valid 101: the connection is a WebSocket from the byte after it
    refused,     ///< not a valid 101: reason() says why, http_status() what the server said
  };

  /// @brief The most bytes of a response head (status line and headers) read.
  static constexpr std::size_t max_head = 16 * 1024;
  /// @brief The most bytes of a refusal's body kept for its message.
  static constexpr std::size_t kept_body = 160;

  /// @brief A reader for the answer to a request sent with Sec-WebSocket-Key `key`.
  explicit upgrade_response_reader(std::string key);
  ~upgrade_response_reader();
  upgrade_response_reader(upgrade_response_reader&&) noexcept;
  upgrade_response_reader& operator=(upgrade_response_reader&&) noexcept;

  /// @brief Takes bytes read from the socket; returns how many belong to the response. With
  /// status::accepted, the bytes after those are WebSocket frames. Nothing is taken once the
  /// status is not incomplete.
  std::size_t feed(std::string_view bytes);
  /// @brief The server closed the connection: an incomplete response is refused (a refusal
  /// whose body was still coming is refused with what arrived of it).
  void end_of_stream();

  /// @brief Incomplete, accepted or refused.
  status state() const noexcept;
  /// @brief The response's status code once its status line has been read, else 0.
  int http_status() const noexcept;
  /// @brief With status::refused: why, fit for a message to a person (printable ASCII).
  const std::string& reason() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace numsequence
