#pragma once
// numsequence-bench-web: the client side of a WebSocket (RFC 6455) without I/O. The opening
// handshake's 101 is read by http_parser (web_http.hpp), frames by wslay.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "bench/web_http.hpp"

struct wslay_event_context;

namespace numsequence::bench::web {

/// @brief A fresh Sec-WebSocket-Key: base64 of 16 random bytes.
std::string new_websocket_key();

/// @brief The upgrade request for `target` with `key`.
std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key);

/// @brief Throws std::runtime_error, saying what is wrong, unless `response` is a complete
/// 101 that upgrades to websocket with the Sec-WebSocket-Accept that `key` calls for.
void check_upgrade(const http_response_reader& response, std::string_view key);

/// @brief A client WebSocket endpoint over wslay's event API: bytes in, text messages out,
/// masked frames to write. Text messages are kept whole, in order, until taken; a close from
/// the server is answered and ends the endpoint; anything else wslay refuses throws.
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

  void flush();

  wslay_event_context* ctx_ = nullptr;
  std::string_view input_;  // the bytes of the feed() in progress not yet taken by wslay
  std::string out_;
  std::deque<std::string> messages_;
  bool closed_ = false;
  bool binary_ = false;
  std::uint16_t close_code_ = 0;
};

}  // namespace numsequence::bench::web
