#include "numsequence/websocket/endpoint.hpp"

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <utility>

#include "numsequence/websocket/excerpt.hpp"
#include "wslay_glue.hpp"

namespace numsequence {

namespace {

// Unwritten output is released when it drains and has grown past this, so an idle
// connection does not keep the capacity its largest answer needed.
constexpr std::size_t kept_output_capacity = 16 * 1024;

// RFC 6455 section 5.2: a server frame's header is 2 bytes, with a 16-bit length 4, with a
// 64-bit length 10.
constexpr std::size_t frame_header_size(std::size_t payload) noexcept {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

// Well-formed UTF-8 (Unicode table 3-7): no overlong forms, no surrogates, nothing past
// U+10FFFF. Only close reasons need it; wslay checks text messages itself.
bool is_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t more = 0;
    unsigned char low = 0x80;  // the range of the byte after the first
    unsigned char high = 0xbf;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      low = c == 0xe0 ? 0xa0 : low;
      high = c == 0xed ? 0x9f : high;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      low = c == 0xf0 ? 0x90 : low;
      high = c == 0xf4 ? 0x8f : high;
    } else {
      return false;
    }
    if (s.size() - i <= more)
      return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < low || b > high) : (b & 0xc0) != 0x80)
        return false;
    }
    i += more + 1;
  }
  return true;
}

// Why wslay closed on its own: it reports only the code, and each code has one cause here.
std::string wslay_close_reason(std::uint16_t code, std::size_t max_message) {
  switch (code) {
    case close_code::protocol_error:
      return "protocol error: an unmasked frame, reserved bits set, an unknown opcode, a "
             "continuation out of place or an invalid close code";
    case close_code::invalid_payload:
      return "a text message or close reason that is not valid UTF-8";
    case close_code::message_too_big:
      return "a message over " + std::to_string(max_message) + " bytes";
    default:
      return "closed by the WebSocket library with code " + std::to_string(code);
  }
}

}  // namespace

// wslay's callbacks, with access to the endpoint they serve (user_data).
struct endpoint_callbacks {
  static websocket_endpoint& self(void* user_data) noexcept {
    return *static_cast<websocket_endpoint*>(user_data);
  }

  // Hands wslay the bytes of the current feed(); "would block" once they are used up, which
  // makes wslay_event_recv() return with its state kept for the next feed().
  static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                      void* user_data) {
    return detail::lend_input(ctx, self(user_data).input_, buf, len);
  }

  // Everything wslay sends lands in the output buffer: limits are applied before queueing
  // (send_text, pings), so the send itself never refuses and wslay's queues empty at once.
  static ssize_t send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                      void* user_data) {
    self(user_data).append_output(data, len);
    return static_cast<ssize_t>(len);
  }

  static ssize_t frame_send(const std::uint8_t* data, std::size_t len, int, void* user_data) {
    self(user_data).append_output(data, len);
    return static_cast<ssize_t>(len);
  }

  static ssize_t frame_recv(std::uint8_t*, std::size_t, int, void*) { return -1; }

  // A binary message is refused at its first frame header, before its payload is buffered.
  static void frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                          void* user_data) {
    auto& ep = self(user_data);
    if (arg->opcode == WSLAY_BINARY_FRAME)
      ep.fail(close_code::unsupported_data, "binary messages are not accepted: send JSON text");
    ep.in_close_frame_ = arg->opcode == WSLAY_CONNECTION_CLOSE;
    ep.close_payload_.clear();
  }

  // A close frame's payload (at most 125 bytes: wslay refuses longer control frames).
  static void frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                          void* user_data) {
    auto& ep = self(user_data);
    if (ep.in_close_frame_)
      ep.close_payload_.append(reinterpret_cast<const char*>(arg->data), arg->data_length);
  }

  // Called before wslay answers a complete close frame. wslay checks the reason's UTF-8 only
  // where a frame's payload arrives in one piece (it skips the first two bytes of every
  // piece, not only of the first), and takes a 1-byte payload for "no code": both are
  // checked here, on the whole payload, so an invalid reason is never echoed back.
  static void frame_end(wslay_event_context_ptr, void* user_data) {
    auto& ep = self(user_data);
    if (!std::exchange(ep.in_close_frame_, false))
      return;
    if (ep.close_payload_.size() == 1)
      ep.fail(close_code::protocol_error, "a close frame with a 1-byte payload");
    else if (!is_utf8(std::string_view(ep.close_payload_)
                          .substr(std::min<std::size_t>(2, ep.close_payload_.size()))))
      ep.fail(close_code::invalid_payload, "a close reason that is not valid UTF-8");
  }

  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                      void* user_data) {
    auto& ep = self(user_data);
    if (ep.failure_code_ != 0)
      return;
    const std::string_view payload(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
    switch (arg->opcode) {
      case WSLAY_TEXT_FRAME:
        ep.received_text(payload);
        return;
      case WSLAY_PING:
        // wslay has queued the pong already; if pongs are not being read, close instead
        // (a queued close makes wslay drop the pongs before it).
        if (ep.output_size() > ep.limits_.max_output)
          ep.fail(close_code::policy_violation, "pings arrive faster than pongs are read");
        return;
      case WSLAY_CONNECTION_CLOSE:
        ep.received_close(arg->status_code,
                          payload.substr(std::min<std::size_t>(2, payload.size())));
        return;
      default:
        return;  // a pong, or the binary message already refused
    }
  }
};

