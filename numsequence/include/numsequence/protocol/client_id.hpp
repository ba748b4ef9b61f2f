#pragma once
/// @file
/// @brief The session key: a UUID in 8-4-4-4-12 hex form, kept exactly as sent.

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief A client id: 36 characters of UUID text, stored inline (no allocation).
///
/// The id is kept byte for byte as the client sent it, case included, because it
/// is both the session key and, in test mode, the seed of the sequence.
class client_id {
 public:
  static constexpr std::size_t size = 36;

  /// @brief The nil UUID, 00000000-0000-0000-0000-000000000000.
  client_id() noexcept;

  /// @brief Parses UUID text (8-4-4-4-12 hex digits, either case); nullopt if it is not one.
  static std::optional<client_id> parse(std::string_view text) noexcept;

  /// @brief A fresh random version-4 UUID (lower case), from the OS's cryptographic source.
  static client_id random();

  std::string_view view() const noexcept { return {chars_.data(), chars_.size()}; }
  std::string str() const { return std::string(view()); }

  /// @brief The id shortened for logs ("123e4567…"): the full id is the session's only credential.
  std::string redacted() const;

  friend bool operator==(const client_id&, const client_id&) = default;

 private:
  std::array<char, size> chars_;
};

}  // namespace numsequence

template <>
struct std::hash<numsequence::client_id> {
  std::size_t operator()(const numsequence::client_id& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
