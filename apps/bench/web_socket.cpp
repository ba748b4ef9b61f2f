#include "bench/web_socket.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <stdexcept>

#include "numsequence/websocket/handshake.hpp"

namespace numsequence::bench::web {

std::string new_websocket_key() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("no random bytes for Sec-WebSocket-Key (RAND_bytes)");
  std::array<unsigned char, 32> text{};  // base64 of 16 bytes: 24 characters and a NUL
  const int n = EVP_EncodeBlock(text.data(), raw.data(), static_cast<int>(raw.size()));
  return std::string(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n));
}

std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key) {
  std::string r = "GET ";
  r.append(target);
  r.append(" HTTP/1.1\r\nHost: ");
  r.append(host);
  r.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ");
  r.append(key);
  r.append("\r\n\r\n");
  return r;
}

void check_upgrade(const http_response_reader& response, std::string_view key) {
  const auto fail = [](const std::string& what) {
    throw std::runtime_error("WebSocket handshake refused: " + what);
  };
  if (!response.complete() || response.status() != 101)
    fail("status " + std::to_string(response.status()) + " (expected 101)");
  if (!response.upgraded())
    fail("a 101 without Upgrade: websocket and Connection: upgrade");
  if (!header_has_token(response.header("upgrade"), "websocket"))
    fail("Upgrade is '" + response.header("upgrade") + "'");
  const std::string accept = response.header("sec-websocket-accept");
  if (accept != websocket_accept(key))
    fail("Sec-WebSocket-Accept '" + accept + "' does not match the key");
}

// wslay's frame-layer callbacks, with access to the client they serve (user_data).
struct ws_client_callbacks {
  static ws_client& self(void* user_data) noexcept { return *static_cast<ws_client*>(user_data); }

  // Hands wslay the bytes of the current feed(); 0 ("want read") once they are used up.
  static ssize_t recv(std::uint8_t* buf, std::size_t len, int, void* user_data) {
    auto& c = self(user_data);
    const std::size_t n = std::min(len, c.input_.size());
    std::memcpy(buf, c.input_.data(), n);
    c.input_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }

  static ssize_t send(const std::uint8_t* data, std::size_t len, int, void* user_data) {
    self(user_data).out_.append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }

  static int genmask(std::uint8_t* buf, std::size_t len, void*) {
    return RAND_bytes(buf, static_cast<int>(len)) == 1 ? 0 : -1;
  }
};

ws_client::ws_client() {
  static constexpr wslay_frame_callbacks callbacks{
      &ws_client_callbacks::send, &ws_client_callbacks::recv, &ws_client_callbacks::genmask};
  if (wslay_frame_context_init(&ctx_, &callbacks, this) != 0)
    throw std::bad_alloc();
}

ws_client::~ws_client() {
  wslay_frame_context_free(ctx_);
}

void ws_client::feed(std::string_view bytes) {
  input_ = bytes;
  while (!closed_) {
    wslay_frame_iocb iocb{};
    const ssize_t r = wslay_frame_recv(ctx_, &iocb);
    if (r == WSLAY_ERR_WANT_READ)
      break;
    if (r < 0)
      throw std::runtime_error("WebSocket framing error from the server (wslay " +
                               std::to_string(r) + ")");
    if (iocb.mask != 0 || iocb.rsv != 0)
      throw std::runtime_error("the server sent a masked frame or reserved bits (RFC 6455 5.1)");
    frame_piece(iocb.opcode, iocb.payload_length,
                {reinterpret_cast<const char*>(iocb.data), iocb.data_length}, iocb.fin != 0);
  }
  input_ = {};
}

void ws_client::frame_piece(std::uint8_t opcode, std::uint64_t payload_length,
                            std::string_view data, bool fin) {
  const bool frame_start = frame_read_ == 0;
  frame_read_ += data.size();
  const bool frame_done = frame_read_ == payload_length;
  if (frame_done)
    frame_read_ = 0;
  if (opcode == WSLAY_TEXT_FRAME || opcode == WSLAY_CONTINUATION_FRAME) {
    if (frame_start && (opcode == WSLAY_TEXT_FRAME) == in_message_)
      throw std::runtime_error("a text frame inside a message, or a continuation outside one");
    in_message_ = true;
    message_.append(data);
    if (frame_done && fin) {
      messages_.push_back(std::move(message_));
      message_.clear();
      in_message_ = false;
    }
    return;
  }
  if (opcode == WSLAY_BINARY_FRAME)
    throw std::runtime_error("the server sent a binary message (the stream sends JSON text)");
  control_.append(data);
  if (!frame_done)
    return;
  if (opcode == WSLAY_PING) {
    send_frame(WSLAY_PONG, control_);
  } else if (opcode == WSLAY_CONNECTION_CLOSE) {
    closed_ = true;
    close_code_ = control_.size() >= 2
                      ? static_cast<std::uint16_t>(static_cast<unsigned char>(control_[0]) << 8 |
                                                   static_cast<unsigned char>(control_[1]))
                      : 1005;
  } else if (opcode != WSLAY_PONG) {
    throw std::runtime_error("the server sent a frame of unknown opcode " + std::to_string(opcode));
  }
  control_.clear();
}

void ws_client::send_frame(std::uint8_t opcode, std::string_view payload) {
  wslay_frame_iocb iocb{};
  iocb.fin = 1;
  iocb.opcode = opcode;
  iocb.mask = 1;  // a client masks every frame (RFC 6455 5.3)
  iocb.payload_length = payload.size();
  iocb.data = reinterpret_cast<const std::uint8_t*>(payload.data());
  iocb.data_length = payload.size();
  // The send callback takes everything, so the frame goes out whole in one call.
  if (wslay_frame_send(ctx_, &iocb) != static_cast<ssize_t>(payload.size()))
    throw std::runtime_error("WebSocket send failed (wslay)");
}

void ws_client::send_text(std::string_view message) {
  send_frame(WSLAY_TEXT_FRAME, message);
}

void ws_client::close() {
  const std::array<char, 2> normal{static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xff)};
  send_frame(WSLAY_CONNECTION_CLOSE, {normal.data(), normal.size()});
}

std::string ws_client::take() {
  std::string m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

}  // namespace numsequence::bench::web
