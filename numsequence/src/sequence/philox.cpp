#include "numsequence/sequence/philox.hpp"

namespace numsequence {
namespace {

// Constants of Philox4x32 (Salmon et al., SC'11, and Random123's philox.h).
constexpr std::uint32_t multiplier_0 = 0xD2511F53U;
constexpr std::uint32_t multiplier_1 = 0xCD9E8D57U;
constexpr std::uint32_t weyl_0 = 0x9E3779B9U;  // golden ratio
constexpr std::uint32_t weyl_1 = 0xBB67AE85U;  // sqrt(3) - 1

struct hi_lo {
  std::uint32_t hi;
  std::uint32_t lo;
};

constexpr hi_lo mulhilo(std::uint32_t a, std::uint32_t b) noexcept {
  const std::uint64_t product = std::uint64_t{a} * b;
  return {static_cast<std::uint32_t>(product >> 32), static_cast<std::uint32_t>(product)};
}

constexpr std::array<std::uint32_t, 4> philox_round(
    const std::array<std::uint32_t, 4>& c, const std::array<std::uint32_t, 2>& k) noexcept {
  const hi_lo p0 = mulhilo(multiplier_0, c[0]);
  const hi_lo p1 = mulhilo(multiplier_1, c[2]);
  return {p1.hi ^ c[1] ^ k[0], p1.lo, p0.hi ^ c[3] ^ k[1], p0.lo};
}

}  // namespace

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key) noexcept {
  // Random123 order: round with the caller's key, then bump the key before each
  // of the remaining nine rounds (wrap-around addition is intended).
  counter = philox_round(counter, key);
  for (int r = 1; r < 10; ++r) {
    key[0] += weyl_0;
    key[1] += weyl_1;
    counter = philox_round(counter, key);
  }
  return counter;
}

}  // namespace numsequence
