#pragma once
/// @brief The Fibonacci sequence, exactly (F(0) = 0, F(1) = 1): single values, consecutive
/// values as decimal text, their checksum and their sum. Pure computation, no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief The default `--max-fibonacci`: the largest n (and the largest range end + 1) the
/// server accepts. The largest answers, the JSON of the first 25,000 numbers (65,334,837 bytes)
/// and of the range 0 .. 24,999 (10 bytes more), are within 64 MiB (67,108,864 bytes); the
/// exact bound is n = 25,337.
inline constexpr std::uint64_t default_max_fibonacci = 25'000;

/// @brief The largest index any function here computes; a larger one throws
/// std::out_of_range. F(10^9) has 208,987,640 digits: far beyond any sensible
/// `--max-fibonacci`, and far below the sizes at which GMP gives up by aborting the process.
inline constexpr std::uint64_t max_fibonacci_index = 1'000'000'000;

/// @brief Throws std::out_of_range, naming the numbers, unless F(from) .. F(from + count - 1)
/// all lie within max_fibonacci_index (any from passes with count 0); no overflow for any pair.
void check_fibonacci_range(std::uint64_t from, std::uint64_t count);

/// @brief F(k) exactly, as decimal text.
///
/// GMP's mpz_fib_ui: fast doubling, O(log k) big multiplications, so F(k) never costs the
/// k additions of counting up from 0. Throws std::out_of_range for k > max_fibonacci_index.
/// @code
/// fibonacci_value(50);  // "12586269025"
/// @endcode
std::string fibonacci_value(std::uint64_t k);

/// @brief Writes F(k), F(k+1), ... as decimal text, one after another, at about the cost of
/// writing them.
///
/// The two current values are kept in a decimal base (limbs of 16 digits), added limb by limb
/// and written limb by limb: no number is converted from binary to decimal, and nothing is
/// allocated per number (the limbs grow with the numbers, amortised). Positioning (the
/// constructor, seek()) runs GMP's fast doubling once, then converts those two values once.
/// Not thread-safe; one cursor per stream.
/// @code
/// fibonacci_cursor c{3};
/// std::string s;
/// c.append_joined(s, ",", true, 4, 1 << 16);  // s == "2,3,5,8", c.index() == 7
/// @endcode
class fibonacci_cursor {
 public:
  /// @brief Positioned at F(first). Throws std::out_of_range if first > max_fibonacci_index.
  explicit fibonacci_cursor(std::uint64_t first = 0);

  /// @brief The index of the number the next append writes.
  std::uint64_t index() const noexcept { return index_; }

  /// @brief Moves to F(k): free if k == index(), a few additions for a short step forwards,
  /// fast doubling otherwise. Throws std::out_of_range if k > max_fibonacci_index (the cursor
  /// then stays where it was).
  void seek(std::uint64_t k);

  /// @brief The number of decimal digits of F(index()).
  std::size_t next_digits() const noexcept;

  /// @brief Appends the digits of F(index()) to out, then moves to index() + 1.
  void append_next(std::string& out);

  /// @brief Appends numbers from index() on, each preceded by `separator` unless it is the
  /// very first of its list (`first_in_list`, which applies to the first number appended by
  /// this call), while fewer than `max_count` are appended and out.size() is below
  /// `byte_budget`. A number is never split, so the last one may pass the budget, and at
  /// least one is appended if max_count > 0. Returns how many were appended.
  std::size_t append_joined(std::string& out, std::string_view separator, bool first_in_list,
                            std::uint64_t max_count, std::size_t byte_budget);

 private:
  void step();

  std::vector<std::uint64_t> current_;  // F(index_), decimal limbs (see decimal_limbs.hpp)
  std::vector<std::uint64_t> next_;     // F(index_ + 1)
  std::uint64_t index_ = 0;
};

/// @brief MD5 of Python's `str()` of [F(from), ..., F(from + count - 1)], as list_checksum
/// hashes any list: count = 5, from = 0 is md5("[0, 1, 1, 2, 3]"); count = 0 is md5("[]").
/// Throws std::out_of_range if the last index passes max_fibonacci_index.
md5_digest fibonacci_checksum(std::uint64_t from, std::uint64_t count);

/// @brief The exact sum F(from) + ... + F(from + count - 1) as decimal text ("0" for count 0),
/// from the identity sum = F(from + count + 1) - F(from + 1). Throws std::out_of_range if the
/// last index passes max_fibonacci_index.
std::string fibonacci_sum(std::uint64_t from, std::uint64_t count);

}  // namespace numsequence
