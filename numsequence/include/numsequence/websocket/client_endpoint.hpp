#pragma once
/// @brief The client side of a WebSocket connection (RFC 6455), sans-I/O: the opening
/// handshake, then bytes in, events and bytes to write out. wslay does the framing.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/websocket/client_handshake.hpp"
#include "numsequence/websocket/endpoint.hpp"

struct wslay_event_context;

namespace numsequence {

/// @brief The client endpoint's limits.
struct client_endpoint_limits {
  /// The largest message received, in bytes: a longer one closes with 1009 as soon as a frame
  /// header announces it. The stream's frames are at most 16 KiB, except one that holds a
  /// single number longer than that; 64 MiB holds F(k) for any k up to about 320 million.
  std::size_t max_message = 64 * 1024 * 1024;
  /// The most unwritten bytes the endpoint holds: send_text() refuses a message past it. The
  /// client sends one small request at a time.
  std::size_t max_output = 64 * 1024;
};

/// @brief Something that happened on the connection.
struct client_event {
  enum class kind {
    open,    ///< the server accepted the handshake: messages may flow
    text,    ///< a complete text message (valid UTF-8) in `text`
    closed,  ///< the connection is over (or closing): `code`, `by_peer`, `reason`
  };
  kind what = kind::text;
  std::string text;
  /// With kind::closed: the code the server sent (by_peer; 1005 when its close had none), the
  /// code of the close this endpoint sent because of what the server did, or 1006 (abnormal)
  /// when there was no close frame: a refused handshake or a connection that just ended.
  std::uint16_t code = 0;
  /// With kind::closed: true when the server sent a close frame (which was answered).
  bool by_peer = false;
  /// With kind::closed: why, for a message to a person (printable, bounded).
  std::string reason;
  /// With kind::closed during the handshake: the server's HTTP status, 0 if none came.
  int http_status = 0;
};

/// @brief Where the connection stands.
enum class client_endpoint_state {
  handshake,  ///< the upgrade request is in output(); waiting for the server's 101
  open,       ///< messages flow both ways
  closing,    ///< write output(), then read on: the server's close is awaited
  closed,     ///< nothing more to write or read: close the socket
};

/// @brief A client-side WebSocket endpoint over wslay's event API, without I/O.
///
/// Built with the target and a key (make_websocket_key()), it puts the GET upgrade request in
/// output(). feed() hands it the bytes read: first the server's response, which
/// upgrade_response_reader checks (a refusal ends the connection with a kind::closed event
/// carrying the HTTP status and the reason), then frames. It masks every frame it sends
/// (RFC 6455 section 5.3, masks from OpenSSL's RAND_bytes), answers pings, answers a close
/// with a close, and closes itself with the RFC's code when the server breaks the protocol:
/// a masked frame, reserved bits, an unknown opcode (1002), invalid UTF-8 (1007), a binary
/// message (1003), a message over `max_message` (1009).
///
/// close() sends a close and waits for the server's (state closing) until it comes or
/// end_of_stream() reports that the server closed the TCP connection; a close this endpoint
/// sends because the server misbehaved does not wait (state closed once it is written).
///
/// Not thread-safe; one connection's coroutine owns it. Not movable (wslay holds its
/// address).
///
/// @code
/// websocket_client_endpoint ws({"127.0.0.1", 8080, "/v1/stream"}, make_websocket_key());
/// write(ws.output()); ws.consume_output(n);
/// ws.feed(bytes_read);
/// while (auto e = ws.next_event()) { ... kind::open, then kind::text answers ... }
/// ws.send_text(R"({"id":1,"sequence":"fibonacci","n":10})");
/// @endcode
class websocket_client_endpoint {
 public:
  websocket_client_endpoint(const websocket_target& target, std::string key,
                            client_endpoint_limits limits = {});
  ~websocket_client_endpoint();
  websocket_client_endpoint(const websocket_client_endpoint&) = delete;
  websocket_client_endpoint& operator=(const websocket_client_endpoint&) = delete;

  /// @brief Takes bytes read from the socket; all of them are used (a response or frames cut
  /// anywhere are continued by the next call). Ignored once nothing more is read.
  void feed(std::string_view bytes);
  /// @brief The server closed the TCP connection (a read found its end). Ends the connection:
  /// a kind::closed event (1006 unless a close frame was reported before), state closed.
  void end_of_stream();

  /// @brief The oldest event not yet taken, if any. A kind::closed event comes once at most,
  /// and last.
  std::optional<client_event> next_event();

  /// @brief Queues a text message (one masked frame). False, and nothing queued, when the
  /// endpoint is not open or the frame would take unwritten output past max_output.
  bool send_text(std::string_view message);

  /// @brief Closes from this side (1000 when done, 1002 when the server's answers make no
  /// sense); `reason` is cut to the 123 bytes a close frame holds. During the handshake the
  /// connection just ends (there is no WebSocket yet to close). No effect once closing.
  void close(std::uint16_t code, std::string_view reason = {});

  /// @brief The bytes to write, oldest first. Valid until the next non-const call.
  std::string_view output() const noexcept { return std::string_view(out_).substr(out_begin_); }
  /// @brief The caller wrote the first `n` bytes of output() (n <= output().size()).
  void consume_output(std::size_t n) noexcept;

  /// @brief Handshake, open, closing or closed.
  client_endpoint_state state() const noexcept;

 private:
  friend struct client_endpoint_callbacks;

  void feed_frames(std::string_view bytes);
  void handshake_ended();
  void received_close(std::uint16_t code, std::string_view reason);
  void fail(std::uint16_t code, std::string reason);
  void end_without_close(std::uint16_t code, std::string reason, int http_status = 0);
  void flush();
  void report_closed(std::uint16_t code, bool by_peer, std::string reason, int http_status = 0);
  void append_output(const std::uint8_t* data, std::size_t size);

  client_endpoint_limits limits_;
  upgrade_response_reader handshake_;
  wslay_event_context* ctx_ = nullptr;
  std::string_view input_;  // the bytes of the feed() in progress not yet taken by wslay
  std::string out_;
  std::size_t out_begin_ = 0;  // bytes of out_ already written
  std::deque<client_event> events_;
  bool open_ = false;            // the handshake succeeded
  bool closing_ = false;         // a close frame is in out_, or nothing more can be sent
  bool close_received_ = false;  // the server's close frame arrived (or its TCP close)
  bool await_peer_ = false;      // our close waits for the server's answer
  bool close_reported_ = false;  // the closed event has been queued
};

}  // namespace numsequence
