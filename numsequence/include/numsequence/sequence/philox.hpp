#pragma once
/// @brief Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Random123").

#include <array>
#include <cstdint>

namespace numsequence {

/// @brief One Philox4x32 block: 10 rounds over a 128-bit counter with a 64-bit key.
///
/// Counter-based: the output for a counter is computed directly, so any part of
/// a sequence is available without generating what comes before it.
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key) noexcept;

}  // namespace numsequence
