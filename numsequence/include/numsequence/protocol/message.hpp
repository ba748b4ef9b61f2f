#pragma once
/// @brief The protocol's messages as typed values (spec §2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// Largest sequence length a session may ask for.
inline constexpr std::uint32_t max_count = 65535;
/// Largest batch size a session may ask for.
inline constexpr std::uint32_t max_batch = 65535;

/// @brief Which sequence a session serves: INIT's optional fifth field.
enum class sequence_kind : std::uint8_t {
  random,     ///< the server's numbers (normal or test mode); also an INIT without the field
  fibonacci,  ///< F(0) … F(n-1), exact decimal numbers of any size
};

/// @brief The kind's name on the wire: "random" or "fibonacci".
constexpr std::string_view kind_name(sequence_kind k) noexcept {
  return k == sequence_kind::fibonacci ? "fibonacci" : "random";
}

/// @brief The kind a name stands for: exactly "random" or "fibonacci" (lower case, as on the
/// wire); nullopt for anything else, the empty text included.
constexpr std::optional<sequence_kind> parse_kind_name(std::string_view name) noexcept {
  if (name == "random")
    return sequence_kind::random;
  if (name == "fibonacci")
    return sequence_kind::fibonacci;
  return std::nullopt;
}

// Client to server.
struct init_message {
  client_id id;
  std::uint32_t n;      ///< 0 … max_count
  std::uint32_t batch;  ///< 1 … max_batch
  /// The optional fifth field. Encoded only when not random, so that a random INIT is the
  /// reference's, byte for byte.
  sequence_kind kind = sequence_kind::random;
  friend bool operator==(const init_message&, const init_message&) = default;
};
struct cont_message {
  client_id id;
  friend bool operator==(const cont_message&, const cont_message&) = default;
};
struct recv_message {
  std::uint64_t index = 0;  ///< saturates at UINT64_MAX; the session checks the range
  /// The index as sent, leading zeros dropped, when it does not fit in 64 bits (else empty),
  /// so that the invalid-index error can quote it.
  std::string overflow_digits;
  friend bool operator==(const recv_message&, const recv_message&) = default;
};
struct fin_message {
  friend bool operator==(const fin_message&, const fin_message&) = default;
};
using client_message = std::variant<init_message, cont_message, recv_message, fin_message>;

// Server to client.
struct ack_message {
  friend bool operator==(const ack_message&, const ack_message&) = default;
};
struct num_message {
  std::vector<std::uint32_t> numbers;
  friend bool operator==(const num_message&, const num_message&) = default;
};
struct fac_message {
  md5_digest checksum;
  friend bool operator==(const fac_message&, const fac_message&) = default;
};
struct err_message {
  std::string text;
  friend bool operator==(const err_message&, const err_message&) = default;
};
using server_message = std::variant<ack_message, num_message, fac_message, err_message>;

}  // namespace numsequence