websocket_endpoint::websocket_endpoint(endpoint_limits limits) : limits_(limits) {
  static constexpr wslay_event_callbacks callbacks{
      &endpoint_callbacks::recv,
      &endpoint_callbacks::send,
      nullptr,
      &endpoint_callbacks::frame_start,
      &endpoint_callbacks::frame_chunk,
      &endpoint_callbacks::frame_end,
      &endpoint_callbacks::message,
  };
  if (wslay_event_context_server_init(&ctx_, &callbacks, this) != 0)
    throw std::bad_alloc();
  wslay_event_config_set_max_recv_msg_length(ctx_, limits_.max_message);
}

websocket_endpoint::~websocket_endpoint() {
  wslay_event_context_free(ctx_);
}

void websocket_endpoint::feed(std::string_view bytes) {
  if (closing_ || wslay_event_get_read_enabled(ctx_) == 0)
    return;
  input_ = bytes;
  wslay_event_set_error(ctx_, 0);
  const int rv = wslay_event_recv(ctx_);
  input_ = {};
  if (rv == WSLAY_ERR_CALLBACK_FAILURE) {
    // Our recv callback only ever says "would block", so this is wslay's frame layer
    // rejecting a header. wslay has queued a close without a code for it; RFC 6455 wants
    // 1002, so that close is dropped and a 1002 written instead.
    fail_without_wslay(close_code::protocol_error,
                       "malformed frame header: a control frame fragmented or over 125 bytes, "
                       "or a length not in its shortest form");
    return;
  }
  if (rv != 0) {
    fail_without_wslay(close_code::internal_error, "out of memory");
    return;
  }
  flush();
}

std::optional<endpoint_event> websocket_endpoint::next_event() {
  if (events_.empty())
    return std::nullopt;
  endpoint_event e = std::move(events_.front());
  events_.pop_front();
  if (e.what == endpoint_event::kind::text)
    --pending_texts_;
  return e;
}

bool websocket_endpoint::send_text(std::string_view message) {
  if (state() != endpoint_state::open ||
      output_size() + frame_header_size(message.size()) + message.size() > limits_.max_output)
    return false;
  const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(message.data()),
                            message.size()};
  if (wslay_event_queue_msg(ctx_, &msg) != 0)
    return false;
  flush();
  return true;
}

void websocket_endpoint::close(std::uint16_t code, std::string_view reason) {
  if (state() != endpoint_state::open)
    return;
  fail(code, std::string(reason));
  flush();
}

void websocket_endpoint::consume_output(std::size_t n) noexcept {
  out_begin_ += std::min(n, out_.size() - out_begin_);
  if (out_begin_ < out_.size())
    return;
  out_begin_ = 0;
  if (out_.capacity() > kept_output_capacity)
    std::string().swap(out_);
  else
    out_.clear();
}

std::size_t websocket_endpoint::output_size() const noexcept {
  return out_.size() - out_begin_ + wslay_event_get_queued_msg_length(ctx_);
}

bool websocket_endpoint::ready_for_frame() const noexcept {
  return state() == endpoint_state::open && output_size() < limits_.output_low_water;
}

endpoint_state websocket_endpoint::state() const noexcept {
  if (!closing_)
    return endpoint_state::open;
  return out_begin_ == out_.size() ? endpoint_state::closed : endpoint_state::closing;
}

void websocket_endpoint::received_text(std::string_view text) {
  if (pending_texts_ >= limits_.max_pending_messages) {
    fail(close_code::policy_violation,
         "more than " + std::to_string(limits_.max_pending_messages) +
             " requests waiting: wait for an answer before sending more");
    return;
  }
  endpoint_event e;
  e.what = endpoint_event::kind::text;
  e.text.assign(text);
  events_.push_back(std::move(e));
  ++pending_texts_;
}

