#include "numsequence/websocket/excerpt.hpp"

namespace numsequence {

namespace {

constexpr bool is_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

constexpr bool is_continuation(unsigned char c) noexcept {
  return (c & 0xc0) == 0x80;
}

// Code points in UTF-8 mode (every byte that does not continue a sequence), bytes otherwise.
std::size_t characters(std::string_view text, excerpt_bytes high) noexcept {
  if (high == excerpt_bytes::ascii)
    return text.size();
  std::size_t n = 0;
  for (const char c : text)
    n += is_continuation(static_cast<unsigned char>(c)) ? 0U : 1U;
  return n;
}

}  // namespace

std::string excerpt(std::string_view text, std::size_t max, excerpt_bytes high) {
  std::size_t keep = text.size();
  if (keep > max) {
    keep = max;
    // Back up to the start of a UTF-8 sequence, so the cut leaves whole characters.
    while (high == excerpt_bytes::utf8 && keep > 0 &&
           is_continuation(static_cast<unsigned char>(text[keep])))
      --keep;
  }
  std::string out;
  out.reserve(keep + 32);
  for (const char c : text.substr(0, keep)) {
    const auto u = static_cast<unsigned char>(c);
    out += is_control(u) || (high == excerpt_bytes::ascii && u >= 0x80) ? '?' : c;
  }
  if (keep < text.size()) {
    out += "... (";
    out += std::to_string(characters(text, high));
    out += " characters)";
  }
  return out;
}

}  // namespace numsequence
