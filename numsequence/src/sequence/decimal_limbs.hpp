#pragma once
/// @brief Internal: non-negative integers kept in base 10^16, added and written as decimal text
/// without any binary-to-decimal conversion (the Fibonacci cursor's arithmetic).

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace numsequence::detail {

/// @brief Limbs of 16 decimal digits, least significant first; never empty, no leading zero
/// limb (zero is one limb holding 0).
using decimal_limbs = std::vector<std::uint64_t>;

inline constexpr std::uint64_t limb_base = 10'000'000'000'000'000;  // 10^16
inline constexpr std::size_t limb_digits = 16;

/// @brief Eight ASCII digits of x (< 10^8), most significant first in memory order, as one
/// 64-bit word: every digit pair and digit is split out in parallel lanes (SWAR), so a limb
/// costs a few multiplications instead of sixteen divisions.
inline std::uint64_t eight_digits(std::uint32_t x) noexcept {
  // Lanes of 32 bits: the first four digits in the low lane (written first), the last four above.
  std::uint64_t v = (x / 10000) | (std::uint64_t{x % 10000} << 32);
  // Lanes of 16 bits: v / 100 per 32-bit lane ((y * 10486) >> 20 == y / 100 for y < 10^4).
  const std::uint64_t hundreds = ((v * 10486) >> 20) & 0x0000'007f'0000'007fULL;
  v = hundreds | ((v - hundreds * 100) << 16);
  // Lanes of 8 bits: v / 10 per 16-bit lane ((y * 103) >> 10 == y / 10 for y < 100).
  const std::uint64_t tens = ((v * 103) >> 10) & 0x000f'000f'000f'000fULL;
  v = tens | ((v - tens * 10) << 8);
  v |= 0x3030'3030'3030'3030ULL;  // '0' in every byte
  if constexpr (std::endian::native == std::endian::big)
    v = __builtin_bswap64(v);
  return v;
}

/// @brief Writes the 16 digits of one limb (leading zeros included) at p.
inline void write_limb(char* p, std::uint64_t limb) noexcept {
  const std::uint64_t high = eight_digits(static_cast<std::uint32_t>(limb / 100'000'000));
  const std::uint64_t low = eight_digits(static_cast<std::uint32_t>(limb % 100'000'000));
  std::memcpy(p, &high, sizeof high);
  std::memcpy(p + 8, &low, sizeof low);
}

/// @brief Decimal digits of a limb's value without leading zeros (1 for 0).
inline std::size_t limb_width(std::uint64_t limb) noexcept {
  std::size_t width = 1;
  for (std::uint64_t bound = 10; width < limb_digits && limb >= bound; bound *= 10)
    ++width;
  return width;
}

/// @brief Decimal digits of the whole number.
inline std::size_t decimal_width(const decimal_limbs& n) noexcept {
  return (n.size() - 1) * limb_digits + limb_width(n.back());
}

/// @brief Writes the number's decimal_width(n) digits at p.
inline void write_decimal(char* p, const decimal_limbs& n) noexcept {
  std::array<char, limb_digits> top{};
  write_limb(top.data(), n.back());
  const std::size_t width = limb_width(n.back());
  std::memcpy(p, top.data() + limb_digits - width, width);
  p += width;
  for (std::size_t i = n.size() - 1; i-- > 0; p += limb_digits)
    write_limb(p, n[i]);
}

/// @brief a += b, for a no longer than b (consecutive Fibonacci numbers: a = F(i), b = F(i+1)).
inline void add_into(decimal_limbs& a, const decimal_limbs& b) {
  a.resize(b.size(), 0);
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    // Both limbs are below 10^16, so the sum cannot wrap a uint64; no branch on the carry.
    const std::uint64_t sum = a[i] + b[i] + carry;
    carry = sum >= limb_base ? 1 : 0;
    a[i] = sum - carry * limb_base;
  }
  if (carry != 0)
    a.push_back(carry);
}

/// @brief Parses plain decimal digits (no sign, at least one digit) into n, reusing its storage.
inline void parse_decimal(std::string_view digits, decimal_limbs& n) {
  n.clear();
  n.reserve(digits.size() / limb_digits + 1);
  std::size_t end = digits.size();
  while (end > 0) {
    const std::size_t begin = end > limb_digits ? end - limb_digits : 0;
    std::uint64_t limb = 0;
    for (std::size_t i = begin; i < end; ++i)
      limb = limb * 10 + static_cast<std::uint64_t>(digits[i] - '0');
    n.push_back(limb);
    end = begin;
  }
  while (n.size() > 1 && n.back() == 0)
    n.pop_back();
}

}  // namespace numsequence::detail
