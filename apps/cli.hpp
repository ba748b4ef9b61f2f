#pragma once
// Small parsers shared by the command-line programs. Kept out of the library:
// they are about what a person types, not about the protocol.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace numsequence::cli {

/// A command line that cannot be run; the program prints it and exits 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Plain decimal digits only: "5000", not "+5000", " 5000" or "5e3".
template <class T>
std::optional<T> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 20)
    return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
  }
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

inline std::uint16_t parse_port(std::string_view text) {
  const auto port = parse_unsigned<std::uint32_t>(text);
  if (!port || *port > 65535) {
    throw usage_error("invalid port '" + std::string(text) + "' (expected 0-65535)");
  }
  return static_cast<std::uint16_t>(*port);
}

/// Seconds, fractions allowed ("1", "0.05"); 0 allowed; at most a day.
inline std::chrono::steady_clock::duration parse_seconds(std::string_view option,
                                                         const std::string& text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(seconds) || seconds < 0 || seconds > 86400) {
    throw usage_error("invalid value '" + text + "' for --" + std::string(option) +
                      " (expected seconds from 0 to 86400, fractions allowed)");
  }
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

}  // namespace numsequence::cli
