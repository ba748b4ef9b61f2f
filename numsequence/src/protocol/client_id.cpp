#include "numsequence/protocol/client_id.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace numsequence {
namespace {

constexpr bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

constexpr bool is_dash_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

client_id::client_id() noexcept {
  for (std::size_t i = 0; i < size; ++i)
    chars_[i] = is_dash_position(i) ? '-' : '0';
}

std::optional<client_id> client_id::parse(std::string_view text) noexcept {
  if (text.size() != size)
    return std::nullopt;
  client_id id;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (is_dash_position(i) ? c != '-' : !is_hex(c))
      return std::nullopt;
    id.chars_[i] = c;
  }
  return id;
}

client_id client_id::random() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("the OS random source failed (RAND_bytes)");
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char digits[] = "0123456789abcdef";
  client_id id;
  std::size_t out = 0;
  for (unsigned char b : bytes) {
    if (is_dash_position(out))
      ++out;
    id.chars_[out++] = digits[b >> 4];
    if (is_dash_position(out))
      ++out;
    id.chars_[out++] = digits[b & 0x0f];
  }
  return id;
}

std::string client_id::redacted() const {
  return std::string(view().substr(0, 8)) + "…";
}

}  // namespace numsequence
