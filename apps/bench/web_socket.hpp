#pragma once
// numsequence-bench-web: the client side of a WebSocket (RFC 6455) without I/O. The opening
// handshake's 101 is read by http_parser (web_http.hpp), frames by wslay.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "bench/web_http.hpp"

struct wslay_frame_context;

namespace numsequence::bench::web {

/// @brief A fresh Sec-WebSocket-Key: base64 of 16 random bytes.
std::string new_websocket_key();

/// @brief The upgrade request for `target` with `key`.
std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key);

/// @brief Throws std::runtime_error, saying what is wrong, unless `response` is a complete
/// 101 that upgrades to websocket with the Sec-WebSocket-Accept that `key` calls for.
void check_upgrade(const http_response_reader& response, std::string_view key);

/// @brief A client WebSocket endpoint over wslay's frame layer: bytes in, text messages out,
/// masked frames to write. Text messages are kept whole, in order, until taken; a ping is
/// answered; a close from the server ends the endpoint; a frame the RFC forbids a server to
/// send (masked, reserved bits, binary, a control frame wslay refuses) throws.
///
/// The frame layer, not wslay's event layer: the event layer checks the UTF-8 of every text
/// message byte by byte as it arrives, about 2 ns a byte here, more than the server spends
/// writing it. A bench client that timed that would measure itself. The text is checked all
/// the same, after the clock: answer_check parses every frame with yajl, which refuses
/// invalid UTF-8 and anything that is not JSON.
///
/// Not thread-safe, not movable (wslay holds its address).
class ws_client {
 public:
  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// @brief Takes bytes read from the socket (frames cut anywhere are continued).
  void feed(std::string_view bytes);
  /// @brief Queues a text message (masked, one frame).
  void send_text(std::string_view message);
  /// @brief Queues a normal close (1000).
  void close();

  /// @brief True while a text message waits; take() moves the oldest out.
  bool has_message() const noexcept { return !messages_.empty(); }
  std::string take();

  /// @brief Bytes to write, oldest first; consume_output(n) after writing n of them.
  std::string_view output() const noexcept { return out_; }
  void consume_output(std::size_t n) { out_.erase(0, n); }

  /// @brief The server sent a close (its code), or the endpoint closed itself.
  bool closed() const noexcept { return closed_; }
  std::uint16_t close_code() const noexcept { return close_code_; }

 private:
  friend struct ws_client_callbacks;

  void send_frame(std::uint8_t opcode, std::string_view payload);
  void frame_piece(std::uint8_t opcode, std::uint64_t payload_length, std::string_view data,
                   bool fin);

  wslay_frame_context* ctx_ = nullptr;
  std::string_view input_;  // the bytes of the feed() in progress not yet taken by wslay
  std::string out_;
  std::deque<std::string> messages_;
  std::string message_;           // the text message being received
  std::string control_;           // the control frame being received
  std::uint64_t frame_read_ = 0;  // payload bytes of the current frame received so far
  bool in_message_ = false;       // a text message has begun and not ended
  bool closed_ = false;
  std::uint16_t close_code_ = 0;
};

}  // namespace numsequence::bench::web
