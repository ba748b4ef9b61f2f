#pragma once
/// What the server's and the client's WebSocket endpoints share in driving wslay: the close
/// reason's limit and cut, and the recv callback that hands wslay the bytes lent by feed().

#include <sys/types.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace numsequence::detail {

/// A close frame's payload is at most 125 bytes: the code, then at most 123 of reason.
inline constexpr std::size_t max_close_reason = 123;

/// At most max_close_reason bytes, cut before a character rather than inside it (a close
/// reason is UTF-8).
inline std::string_view cut_close_reason(std::string_view reason) noexcept {
  if (reason.size() <= max_close_reason)
    return reason;
  std::size_t keep = max_close_reason;
  while (keep > 0 && (static_cast<unsigned char>(reason[keep]) & 0xc0) == 0x80)
    --keep;
  return reason.substr(0, keep);
}

/// The body of a wslay recv callback: copies what is left of `input` (the bytes of the current
/// feed()) into wslay's buffer, or says "would block" once they are used up, which makes
/// wslay_event_recv() return with its state kept for the next feed().
inline ssize_t lend_input(wslay_event_context_ptr ctx, std::string_view& input, std::uint8_t* buf,
                          std::size_t len) noexcept {
  if (input.empty()) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, input.size());
  std::memcpy(buf, input.data(), n);
  input.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

}  // namespace numsequence::detail