void websocket_endpoint::received_close(std::uint16_t code, std::string_view reason) {
  // wslay has queued the answering close (echoing the code) and stopped reading.
  endpoint_event e;
  e.what = endpoint_event::kind::closed;
  e.code = code == 0 ? close_code::no_status : code;
  e.by_peer = true;
  e.reason = excerpt(reason, detail::max_close_reason);
  events_.push_back(std::move(e));
  close_reported_ = true;
}

void websocket_endpoint::fail(std::uint16_t code, std::string reason) {
  if (failure_code_ != 0)
    return;
  failure_code_ = code;
  failure_reason_ = std::move(reason);
  const std::string_view wire = detail::cut_close_reason(failure_reason_);
  // Refused only when a close is queued already (wslay's own, or the answer to the peer's).
  wslay_event_queue_close(ctx_, code, reinterpret_cast<const std::uint8_t*>(wire.data()),
                          wire.size());
  wslay_event_shutdown_read(ctx_);
}

void websocket_endpoint::flush() {
  if (wslay_event_get_write_enabled(ctx_) != 0 && wslay_event_send(ctx_) != 0) {
    fail_without_wslay(close_code::internal_error, "out of memory");
    return;
  }
  if (!closing_ && wslay_event_get_close_sent(ctx_) != 0)
    note_close_sent();
}

void websocket_endpoint::note_close_sent() {
  closing_ = true;
  wslay_event_shutdown_read(ctx_);
  if (close_reported_)
    return;
  endpoint_event e;
  e.what = endpoint_event::kind::closed;
  e.code = wslay_event_get_status_code_sent(ctx_);
  // Our reason if our close went out; wslay's cause if its own close got there first.
  e.reason =
      failure_code_ == e.code ? failure_reason_ : wslay_close_reason(e.code, limits_.max_message);
  events_.push_back(std::move(e));
  close_reported_ = true;
}

void websocket_endpoint::fail_without_wslay(std::uint16_t code, std::string reason) {
  // Whatever wslay still holds (its own close, pongs) is dropped: this close replaces it.
  wslay_event_shutdown_read(ctx_);
  wslay_event_shutdown_write(ctx_);
  if (closing_)
    return;  // a close frame is out already
  if (failure_code_ == 0) {
    failure_code_ = code;
    failure_reason_ = std::move(reason);
  }
  closing_ = true;
  std::array<std::uint8_t, 2 + detail::max_close_reason> payload{};
  payload[0] = static_cast<std::uint8_t>(failure_code_ >> 8);
  payload[1] = static_cast<std::uint8_t>(failure_code_ & 0xff);
  const std::string_view wire = detail::cut_close_reason(failure_reason_);
  std::memcpy(payload.data() + 2, wire.data(), wire.size());
  // wslay's frame layer writes the frame, as the event layer would have.
  static constexpr wslay_frame_callbacks frame_callbacks{&endpoint_callbacks::frame_send,
                                                         &endpoint_callbacks::frame_recv, nullptr};
  wslay_frame_context_ptr frame = nullptr;
  std::uint16_t sent = close_code::abnormal;  // if even that fails: no close frame at all
  if (wslay_frame_context_init(&frame, &frame_callbacks, this) == 0) {
    wslay_frame_iocb iocb{};
    iocb.fin = 1;
    iocb.opcode = WSLAY_CONNECTION_CLOSE;
    iocb.payload_length = 2 + wire.size();
    iocb.data = payload.data();
    iocb.data_length = iocb.payload_length;
    if (wslay_frame_send(frame, &iocb) == static_cast<ssize_t>(iocb.payload_length))
      sent = failure_code_;
    wslay_frame_context_free(frame);
  }
  if (close_reported_)
    return;
  endpoint_event e;
  e.what = endpoint_event::kind::closed;
  e.code = sent;
  e.reason = failure_reason_;
  events_.push_back(std::move(e));
  close_reported_ = true;
}

void websocket_endpoint::append_output(const std::uint8_t* data, std::size_t size) {
  // Drop written bytes once they are half the buffer: each byte is moved at most once more.
  if (out_begin_ > 0 && out_begin_ >= out_.size() / 2) {
    out_.erase(0, out_begin_);
    out_begin_ = 0;
  }
  out_.append(reinterpret_cast<const char*>(data), size);
}

}  // namespace numsequence
