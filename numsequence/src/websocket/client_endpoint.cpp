#include "numsequence/websocket/client_endpoint.hpp"

#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "numsequence/websocket/excerpt.hpp"
#include "wslay_glue.hpp"

namespace numsequence {

namespace {

// A masked client frame's header: 2 bytes, 2 or 8 more for a longer length, 4 of mask.
constexpr std::size_t masked_header_size(std::size_t payload) noexcept {
  return (payload < 126 ? 2 : payload < 65536 ? 4 : 10) + 4;
}

// Why wslay closed on its own: it reports only the code, and each code has one cause here.
std::string wslay_close_reason(std::uint16_t code, std::size_t max_message) {
  switch (code) {
    case close_code::protocol_error:
      return "the server broke the WebSocket protocol: a masked frame, reserved bits set, an "
             "unknown opcode or a continuation out of place";
    case close_code::invalid_payload:
      return "the server sent a text message that is not valid UTF-8";
    case close_code::message_too_big:
      return "the server sent a message over " + std::to_string(max_message) + " bytes";
    default:
      return "closed by the WebSocket library with code " + std::to_string(code);
  }
}

}  // namespace

// wslay's callbacks, with access to the endpoint they serve (user_data).
struct client_endpoint_callbacks {
  static websocket_client_endpoint& self(void* user_data) noexcept {
    return *static_cast<websocket_client_endpoint*>(user_data);
  }

  // Hands wslay the bytes of the current feed(); "would block" once they are used up, which
  // makes wslay_event_recv() return with its state kept for the next feed().
  static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                      void* user_data) {
    return detail::lend_input(ctx, self(user_data).input_, buf, len);
  }

  // Everything wslay sends lands in the output buffer; send_text() applies the limit first.
  static ssize_t send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                      void* user_data) {
    self(user_data).append_output(data, len);
    return static_cast<ssize_t>(len);
  }

  // RFC 6455 section 5.3: each frame's masking key is fresh and unpredictable.
  static int genmask(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, void*) {
    if (RAND_bytes(buf, static_cast<int>(len)) == 1)
      return 0;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }

  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                      void* user_data) {
    auto& ep = self(user_data);
    const std::string_view payload(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
    switch (arg->opcode) {
      case WSLAY_TEXT_FRAME:
        // Answers still arriving after our close are not wanted any more.
        if (!ep.closing_ && !ep.close_reported_) {
          client_event e;
          e.what = client_event::kind::text;
          e.text.assign(payload);
          ep.events_.push_back(std::move(e));
        }
        return;
      case WSLAY_BINARY_FRAME:
        ep.fail(close_code::unsupported_data, "the server sent a binary message");
        return;
      case WSLAY_CONNECTION_CLOSE:
        ep.received_close(arg->status_code,
                          payload.substr(std::min<std::size_t>(2, payload.size())));
        return;
      default:
        return;  // a ping (wslay has queued the pong) or a pong
    }
  }
};

websocket_client_endpoint::websocket_client_endpoint(const websocket_target& target,
                                                     std::string key, client_endpoint_limits limits)
    : limits_(limits), handshake_(key), out_(upgrade_request_text(target, key)) {
  static constexpr wslay_event_callbacks callbacks{
      &client_endpoint_callbacks::recv,
      &client_endpoint_callbacks::send,
      &client_endpoint_callbacks::genmask,
      nullptr,
      nullptr,
      nullptr,
      &client_endpoint_callbacks::message,
  };
  if (wslay_event_context_client_init(&ctx_, &callbacks, this) != 0)
    throw std::bad_alloc();
  wslay_event_config_set_max_recv_msg_length(ctx_, limits_.max_message);
}

websocket_client_endpoint::~websocket_client_endpoint() {
  wslay_event_context_free(ctx_);
}

void websocket_client_endpoint::feed(std::string_view bytes) {
  if (state() == client_endpoint_state::handshake) {
    const std::size_t used = handshake_.feed(bytes);
    if (handshake_.state() == upgrade_response_reader::status::incomplete)
      return;
    handshake_ended();
    bytes.remove_prefix(used);
  }
  if (!bytes.empty() && open_ && !close_received_ && wslay_event_get_read_enabled(ctx_) != 0)
    feed_frames(bytes);
}

void websocket_client_endpoint::feed_frames(std::string_view bytes) {
  input_ = bytes;
  wslay_event_set_error(ctx_, 0);
  const int rv = wslay_event_recv(ctx_);
  input_ = {};
  if (rv == WSLAY_ERR_CALLBACK_FAILURE) {
    // Our recv callback only ever says "would block", so this is wslay's frame layer
    // rejecting a header (a fragmented or oversized control frame, a length not in its
    // shortest form). RFC 6455 section 7.1.7: fail the connection; no close frame is owed.
    end_without_close(close_code::protocol_error,
                      "the server sent a malformed WebSocket frame header");
    return;
  }
  if (rv != 0) {
    end_without_close(close_code::internal_error, "out of memory");
    return;
  }
  flush();
}

