#pragma once
/// @file
/// @brief HTTP and WebSocket clients over a raw tcp_client, for tests against the real server:
/// requests written as bytes, responses read with http_response_reader, WebSocket frames
/// masked by hand (RFC 6455 section 5.3) and read with take_frame(). Every wait is bounded.

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_response.hpp"
#include "tcp.hpp"
#include "websocket_wire.hpp"

namespace numsequence::integration {

/// @brief A request head: `METHOD target VERSION`, `Host`, the extra header lines (each with
/// its CRLF), the empty line.
inline std::string request_head(std::string_view target, std::string_view extra = {},
                                std::string_view version = "HTTP/1.1",
                                std::string_view method = "GET") {
  std::string r(method);
  r += ' ';
  r += target;
  r += ' ';
  r += version;
  r += "\r\nHost: 127.0.0.1\r\n";
  r += extra;
  r += "\r\n";
  return r;
}

/// @brief Reads responses off one connection.
class http_client {
 public:
  explicit http_client(tcp_client socket) : socket_(std::move(socket)) {}

  /// @brief Sends raw bytes: one request, several (pipelined), or a part of one.
  bool send(std::string_view bytes) { return socket_.send(bytes, std::chrono::seconds(5)); }
  /// @brief Says that `count` requests sent are HEAD (false) or not: in sending order.
  void expect(bool head_request) { reader_.expect(head_request); }

  /// @brief Reads until `count` more responses are complete, the connection ends or
  /// `timeout` passes; returns those complete (fewer on a timeout or close).
  std::vector<http_response> read(std::size_t count,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (reader_.responses().size() < count && !reader_.failed()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      const std::string bytes = socket_.read_some(left);
      if (!bytes.empty()) {
        reader_.feed(bytes);
      } else if (socket_.closed()) {
        reader_.finish();  // the end of a close-delimited body
        break;
      }
    }
    INFO("http_response_reader: " << reader_.error());
    CHECK_FALSE(reader_.failed());
    std::vector<http_response> out = std::move(reader_.responses());
    reader_.responses().clear();
    if (out.size() > count) {
      reader_.responses().assign(std::make_move_iterator(out.begin() + static_cast<long>(count)),
                                 std::make_move_iterator(out.end()));
      out.resize(count);
    }
    return out;
  }

  /// @brief One response to the request just sent, or a failed check and an empty response.
  http_response read_one(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto r = read(1, timeout);
    REQUIRE_MESSAGE(r.size() == 1, "no complete response within the time");
    return std::move(r[0]);
  }

  /// @brief True once the server closed (read anything pending first with read()).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return socket_.wait_closed_silently(timeout);
  }

  tcp_client& socket() noexcept { return socket_; }
  http_response_reader& reader() noexcept { return reader_; }

 private:
  tcp_client socket_;
  http_response_reader reader_;
};

/// @brief RFC 6455 section 1.3's key, and the accept value it must get.
inline constexpr std::string_view websocket_key = "dGhlIHNhbXBsZSBub25jZQ==";
inline constexpr std::string_view websocket_accept_value = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// @brief The upgrade request for `/v1/stream`.
inline std::string websocket_upgrade(std::string_view version = "13") {
  return request_head("/v1/stream",
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " +
                          std::string(websocket_key) +
                          "\r\nSec-WebSocket-Version: " + std::string(version) + "\r\n");
}

/// @brief A client frame: `head` is the first byte (FIN, RSV, opcode), the payload masked
/// unless `masked` is false.
inline std::string masked_frame(std::uint8_t head, std::string_view payload, bool masked = true) {
  static constexpr std::array<std::uint8_t, 4> key{0x9d, 0x21, 0x5a, 0x03};
  std::string f;
  f += static_cast<char>(head);
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(mask_bit | n);
  } else if (n < 65536) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((n >> shift) & 0xff);
  }
  if (masked) {
    for (const auto b : key)
      f += static_cast<char>(b);
  }
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ (masked ? key[i % 4] : 0));
  return f;
}

/// @brief A close frame's payload: the code, then the reason.
inline std::string close_body(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return p;
}

/// @brief One answer of the stream as a client reads it.
struct stream_answer_read {
  std::vector<std::string> numbers;  ///< every number of every numbers frame, in order
  std::optional<stream_frame> done;  ///< the done frame, if it came
  std::optional<std::string> error;  ///< the error frame's message, if one came instead
  std::size_t frames = 0;            ///< numbers frames
  bool ordered = true;               ///< each numbers frame began where the last one ended
  bool well_formed = true;           ///< every frame was a valid stream frame
  std::optional<ws_frame> close;     ///< a close frame that ended the reading
};

/// @brief A WebSocket on `/v1/stream`, opened over a raw socket.
class websocket_client {
 public:
  /// @brief Sends the upgrade and reads the 101; fails the test unless it is right.
  explicit websocket_client(tcp_client socket) : socket_(std::move(socket)) {
    REQUIRE(socket_.send(websocket_upgrade(), std::chrono::seconds(5)));
    http_response_reader reader;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!reader.upgraded() && !reader.failed() && std::chrono::steady_clock::now() < deadline) {
      const std::string bytes = socket_.read_some(std::chrono::milliseconds(500));
      if (bytes.empty() && socket_.closed())
        break;
      reader.feed(bytes);
    }
    REQUIRE_MESSAGE(reader.upgraded(), "no 101 to the upgrade request");
    REQUIRE(reader.responses().size() == 1);
    CHECK(reader.responses()[0].status == 101);
    CHECK(reader.responses()[0].header("Sec-WebSocket-Accept") ==
          std::string(websocket_accept_value));
    buffer_ = std::move(reader.upgrade_rest());
  }

  bool send_text(std::string_view text) { return send_frame(0x81, text); }
  bool send_frame(std::uint8_t head, std::string_view payload, bool masked = true) {
    return socket_.send(masked_frame(head, payload, masked), std::chrono::seconds(5));
  }
  bool send_raw(std::string_view bytes) { return socket_.send(bytes, std::chrono::seconds(5)); }

  /// @brief The next frame, or nullopt when the connection ends or `timeout` passes first.
  std::optional<ws_frame> next_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = take_frame(buffer_)) {
        CHECK_FALSE(f->masked);
        return f;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || socket_.closed())
        return std::nullopt;
      buffer_ += socket_.read_some(left);
    }
  }

  /// @brief Reads one answer: numbers frames from `first`, until its done or error frame, a
  /// close frame, the end of the connection, or `timeout`.
  stream_answer_read read_answer(std::uint64_t first = 0,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    stream_answer_read a;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto f = next_frame(left.count() > 0 ? left : std::chrono::milliseconds(0));
      if (!f)
        return a;
      if (f->opcode == ws_close) {
        a.close = std::move(*f);
        return a;
      }
      if (f->opcode != ws_text)
        continue;
      stream_frame s = read_stream_frame(f->payload);
      a.well_formed = a.well_formed && s.valid;
      if (s.error) {
        a.error = s.error;
        return a;
      }
      if (s.done) {
        a.done = std::move(s);
        return a;
      }
      a.ordered = a.ordered && s.from == first + a.numbers.size();
      a.numbers.insert(a.numbers.end(), s.numbers.begin(), s.numbers.end());
      ++a.frames;
    }
  }

  tcp_client& socket() noexcept { return socket_; }
  /// @brief Bytes received and not yet taken as frames.
  const std::string& pending() const noexcept { return buffer_; }

 private:
  tcp_client socket_;
  std::string buffer_;
};

}  // namespace numsequence::integration
