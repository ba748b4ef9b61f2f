#include "numsequence/protocol/frame_decoder.hpp"

#include "numsequence/protocol/error.hpp"

namespace numsequence {
namespace {

constexpr bool is_separator(char c) noexcept {
  return c == '\r' || c == '\n' || c == ' ';
}

}  // namespace

frame_result frame_decoder::consume(std::string_view input) noexcept {
  std::size_t skipped = 0;
  while (skipped < input.size() && is_separator(input[skipped]))
    ++skipped;
  const std::string_view rest = input.substr(skipped);

  // scanned_ counts bytes after the separators, so it stays right whether or not
  // the caller dropped the separators reported by an earlier need_more. A caller
  // that broke the contract (fresh, shorter input) only costs a rescan.
  if (scanned_ > rest.size())
    scanned_ = 0;

  // Look at no more than max_frame + 1 bytes: that one extra byte is what tells a
  // frame of exactly max_frame bytes (next byte ';') from one that is too long.
  // Written so that max_frame_ == SIZE_MAX does not overflow.
  const bool over_limit = rest.size() > max_frame_;
  const std::size_t window = over_limit ? max_frame_ + 1 : rest.size();

  const std::size_t end = rest.substr(0, window).find(';', scanned_);
  if (end != std::string_view::npos) {
    scanned_ = 0;
    return {frame_result::kind::frame, rest.substr(0, end), skipped + end + 1, {}};
  }
  if (over_limit) {
    scanned_ = 0;
    return {frame_result::kind::error, {}, 0, make_error_code(protocol_errc::frame_too_long)};
  }
  scanned_ = window;
  // Report the separators as used so a peer sending only whitespace cannot make
  // the caller's buffer grow.
  return {frame_result::kind::need_more, {}, skipped, {}};
}

}  // namespace numsequence