void websocket_client_endpoint::end_of_stream() {
  if (state() == client_endpoint_state::handshake) {
    handshake_.end_of_stream();
    handshake_ended();
    return;
  }
  if (!close_reported_)
    report_closed(close_code::abnormal, false,
                  "the server closed the connection without a WebSocket close frame");
  close_received_ = true;
  end_without_close(close_code::abnormal, {});
}

std::optional<client_event> websocket_client_endpoint::next_event() {
  if (events_.empty())
    return std::nullopt;
  client_event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

bool websocket_client_endpoint::send_text(std::string_view message) {
  const std::size_t unwritten = out_.size() - out_begin_ + wslay_event_get_queued_msg_length(ctx_);
  if (state() != client_endpoint_state::open ||
      unwritten + masked_header_size(message.size()) + message.size() > limits_.max_output)
    return false;
  const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(message.data()),
                            message.size()};
  if (wslay_event_queue_msg(ctx_, &msg) != 0)
    return false;
  flush();
  return true;
}

void websocket_client_endpoint::close(std::uint16_t code, std::string_view reason) {
  if (state() == client_endpoint_state::handshake) {
    end_without_close(close_code::abnormal, "closed before the WebSocket handshake completed");
    return;
  }
  if (closing_)
    return;
  const std::string_view wire = detail::cut_close_reason(reason);
  wslay_event_queue_close(ctx_, code, reinterpret_cast<const std::uint8_t*>(wire.data()),
                          wire.size());
  await_peer_ = true;  // read on until the server's close, which the closed event reports
  flush();
}

void websocket_client_endpoint::consume_output(std::size_t n) noexcept {
  out_begin_ += std::min(n, out_.size() - out_begin_);
  if (out_begin_ < out_.size())
    return;
  out_begin_ = 0;
  out_.clear();
}

client_endpoint_state websocket_client_endpoint::state() const noexcept {
  if (!open_ && !closing_)
    return client_endpoint_state::handshake;
  if (!closing_)
    return client_endpoint_state::open;
  if (out_begin_ < out_.size() || (await_peer_ && !close_received_))
    return client_endpoint_state::closing;
  return client_endpoint_state::closed;
}

void websocket_client_endpoint::handshake_ended() {
  if (handshake_.state() == upgrade_response_reader::status::accepted) {
    open_ = true;
    client_event e;
    e.what = client_event::kind::open;
    events_.push_back(std::move(e));
    return;
  }
  end_without_close(close_code::abnormal, handshake_.reason(), handshake_.http_status());
}

void websocket_client_endpoint::received_close(std::uint16_t code, std::string_view reason) {
  // wslay has queued the answering close (unless ours went first) and stopped reading.
  close_received_ = true;
  report_closed(code == 0 ? close_code::no_status : code, true,
                excerpt(reason, detail::max_close_reason));
}

void websocket_client_endpoint::fail(std::uint16_t code, std::string reason) {
  if (closing_)
    return;
  const std::string_view wire = detail::cut_close_reason(reason);
  wslay_event_queue_close(ctx_, code, reinterpret_cast<const std::uint8_t*>(wire.data()),
                          wire.size());
  wslay_event_shutdown_read(ctx_);
  report_closed(code, false, std::move(reason));
}

void websocket_client_endpoint::end_without_close(std::uint16_t code, std::string reason,
                                                  int http_status) {
  wslay_event_shutdown_read(ctx_);
  wslay_event_shutdown_write(ctx_);
  closing_ = true;
  await_peer_ = false;
  // Nothing more goes out: the connection is over at the TCP level.
  out_.clear();
  out_begin_ = 0;
  if (!reason.empty())
    report_closed(code, false, std::move(reason), http_status);
}

void websocket_client_endpoint::flush() {
  if (wslay_event_get_write_enabled(ctx_) != 0 && wslay_event_send(ctx_) != 0) {
    end_without_close(close_code::internal_error, "out of memory or no random bytes for a mask");
    return;
  }
  if (closing_ || wslay_event_get_close_sent(ctx_) == 0)
    return;
  closing_ = true;
  if (await_peer_)
    return;  // our close: read on, the server's answer is due
  wslay_event_shutdown_read(ctx_);
  if (!close_reported_) {
    // wslay closed on its own (a protocol violation it found): say why.
    const std::uint16_t code = wslay_event_get_status_code_sent(ctx_);
    report_closed(code, false, wslay_close_reason(code, limits_.max_message));
  }
}

void websocket_client_endpoint::report_closed(std::uint16_t code, bool by_peer, std::string reason,
                                              int http_status) {
  if (close_reported_)
    return;
  close_reported_ = true;
  client_event e;
  e.what = client_event::kind::closed;
  e.code = code;
  e.by_peer = by_peer;
  e.reason = std::move(reason);
  e.http_status = http_status;
  events_.push_back(std::move(e));
}

void websocket_client_endpoint::append_output(const std::uint8_t* data, std::size_t size) {
  // Drop written bytes once they are half the buffer: each byte is moved at most once more.
  if (out_begin_ > 0 && out_begin_ >= out_.size() / 2) {
    out_.erase(0, out_begin_);
    out_begin_ = 0;
  }
  out_.append(reinterpret_cast<const char*>(data), size);
}

}  // namespace numsequence
