#pragma once
/// @brief Incremental, sans-I/O framing of `;`-terminated messages.

#include <cstddef>
#include <string_view>
#include <system_error>

namespace numsequence {

/// @brief What frame_decoder::consume() found at the front of its input.
struct frame_result {
  enum class kind { need_more, frame, error };
  kind what = kind::need_more;
  /// With kind::frame: the message without its `;` (a view into the input).
  std::string_view frame;
  /// Bytes of the input used: skipped separators plus the frame and its `;`.
  /// The caller drops them before the next call. With kind::need_more: the
  /// separators skipped (so input of only `\r`, `\n` and spaces is used up and
  /// cannot pile up). Zero with kind::error.
  std::size_t consumed = 0;
  /// With kind::error: protocol_errc::frame_too_long.
  std::error_code error;
};

/// @brief Splits a byte stream into messages.
///
/// Bytes `\r`, `\n` and space before a message are skipped. A message is every
/// byte up to the next `;`; one longer than `max_frame` bytes is an error as soon
/// as `max_frame + 1` bytes of it have arrived without a `;` (a frame of exactly
/// `max_frame` bytes is accepted), so a peer can never make us buffer more than
/// that per connection. The decoder remembers how far it has scanned, so bytes
/// arriving one at a time cost O(1) each.
///
/// @code
/// frame_decoder d{256};
/// std::string buf = "RECV,0;RE";
/// auto r = d.consume(buf);      // kind::frame, frame "RECV,0", consumed 7
/// buf.erase(0, r.consumed);
/// r = d.consume(buf);           // kind::need_more
/// @endcode
class frame_decoder {
 public:
  explicit frame_decoder(std::size_t max_frame) noexcept : max_frame_(max_frame) {}

  /// @brief Looks for one complete message at the front of `input`.
  /// `input` must start with the bytes not consumed by the previous call.
  frame_result consume(std::string_view input) noexcept;

  std::size_t max_frame() const noexcept { return max_frame_; }

 private:
  std::size_t max_frame_;
  std::size_t scanned_ = 0;  // bytes of the pending input already known to hold no `;`
};

}  // namespace numsequence
