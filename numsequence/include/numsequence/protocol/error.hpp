#pragma once
/// @brief Protocol errors: one enum, one category, message texts in one place.

#include <string>
#include <system_error>

namespace numsequence {

/// @brief Everything that can be wrong with bytes received from a peer.
///
/// The category's message() for each value is the text sent in `ERR,<text>;`, so
/// no message contains `;`.
enum class protocol_errc {
  frame_too_long = 1,       ///< no `;` within the frame limit
  empty_message,            ///< `;` with nothing before it
  invalid_byte,             ///< a byte outside printable ASCII inside a message
  unknown_type,             ///< the message type is not one this side accepts
  wrong_field_count,        ///< too few or too many `,`-separated fields
  invalid_client_id,        ///< not a UUID in 8-4-4-4-12 form
  invalid_number,           ///< not plain decimal digits
  number_out_of_range,      ///< n > 65535, batch 0 or > 65535, or digits overflow
  invalid_checksum,         ///< FAC without 32 lowercase hex digits
  session_not_started,      ///< RECV or FIN before INIT/CONT
  session_already_started,  ///< a second INIT/CONT on one connection
  session_completed,        ///< RECV on a session that FIN already completed
  unknown_sequence_kind,    ///< INIT's fifth field is not `random` or `fibonacci`
};

/// @brief The last protocol_errc, for code that walks every value.
inline constexpr protocol_errc last_protocol_errc = protocol_errc::unknown_sequence_kind;

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(protocol_errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace numsequence

template <>
struct std::is_error_code_enum<numsequence::protocol_errc> : std::true_type {};
