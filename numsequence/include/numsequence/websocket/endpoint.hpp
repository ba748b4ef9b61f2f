#pragma once
/// @brief The server side of a WebSocket connection (RFC 6455) after the handshake, sans-I/O:
/// bytes in, events and bytes to write out. wslay does the framing.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

struct wslay_event_context;

namespace numsequence {

/// @brief Close codes this endpoint sends (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;  ///< a binary message
inline constexpr std::uint16_t no_status = 1005;         ///< reported only: a close without code
inline constexpr std::uint16_t abnormal = 1006;          ///< reported only: no close frame at all
inline constexpr std::uint16_t invalid_payload = 1007;   ///< text that is not UTF-8
inline constexpr std::uint16_t policy_violation = 1008;  ///< unread pongs, too many requests
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// @brief The endpoint's limits. Every byte a peer can make the endpoint hold is under one.
struct endpoint_limits {
  /// The largest message received, in bytes, whatever its fragments: a longer one closes with
  /// 1009 as soon as a frame header announces it (its payload is never buffered). The stream
  /// receives only small JSON requests.
  std::size_t max_message = 4096;
  /// Below this many unwritten bytes, ready_for_frame() says "produce the next answer frame".
  std::size_t output_low_water = 64 * 1024;
  /// The most unwritten bytes the endpoint holds. send_text() refuses a message past it, and a
  /// ping arriving while this much is unwritten closes with 1008 instead of queueing a pong:
  /// the peer sends pings and does not read, so its pongs would pile up without end.
  std::size_t max_output = 256 * 1024;
  /// Received text messages the caller has not taken with next_event(): one more closes with
  /// 1008. The stream answers requests one after another; a peer that sends many without
  /// reading answers cannot make the endpoint hold them all.
  std::size_t max_pending_messages = 16;
};

/// @brief Something the peer did.
struct endpoint_event {
  enum class kind {
    text,    ///< a complete text message (valid UTF-8) in `text`
    closed,  ///< the endpoint is closing: `code`, `by_peer`, `reason`
  };
  kind what = kind::text;
  std::string text;
  /// With kind::closed: the code the peer sent (by_peer; 1005 when its close had none), or
  /// the code of the close this endpoint sent because of what the peer did.
  std::uint16_t code = 0;
  /// With kind::closed: true when the peer sent a close frame (which was answered).
  bool by_peer = false;
  /// With kind::closed: why, for a log line (the peer's reason text when by_peer).
  std::string reason;
};

/// @brief Where the connection stands.
enum class endpoint_state {
  open,     ///< messages flow both ways
  closing,  ///< a close frame is in output(): write output() out, then close the socket
  closed,   ///< closing, and output() is written: close the socket now
};

/// @brief A server-side WebSocket endpoint over wslay's event API, without I/O.
///
/// feed() hands it bytes read from the socket; it answers pings with pongs, answers a close
/// with a close, and closes itself with the RFC's code when the peer breaks the protocol:
/// an unmasked frame, reserved bits, an unknown opcode, a fragmented or oversized control
/// frame, an invalid close code or a 1-byte close payload (1002), invalid UTF-8 in a text
/// message or a close reason (1007), a binary message (1003), a message over
/// `max_message` (1009), a ping flood or too many waiting requests (1008). Everything to send
/// collects in output(); the caller writes it and reports how much with consume_output().
/// After a close has been queued nothing else is sent or received: the caller writes the
/// rest of output() and closes the socket (the server closes the TCP connection first, as
/// RFC 6455 section 7.1.1 recommends, without waiting for the peer's reply).
///
/// A known limit of wslay 1.1: when a close frame whose reason holds a multi-byte character
/// arrives split across feed() calls inside the reason, wslay may answer 1007 instead of
/// echoing it; the connection closes either way. An invalid reason is always refused.
///
/// Backpressure: the caller produces the next frame of an answer only while
/// ready_for_frame(); unwritten output then stays below output_low_water plus one frame.
///
/// Not thread-safe; one connection's coroutine owns it. Not movable (wslay holds its
/// address).
///
/// @code
/// websocket_endpoint ws;
/// ws.feed(bytes_read);
/// while (auto e = ws.next_event()) { ... e->text is a request ... }
/// while (answering && ws.ready_for_frame()) ws.send_text(next_frame);
/// write(ws.output()); ws.consume_output(bytes_written);
/// if (ws.state() == endpoint_state::closed) close the socket;
/// @endcode
class websocket_endpoint {
 public:
  explicit websocket_endpoint(endpoint_limits limits = {});
  ~websocket_endpoint();
  websocket_endpoint(const websocket_endpoint&) = delete;
  websocket_endpoint& operator=(const websocket_endpoint&) = delete;

  /// @brief Takes bytes read from the socket; all of them are used (frames cut anywhere are
  /// continued by the next call). Ignored once the endpoint is closing.
  void feed(std::string_view bytes);

  /// @brief The oldest event not yet taken, if any. Take a text event only when ready to
  /// answer it: the waiting ones count against max_pending_messages. A kind::closed event
  /// comes once at most, and last.
  std::optional<endpoint_event> next_event();

  /// @brief Queues a text message (one frame). False, and nothing queued, when the endpoint
  /// is not open or the frame would take unwritten output past max_output.
  bool send_text(std::string_view message);

  /// @brief Closes from this side (e.g. 1001 when the server stops, 1011 on an internal
  /// error); `reason` is cut to the 123 bytes a close frame holds. No effect unless open.
  void close(std::uint16_t code, std::string_view reason = {});

  /// @brief The bytes to write, oldest first. Valid until the next non-const call.
  std::string_view output() const noexcept { return std::string_view(out_).substr(out_begin_); }
  /// @brief The caller wrote the first `n` bytes of output() (n <= output().size()).
  void consume_output(std::size_t n) noexcept;

  /// @brief Unwritten bytes: output() plus anything queued inside wslay.
  std::size_t output_size() const noexcept;
  /// @brief Open and output_size() below output_low_water: time to produce the next frame.
  bool ready_for_frame() const noexcept;

  /// @brief Open, closing (write output() out, then close the socket) or closed.
  endpoint_state state() const noexcept;
  /// @brief The limits it was built with.
  const endpoint_limits& limits() const noexcept { return limits_; }

 private:
  friend struct endpoint_callbacks;

  void received_text(std::string_view text);
  void received_close(std::uint16_t code, std::string_view reason);
  void flush();
  void fail(std::uint16_t code, std::string reason);
  void fail_without_wslay(std::uint16_t code, std::string reason);
  void note_close_sent();
  void append_output(const std::uint8_t* data, std::size_t size);

  endpoint_limits limits_;
  wslay_event_context* ctx_ = nullptr;
  std::string_view input_;  // the bytes of the feed() in progress not yet taken by wslay
  std::string out_;
  std::size_t out_begin_ = 0;  // bytes of out_ already written
  std::deque<endpoint_event> events_;
  std::size_t pending_texts_ = 0;   // kind::text entries in events_
  bool closing_ = false;            // a close frame is in out_ (or nothing more can be sent)
  bool close_reported_ = false;     // the closed event has been queued
  bool in_close_frame_ = false;     // the frame being received is a close
  std::string close_payload_;       // its payload so far (at most 125 bytes)
  std::uint16_t failure_code_ = 0;  // set when this side decided to close
  std::string failure_reason_;
};

}  // namespace numsequence
