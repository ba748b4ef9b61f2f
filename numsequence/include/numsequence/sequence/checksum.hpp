#pragma once
/// @brief The sequence checksum: MD5 of Python's `str()` of the list of numbers.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief A raw 16-byte MD5 digest.
using md5_digest = std::array<std::uint8_t, 16>;

/// @brief 32 lowercase hex digits.
std::string to_hex(const md5_digest& d);
/// @brief Parses exactly 32 hex digits (lower case only, as on the wire); nullopt otherwise.
std::optional<md5_digest> md5_from_hex(std::string_view hex) noexcept;

/// @brief A list_checksum's state after some numbers (list_checksum::save()), to go on from
/// later in another one (restore()). Immutable: share it between threads freely.
struct list_checksum_state;

/// @brief Streams numbers into MD5 as the text `[a, b, c]` without building that text.
///
/// The empty sequence hashes `[]` (d751713988987e9331980363e24189ce).
/// @code
/// list_checksum sum;
/// for (auto v : {6u, 41u, 81u, 68u, 68u}) sum.add(v);
/// to_hex(sum.finish());  // "f90b20dae8c9b7d7be2a5fb7cc856e8b"
/// @endcode
class list_checksum {
 public:
  list_checksum();
  ~list_checksum();
  list_checksum(const list_checksum&) = delete;
  list_checksum& operator=(const list_checksum&) = delete;

  void add(std::uint32_t value);
  void add(std::span<const std::uint32_t> values) {
    for (auto v : values)
      add(v);
  }
  /// @brief Adds one number given as its decimal text (any size: a Fibonacci number). The
  /// text is hashed as it is: the caller passes plain digits, as Python's str() writes them.
  void add_decimal(std::string_view digits);
  /// @brief The digest of everything added; the object is then reset for a new list.
  md5_digest finish();

  /// @brief The state after the numbers added so far. Costs a copy of MD5's state (about 100
  /// bytes), not a pass over the numbers.
  std::shared_ptr<const list_checksum_state> save();
  /// @brief Continues from `state`, as if its numbers had been added here (what was added
  /// before is dropped).
  void restore(const list_checksum_state& state);

 private:
  friend struct list_checksum_state;  // holds an evp_state of its own

  void flush();
  struct evp_state;
  evp_state* evp_;
  std::array<char, 4096> pending_;
  std::size_t used_ = 0;
  bool first_ = true;
};

/// @brief Checksum of a whole list in one call.
md5_digest checksum_of(std::span<const std::uint32_t> values);

}  // namespace numsequence
