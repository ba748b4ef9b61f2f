#pragma once
/// @brief Where normal-mode sessions get their seeds.

#include <cstdint>
#include <optional>

#include "numsequence/protocol/client_id.hpp"

namespace numsequence {

/// @brief 64 random bits from the OS's cryptographic source (OpenSSL's RAND_bytes).
/// @throws std::runtime_error if the source fails.
std::uint64_t random_uint64();

/// @brief Seed for a normal-mode session: random, or derived from `fixed_seed` and the id,
/// so that servers given the same fixed seed produce the same sequences.
std::uint64_t make_session_seed(const std::optional<std::uint64_t>& fixed_seed,
                                const client_id& id);

}  // namespace numsequence
