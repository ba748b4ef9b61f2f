#pragma once
/// @brief CPython's `random` module, exactly as far as test mode needs it.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace numsequence {

/// @brief MT19937 seeded and sampled the way CPython 3 does it.
///
/// `python_random r{"abc"}; r.randint_0_100()` returns what
/// `random.seed("abc"); random.randint(0, 100)` returns in CPython (version-2
/// string seeding: the bytes followed by their SHA-512, read as one big-endian
/// integer, fed to init_by_array 32 bits at a time, least significant first).
class python_random {
 public:
  /// @brief random.seed(text) for a str.
  explicit python_random(std::string_view text);
  /// @brief init_by_array(key) directly (key as CPython builds it: LS word first).
  explicit python_random(std::span<const std::uint32_t> key);

  /// @brief genrand_uint32().
  std::uint32_t next_uint32() noexcept;
  /// @brief randint(0, 100): 7-bit draws until one is below 101.
  std::uint32_t randint_0_100() noexcept;

 private:
  void init_genrand(std::uint32_t s) noexcept;
  void init_by_array(std::span<const std::uint32_t> key) noexcept;
  void twist() noexcept;

  static constexpr int state_size = 624;
  std::array<std::uint32_t, state_size> mt_{};
  int index_ = state_size + 1;
};

}  // namespace numsequence
