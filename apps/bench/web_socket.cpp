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

// wslay's callbacks, with access to the client they serve (user_data).
struct ws_client_callbacks {
  static ws_client& self(void* user_data) noexcept { return *static_cast<ws_client*>(user_data); }

  // Hands wslay the bytes of the current feed(); "would block" once they are used up.
  static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                      void* user_data) {
    auto& c = self(user_data);
    if (c.input_.empty()) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const std::size_t n = std::min(len, c.input_.size());
    std::memcpy(buf, c.input_.data(), n);
    c.input_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }

  static ssize_t send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                      void* user_data) {
    self(user_data).out_.append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }

  static int genmask(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*) {
    return RAND_bytes(buf, static_cast<int>(len)) == 1 ? 0 : -1;
  }

  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                      void* user_data) {
    auto& c = self(user_data);
    if (arg->opcode == WSLAY_TEXT_FRAME) {
      c.messages_.emplace_back(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
      c.closed_ = true;
      c.close_code_ = arg->status_code;
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
      c.binary_ = true;  // thrown by feed(): never through wslay's C frames
    }
  }
};

ws_client::ws_client() {
  static constexpr wslay_event_callbacks callbacks{
      &ws_client_callbacks::recv,
      &ws_client_callbacks::send,
      &ws_client_callbacks::genmask,
      nullptr,
      nullptr,
      nullptr,
      &ws_client_callbacks::message,
  };
  if (wslay_event_context_client_init(&ctx_, &callbacks, this) != 0)
    throw std::bad_alloc();
  // The stream's frames are at most 16 KiB (one long number may pass that); any text
  // message up to 64 MiB is taken.
  wslay_event_config_set_max_recv_msg_length(ctx_, 64u << 20);
}

ws_client::~ws_client() {
  wslay_event_context_free(ctx_);
}

void ws_client::feed(std::string_view bytes) {
  if (closed_)
    return;
  input_ = bytes;
  wslay_event_set_error(ctx_, 0);
  const int rv = wslay_event_recv(ctx_);
  input_ = {};
  if (rv != 0)
    throw std::runtime_error("WebSocket framing error from the server (wslay " +
                             std::to_string(rv) + ")");
  if (binary_)
    throw std::runtime_error("the server sent a binary message (the stream sends JSON text)");
  if (wslay_event_get_close_received(ctx_) != 0)
    closed_ = true;
  flush();
}

void ws_client::send_text(std::string_view message) {
  const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(message.data()),
                            message.size()};
  if (wslay_event_queue_msg(ctx_, &msg) != 0)
    throw std::runtime_error("cannot queue a WebSocket message (closed?)");
  flush();
}

void ws_client::close() {
  wslay_event_queue_close(ctx_, 1000, nullptr, 0);
  flush();
}

std::string ws_client::take() {
  std::string m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

void ws_client::flush() {
  if (wslay_event_want_write(ctx_) != 0 && wslay_event_send(ctx_) != 0)
    throw std::runtime_error("WebSocket send failed (wslay)");
}

}  // namespace numsequence::bench::web
